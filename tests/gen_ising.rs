//! gen-ising against exact results (Kaufman at h = 0, transfer matrix with a
//! field), reproducibility across threads and shards, and bad input.
//! Statistical checks use independent chains: the error bar of a mean is the
//! spread of the chain means / √chains; tolerance 4 standard errors.

mod common;

use std::path::Path;

use common::*;
use phasekit::contract::{self, col_f64, col_u64, list_i8};
use phasekit::exact::ising::{critical_temperature, kaufman, transfer};
use phasekit::fit::vae_report::order_parameters;
use phasekit::meta::Kind;

struct Rows {
    id: Vec<u64>,
    t: Vec<f64>,
    h: Vec<f64>,
    energy: Vec<f64>,
    magnetization: Vec<f64>,
    states: Vec<i8>,
}

fn read(path: &Path) -> Rows {
    let ds = contract::open(path, Kind::Microstates).unwrap();
    let mut r = Rows {
        id: vec![],
        t: vec![],
        h: vec![],
        energy: vec![],
        magnetization: vec![],
        states: vec![],
    };
    for b in ds.batches(None, 8192).unwrap() {
        let b = b.unwrap();
        r.id.extend_from_slice(col_u64(&b, "id").unwrap());
        r.t.extend_from_slice(col_f64(&b, "T").unwrap());
        r.h.extend_from_slice(col_f64(&b, "h").unwrap());
        r.energy.extend_from_slice(col_f64(&b, "energy").unwrap());
        r.magnetization
            .extend_from_slice(col_f64(&b, "magnetization").unwrap());
        r.states.extend_from_slice(list_i8(&b, "state").unwrap().0);
    }
    r
}

fn gen(dir: &Path, name: &str, args: &[&str]) -> Rows {
    let out = dir.join(name);
    let mut all: Vec<&str> = args.to_vec();
    let o = out.to_str().unwrap().to_string();
    all.extend(["-o", &o, "-q"]);
    let res = run("gen-ising", &all);
    assert!(res.status.success(), "gen-ising {all:?}: {}", stderr(&res));
    read(&out)
}

/// Mean over chains and its standard error from the chain means.
fn chain_mean(values: &[f64], per_chain: usize) -> (f64, f64) {
    let means: Vec<f64> = values
        .chunks(per_chain)
        .map(|c| c.iter().sum::<f64>() / c.len() as f64)
        .collect();
    let k = means.len() as f64;
    let m = means.iter().sum::<f64>() / k;
    let var = means.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (k - 1.0);
    (m, (var / k).sqrt())
}

/// Heat capacity per site N·Var(e)/T² with a jackknife error over chains.
fn heat_capacity(e: &[f64], per_chain: usize, n_sites: f64, t: f64) -> (f64, f64) {
    let chains: Vec<&[f64]> = e.chunks(per_chain).collect();
    let c_of = |skip: Option<usize>| {
        let vals: Vec<f64> = chains
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != skip)
            .flat_map(|(_, c)| c.iter().copied())
            .collect();
        let m = vals.iter().sum::<f64>() / vals.len() as f64;
        let v = vals.iter().map(|x| (x - m).powi(2)).sum::<f64>() / vals.len() as f64;
        n_sites * v / (t * t)
    };
    let full = c_of(None);
    let k = chains.len() as f64;
    let jk: Vec<f64> = (0..chains.len()).map(|i| c_of(Some(i))).collect();
    let jm = jk.iter().sum::<f64>() / k;
    let var = (k - 1.0) / k * jk.iter().map(|x| (x - jm).powi(2)).sum::<f64>();
    (full, var.sqrt())
}

const ALGORITHMS: [&str; 3] = ["metropolis", "glauber", "sw"];

fn within(what: &str, got: f64, se: f64, exact: f64, report: &mut Vec<String>) -> bool {
    let z = (got - exact) / se;
    report.push(format!(
        "{what}: measured {got:.5} ± {se:.5}, exact {exact:.5}, {z:+.2} σ"
    ));
    z.abs() <= 4.0
}

/// Energy per site and heat capacity of `rows` (chains of `per_chain`)
/// against Kaufman's J = +1 values at (L, T), each within 4 standard errors.
fn energy_and_heat_capacity(
    rows: &Rows,
    per_chain: usize,
    l: usize,
    t: f64,
    label: &str,
    report: &mut Vec<String>,
) -> bool {
    let exact = kaufman(l, l, t, 1.0);
    let (e, se) = chain_mean(&rows.energy, per_chain);
    let ok = within(&format!("{label} u"), e, se, exact.energy, report);
    let (c, sc) = heat_capacity(&rows.energy, per_chain, (l * l) as f64, t);
    ok & within(&format!("{label} c"), c, sc, exact.heat_capacity, report)
}

#[test]
fn zero_field_energy_and_heat_capacity_match_kaufman() {
    let dir = tempfile::tempdir().unwrap();
    let (chains, per_chain) = (32usize, 100usize);
    let mut report = Vec::new();
    let mut ok = true;
    for &l in &[8usize, 16] {
        for &t in &[1.5, critical_temperature(1.0), 3.0] {
            for alg in ALGORITHMS {
                let (burn, thin) = if alg == "sw" {
                    ("200", "2")
                } else {
                    ("2000", "10")
                };
                let n = (chains * per_chain).to_string();
                let rows = gen(
                    dir.path(),
                    &format!("{alg}-{l}-{t}.parquet"),
                    &[
                        "--n",
                        &n,
                        "--L",
                        &l.to_string(),
                        "--T",
                        &t.to_string(),
                        "--h",
                        "0",
                        "--algorithm",
                        alg,
                        "--per-chain",
                        &per_chain.to_string(),
                        "--burn-in",
                        burn,
                        "--thin",
                        thin,
                        "--sweeps",
                        burn,
                        "--seed",
                        "11",
                    ],
                );
                ok &= energy_and_heat_capacity(
                    &rows,
                    per_chain,
                    l,
                    t,
                    &format!("L={l} T={t:.3} {alg:<10}"),
                    &mut report,
                );
            }
        }
    }
    eprintln!("{}", report.join("\n"));
    assert!(
        ok,
        "some estimates are more than 4 standard errors off:\n{}",
        report.join("\n")
    );
}

/// The antiferromagnet at J = −1 is the gauge image s → (−1)^(x+y) s of the
/// ferromagnet on the bipartite L = 8 lattice: the same energy and heat
/// capacity as Kaufman's J = +1, and below T_c an ordered staggered
/// magnetisation with m near 0, for Swendsen–Wang (bonds on anti-aligned
/// pairs) and Metropolis alike.
#[test]
fn antiferromagnet_is_the_gauge_image_of_the_ferromagnet() {
    let dir = tempfile::tempdir().unwrap();
    let (chains, per_chain, l) = (32usize, 100usize, 8usize);
    let mut report = Vec::new();
    let mut ok = true;
    for &t in &[1.5, critical_temperature(1.0), 3.0] {
        for (alg, burn, thin) in [("sw", "200", "2"), ("metropolis", "2000", "10")] {
            let n = (chains * per_chain).to_string();
            let rows = gen(
                dir.path(),
                &format!("afm-{alg}-{t}.parquet"),
                &[
                    "--n",
                    &n,
                    "--L",
                    "8",
                    "--T",
                    &t.to_string(),
                    "--h",
                    "0",
                    "--J=-1",
                    "--algorithm",
                    alg,
                    "--per-chain",
                    &per_chain.to_string(),
                    "--burn-in",
                    burn,
                    "--thin",
                    thin,
                    "--sweeps",
                    burn,
                    "--seed",
                    "12",
                ],
            );
            ok &= energy_and_heat_capacity(
                &rows,
                per_chain,
                l,
                t,
                &format!("AFM T={t:.3} {alg:<10}"),
                &mut report,
            );
            // the staggered magnetisation orders below T_c, m does not
            let stag: Vec<f64> = rows
                .states
                .chunks(l * l)
                .map(|s| order_parameters(s, l).1.abs())
                .collect();
            let (ms, _) = chain_mean(&stag, per_chain);
            let m_abs: Vec<f64> = rows.magnetization.iter().map(|m| m.abs()).collect();
            let (m, _) = chain_mean(&m_abs, per_chain);
            report.push(format!(
                "AFM T={t:.3} {alg:<10} <|m_s|> {ms:.3}, <|m|> {m:.3}"
            ));
            if t < 2.0 {
                ok &= ms > 0.9 && m < 0.2;
            }
        }
    }
    eprintln!("{}", report.join("\n"));
    assert!(ok, "the antiferromagnet is off:\n{}", report.join("\n"));
}

#[test]
fn field_energy_and_magnetization_match_transfer_matrix() {
    let dir = tempfile::tempdir().unwrap();
    let (chains, per_chain) = (32usize, 200usize);
    let mut report = Vec::new();
    let mut ok = true;
    for &l in &[4usize, 6] {
        for &(t, h) in &[(1.5, 0.3), (2.269, -0.5), (3.0, 1.0)] {
            let exact = transfer(l, t, h, 1.0);
            for alg in ALGORITHMS {
                let n = (chains * per_chain).to_string();
                let rows = gen(
                    dir.path(),
                    &format!("{alg}-{l}-{t}-{h}.parquet"),
                    &[
                        "--n",
                        &n,
                        "--L",
                        &l.to_string(),
                        "--T",
                        &t.to_string(),
                        &format!("--h={h}"),
                        "--algorithm",
                        alg,
                        "--per-chain",
                        &per_chain.to_string(),
                        "--burn-in",
                        "500",
                        "--thin",
                        "5",
                        "--sweeps",
                        "500",
                        "--seed",
                        "5",
                    ],
                );
                let (e, se) = chain_mean(&rows.energy, per_chain);
                ok &= within(
                    &format!("L={l} T={t} h={h:+} {alg:<10} u"),
                    e,
                    se,
                    exact.energy,
                    &mut report,
                );
                let (m, sm) = chain_mean(&rows.magnetization, per_chain);
                ok &= within(
                    &format!("L={l} T={t} h={h:+} {alg:<10} m"),
                    m,
                    sm,
                    exact.magnetization,
                    &mut report,
                );
                let abs: Vec<f64> = rows.magnetization.iter().map(|x| x.abs()).collect();
                let (ma, sa) = chain_mean(&abs, per_chain);
                ok &= within(
                    &format!("L={l} T={t} h={h:+} {alg:<10} |m|"),
                    ma,
                    sa,
                    exact.abs_magnetization,
                    &mut report,
                );
            }
        }
    }
    eprintln!("{}", report.join("\n"));
    assert!(
        ok,
        "some estimates are more than 4 standard errors off:\n{}",
        report.join("\n")
    );
}

#[test]
fn cold_samples_are_not_stuck() {
    // T = 1.5, h = 0, L = 32, independent chains from random starts with the
    // cluster algorithm: energy as Kaufman says, and both magnetization
    // sectors visited (no stripes, no frozen sector).
    let dir = tempfile::tempdir().unwrap();
    let (chains, per_chain) = (32usize, 20usize);
    let rows = gen(
        dir.path(),
        "cold.parquet",
        &[
            "--n",
            &(chains * per_chain).to_string(),
            "--L",
            "32",
            "--T",
            "1.5",
            "--h",
            "0",
            "--algorithm",
            "sw",
            "--per-chain",
            &per_chain.to_string(),
            "--thin",
            "2",
            "--sweeps",
            "100",
            "--seed",
            "2",
        ],
    );
    let exact = kaufman(32, 32, 1.5, 1.0);
    let (e, se) = chain_mean(&rows.energy, per_chain);
    let mut report = Vec::new();
    assert!(
        within("L=32 T=1.5 sw u", e, se, exact.energy, &mut report),
        "{report:?}"
    );
    let up = rows.magnetization.iter().filter(|&&m| m > 0.5).count();
    let down = rows.magnetization.iter().filter(|&&m| m < -0.5).count();
    assert_eq!(
        up + down,
        rows.magnetization.len(),
        "every cold sample is ordered (no stripes)"
    );
    assert!(
        up > rows.magnetization.len() / 5 && down > rows.magnetization.len() / 5,
        "{up} up, {down} down"
    );
}

#[test]
fn stored_observables_match_the_stored_states() {
    let dir = tempfile::tempdir().unwrap();
    let rows = gen(
        dir.path(),
        "o.parquet",
        &["--n", "20", "--L", "6", "--sweeps", "5", "--seed", "4"],
    );
    let (l, n) = (6usize, 36usize);
    for r in 0..20 {
        let s = &rows.states[r * n..(r + 1) * n];
        let at = |i: usize, j: usize| s[(i % l) * l + (j % l)] as f64;
        let mut bonds = 0.0;
        for i in 0..l {
            for j in 0..l {
                bonds += at(i, j) * (at(i, j + 1) + at(i + 1, j));
            }
        }
        let m: f64 = s.iter().map(|&x| x as f64).sum();
        assert!((rows.energy[r] - (-bonds - rows.h[r] * m) / n as f64).abs() < 1e-12);
        assert!((rows.magnetization[r] - m / n as f64).abs() < 1e-12);
        assert!((1.0..=5.0).contains(&rows.t[r]) && (-2.0..=2.0).contains(&rows.h[r]));
        assert_eq!(rows.id[r], r as u64);
    }
}

#[test]
fn same_seed_same_bytes_whatever_threads_and_shards_concatenate() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--n",
        "120",
        "--L",
        "8",
        "--sweeps",
        "30",
        "--per-chain",
        "4",
        "--thin",
        "3",
        "--seed",
        "9",
    ];
    let first = same_bytes_across_threads("gen-ising", &args, dir.path());
    let whole = read(&first);
    let parts = dir.path().join("parts");
    run_shards("gen-ising", &args, 3, &parts);
    let sharded = read(&parts);
    assert_eq!(sharded.id, whole.id);
    assert_eq!(sharded.t, whole.t);
    assert_eq!(sharded.h, whole.h);
    assert_eq!(sharded.states, whole.states);
    assert_eq!(sharded.energy, whole.energy);
}

#[test]
fn preview_is_a_png() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("m.png");
    gen(
        dir.path(),
        "p.parquet",
        &[
            "--n",
            "10",
            "--L",
            "8",
            "--sweeps",
            "5",
            "--preview",
            png.to_str().unwrap(),
        ],
    );
    common::assert_png(&png, phasekit::plot::mosaic::PREVIEW_SIZE);
}

#[test]
fn bad_input_is_refused_with_exit_2_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bad.parquet");
    let o = out.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--T", "0:2"], "--T"),
        (vec!["--T", "-1"], "--T"),
        (vec!["--T", "nan"], "--T"),
        (vec!["--T", "3:1"], "--T"),
        (vec!["--T", ":"], "--T"),
        (vec!["--h", "inf"], "--h"),
        (vec!["--L", "1"], "--L"),
        (vec!["--L", "7"], "--L"),
        (vec!["--sweeps", "0"], "--sweeps"),
        (vec!["--per-chain", "3"], "--per-chain"),
        (vec!["--shard", "2/2"], "--shard"),
        (vec!["--algorithm", "wolff"], "--algorithm"),
    ];
    assert_refused(
        "gen-ising",
        &["--n", "10", "--L", "8", "--sweeps", "5", "-o", o],
        &cases,
        &out,
    );
    // odd L is fine for the cluster algorithm
    let r = run(
        "gen-ising",
        &[
            "--n",
            "4",
            "--L",
            "7",
            "--sweeps",
            "3",
            "--algorithm",
            "sw",
            "-o",
            o,
            "-q",
        ],
    );
    assert!(r.status.success(), "{}", stderr(&r));
    std::fs::remove_file(&out).unwrap();
    // unwritable output path
    let r = run(
        "gen-ising",
        &[
            "--n",
            "4",
            "--L",
            "8",
            "--sweeps",
            "3",
            "-o",
            "/nonexistent/dir/x.parquet",
        ],
    );
    assert_eq!(r.status.code(), Some(2));
    assert!(stderr(&r).contains("/nonexistent/dir/x.parquet"));
}
