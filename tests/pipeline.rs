//! The BTI pipelines as Make sees them: a tiny Ising run end to end, reruns
//! that redo only what an input change touches, a foreign posterior.onnx
//! flowing through unchanged, and the slurm-style sharded dataset read as
//! one.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use common::*;
use phasekit::contract::{self, col_f64, col_u64, list_i8};
use phasekit::meta::Kind;
use phasekit::nn::onnx::{encode, Attr, Dim, GraphBuilder};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Tiny settings: seconds, not minutes.
fn tiny(out: &Path) -> Vec<String> {
    let bin_dir = bin("gen-ising").parent().unwrap().to_path_buf();
    [
        format!("OUT={}", out.display()),
        format!("BIN={}", bin_dir.display()),
        "N=400".into(),
        "L=8".into(),
        "SWEEPS=20".into(),
        "GRID=8x8".into(),
        "SIGMA=0.06".into(),
        "K_NEIB=6".into(),
        "K_BUNDLE=3".into(),
        "ARCH=small-cnn".into(),
        "POST_STEPS=20".into(),
        "POST_BATCH=16".into(),
        "ICNN_STEPS=60".into(),
        "ICNN_HIDDEN=16".into(),
        "Q=-q".into(),
    ]
    .to_vec()
}

fn make(out: &Path, extra: &[&str]) -> Output {
    Command::new("make")
        .arg("--no-print-directory")
        .arg("-f")
        .arg(root().join("pipelines/ising-bti.mk"))
        .args(tiny(out))
        .args(extra)
        .current_dir(root())
        .output()
        .expect("make runs")
}

fn mtime(p: &Path) -> SystemTime {
    std::fs::metadata(p).unwrap().modified().unwrap()
}

/// Set a file's modification time to now + `ahead` (newer than everything).
fn touch(p: &Path, ahead: u64) {
    let f = std::fs::File::options().append(true).open(p).unwrap();
    f.set_modified(SystemTime::now() + Duration::from_secs(ahead))
        .unwrap();
}

/// A conforming posterior model unlike the trained one: logits from the
/// mean spin of the bundle times fixed weights.
fn foreign_posterior(k: usize, h: usize, w: usize, gh: usize, gw: usize) -> Vec<u8> {
    let mut g = GraphBuilder::new("foreign");
    let x = g.input_f32(
        "states",
        &[Dim::batch(), Dim::Fixed(k), Dim::Fixed(h), Dim::Fixed(w)],
    );
    let flat = g.op("Flatten", &[&x], &[("axis", Attr::Int(1))]);
    let mean = g.op(
        "ReduceMean",
        &[&flat],
        &[("axes", Attr::Ints(vec![1])), ("keepdims", Attr::Int(1))],
    );
    let wts: Vec<f32> = (0..gh * gw).map(|i| (i % gw) as f32 * 0.5).collect();
    let wn = g.weight("w", &[1, gh * gw], &wts);
    let m = g.op("MatMul", &[&mean, &wn], &[]);
    let shape = g.const_i64("shape", &[-1, gh as i64, gw as i64]);
    g.op_into("Reshape", &[&m, &shape], &["logits"], &[]);
    g.output_f32("logits", &[Dim::batch(), Dim::Fixed(gh), Dim::Fixed(gw)]);
    encode(&g.finish("foreign", &[]))
}

#[test]
fn pipeline_runs_reruns_only_what_changed_and_takes_a_foreign_model() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = make(&out, &[]);
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        stderr(&o)
    );
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("## Checks against exact results"),
        "{report}"
    );
    assert!(report.contains("Kaufman"));
    // L = 8: the whole (T, h) map is compared with the transfer matrix, and
    // at this coarse grid the T_c row is information naming finer settings
    assert!(
        report
            .contains("| G over the whole (T, h) grid against the transfer matrix | G_TT: median"),
        "{report}"
    );
    let tc_row = report
        .lines()
        .find(|l| l.starts_with("| T_c from the Fisher metric"))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(
        tc_row.contains("the exact L = 8 peak")
            && tc_row.contains("not graded")
            && tc_row.contains("| info |"),
        "{tc_row}"
    );
    for f in [
        "ising.parquet",
        "bundles.parquet",
        "posterior.onnx",
        "posteriors.parquet",
        "thermo.parquet",
        "free_energy.onnx",
        "figs/thermo.png",
        "ising-mosaic.png",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    // everything is up to date now
    assert_eq!(
        make(&out, &["-q"]).status.code(),
        Some(0),
        "make -q after a run"
    );

    // touching the posteriors reruns fit-icnn and the report only
    touch(&out.join("posteriors.parquet"), 5);
    let dry = String::from_utf8_lossy(&make(&out, &["-n"]).stdout).to_string();
    assert!(
        dry.contains("fit-icnn") && dry.contains("pk-report"),
        "{dry}"
    );
    for not in ["gen-ising", "bundle-knn", "fit-posterior"] {
        assert!(!dry.contains(not), "{not} would rerun: {dry}");
    }
    // touching the bundles retrains, but does not regenerate
    touch(&out.join("bundles.parquet"), 10);
    let dry = String::from_utf8_lossy(&make(&out, &["-n"]).stdout).to_string();
    assert!(
        dry.contains("fit-posterior --bundles") && !dry.contains("gen-ising"),
        "{dry}"
    );
    assert!(!dry.contains("bundle-knn"), "{dry}");
    touch(&out.join("posterior.onnx"), 15);

    // a foreign conforming model replaces posterior.onnx: prediction,
    // fit-icnn and the report rerun on it, nothing upstream
    let (data_t, bundles_t) = (
        mtime(&out.join("ising.parquet")),
        mtime(&out.join("bundles.parquet")),
    );
    std::fs::write(out.join("posterior.onnx"), foreign_posterior(3, 8, 8, 8, 8)).unwrap();
    touch(&out.join("posterior.onnx"), 20);
    let before = std::fs::read(out.join("thermo.parquet")).unwrap();
    let o = make(&out, &[]);
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        stderr(&o)
    );
    let ran = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        ran.contains("--predict-only") && ran.contains("fit-icnn"),
        "{ran}"
    );
    assert!(!ran.contains("--arch"), "retrained: {ran}");
    assert_eq!(mtime(&out.join("ising.parquet")), data_t);
    assert_eq!(mtime(&out.join("bundles.parquet")), bundles_t);
    assert_ne!(std::fs::read(out.join("thermo.parquet")).unwrap(), before);
    // the new posteriors are the foreign model's: they depend on h only through the mean spin
    let ds = contract::open(&out.join("posteriors.parquet"), Kind::Posteriors).unwrap();
    assert_eq!(ds.num_rows, 400);
}

/// All columns of a microstates dataset (file or folder), row by row.
fn rows(p: &Path) -> (Vec<u64>, Vec<f64>, Vec<f64>, Vec<i8>) {
    let ds = contract::open(p, Kind::Microstates).unwrap();
    let (mut id, mut t, mut h, mut s) = (vec![], vec![], vec![], vec![]);
    for b in ds.batches(None, 4096).unwrap() {
        let b = b.unwrap();
        id.extend_from_slice(col_u64(&b, "id").unwrap());
        t.extend_from_slice(col_f64(&b, "T").unwrap());
        h.extend_from_slice(col_f64(&b, "h").unwrap());
        s.extend_from_slice(list_i8(&b, "state").unwrap().0);
    }
    (id, t, h, s)
}

#[test]
fn slurm_style_shards_read_as_one_dataset_equal_the_unsharded_run() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.parquet");
    let folder = dir.path().join("shards");
    let args = [
        "--n", "90", "--L", "8", "--sweeps", "10", "--seed", "3", "-q",
    ];
    let mut a = args.to_vec();
    a.extend(["-o", whole.to_str().unwrap()]);
    assert!(run("gen-ising", &a).status.success());
    // what gen-ising.sbatch runs per array task, in a shuffled order
    for i in [2usize, 0, 3, 1] {
        let shard = format!("{i}/4");
        let mut a = args.to_vec();
        a.extend(["--shard", &shard, "-o", folder.to_str().unwrap()]);
        let o = run("gen-ising", &a);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    assert_eq!(rows(&folder), rows(&whole));
    // and bundle-knn takes the folder like the file
    let (b1, b2) = (dir.path().join("b1.parquet"), dir.path().join("b2.parquet"));
    for (input, out) in [(&whole, &b1), (&folder, &b2)] {
        let o = run(
            "bundle-knn",
            &[
                "-i",
                input.to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
                "--grid",
                "8x8",
                "-q",
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let ids = |p: &Path| {
        let ds = contract::open(p, Kind::Bundles).unwrap();
        let mut v = Vec::new();
        for b in ds.batches(None, 4096).unwrap() {
            v.extend(list_u64_of(&b.unwrap()));
        }
        v
    };
    assert_eq!(ids(&b1), ids(&b2));
}

fn list_u64_of(b: &arrow::record_batch::RecordBatch) -> Vec<u64> {
    contract::list_u64(b, "members").unwrap().0.to_vec()
}

#[test]
fn pk_report_refuses_bad_input_with_exit_2_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    write_example(Kind::Microstates, Path::new(&p("data.parquet"))).unwrap();
    write_example(Kind::Posteriors, Path::new(&p("post.parquet"))).unwrap();
    write_example(Kind::Thermo, Path::new(&p("thermo.parquet"))).unwrap();
    let out = p("report.md");
    let (data, post, thermo) = (p("data.parquet"), p("post.parquet"), p("thermo.parquet"));
    let missing = p("missing.parquet");
    let base = ["-o", out.as_str(), "-q"];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "--data",
                &missing,
                "--posteriors",
                &post,
                "--thermo",
                &thermo,
            ],
            "missing.parquet",
        ),
        // the posteriors file given as the dataset: wrong kind
        (
            vec!["--data", &post, "--posteriors", &post, "--thermo", &thermo],
            "post.parquet",
        ),
        (
            vec![
                "--data",
                &data,
                "--posteriors",
                &post,
                "--thermo",
                &thermo,
                "--figure",
                "no-equals",
            ],
            "--figure",
        ),
    ];
    assert_refused("pk-report", &base, &cases, Path::new(&out));
}
