//! fit-maxent against the couplings its data were generated with: every
//! method on small lattices, honest error bars (coverage over datasets),
//! per-bond couplings of a disordered lattice, every pair, an image, the
//! same bytes at any thread count, and bad inputs.
mod common;

use std::path::{Path, PathBuf};

use common::{run, stderr};
use phasekit::contract::couplings::{load, CouplingRow};
use phasekit::contract::TableWriter;
use phasekit::io::SinkOptions;
use phasekit::meta::Kind;

/// Independent Swendsen–Wang configurations at coupling K = 1/T, field H = K·h.
fn sw_data(dir: &Path, name: &str, l: usize, m: usize, k: f64, h: f64, seed: u64) -> PathBuf {
    let out = dir.join(format!("{name}.parquet"));
    let t = format!("{:.17}", 1.0 / k);
    let hh = format!("--h={:.17}", h / k);
    let (m, l, seed) = (m.to_string(), l.to_string(), seed.to_string());
    let r = run(
        "gen-ising",
        &[
            "--n",
            &m,
            "--L",
            &l,
            "--T",
            &t,
            &hh,
            "--algorithm",
            "sw",
            "--sweeps",
            "40",
            "--seed",
            &seed,
            "-q",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert!(r.status.success(), "{}", stderr(&r));
    out
}

fn fit(data: &Path, out: &Path, extra: &[&str]) -> Vec<CouplingRow> {
    let mut a = vec![
        "-i",
        data.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "-q",
    ];
    a.extend(extra);
    let r = run("fit-maxent", &a);
    assert!(r.status.success(), "fit-maxent {extra:?}: {}", stderr(&r));
    load(out).unwrap().1
}

fn term<'a>(rows: &'a [CouplingRow], t: &str) -> &'a CouplingRow {
    rows.iter().find(|r| r.term == t).unwrap()
}

fn within(r: &CouplingRow, truth: f64, z: f64, what: &str) {
    let se = r.std_error.expect("a standard error");
    assert!(se > 0.0 && se.is_finite(), "{what}: σ {se}");
    let pull = (r.value - truth) / se;
    assert!(
        pull.abs() < z,
        "{what}: {:.5} ± {se:.5} vs truth {truth} (pull {pull:+.2})",
        r.value
    );
}

#[test]
fn tied_couplings_by_every_method_within_three_standard_errors() {
    let dir = tempfile::tempdir().unwrap();
    for (i, k) in [0.3, 0.4407].into_iter().enumerate() {
        let data = sw_data(dir.path(), &format!("k{i}"), 8, 1000, k, 0.0, 10 + i as u64);
        let o = |n: &str| dir.path().join(format!("{n}-{i}.parquet"));
        let pl = fit(&data, &o("pl"), &["--model", "tied", "--field", "none"]);
        let ex = fit(
            &data,
            &o("exact"),
            &["--model", "tied", "--field", "none", "--method", "exact"],
        );
        let mc = fit(
            &data,
            &o("mcmc"),
            &[
                "--model", "tied", "--field", "none", "--method", "mcmc", "--steps", "3000",
            ],
        );
        let en_args = [
            "--model",
            "tied",
            "--field",
            "none",
            "--method",
            "mean-field",
        ];
        let mf = fit(&data, &o("mf"), &en_args);
        for (name, rows) in [("pl", &pl), ("exact", &ex), ("mcmc", &mc)] {
            within(term(rows, "K"), k, 3.0, &format!("{name} at K = {k}"));
            // the fitted model reproduces the data's correlation
            let r = term(rows, "K");
            assert!(
                (r.model_moment - r.data_moment).abs() < 0.01,
                "{name}: {r:?}"
            );
        }
        // mcmc agrees with pl within a standard error
        let (a, b) = (term(&pl, "K"), term(&mc, "K"));
        assert!(
            (a.value - b.value).abs() < a.std_error.unwrap(),
            "mcmc {:.5} vs pl {:.5} ± {:.5}",
            b.value,
            a.value,
            a.std_error.unwrap()
        );
        // naive mean field overestimates K
        let m = term(&mf, "K");
        assert!(
            m.value > k + 2.0 * m.std_error.unwrap(),
            "mean field {m:?} at K = {k}"
        );
    }
}

#[test]
fn a_field_is_recovered_beside_the_coupling() {
    let dir = tempfile::tempdir().unwrap();
    let (k, h) = (0.3, 0.1);
    let data = sw_data(dir.path(), "field", 8, 1500, k, h, 3);
    let pl = fit(&data, &dir.path().join("pl.parquet"), &["--model", "tied"]);
    within(term(&pl, "K"), k, 3.0, "pl K with a field");
    within(term(&pl, "H"), h, 3.0, "pl H");
    let mc = fit(
        &data,
        &dir.path().join("mc.parquet"),
        &["--model", "tied", "--method", "mcmc"],
    );
    within(term(&mc, "K"), k, 3.0, "mcmc K with a field");
    within(term(&mc, "H"), h, 3.0, "mcmc H");
    // exact needs h = 0 and says so
    let r = run(
        "fit-maxent",
        &[
            "-i",
            data.to_str().unwrap(),
            "--method",
            "exact",
            "-o",
            dir.path().join("x.parquet").to_str().unwrap(),
        ],
    );
    assert_eq!(r.status.code(), Some(2));
    assert!(stderr(&r).contains("--field none"), "{}", stderr(&r));
}

#[test]
fn pseudo_likelihood_intervals_cover_the_truth() {
    // twenty independent datasets: the 95% intervals should hold K 85–100% of the time
    let dir = tempfile::tempdir().unwrap();
    let k = 0.3;
    let mut covered = 0;
    let mut pulls = Vec::new();
    for s in 0..20 {
        let data = sw_data(dir.path(), &format!("d{s}"), 6, 300, k, 0.0, 100 + s);
        let rows = fit(
            &data,
            &dir.path().join(format!("c{s}.parquet")),
            &["--field", "none"],
        );
        let r = term(&rows, "K");
        let pull = (r.value - k) / r.std_error.unwrap();
        pulls.push(pull);
        covered += (pull.abs() < 1.96) as usize;
    }
    let spread = (pulls.iter().map(|p| p * p).sum::<f64>() / 20.0).sqrt();
    eprintln!("coverage {covered}/20, rms pull {spread:.2}");
    assert!(
        covered >= 17,
        "95% intervals covered K in {covered} of 20: {pulls:?}"
    );
    assert!(
        (0.6..1.5).contains(&spread),
        "rms pull {spread:.2}: {pulls:?}"
    );
}

#[test]
fn bonds_of_a_disordered_lattice() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("dis.parquet");
    let r = run(
        "gen-ising",
        &[
            "--n",
            "10000",
            "--L",
            "8",
            "--T",
            "2.5",
            "--h",
            "0",
            "--algorithm",
            "glauber",
            "--bond-disorder",
            "0.3",
            "--sweeps",
            "200",
            "--seed",
            "4",
            "-q",
            "-o",
            data.to_str().unwrap(),
        ],
    );
    assert!(r.status.success(), "{}", stderr(&r));
    let ds = phasekit::contract::open(&data, Kind::Microstates).unwrap();
    let bonds: Vec<f64> = ds.meta.get(&data, "bonds").unwrap();
    assert_eq!(bonds.len(), 128);
    let figs = dir.path().join("figs");
    let rows = fit(
        &data,
        &dir.path().join("b.parquet"),
        &[
            "--model",
            "bonds",
            "--field",
            "none",
            "--plots",
            figs.to_str().unwrap(),
        ],
    );
    let k: Vec<&CouplingRow> = rows.iter().filter(|r| r.scope == "bond").collect();
    assert_eq!(k.len(), 128);
    let sq: f64 = k
        .iter()
        .zip(&bonds)
        .map(|(r, j)| (r.value - j / 2.5).powi(2))
        .sum();
    let rmse = (sq / 128.0).sqrt();
    let pulls: f64 = k
        .iter()
        .zip(&bonds)
        .map(|(r, j)| ((r.value - j / 2.5) / r.std_error.unwrap()).powi(2))
        .sum();
    let rms_pull = (pulls / 128.0).sqrt();
    eprintln!("bonds: RMSE {rmse:.4}, rms pull {rms_pull:.2}");
    assert!(rmse <= 0.03, "RMSE over bonds {rmse:.4}");
    assert!((0.7..1.4).contains(&rms_pull), "rms pull {rms_pull:.2}");
    common::assert_png(&figs.join("couplings.png"), (1120, 540));
    common::assert_png(&figs.join("moments.png"), (760, 680));
    // the disordered generator: the same bytes at any thread count, and its flags checked
    let small = [
        "--n",
        "64",
        "--L",
        "6",
        "--T",
        "2.5",
        "--h",
        "0",
        "--algorithm",
        "glauber",
        "--bond-disorder",
        "0.3",
        "--sweeps",
        "20",
        "--seed",
        "2",
    ];
    common::same_bytes_across_threads("gen-ising", &small, &dir.path().join("threads"));
    for (change, expect) in [
        (("--algorithm", "metropolis"), "--algorithm glauber"),
        (("--T", "2:3"), "single values"),
    ] {
        let mut a = small.to_vec();
        let at = a.iter().position(|x| *x == change.0).unwrap();
        a[at + 1] = change.1;
        let out = dir.path().join("bad.parquet");
        a.extend(["-o", out.to_str().unwrap()]);
        let r = run("gen-ising", &a);
        assert_eq!(r.status.code(), Some(2), "{change:?}");
        assert!(stderr(&r).contains(expect), "{}", stderr(&r));
        assert!(!out.exists());
    }
}

#[test]
fn enumeration_and_pairs_on_a_small_lattice() {
    let dir = tempfile::tempdir().unwrap();
    let k = 0.35;
    let data = sw_data(dir.path(), "small", 4, 3000, k, 0.0, 7);
    let en = fit(
        &data,
        &dir.path().join("e.parquet"),
        &["--method", "enum", "--field", "none"],
    );
    within(term(&en, "K"), k, 3.0, "enum");
    let pl = fit(&data, &dir.path().join("p.parquet"), &["--field", "none"]);
    let (a, b) = (term(&en, "K"), term(&pl, "K"));
    assert!(
        (a.value - b.value).abs() < b.std_error.unwrap(),
        "enum {a:?} vs pl {b:?}"
    );
    // every pair of the 16 spins: nearest neighbours at K, the rest at 0
    let pairs = fit(
        &data,
        &dir.path().join("pairs.parquet"),
        &["--model", "pairs", "--field", "none"],
    );
    assert_eq!(pairs.len(), 120);
    let near = |i: u64, j: u64| {
        let (a, b) = ((i / 4, i % 4), (j / 4, j % 4));
        let d = |x: u64, y: u64| (x + 4 - y) % 4;
        (a.0 == b.0 && (d(a.1, b.1) == 1 || d(b.1, a.1) == 1))
            || (a.1 == b.1 && (d(a.0, b.0) == 1 || d(b.0, a.0) == 1))
    };
    let pulls: Vec<f64> = pairs
        .iter()
        .map(|r| (r.value - if near(r.i, r.j) { k } else { 0.0 }) / r.std_error.unwrap())
        .collect();
    let worst = pulls.iter().fold(0.0f64, |a, p| a.max(p.abs()));
    let rms = (pulls.iter().map(|p| p * p).sum::<f64>() / 120.0).sqrt();
    eprintln!("pairs: largest pull {worst:.2}, rms {rms:.2}");
    assert!(worst < 4.5, "largest pull over the 120 pairs {worst:.2}");
    assert!(
        (0.7..1.4).contains(&rms),
        "rms pull over the 120 pairs {rms:.2}"
    );
}

#[test]
fn an_image_is_one_configuration() {
    // "the inverse statistical mechanics of any binary image": one 64×64
    // Ising configuration at K = 0.4, drawn as a picture (+1 white), holds
    // enough bonds to give K back within its standard error
    let dir = tempfile::tempdir().unwrap();
    let (k, l) = (0.4, 64);
    let data = sw_data(dir.path(), "one", l, 2, k, 0.0, 21);
    let ds = phasekit::contract::open(&data, Kind::Microstates).unwrap();
    let batch = ds
        .batches(Some(&["state"]), 16)
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let spins = phasekit::contract::list_i8(&batch, "state").unwrap().0[..l * l].to_vec();
    // each spin as 2×2 pixels
    let w = 2 * l;
    let rgb: Vec<u8> = (0..w * w)
        .flat_map(|p| {
            let v = if spins[(p / w / 2) * l + (p % w) / 2] == 1 {
                240
            } else {
                10
            };
            [v, v, v]
        })
        .collect();
    let path = dir.path().join("ising.png");
    phasekit::plot::render::write_png(&path, w as u32, w as u32, &rgb).unwrap();
    let out = dir.path().join("img.parquet");
    let r = run(
        "fit-maxent",
        &[
            "--image",
            path.to_str().unwrap(),
            "--size",
            "64x64",
            "--field",
            "none",
            "-o",
            out.to_str().unwrap(),
            "-q",
        ],
    );
    assert!(r.status.success(), "{}", stderr(&r));
    let rows = load(&out).unwrap().1;
    let fitted = term(&rows, "K");
    // the image's cells are the configuration's spins: the same correlation
    let bonds = phasekit::sim::ising::lattice::bonds(l);
    let c = bonds
        .iter()
        .map(|&(a, b)| (spins[a] * spins[b]) as f64)
        .sum::<f64>()
        / bonds.len() as f64;
    assert!(
        (fitted.data_moment - c).abs() < 1e-12,
        "{} vs {c}",
        fitted.data_moment
    );
    within(fitted, k, 3.5, "K from one image");
    // a lattice model on a fully ordered image has no finite maximum: one line
    let stripes = dir.path().join("stripes.png");
    let rgb: Vec<u8> = (0..144)
        .flat_map(|p| [if (p / 12) % 2 == 0 { 255 } else { 0 }; 3])
        .collect();
    phasekit::plot::render::write_png(&stripes, 12, 12, &rgb).unwrap();
    let r = run(
        "fit-maxent",
        &[
            "--image",
            stripes.to_str().unwrap(),
            "--model",
            "bonds",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(r.status.code(), Some(2), "{}", stderr(&r));
    assert!(stderr(&r).contains("no finite maximum"), "{}", stderr(&r));
}

#[test]
fn the_same_bytes_whatever_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let data = sw_data(dir.path(), "t", 6, 200, 0.3, 0.05, 9);
    let d = data.to_str().unwrap();
    for method in ["pl", "mcmc"] {
        let args = [
            "-i", d, "--method", method, "--steps", "400", "--plots", "figs",
        ];
        common::same_outputs_across_threads(
            "fit-maxent",
            &[&args[..], &["-o", "c.parquet"]].concat(),
            &["c.parquet", "figs/moments.png"],
            &dir.path().join(method),
        );
    }
}

/// A microstates file of 3×3 states holding the value `v` once.
fn bad_states(path: &Path, v: i8) {
    let m = common::meta(Kind::Microstates).with("state_shape", [3, 3]);
    let mut w = TableWriter::create(path, &m, &[], &SinkOptions::default()).unwrap();
    let [id, t, h, st] = ["id", "T", "h", "state"].map(|c| w.col(c).unwrap());
    for i in 0..4u64 {
        w.u64(id, i);
        w.f64(t, 2.0);
        w.f64(h, 0.0);
        let mut s = [1i8, -1, 1, -1, 1, -1, 1, -1, 1];
        s[i as usize] = v;
        w.list_i8(st, &s);
        w.end_row().unwrap();
    }
    w.finish().unwrap();
}

#[test]
fn bad_input_is_one_line_exit_2_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n);
    bad_states(&d("two.parquet"), 2);
    bad_states(&d("mixed.parquet"), 0);
    let one = sw_data(dir.path(), "one", 4, 1, 0.3, 0.0, 1);
    let big = sw_data(dir.path(), "big", 6, 50, 0.3, 0.0, 1);
    std::fs::write(d("fake.png"), b"GIF89a not a png").unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["-i".into(), d("two.parquet").display().to_string()],
            "neither a ±1 spin nor a 0/1",
        ),
        (
            vec!["-i".into(), d("mixed.parquet").display().to_string()],
            "mix −1 and 0",
        ),
        (vec!["-i".into(), one.display().to_string()], "at least 2"),
        (
            vec![
                "-i".into(),
                big.display().to_string(),
                "--method".into(),
                "enum".into(),
            ],
            "too many to enumerate",
        ),
        (
            vec!["--image".into(), d("fake.png").display().to_string()],
            "not a readable PNG",
        ),
        (
            vec!["-i".into(), d("missing.parquet").display().to_string()],
            "missing.parquet",
        ),
        (
            vec!["-i".into(), big.display().to_string(), "--lr=-1".into()],
            "--lr",
        ),
    ];
    for (args, expect) in cases {
        let out = d("out.parquet");
        let mut a: Vec<&str> = args.iter().map(String::as_str).collect();
        a.extend(["-o", out.to_str().unwrap()]);
        let r = run("fit-maxent", &a);
        let err = stderr(&r);
        assert_eq!(r.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: one line: {err}");
        assert!(err.contains(expect), "{args:?}: {err}");
        assert!(!out.exists(), "{args:?}: no output");
    }
}
