//! Shell pipes: `-` is standard output for an output and standard input for
//! an input, in every tool; a piped run gives what the same run through
//! files gives, and provenance records `-` with the hash of what was read.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use arrow::array::ArrayData;
use common::*;
use phasekit::io::{content_hash, Dataset};
use phasekit::meta::FileMeta;

/// Every column of every row, in order.
fn columns(path: &Path) -> Vec<(String, Vec<ArrayData>)> {
    let ds = Dataset::open(path).unwrap();
    let mut cols: Vec<(String, Vec<ArrayData>)> = ds
        .schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), vec![]))
        .collect();
    for b in ds.batches(None, 1 << 20).unwrap() {
        let b = b.unwrap();
        for (k, c) in cols.iter_mut().enumerate() {
            c.1.push(b.column(k).to_data());
        }
    }
    cols
}

fn meta(path: &Path) -> FileMeta {
    Dataset::open(path).unwrap().meta
}

fn sh(script: &str, dir: &Path) -> std::process::Output {
    let out = Command::new("bash")
        .args(["-o", "pipefail", "-c", script])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{script}: {}", stderr(&out));
    out
}

const GEN: &str = "--n 240 --L 8 --T 1:4 --h=-1:1 --sweeps 30 --seed 5";
const KNN: &str = "--k-neib 4 --k-bundle 2 --grid 8x8 --seed 2";

#[test]
fn a_pipe_gives_what_files_give() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (gen, knn) = (bin("gen-ising"), bin("bundle-knn"));
    let (gen, knn) = (gen.display(), knn.display());
    sh(
        &format!("{gen} {GEN} -o m.parquet -q && {knn} -i m.parquet -o b.parquet {KNN} -q"),
        d,
    );
    // tee keeps what went down the pipe, to check the hash the bundles record
    let piped = sh(
        &format!("{gen} {GEN} -o - | tee mp.parquet | {knn} -i - -o - {KNN} > bp.parquet"),
        d,
    );
    // progress and the one-line summaries went to standard error
    let err = String::from_utf8_lossy(&piped.stderr);
    assert!(
        err.contains("gen-ising: wrote 240") && err.contains("bundle-knn: wrote"),
        "{err}"
    );

    assert_eq!(
        columns(&d.join("mp.parquet")),
        columns(&d.join("m.parquet"))
    );
    assert_eq!(
        columns(&d.join("bp.parquet")),
        columns(&d.join("b.parquet"))
    );
    let (mf, mp) = (meta(&d.join("m.parquet")), meta(&d.join("mp.parquet")));
    assert_eq!(mp.without_provenance(), mf.without_provenance());
    let (bf, bp) = (meta(&d.join("b.parquet")), meta(&d.join("bp.parquet")));
    assert_eq!(bp.without_provenance(), bf.without_provenance());
    // only the recorded paths differ, and the hash is that of what was read
    let swap = |args: &[String], from: &str| -> Vec<String> {
        args.iter()
            .map(|a| {
                if a == from {
                    "-".to_string()
                } else {
                    a.clone()
                }
            })
            .collect()
    };
    assert_eq!(mp.provenance.args, swap(&mf.provenance.args, "m.parquet"));
    assert_eq!(
        bp.provenance.args,
        swap(&swap(&bf.provenance.args, "m.parquet"), "b.parquet")
    );
    assert_eq!(bf.provenance.inputs[0].path, "m.parquet");
    assert_eq!(bp.provenance.inputs[0].path, "-");
    assert_eq!(
        bp.provenance.inputs[0].hash,
        content_hash(&d.join("mp.parquet")).unwrap()
    );
    assert_ne!(bp.provenance.inputs[0].hash, bf.provenance.inputs[0].hash);
}

#[test]
fn models_and_reports_go_through_pipes_too() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let post = bin("fit-posterior").display().to_string();
    let (gen, knn) = (bin("gen-ising"), bin("bundle-knn"));
    sh(
        &format!(
            "{} {GEN} -o m.parquet -q && {} -i m.parquet -o b.parquet {KNN} -q",
            gen.display(),
            knn.display()
        ),
        d,
    );
    let train = "--bundles b.parquet --arch small-cnn --steps 3 --batch 8 --seed 1 -q";
    // the model to standard output: posteriors come from the same bytes
    sh(
        &format!("{post} {train} --out-model - --out-posteriors p1.parquet > model.onnx"),
        d,
    );
    sh(
        &format!("{post} {train} --out-model m2.onnx --out-posteriors p2.parquet"),
        d,
    );
    assert_eq!(
        columns(&d.join("p1.parquet")),
        columns(&d.join("p2.parquet"))
    );
    assert_eq!(
        std::fs::read(d.join("model.onnx")).unwrap(),
        std::fs::read(d.join("m2.onnx")).unwrap()
    );
    assert!(!d.join("-.ckpt").exists(), "no checkpoint named after -");
    // a model from standard input
    sh(
        &format!(
            "{post} --predict-only --model - --bundles b.parquet --out-posteriors p3.parquet -q < m2.onnx"
        ),
        d,
    );
    assert_eq!(
        columns(&d.join("p3.parquet")),
        columns(&d.join("p2.parquet"))
    );
    let p3 = meta(&d.join("p3.parquet"));
    assert_eq!(p3.provenance.inputs[1].path, "-");
    assert_eq!(
        p3.provenance.inputs[1].hash,
        content_hash(&d.join("m2.onnx")).unwrap()
    );
}

#[test]
fn misuse_of_dash_is_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let gen = bin("gen-ising").display().to_string();
    let knn = bin("bundle-knn").display().to_string();
    let cases = [
        // two outputs on one standard output
        (
            format!("{gen} {GEN} -o - --preview - > x"),
            "only one output can go to standard output",
        ),
        // nothing on standard input
        (
            format!("{knn} -i - -o b.parquet {KNN} < /dev/null"),
            "standard input is empty",
        ),
        // not Parquet on standard input
        (
            format!("echo hello | {knn} -i - -o b.parquet {KNN}"),
            "not a readable Parquet file",
        ),
    ];
    for (script, why) in &cases {
        let out = Command::new("bash")
            .args(["-c", script])
            .current_dir(d)
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{script}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{script}: {err}");
        assert!(err.contains(why), "{script}: {err}");
    }
    assert!(!d.join("b.parquet").exists());
    // Parquet to a terminal: run under a pseudo-terminal
    let py = format!(
        "import os, pty, sys\nst = pty.spawn([{gen:?}] + {:?} + ['-o', '-'])\nsys.exit(os.waitstatus_to_exitcode(st))",
        GEN.split(' ').collect::<Vec<_>>()
    );
    let out = Command::new("python3")
        .args(["-c", &py])
        .current_dir(d)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("standard output is a terminal"), "{text}");
}
