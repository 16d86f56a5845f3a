//! nis-estimate against exact references: every estimate at L = 4 against
//! enumeration (phasekit's MADE on the host, a foreign sampler and a foreign
//! energy through ONNX Runtime), honest σ over seeds at L = 6 against
//! Kaufman, mode dropping at L = 8, thread invariance, bad input.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use phasekit::contract::estimates::{find, load, EstimateRow};
use phasekit::exact::ising::{brute_force, kaufman};
use phasekit::nn::onnx::{encode, Dim, GraphBuilder};
use phasekit::sim::ising::lattice::energy;
use phasekit::sim::rng::chain_rng;
use rand::Rng;

fn train(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let mut all = args.to_vec();
    all.extend(["--out-model", out.to_str().unwrap(), "-q"]);
    let r = run("fit-sampler", &all);
    assert!(r.status.success(), "fit-sampler {all:?}: {}", stderr(&r));
    out
}

/// Run nis-estimate with `args` into `out`; returns its rows and stderr.
fn nis(args: &[&str], out: &Path) -> (Vec<EstimateRow>, String) {
    let mut all = args.to_vec();
    all.extend(["-o", out.to_str().unwrap(), "--progress", "never"]);
    let r = run("nis-estimate", &all);
    let err = stderr(&r);
    assert!(r.status.success(), "nis-estimate {all:?}: {err}");
    (load(out).unwrap().1, err)
}

fn get<'a>(rows: &'a [EstimateRow], method: &str, q: &str) -> &'a EstimateRow {
    find(rows, method, q).unwrap_or_else(|| panic!("no {method} {q} row"))
}

/// (value − exact)/σ of a row.
fn pull(rows: &[EstimateRow], method: &str, q: &str, exact: f64) -> f64 {
    let r = get(rows, method, q);
    let z = (r.value - exact) / r.std_error.unwrap();
    println!(
        "{method} {q}: {:.7} ± {:.1e} (exact {exact:.7}, pull {z:+.2})",
        r.value,
        r.std_error.unwrap()
    );
    z
}

/// A foreign sampler: logit_j = b_j + Σ_i W_ij x_i, one dense MatMul; it
/// is autoregressive only when W_ij = 0 for i ≥ j.
fn dense_sampler(path: &Path, l: usize, w: &[f32], b: &[f32]) {
    let n = l * l;
    let mut g = GraphBuilder::new("dense");
    let x = g.input_f32("x", &Dim::lattice(l));
    let flat = g.const_i64("flat", &[-1, n as i64]);
    let h = g.op("Reshape", &[&x, &flat], &[]);
    let wt = g.weight("dense_w", &[n, n], w);
    let bt = g.weight("dense_b", &[n], b);
    let mm = g.op("MatMul", &[&h, &wt], &[]);
    let y = g.op("Add", &[&mm, &bt], &[]);
    let image = g.const_i64("image", &[-1, 1, l as i64, l as i64]);
    g.op_into("Reshape", &[&y, &image], &["logits"], &[]);
    g.output_f32("logits", &Dim::lattice(l));
    let meta = [
        ("phasekit.kind", "sampler"),
        ("phasekit.version", "1"),
        ("phasekit.L", &l.to_string()),
        ("phasekit.order", "raster"),
        ("phasekit.z2", "false"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()));
    std::fs::write(path, encode(&g.finish("a foreign sampler", &meta))).unwrap();
}

/// Random couplings to earlier sites only (or to every site: it peeks).
fn dense_weights(l: usize, causal: bool, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let n = l * l;
    let mut rng = chain_rng(seed, 0);
    let w = (0..n * n)
        .map(|k| {
            let (i, j) = (k / n, k % n);
            if causal && i >= j {
                0.0
            } else {
                rng.random_range(-0.3..0.3)
            }
        })
        .collect();
    let b = (0..n).map(|_| rng.random_range(-0.3..0.3)).collect();
    (w, b)
}

/// Swendsen–Wang samples from gen-ising.
fn swendsen_wang(path: &Path, l: usize, t: &str, h: &str, n: usize) {
    let (l, n) = (l.to_string(), n.to_string());
    gen_ising(
        path,
        &[
            "--n",
            &n,
            "--L",
            &l,
            "--T",
            t,
            "--h",
            h,
            "--algorithm",
            "sw",
            "--per-chain",
            "500",
            "--thin",
            "2",
            "--sweeps",
            "50",
            "--seed",
            "4",
        ],
    );
}

/// Every NIS estimate, NMCMC and the p-estimator within 4σ of enumeration.
fn check_l4(rows: &[EstimateRow], t: f64, h: f64) {
    let ex = brute_force(4, 4, t, h, 1.0);
    let beta = 1.0 / t;
    let f = -ex.ln_z / (beta * 16.0);
    let chi = beta * 16.0 * (ex.magnetization_sq - ex.abs_magnetization.powi(2));
    let mut pulls = vec![
        pull(rows, "nis", "ln_z", ex.ln_z),
        pull(rows, "nis", "free_energy", f),
        pull(rows, "nis-bootstrap", "free_energy", f),
        pull(rows, "nis", "energy", ex.energy),
        pull(rows, "nis", "abs_magnetization", ex.abs_magnetization),
        pull(rows, "nis", "magnetization_sq", ex.magnetization_sq),
        pull(rows, "nis", "specific_heat", ex.heat_capacity),
        pull(rows, "nis", "susceptibility", chi),
        pull(rows, "nis", "entropy", beta * (ex.energy - f)),
        pull(rows, "nmcmc", "energy", ex.energy),
        pull(rows, "nmcmc", "abs_magnetization", ex.abs_magnetization),
    ];
    if find(rows, "p-estimator", "free_energy").is_some() {
        pulls.push(pull(rows, "p-estimator", "free_energy", f));
        pulls.push(pull(rows, "mode-dropping", "w_hat", 1.0));
    }
    assert!(pulls.iter().all(|z| z.abs() < 4.0), "{pulls:?}");
    // the variational bound is above F, KL(q‖p) ≥ 0, and ESS/M in (0, 1]
    assert!(get(rows, "variational", "free_energy").value > f);
    assert!(get(rows, "variational", "kl_divergence").value > 0.0);
    let ess = get(rows, "nis", "ess_fraction").value;
    assert!(ess > 0.0 && ess <= 1.0);
}

#[test]
fn every_estimate_at_l4_equals_exact_enumeration() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (t, h) = ("2.5", "0.3");
    // phasekit's MADE, drawn on the host, with MCMC data for the p-estimator
    let q = train(
        d,
        "made.onnx",
        &[
            "--L", "4", "--T", t, "--h", h, "--depth", "2", "--batch", "500", "--steps", "300",
            "--seed", "1",
        ],
    );
    let sw = d.join("sw.parquet");
    swendsen_wang(&sw, 4, t, h, 4000);
    let q = q.to_str().unwrap();
    let base = [
        "--model",
        q,
        "--L",
        "4",
        "--T",
        t,
        "--h",
        h,
        "--samples",
        "100000",
        "--seed",
        "3",
    ];
    let mut args = base.to_vec();
    args.extend([
        "--nmcmc",
        "--mcmc",
        sw.to_str().unwrap(),
        "--plots",
        d.to_str().unwrap(),
    ]);
    let samples = d.join("draws.parquet");
    args.extend(["--samples-out", samples.to_str().unwrap()]);
    let (rows, err) = nis(&args, &d.join("est.parquet"));
    assert!(err.contains("host"), "{err}");
    check_l4(&rows, 2.5, 0.3);
    assert_png(
        &d.join("nis-diagnostics.png"),
        phasekit::plot::figures::NIS_SIZE,
    );
    // the draws' log_w is −βE − log q with E from the states
    let ds = phasekit::contract::open(&samples, phasekit::meta::Kind::Microstates).unwrap();
    let mut checked = 0;
    for b in ds.batches(None, 4096).unwrap() {
        let b = b.unwrap();
        let (states, n) = phasekit::contract::list_i8(&b, "state").unwrap();
        let lq = phasekit::contract::col_f64(&b, "log_q").unwrap();
        let lw = phasekit::contract::col_f64(&b, "log_w").unwrap();
        for (k, s) in states.chunks(n).enumerate().take(50) {
            let e = energy(s, 4, 1.0, 0.3);
            assert!((lw[k] - (-e / 2.5 - lq[k])).abs() < 1e-9);
            checked += 1;
        }
    }
    assert!(checked > 0 && ds.num_rows == 100_000);
    // the report grades every estimate against the transfer matrix
    let report = d.join("report.md");
    let r = run(
        "pk-report",
        &[
            "--estimates",
            d.join("est.parquet").to_str().unwrap(),
            "-o",
            report.to_str().unwrap(),
            "-q",
        ],
    );
    assert!(r.status.success(), "{}", stderr(&r));
    let md = std::fs::read_to_string(&report).unwrap();
    assert!(
        md.contains("nis free_energy") && md.contains("transfer matrix"),
        "{md}"
    );
    assert!(!md.contains("**fail**"), "{md}");

    // another temperature than the sampler was trained for: a warning, and
    // importance sampling stays exact
    let mut args = base.to_vec();
    args[5] = "2.7";
    args[9] = "50000";
    let (rows, err) = nis(&args, &d.join("other-t.parquet"));
    assert!(err.contains("trained for T = 2.5"), "{err}");
    let ex = brute_force(4, 4, 2.7, 0.3, 1.0);
    assert!(pull(&rows, "nis", "ln_z", ex.ln_z).abs() < 4.0);
    assert!(pull(&rows, "nis", "energy", ex.energy).abs() < 4.0);

    // a foreign sampler (drawn through ONNX Runtime) and a foreign energy model
    let foreign = d.join("dense.onnx");
    let (w, b) = dense_weights(4, true, 5);
    dense_sampler(&foreign, 4, &w, &b);
    let e_model = d.join("energy.onnx");
    ising_energy_model(&e_model, 4, 1.0, 0.3);
    let (rows, err) = nis(
        &[
            "--model",
            foreign.to_str().unwrap(),
            "--energy",
            e_model.to_str().unwrap(),
            "--T",
            t,
            "--samples",
            "60000",
            "--nmcmc",
            "--seed",
            "2",
            "--batch",
            "7000",
        ],
        &d.join("foreign.parquet"),
    );
    assert!(err.contains("ONNX Runtime"), "{err}");
    check_l4(&rows, 2.5, 0.3);
}

#[test]
fn error_bars_are_honest_over_seeds_at_l6() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let t = "2.5"; // β = 0.4
    let q = train(
        d,
        "q.onnx",
        &[
            "--L", "6", "--T", t, "--z2", "--depth", "2", "--batch", "500", "--steps", "2000",
            "--seed", "2",
        ],
    );
    let k = kaufman(6, 6, 2.5, 1.0);
    let mut pulls = Vec::new();
    for seed in 0..5 {
        let s = seed.to_string();
        let (rows, _) = nis(
            &[
                "--model",
                q.to_str().unwrap(),
                "--L",
                "6",
                "--T",
                t,
                "--samples",
                "20000",
                "--seed",
                &s,
            ],
            &d.join(format!("e{seed}.parquet")),
        );
        pulls.push(pull(&rows, "nis", "free_energy", k.free_energy));
        pulls.push(pull(&rows, "nis", "energy", k.energy));
        pulls.push(pull(&rows, "nis", "entropy", k.entropy));
        pulls.push(pull(&rows, "nis", "specific_heat", k.heat_capacity));
    }
    let mean_abs = pulls.iter().map(|z| z.abs()).sum::<f64>() / pulls.len() as f64;
    println!("mean |pull| {mean_abs:.2} over {} pulls", pulls.len());
    assert!(pulls.iter().all(|z| z.abs() < 3.0), "{pulls:?}");
    assert!(mean_abs <= 1.5, "mean |pull| {mean_abs}");
}

/// The same sampler with its first spin pinned to +1 (logit 30): at β = 0.6
/// the first spin fixes the sign of the magnetisation, so this q holds one
/// of p's two magnetised modes.
fn pin_first_spin(src: &Path, dst: &Path) {
    let bytes = std::fs::read(src).unwrap();
    let (spec, z2, mut params) = phasekit::nn::autoreg::from_onnx(&bytes).unwrap();
    let model = phasekit::nn::onnx::decode(&bytes).unwrap();
    let meta: Vec<(String, String)> = model
        .metadata_props
        .iter()
        .map(|p| (p.key.clone(), p.value.clone()))
        .collect();
    assert!(!z2);
    let depth = params.iter().filter(|p| p.name.starts_with('b')).count();
    let last = params
        .iter_mut()
        .find(|p| p.name == format!("b{depth}"))
        .unwrap();
    last.data[0] = 30.0;
    std::fs::write(dst, spec.to_onnx(&params, &meta)).unwrap();
}

#[test]
fn mode_dropping_is_detected_at_l8() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let t = "1.6666666666666667"; // β = 0.6
    let sw = d.join("sw.parquet");
    swendsen_wang(&sw, 8, t, "0", 3000);
    let run_with = |q: &Path, out: &str| {
        nis(
            &[
                "--model",
                q.to_str().unwrap(),
                "--L",
                "8",
                "--T",
                t,
                "--samples",
                "30000",
                "--mcmc",
                sw.to_str().unwrap(),
                "--seed",
                "1",
            ],
            &d.join(out),
        )
    };
    let recipe = [
        "--L", "8", "--T", t, "--depth", "2", "--batch", "500", "--steps", "1500", "--seed", "3",
    ];
    // from a symmetric start the MADE keeps both modes; pinned, it holds one
    let plain = train(d, "plain.onnx", &recipe);
    let one_mode = d.join("one-mode.onnx");
    pin_first_spin(&plain, &one_mode);
    let (rows, err) = run_with(&one_mode, "one-mode.parquet");
    let w = get(&rows, "mode-dropping", "w_hat");
    println!("one mode: ŵ = {} ± {:?}", w.value, w.std_error);
    assert!((w.value - 0.5).abs() < 0.1, "ŵ {}", w.value);
    assert!(err.contains("mode dropping"), "{err}");
    let meta = load(&d.join("one-mode.parquet")).unwrap().0;
    assert!(meta.extra["warnings"].to_string().contains("mode dropping"));

    // a large step size freezes q onto the two ground states: ESS/M looks
    // excellent on q's own draws, ŵ shows it misses most of p
    let frozen = train(
        d,
        "frozen.onnx",
        &[
            "--L",
            "8",
            "--T",
            t,
            "--depth",
            "2",
            "--batch",
            "500",
            "--steps",
            "1000",
            "--lr",
            "3e-2",
            "--beta-anneal",
            "0",
            "--seed",
            "5",
        ],
    );
    let (rows, err) = run_with(&frozen, "frozen.parquet");
    let w = get(&rows, "mode-dropping", "w_hat");
    let ess = get(&rows, "nis", "ess_fraction").value;
    println!("frozen: ŵ = {} ± {:?}, ESS/M {ess}", w.value, w.std_error);
    assert!(
        w.value < 0.6 && ess > 0.5 && err.contains("mode dropping"),
        "{err}"
    );

    let mut with_z2 = recipe.to_vec();
    with_z2.push("--z2");
    let symmetric = train(d, "z2.onnx", &with_z2);
    let (rows, err) = run_with(&symmetric, "z2.parquet");
    let z = pull(&rows, "mode-dropping", "w_hat", 1.0);
    assert!(z.abs() < 3.0 && !err.contains("mode dropping"), "{err}");
    let k = kaufman(8, 8, 1.0 / 0.6, 1.0);
    assert!(pull(&rows, "p-estimator", "free_energy", k.free_energy).abs() < 4.0);
    assert!(pull(&rows, "nis", "free_energy", k.free_energy).abs() < 4.0);
}

#[test]
fn threads_do_not_change_the_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let q = train(
        d,
        "q.onnx",
        &[
            "--L", "4", "--T", "2.5", "--z2", "--depth", "2", "--steps", "50",
        ],
    );
    let (w, b) = dense_weights(4, true, 9);
    let foreign = d.join("dense.onnx");
    dense_sampler(&foreign, 4, &w, &b);
    for model in [&q, &foreign] {
        let m = model.to_str().unwrap();
        same_outputs_across_threads(
            "nis-estimate",
            &[
                "--model",
                m,
                "--L",
                "4",
                "--T",
                "2.5",
                "--samples",
                "5000",
                "--batch",
                "777",
                "--nmcmc",
                "-o",
                "e.parquet",
                "--samples-out",
                "s.parquet",
            ],
            &["e.parquet", "s.parquet"],
            &d.join(model.file_stem().unwrap()),
        );
    }
}

#[test]
fn bad_input_is_refused_with_exit_2_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let q = train(
        d,
        "q.onnx",
        &["--L", "4", "--T", "2.5", "--depth", "2", "--steps", "20"],
    );
    let q = q.to_str().unwrap();
    let peeks = d.join("peeks.onnx");
    let (w, b) = dense_weights(4, false, 1);
    dense_sampler(&peeks, 4, &w, &b);
    let energy = d.join("energy.onnx");
    ising_energy_model(&energy, 4, 1.0, 0.0);
    // NaN in the last layer's bias at site 5: log q of every draw is NaN
    let nan = d.join("nan.onnx");
    {
        let (w, mut b) = dense_weights(4, true, 2);
        b[5] = f32::NAN;
        dense_sampler(&nan, 4, &w, &b);
    }
    let parquet = d.join("micro.parquet");
    write_microstates(&parquet, 10, 4, 0).unwrap();
    let sw_l6 = d.join("sw6.parquet");
    swendsen_wang(&sw_l6, 6, "2.5", "0", 1000);
    let sw_t = d.join("swt.parquet");
    swendsen_wang(&sw_t, 4, "3.0", "0", 1000);
    let out = d.join("e.parquet");
    let o = out.to_str().unwrap();
    // each case: its own flags, then --T 2.5 and --samples 1000 where it gives none
    let with = |m: &str, extra: &[&str]| -> Vec<String> {
        let mut v = vec!["--model".to_string(), m.to_string()];
        v.extend(extra.iter().map(|s| s.to_string()));
        for (flag, value) in [("--T", "2.5"), ("--samples", "1000")] {
            if !extra.contains(&flag) {
                v.extend([flag.to_string(), value.to_string()]);
            }
        }
        v.extend(["-o".to_string(), o.to_string()]);
        v
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            with(energy.to_str().unwrap(), &["--L", "4"]),
            "not a sampler",
        ),
        (
            with(parquet.to_str().unwrap(), &["--L", "4"]),
            "not a loadable ONNX model",
        ),
        (
            with(peeks.to_str().unwrap(), &["--L", "4"]),
            "not autoregressive",
        ),
        (
            with(nan.to_str().unwrap(), &["--L", "4"]),
            "log q of sample 0 is NaN",
        ),
        (with(q, &["--L", "4", "--samples", "0"]), "--samples"),
        (with(q, &["--L", "5"]), "--L 5"),
        (with(q, &["--L", "4", "--T", "nan"]), "--T"),
        (
            with(q, &["--L", "4", "--mcmc", sw_l6.to_str().unwrap()]),
            "shape [6, 6]",
        ),
        (
            with(q, &["--L", "4", "--mcmc", sw_t.to_str().unwrap()]),
            "T = 3",
        ),
        (
            with(
                q,
                &["--L", "4", "--J", "0.5", "--mcmc", sw_t.to_str().unwrap()],
            ),
            "J = 1",
        ),
        (with(q, &["--energy", q]), "--energy"),
        (with("missing.onnx", &["--L", "4"]), "missing.onnx"),
    ];
    let cases: Vec<(Vec<&str>, &str)> = cases
        .iter()
        .map(|(args, needle)| (args.iter().map(String::as_str).collect(), *needle))
        .collect();
    assert_refused("nis-estimate", &[], &cases, &out);
}
