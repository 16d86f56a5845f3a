//! Distribution-consistent learning (fit-ednn, eval-dcl) against exact
//! references: the exported tiling against a direct per-tile sum, an EDNN
//! trained on true energies recovering J, Metropolis on the exact tile table
//! against Kaufman, a short end-to-end run, bad input.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use phasekit::contract::estimates::{load, EstimateRow};
use phasekit::exact::ising::{brute_force, kaufman};
use phasekit::nn::ednn::{to_onnx, EdnnSpec, HostEdnn};
use phasekit::runtime::{Device, Model};
use phasekit::sim::rng::chain_rng;
use rand::Rng;

fn spec() -> EdnnSpec {
    EdnnSpec {
        f: 2,
        c: 1,
        hidden: vec![8, 4],
    }
}

fn meta(l: usize) -> Vec<(String, String)> {
    vec![
        ("phasekit.kind".into(), "energy".into()),
        ("phasekit.version".into(), "1".into()),
        ("phasekit.L".into(), l.to_string()),
        ("phasekit.network".into(), spec().network().to_string()),
    ]
}

fn rows_at(path: &Path) -> Vec<([f64; 2], EstimateRow)> {
    let ds = phasekit::contract::open(path, phasekit::meta::Kind::Estimates).unwrap();
    let mut at = Vec::new();
    for b in ds.batches(None, 4096).unwrap() {
        let b = b.unwrap();
        let beta = phasekit::contract::col_f64(&b, "beta").unwrap().to_vec();
        let l = phasekit::contract::col_f64(&b, "L").unwrap().to_vec();
        at.extend(beta.into_iter().zip(l).map(|(a, b)| [a, b]));
    }
    at.into_iter().zip(load(path).unwrap().1).collect()
}

/// (estimate − exact)/σ of quantity `q` at β, printed beside its reference.
fn pull(rows: &[([f64; 2], EstimateRow)], beta: f64, q: &str, exact: f64, what: &str) -> f64 {
    let (_, r) = rows
        .iter()
        .find(|(at, r)| at[0] == beta && r.quantity == q)
        .unwrap();
    let z = (r.value - exact) / r.std_error.unwrap();
    println!(
        "β {beta} {q}: {:.5} ± {:.1e} ({what} {exact:.5}, pull {z:+.2})",
        r.value,
        r.std_error.unwrap()
    );
    z
}

#[test]
fn the_exported_tiling_equals_a_direct_sum_over_tiles_at_every_l() {
    let dir = tempfile::tempdir().unwrap();
    let params = spec().init(&mut chain_rng(4, 0));
    let host = HostEdnn::new(&spec(), &params).unwrap();
    let path = dir.path().join("e.onnx");
    std::fs::write(&path, to_onnx(&spec(), &params, &meta(8))).unwrap();
    let mut model = Model::load(&path, Device::Cpu, 1).unwrap();
    let mut rng = chain_rng(5, 0);
    let mut io = serde_json::Value::Null;
    for l in [4usize, 6, 8, 12] {
        let states: Vec<i8> = (0..10 * l * l)
            .map(|_| if rng.random() { 1 } else { -1 })
            .collect();
        let x: Vec<f32> = states.iter().map(|&v| v as f32).collect();
        let out = model.run(&[("states", &[10, l, l], &x)]).unwrap();
        let e = &out["energy"];
        assert_eq!(e.shape, vec![10]);
        for (k, s) in states.chunks(l * l).enumerate() {
            let direct = host.energy(s, l);
            assert!(
                (direct - e.data[k] as f64).abs() < 1e-4 * (1.0 + direct.abs()),
                "L {l}: {direct} vs {}",
                e.data[k]
            );
        }
        io = serde_json::json!({"inputs": {"states": {"shape": [10, l, l], "data": x}},
                                "outputs": {"energy": {"shape": [10], "data": e.data}}});
    }
    // the same numbers from Python's onnxruntime, and onnx.checker's full check
    let io_path = dir.path().join("io.json");
    std::fs::write(&io_path, io.to_string()).unwrap();
    run_python("check_onnx.py", &[&path, &io_path]);
}

#[test]
fn an_ednn_trained_on_true_energies_recovers_the_coupling() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // configurations up to T = 20 hold every local pattern; the test set covers every energy level
    let data = d.join("data.parquet");
    gen_ising(
        &data,
        &[
            "--n", "4000", "--L", "8", "--T", "1.5:20", "--h", "0", "--sweeps", "200", "--seed",
            "1",
        ],
    );
    let test = d.join("test.parquet");
    gen_ising(
        &test,
        &[
            "--n", "1000", "--L", "8", "--T", "1.5:5", "--h", "0", "--sweeps", "200", "--seed", "2",
        ],
    );
    let model = d.join("energy.onnx");
    let err = run_ok(
        "fit-ednn",
        &[
            "--data",
            data.to_str().unwrap(),
            "--true-energy",
            "--steps",
            "40000",
            "--lr",
            "1e-2",
            "--batch",
            "64",
            "--test",
            test.to_str().unwrap(),
            "--out-model",
            model.to_str().unwrap(),
            "--seed",
            "1",
        ],
    );
    println!("{err}");
    let m = Model::load(&model, Device::Cpu, 1).unwrap();
    let eval: serde_json::Value = serde_json::from_str(&m.metadata["phasekit.evaluation"]).unwrap();
    let rmse = eval["rmse_ednn"].as_f64().unwrap();
    let j = eval["couplings"]["j_nn"][0].as_f64().unwrap();
    assert!(rmse < 0.05, "RMSE {rmse}");
    assert!((j - 1.0).abs() < 0.01, "J {j}");
    assert!(eval["couplings"]["max_other_pair"].as_f64().unwrap() < 0.02);
}

#[test]
fn metropolis_on_the_exact_tile_table_matches_kaufman() {
    // honest error bars: the pulls of U and C over five seeds
    let dir = tempfile::tempdir().unwrap();
    let mut pulls = Vec::new();
    for seed in 1..=5 {
        let out = dir.path().join(format!("e{seed}.parquet"));
        let seed = seed.to_string();
        run_ok(
            "eval-dcl",
            &[
                "--ising",
                "--beta",
                "0.3,0.4407,0.6",
                "--L",
                "8",
                "--chains",
                "4",
                "--burn-in",
                "500",
                "--sweeps",
                "5000",
                "--seed",
                &seed,
                "-q",
                "-o",
                out.to_str().unwrap(),
            ],
        );
        let rows = rows_at(&out);
        for beta in [0.3, 0.4407, 0.6] {
            let k = kaufman(8, 8, 1.0 / beta, 1.0);
            for (q, exact) in [("energy", k.energy), ("specific_heat", k.heat_capacity)] {
                pulls.push(pull(
                    &rows,
                    beta,
                    q,
                    exact,
                    &format!("seed {seed}, Kaufman"),
                ));
            }
        }
    }
    assert!(pulls.iter().all(|z| z.abs() < 4.0), "{pulls:?}");
    // 30 pulls of unit variance: their mean square lies in [0.4, 2] unless σ is wrong
    let ms = pulls.iter().map(|z| z * z).sum::<f64>() / pulls.len() as f64;
    println!("mean square pull over {} estimates: {ms:.2}", pulls.len());
    assert!(
        (0.4..2.0).contains(&ms),
        "mean square pull {ms:.2}: {pulls:?}"
    );
}

fn train_rnn(d: &Path, obs: &Path) -> PathBuf {
    let q = d.join("rnn.onnx");
    run_ok(
        "fit-sampler",
        &[
            "--L",
            "8",
            "--T",
            "2.269185314213022",
            "--arch",
            "gru",
            "--width",
            "32",
            "--objective",
            "forward-kl",
            "--augment",
            "--data",
            obs.to_str().unwrap(),
            "--steps",
            "300",
            "--batch",
            "128",
            "--out-model",
            q.to_str().unwrap(),
            "-q",
        ],
    );
    q
}

#[test]
fn a_short_dcl_run_end_to_end_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let obs = d.join("obs.parquet");
    gen_ising(
        &obs,
        &[
            "--n",
            "2000",
            "--L",
            "8",
            "--T",
            "2.269185314213022",
            "--h",
            "0",
            "--algorithm",
            "sw",
            "--per-chain",
            "500",
            "--thin",
            "2",
            "--sweeps",
            "50",
            "--seed",
            "3",
        ],
    );
    let q = train_rnn(d, &obs);
    let energy = d.join("energy.onnx");
    run_ok(
        "fit-ednn",
        &[
            "--data",
            obs.to_str().unwrap(),
            "--sampler",
            q.to_str().unwrap(),
            "--draws",
            "1000",
            "--random",
            "1000",
            "--steps",
            "200",
            "--test",
            obs.to_str().unwrap(),
            "--plots",
            d.to_str().unwrap(),
            "--out-model",
            energy.to_str().unwrap(),
            "-q",
        ],
    );
    let out = d.join("learned.parquet");
    run_ok(
        "eval-dcl",
        &[
            "--energy",
            energy.to_str().unwrap(),
            "--beta",
            "0.4407",
            "--L",
            "8,16",
            "--chains",
            "2",
            "--burn-in",
            "50",
            "--sweeps",
            "200",
            "-q",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    let rows = rows_at(&out);
    assert_eq!(
        rows.iter().filter(|(_, r)| r.quantity == "energy").count(),
        2
    );
    assert!(rows.iter().all(|(_, r)| r.value.is_finite()));
    // the report: the true Hamiltonian's rows are graded against Kaufman
    let truth = d.join("true.parquet");
    run_ok(
        "eval-dcl",
        &[
            "--ising",
            "--beta",
            "0.4407",
            "--L",
            "8,16",
            "--chains",
            "2",
            "--burn-in",
            "200",
            "--sweeps",
            "2000",
            "-q",
            "-o",
            truth.to_str().unwrap(),
        ],
    );
    let entropy = d.join("entropy.parquet");
    run_ok(
        "nis-estimate",
        &[
            "--model",
            q.to_str().unwrap(),
            "--energy",
            energy.to_str().unwrap(),
            "--T",
            "2.269185314213022",
            "--samples",
            "2000",
            "-q",
            "-o",
            entropy.to_str().unwrap(),
        ],
    );
    let report = d.join("report.md");
    let figure = format!("figure 2={}", d.join("ednn-energies.png").display());
    run_ok(
        "pk-report",
        &[
            "--dcl-energy",
            energy.to_str().unwrap(),
            "--learned",
            out.to_str().unwrap(),
            "--truth",
            truth.to_str().unwrap(),
            "--entropy",
            entropy.to_str().unwrap(),
            "--figure",
            &figure,
            "-q",
            "-o",
            report.to_str().unwrap(),
        ],
    );
    let md = std::fs::read_to_string(&report).unwrap();
    for row in [
        "learned nearest-neighbour coupling",
        "S/L² of the sampler at L = 8",
        "U/L² learned, β = 0.4407, L = 16",
    ] {
        assert!(md.contains(row), "{row}: {md}");
    }
    let true_row = md
        .lines()
        .find(|l| l.contains("U/L² true Hamiltonian, β = 0.4407, L = 16"))
        .unwrap_or_else(|| panic!("{md}"));
    assert!(true_row.contains("| pass |"), "{true_row}");
    // the figures: fit-ednn's figure 2, the report's U, |M| and C against β
    assert_png(&d.join("ednn-energies.png"), (760, 680));
    assert_png(&d.join("dcl-thermo.png"), (1500, 500));
    assert!(
        md.contains("(dcl-thermo.png)") && md.contains("(ednn-energies.png)"),
        "{md}"
    );

    // bad input: one line, exit 2, no output
    let o = d.join("bad.parquet");
    let os = o.to_str().unwrap();
    let e = energy.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--energy", e, "--beta", "0.4", "--L", "9", "-o", os],
            "--L 9",
        ),
        (
            vec!["--energy", e, "--beta", "-0.4", "--L", "8", "-o", os],
            "--beta",
        ),
        (
            vec![
                "--energy",
                q.to_str().unwrap(),
                "--beta",
                "0.4",
                "--L",
                "8",
                "-o",
                os,
            ],
            "not `energy`",
        ),
    ];
    assert_refused("eval-dcl", &[], &cases, &o);
    let obs6 = d.join("obs6.parquet");
    gen_ising(
        &obs6,
        &[
            "--n", "20", "--L", "6", "--T", "2.269", "--h", "0", "--sweeps", "10",
        ],
    );
    let m = d.join("bad.onnx");
    let ms = m.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "--data",
                obs6.to_str().unwrap(),
                "--sampler",
                q.to_str().unwrap(),
                "--out-model",
                ms,
            ],
            "L = 8",
        ),
        (
            vec![
                "--data",
                obs.to_str().unwrap(),
                "--sampler",
                q.to_str().unwrap(),
                "--focus",
                "3",
                "--out-model",
                ms,
            ],
            "multiple of f",
        ),
    ];
    assert_refused("fit-ednn", &[], &cases, &m);
}

#[test]
fn a_foreign_energy_model_runs_through_onnx_runtime_and_matches_enumeration() {
    // not an EDNN, and with a field: eval-dcl cannot tabulate it, so every
    // proposal goes through ONNX Runtime. (Colder, a chain started against
    // the field stays there far longer than a test runs: single-spin
    // Metropolis, not the model, sets that limit.)
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("foreign.onnx");
    ising_energy_model(&model, 4, 1.0, 0.3);
    let args = |out: &Path| {
        vec![
            "--energy".to_string(),
            model.to_str().unwrap().into(),
            "--beta".into(),
            "0.25,0.4".into(),
            "--L".into(),
            "4".into(),
            "--chains".into(),
            "8".into(),
            "--burn-in".into(),
            "100".into(),
            "--sweeps".into(),
            "2500".into(),
            "--seed".into(),
            "5".into(),
            "-q".into(),
            "-o".into(),
            out.to_str().unwrap().into(),
        ]
    };
    let out = dir.path().join("foreign.parquet");
    let a = args(&out);
    run_ok(
        "eval-dcl",
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let rows = rows_at(&out);
    let mut pulls = Vec::new();
    for beta in [0.25, 0.4] {
        let ex = brute_force(4, 4, 1.0 / beta, 0.3, 1.0);
        for (q, exact) in [
            ("energy", ex.energy),
            ("abs_magnetization", ex.abs_magnetization),
            ("magnetization_sq", ex.magnetization_sq),
            ("specific_heat", ex.heat_capacity),
        ] {
            pulls.push(pull(&rows, beta, q, exact, "enumeration"));
        }
    }
    assert!(pulls.iter().all(|z| z.abs() < 4.0), "{pulls:?}");
    let meta = phasekit::contract::open(&out, phasekit::meta::Kind::Estimates)
        .unwrap()
        .meta;
    assert_eq!(meta.model["energy"]["evaluated"], "onnxruntime");
    // asked for a lattice the model does not take: one line, exit 2, no file
    let bad = dir.path().join("bad.parquet");
    let mut b = args(&bad);
    b[5] = "8".into();
    let o = run(
        "eval-dcl",
        &b.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("at L = 8"), "{}", stderr(&o));
    assert!(!bad.exists());
}

#[test]
fn eval_dcl_gives_the_same_bytes_on_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    // 3 β × 6 chains = 18 chains: two groups of lanes, the second part-filled
    same_bytes_across_threads(
        "eval-dcl",
        &[
            "--ising",
            "--beta",
            "0.3,0.44,0.6",
            "--L",
            "8,12",
            "--chains",
            "6",
            "--burn-in",
            "20",
            "--sweeps",
            "100",
            "--seed",
            "4",
        ],
        dir.path(),
    );
}
