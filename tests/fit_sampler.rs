//! fit-sampler against exact references: normalisation over all 2^16
//! configurations of L = 4, export fidelity (burn, ONNX Runtime, the host
//! path), sample frequencies by chi-square, reverse KL against exact
//! enumeration, forward KL against Kaufman's entropy, resume, threads, bad input.

mod common;

use std::path::Path;

use common::*;
use phasekit::exact::ising::{brute_force, kaufman};
use phasekit::fit::sampler::{sample_configurations, sample_with_log_q};
use phasekit::nn::autoreg::{from_onnx, HostSampler, SamplerSpec};
use phasekit::nn::burn_exec::{train_device, Net};
use phasekit::nn::gru::GruSpec;
use phasekit::nn::made::{log_sigmoid, MadeSpec};
use phasekit::nn::objectives::SamplerObjective;
use phasekit::nn::pixelcnn::PixelSpec;
use phasekit::nn::program::{ParamData, Program};
use phasekit::runtime::{Device, Model};
use phasekit::sim::ising::lattice::energy;
use phasekit::sim::rng::chain_rng;

/// Every configuration of n spins, row k = the bits of k (1 → +1).
fn all_states(n: usize) -> Vec<i8> {
    (0..1usize << n)
        .flat_map(|k| (0..n).map(move |i| if k >> i & 1 == 1 { 1 } else { -1 }))
        .collect()
}

/// log q of each configuration from a sampler file through ONNX Runtime,
/// with the z2 symmetrisation its metadata asks for.
fn onnx_log_q(onnx: &[u8], l: usize, states: &[i8]) -> Vec<f64> {
    let mut model = Model::from_bytes(onnx, "sampler", Device::Cpu, 1).unwrap();
    let z2 = model
        .metadata
        .get("phasekit.z2")
        .map(|v| v == "true")
        .unwrap();
    let n = l * l;
    let raw = |model: &mut Model, sign: f32| -> Vec<f64> {
        let mut out = Vec::new();
        for chunk in states.chunks(4096 * n) {
            let x: Vec<f32> = chunk.iter().map(|&v| sign * v as f32).collect();
            let rows = chunk.len() / n;
            let r = model.run(&[("x", &[rows, 1, l, l], &x)]).unwrap();
            let logits = &r["logits"];
            assert_eq!(logits.shape, vec![rows, 1, l, l]);
            for (c, lg) in x.chunks(n).zip(logits.data.chunks(n)) {
                out.push(
                    c.iter()
                        .zip(lg)
                        .map(|(&s, &g)| log_sigmoid(s as f64 * g as f64))
                        .sum(),
                );
            }
        }
        out
    };
    let a = raw(&mut model, 1.0);
    if !z2 {
        return a;
    }
    let b = raw(&mut model, -1.0);
    a.iter()
        .zip(&b)
        .map(|(x, y)| {
            let m = x.max(*y);
            m + ((x - m).exp() + (y - m).exp()).ln() - std::f64::consts::LN_2
        })
        .collect()
}

fn metadata(z2: bool, spec: &SamplerSpec) -> Vec<(String, String)> {
    vec![
        ("phasekit.kind".into(), "sampler".into()),
        ("phasekit.version".into(), "1".into()),
        ("phasekit.L".into(), spec.l().to_string()),
        ("phasekit.z2".into(), z2.to_string()),
        ("phasekit.network".into(), spec.network().to_string()),
    ]
}

/// A MADE, a GRU and (from L = 3) a PixelCNN over an L×L lattice.
fn both(l: usize, width: usize) -> Vec<SamplerSpec> {
    let mut specs = vec![
        SamplerSpec::Made(MadeSpec { l, depth: 3, width }),
        SamplerSpec::Gru(GruSpec {
            l,
            hidden: 4 * width,
        }),
    ];
    // a PixelCNN with 3×3 kernels, from L = 3
    if l >= 3 {
        specs.push(SamplerSpec::Pixel(PixelSpec {
            l,
            depth: 3,
            width,
            half_kernel: 1,
        }));
    }
    specs
}

/// Random weights scaled by `gain` and random biases (so q is far from uniform).
fn random_made(spec: &SamplerSpec, seed: u64, gain: f32) -> Vec<ParamData> {
    let mut p = spec.init(&mut chain_rng(seed, 7));
    for q in p.iter_mut().filter(|q| q.name.starts_with('w')) {
        q.data.iter_mut().for_each(|v| *v *= gain);
    }
    for q in p.iter_mut().filter(|q| q.name.starts_with('b')) {
        let mut rng = chain_rng(seed, 8);
        q.data
            .iter_mut()
            .for_each(|v| *v = rand::Rng::random_range(&mut rng, -1.0..1.0));
    }
    p
}

fn fit(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = dir.join("q.onnx");
    let o = out.to_str().unwrap();
    let mut all = args.to_vec();
    all.extend(["--out-model", o, "-q"]);
    let r = run("fit-sampler", &all);
    assert!(r.status.success(), "fit-sampler {all:?}: {}", stderr(&r));
    std::fs::read(&out).unwrap()
}

fn total_probability(onnx: &[u8], l: usize) -> f64 {
    onnx_log_q(onnx, l, &all_states(l * l))
        .iter()
        .map(|v| v.exp())
        .sum()
}

#[test]
fn q_sums_to_one_over_all_states_of_l4() {
    for spec in both(4, 4) {
        for z2 in [false, true] {
            let onnx = spec.to_onnx(&random_made(&spec, 1, 2.0), &metadata(z2, &spec));
            let total = total_probability(&onnx, 4);
            println!(
                "{} random weights, z2 {z2}: Σ q = {total:.9}",
                spec.network()
            );
            assert!((total - 1.0).abs() < 1e-6, "Σ q = {total}");
        }
    }
    let dir = tempfile::tempdir().unwrap();
    for (arch, z2) in [
        ("made", false),
        ("made", true),
        ("gru", false),
        ("gru", true),
        ("pixelcnn", false),
        ("pixelcnn", true),
    ] {
        let mut args = vec![
            "--L", "4", "--T", "2", "--arch", arch, "--width", "8", "--kernel", "1", "--steps",
            "30", "--batch", "64", "--lr", "1e-2", "--seed", "3",
        ];
        if z2 {
            args.push("--z2");
        }
        let total = total_probability(&fit(dir.path(), &args), 4);
        println!("{arch} trained, z2 {z2}: Σ q = {total:.9}");
        assert!((total - 1.0).abs() < 1e-6, "Σ q = {total}");
    }
}

#[test]
fn burn_onnx_and_the_cached_host_path_agree() {
    for spec in both(4, 3) {
        let params = random_made(&spec, 2, 1.5);
        let made = HostSampler::new(&spec, &params).unwrap();
        for z2 in [false, true] {
            let onnx = spec.to_onnx(&params, &metadata(z2, &spec));
            let (spec_back, z2_back, params_back) = from_onnx(&onnx).unwrap();
            assert_eq!((&spec_back, z2_back), (&spec, z2));
            // configurations drawn by the library's cached sampler
            let s = sample_configurations(&made, z2, 11, 0, 300);
            let ort = onnx_log_q(&onnx, 4, &s);
            // the host one-pass path, from the weights read back
            let host = HostSampler::new(&spec, &params_back).unwrap();
            let mut worst_host = 0f64;
            for (k, c) in s.chunks(16).enumerate() {
                let raw = |x: &[i8]| host.log_q_raw(x);
                let lq = if z2 {
                    let neg: Vec<i8> = c.iter().map(|v| -v).collect();
                    let (a, b) = (raw(c), raw(&neg));
                    let m = a.max(b);
                    m + ((a - m).exp() + (b - m).exp()).ln() - std::f64::consts::LN_2
                } else {
                    raw(c)
                };
                worst_host = worst_host.max((lq - ort[k]).abs() / 16.0);
            }
            // the sampling path's own log q, for unsymmetrised draws one at a time
            let mut worst_cached = 0f64;
            if !z2 {
                let mut work = Vec::new();
                for k in 0..300u64 {
                    let (mut c, mut lq) = (vec![0i8; 16], [0.0]);
                    made.sample_block(&mut [chain_rng(11, k)], &mut c, &mut lq, &mut work);
                    assert_eq!(
                        &c[..],
                        &s[k as usize * 16..(k as usize + 1) * 16],
                        "same draws"
                    );
                    worst_cached = worst_cached.max((lq[0] - ort[k as usize]).abs() / 16.0);
                }
            }
            // the library's i.i.d. draws with their log q, z2 included
            let (s2, lq2) = sample_with_log_q(&made, z2, 11, 0, 300);
            assert_eq!(s2, s, "the same draws with and without log q");
            let worst_library = lq2
                .iter()
                .zip(&ort)
                .map(|(a, b)| (a - b).abs() / 16.0)
                .fold(0.0, f64::max);
            assert!(
                worst_library < 1e-5,
                "library log q off by {worst_library} per site"
            );
            // burn's forward (training) on the same configurations
            let device = train_device(Device::Cpu).unwrap();
            let net = Net::new(Program::default(), params.clone(), &device);
            let x: Vec<f32> = s.iter().map(|&v| v as f32).collect();
            let burn = SamplerObjective::new(&spec, z2, &device)
                .log_q_values(&net, &x)
                .unwrap();
            let worst_burn = burn
                .iter()
                .zip(&ort)
                .map(|(a, b)| (a - b).abs() / 16.0)
                .fold(0.0, f64::max);
            println!(
                "{} z2 {z2}: per-site |Δ log q| host {worst_host:.2e}, cached {worst_cached:.2e}, library {worst_library:.2e}, burn {worst_burn:.2e}",
                spec.network()
            );
            assert!(worst_host < 1e-5 && worst_cached < 1e-5 && worst_burn < 1e-5);
        }
    }
}

/// The state inputs of a step graph and their widths.
fn step_state(spec: &SamplerSpec, host: &HostSampler) -> Vec<(String, usize)> {
    match (spec, host) {
        (SamplerSpec::Made(_), HostSampler::Made(m)) => m
            .layers
            .iter()
            .enumerate()
            .map(|(k, l)| (format!("acc{}", k + 1), l.fan_out))
            .collect(),
        (SamplerSpec::Gru(g), _) => vec![("h".into(), g.hidden)],
        _ => Vec::new(),
    }
}

#[test]
fn the_step_graph_reproduces_the_one_pass_logits() {
    for spec in both(4, 3) {
        let params = random_made(&spec, 3, 1.5);
        let meta = metadata(false, &spec);
        let one_bytes = spec.to_onnx(&params, &meta);
        let mut one = Model::from_bytes(&one_bytes, "one", Device::Cpu, 1).unwrap();
        let Some(step_bytes) = spec.step_to_onnx(&params, &meta) else {
            continue; // a PixelCNN ships no step graph
        };
        let mut step = Model::from_bytes(&step_bytes, "step", Device::Cpu, 1).unwrap();
        let made = HostSampler::new(&spec, &params).unwrap();
        let states = step_state(&spec, &made);
        let rows = 7;
        let s = sample_configurations(&made, false, 3, 0, rows);
        let x: Vec<f32> = s.iter().map(|&v| v as f32).collect();
        let full = one
            .run(&[("x", &[rows, 1, 4, 4], &x)])
            .unwrap()
            .remove("logits")
            .unwrap()
            .data;
        let mut acc: Vec<Vec<f32>> = states.iter().map(|(_, w)| vec![0.0; rows * w]).collect();
        let shapes: Vec<[usize; 2]> = states.iter().map(|(_, w)| [rows, *w]).collect();
        let mut worst = 0f32;
        let (mut last_acc, mut last_logit) = (Vec::new(), Vec::new());
        for i in 0..16 {
            if i == 15 {
                last_acc = acc.clone();
            }
            let prev: Vec<f32> = (0..rows)
                .map(|r| if i == 0 { 0.0 } else { x[r * 16 + i - 1] })
                .collect();
            let site = [i as i64];
            let prev_shape = [rows, 1];
            let mut inputs: Vec<(&str, &[usize], &[f32])> =
                vec![("s_prev", &prev_shape[..], &prev[..])];
            for (k, (name, _)) in states.iter().enumerate() {
                inputs.push((name, &shapes[k][..], &acc[k][..]));
            }
            let mut out = step
                .run_with_i64(&inputs, &[("site", &[1], &site)])
                .unwrap();
            for (a, (name, _)) in acc.iter_mut().zip(&states) {
                *a = out.remove(&format!("{name}_out")).unwrap().data;
            }
            let logit = out.remove("logit").unwrap().data;
            last_logit = logit.clone();
            for r in 0..rows {
                worst = worst.max((logit[r] - full[r * 16 + i]).abs());
            }
        }
        println!(
            "{}: step graph vs one pass: largest |Δ logit| {worst:.2e}",
            spec.network()
        );
        assert!(worst < 1e-5, "{worst}");

        // onnx.checker and Python's onnxruntime agree, for both graphs
        let dir = tempfile::tempdir().unwrap();
        let (one_path, step_path, io1, io2) = (
            dir.path().join("one.onnx"),
            dir.path().join("step.onnx"),
            dir.path().join("io1.json"),
            dir.path().join("io2.json"),
        );
        std::fs::write(&one_path, &one_bytes).unwrap();
        std::fs::write(&step_path, &step_bytes).unwrap();
        let io = serde_json::json!({
            "inputs": {"x": {"shape": [rows, 1, 4, 4], "data": x}},
            "outputs": {"logits": {"shape": [rows, 1, 4, 4], "data": full}},
        });
        std::fs::write(&io1, io.to_string()).unwrap();
        run_python("check_onnx.py", &[&one_path, &io1]);
        // the last step, from the states the loop above ended with (site 15)
        let mut inputs = serde_json::Map::new();
        inputs.insert(
            "site".into(),
            serde_json::json!({"shape": [1], "data": [15], "dtype": "int64"}),
        );
        let prev: Vec<f32> = (0..rows).map(|r| x[r * 16 + 14]).collect();
        inputs.insert(
            "s_prev".into(),
            serde_json::json!({"shape": [rows, 1], "data": prev}),
        );
        for (a, (name, w)) in last_acc.iter().zip(&states) {
            inputs.insert(
                name.clone(),
                serde_json::json!({"shape": [rows, w], "data": a}),
            );
        }
        let io = serde_json::json!({"inputs": inputs, "outputs": {"logit": {"shape": [rows, 1], "data": last_logit}}});
        std::fs::write(&io2, io.to_string()).unwrap();
        run_python("check_onnx.py", &[&step_path, &io2]);
    }
}

/// Chi-square statistic of `counts` against probabilities `q` over `m`
/// draws, merging states expected fewer than 5 times; returns (χ², dof).
fn chi_square(counts: &[u64], q: &[f64], m: f64) -> (f64, usize) {
    let (mut chi2, mut bins, mut rest_o, mut rest_e) = (0.0, 0usize, 0.0, 0.0);
    for (&o, &p) in counts.iter().zip(q) {
        let e = p * m;
        if e < 5.0 {
            rest_o += o as f64;
            rest_e += e;
        } else {
            chi2 += (o as f64 - e).powi(2) / e;
            bins += 1;
        }
    }
    if rest_e > 0.0 {
        chi2 += (rest_o - rest_e).powi(2) / rest_e;
        bins += 1;
    }
    (chi2, bins - 1)
}

#[test]
fn sample_frequencies_match_q() {
    for (l, z2, m) in [
        (2usize, false, 100_000usize),
        (2, true, 100_000),
        (3, false, 200_000),
        (3, true, 200_000),
    ] {
        for spec in both(l, 4) {
            let params = random_made(&spec, 5 + l as u64, 2.5);
            let made = HostSampler::new(&spec, &params).unwrap();
            let onnx = spec.to_onnx(&params, &metadata(z2, &spec));
            let n = l * l;
            let q: Vec<f64> = onnx_log_q(&onnx, l, &all_states(n))
                .iter()
                .map(|v| v.exp())
                .collect();
            let draws = sample_configurations(&made, z2, 21, 0, m);
            let mut counts = vec![0u64; 1 << n];
            for c in draws.chunks(n) {
                let k: usize = c
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| ((v > 0) as usize) << i)
                    .sum();
                counts[k] += 1;
            }
            let (chi2, dof) = chi_square(&counts, &q, m as f64);
            // the 99.9% point of χ²(dof), Wilson–Hilferty
            let d = dof as f64;
            let crit = d * (1.0 - 2.0 / (9.0 * d) + 3.09 * (2.0 / (9.0 * d)).sqrt()).powi(3);
            println!(
                "{} L {l} z2 {z2}: χ² = {chi2:.1} on {dof} dof (99.9% point {crit:.1})",
                spec.network()
            );
            assert!(chi2 < crit, "χ² {chi2} ≥ {crit}");
        }
    }
}

#[test]
fn reverse_kl_reaches_the_boltzmann_distribution_at_l4() {
    let dir = tempfile::tempdir().unwrap();
    let t = 1.0 / 0.3;
    let ts = format!("{t}");
    let onnx = fit(
        dir.path(),
        &[
            "--L",
            "4",
            "--T",
            &ts,
            "--depth",
            "3",
            "--width",
            "4",
            "--steps",
            "600",
            "--batch",
            "512",
            "--lr",
            "5e-3",
            "--beta-anneal",
            "0.98",
            "--clip-grad",
            "1",
            "--seed",
            "1",
        ],
    );
    let states = all_states(16);
    let log_q = onnx_log_q(&onnx, 4, &states);
    let ln_z = brute_force(4, 4, t, 0.0, 1.0).ln_z;
    let kl: f64 = states
        .chunks(16)
        .zip(&log_q)
        .map(|(s, &lq)| lq.exp() * (lq + 0.3 * energy(s, 4, 1.0, 0.0) + ln_z))
        .sum();
    println!("reverse KL, L 4, β 0.3: KL(q‖p) = {kl:.5} nats");
    assert!((0.0..0.01).contains(&kl), "KL(q‖p) = {kl}");
}

#[test]
fn forward_kl_nll_approaches_the_exact_entropy_at_l8() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let t = format!("{}", 1.0 / 0.3);
    let data = d.join("sw.parquet");
    let g = run(
        "gen-ising",
        &[
            "--n",
            "24000",
            "--L",
            "8",
            "--T",
            &t,
            "--h",
            "0",
            "--algorithm",
            "sw",
            "--sweeps",
            "50",
            "--per-chain",
            "1000",
            "--thin",
            "2",
            "--seed",
            "4",
            "-o",
            data.to_str().unwrap(),
            "-q",
        ],
    );
    assert!(g.status.success(), "{}", stderr(&g));
    let log = d.join("log.parquet");
    let s = kaufman(8, 8, 1.0 / 0.3, 1.0).entropy;
    // (arch, width, steps, batch, lr): VAN's MADE, and the DCL paper's GRU
    for (arch, width, steps, batch, lr) in [
        ("made", "8", "1500", "256", "3e-3"),
        ("gru", "64", "1200", "128", "5e-3"),
    ] {
        fit(
            d,
            &[
                "--L",
                "8",
                "--T",
                &t,
                "--objective",
                "forward-kl",
                "--data",
                data.to_str().unwrap(),
                "--arch",
                arch,
                "--depth",
                "3",
                "--width",
                width,
                "--steps",
                steps,
                "--batch",
                batch,
                "--lr",
                lr,
                "--eval-every",
                "400",
                "--seed",
                "2",
                "--out-log",
                log.to_str().unwrap(),
            ],
        );
        let rows = read_log(&log);
        let nll = rows.iter().rev().find(|r| r.1 == "test").unwrap().2;
        println!(
            "forward KL, {arch}, L 8, β 0.3: held-out NLL/N = {nll:.5}, exact S/N = {s:.5}, gap {:.5}",
            nll - s
        );
        assert!(
            nll - s < 0.01 && nll - s > -0.003,
            "{arch}: NLL {nll} vs S {s}"
        );
    }
}

#[test]
fn resume_and_threads_give_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let base = [
        "--L",
        "4",
        "--T",
        "2.5",
        "--batch",
        "64",
        "--lr",
        "1e-2",
        "--seed",
        "9",
        "--lr-schedule",
        "constant",
    ];
    let ck = d.join("ck.bin");
    let ck = ck.to_str().unwrap();
    for (objective_args, name) in [(vec![], "reverse"), (vec!["--z2"], "reverse z2")] {
        let with = |extra: &[&str]| -> Vec<u8> {
            let mut a = base.to_vec();
            a.extend(objective_args.iter().copied());
            a.extend(extra);
            fit(d, &a)
        };
        let straight = with(&["--steps", "20", "--checkpoint", ck]);
        with(&["--steps", "10", "--checkpoint", ck]);
        let resumed = with(&["--steps", "20", "--resume", ck, "--checkpoint", ck]);
        assert!(
            straight == resumed,
            "{name}: 10 steps + resume to 20 ≠ 20 steps"
        );
    }
    same_outputs_across_threads(
        "fit-sampler",
        &[
            "--L",
            "4",
            "--T",
            "2.5",
            "--batch",
            "64",
            "--steps",
            "8",
            "--seed",
            "9",
            "--out-model",
            "q.onnx",
        ],
        &["q.onnx"],
        d,
    );
}

#[test]
fn init_from_carries_the_weights_over() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let first = fit(
        d,
        &[
            "--L", "4", "--T", "2.5", "--batch", "64", "--steps", "30", "--lr", "1e-2", "--seed",
            "4",
        ],
    );
    std::fs::write(d.join("first.onnx"), &first).unwrap();
    let from = d.join("first.onnx");
    // one step at a negligible learning rate: the same distribution
    let second = fit(
        d,
        &[
            "--L",
            "4",
            "--T",
            "2.5",
            "--batch",
            "64",
            "--steps",
            "1",
            "--lr",
            "1e-12",
            "--seed",
            "5",
            "--init-from",
            from.to_str().unwrap(),
        ],
    );
    let states = all_states(16);
    let (a, b) = (
        onnx_log_q(&first, 4, &states),
        onnx_log_q(&second, 4, &states),
    );
    let worst = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    println!("--init-from: largest change of log q over all states {worst:.2e}");
    assert!(worst < 1e-4, "{worst}");
    let fresh = fit(
        d,
        &[
            "--L", "4", "--T", "2.5", "--batch", "64", "--steps", "1", "--lr", "1e-12", "--seed",
            "5",
        ],
    );
    let c = onnx_log_q(&fresh, 4, &states);
    assert!(
        a.iter()
            .zip(&c)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max)
            > 0.1,
        "a fresh start differs"
    );
}

#[test]
fn bad_input_is_refused_with_exit_2_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = d.join("m.parquet");
    let g = run(
        "gen-ising",
        &[
            "--n",
            "20",
            "--L",
            "4",
            "--T",
            "2",
            "--h",
            "0",
            "--sweeps",
            "5",
            "-o",
            data.to_str().unwrap(),
            "-q",
        ],
    );
    assert!(g.status.success());
    let bundles = d.join("b.parquet");
    write_example(phasekit::meta::Kind::Bundles, &bundles).unwrap();
    let out = d.join("q.onnx");
    let o = out.to_str().unwrap();
    let base = ["--steps", "2", "--batch", "8", "--out-model", o];
    let ds = data.to_str().unwrap();
    let fk = ["--objective", "forward-kl", "--data"];
    assert_refused(
        "fit-sampler",
        &base,
        &[
            (vec!["--L", "1", "--T", "2"], "--L"),
            (vec!["--L", "4", "--T", "-1"], "--T"),
            (vec!["--L", "4", "--T", "2", "--augment"], "--augment"),
            (
                vec!["--L", "4", "--T", "2", "--objective", "forward-kl"],
                "--data",
            ),
            (
                [&["--L", "6", "--T", "2"][..], &fk, &[ds]].concat(),
                "--L is 6",
            ),
            (
                [&["--L", "4", "--T", "3"][..], &fk, &[ds]].concat(),
                "--T 3",
            ),
            (
                [&["--L", "4", "--T", "2", "--J", "2"][..], &fk, &[ds]].concat(),
                "J = 1",
            ),
            (
                [
                    &["--L", "4", "--T", "2"][..],
                    &fk,
                    &[bundles.to_str().unwrap()],
                ]
                .concat(),
                "bundles",
            ),
            (
                vec!["--L", "4", "--T", "2", "--beta-anneal", "1.5"],
                "--beta-anneal",
            ),
            (vec!["--L", "4", "--T", "2", "--depth", "0"], "--depth"),
            (
                vec!["--L", "4", "--T", "2", "--init-from", ds],
                "--init-from",
            ),
            (
                vec!["--L", "4", "--T", "2", "--device", "cuda"],
                "--device cuda",
            ),
        ],
        &out,
    );
}
