//! Interrupted runs leave nothing behind: SIGINT and SIGTERM remove the
//! temporary outputs, print one line and exit 128 + the signal; a killed
//! run's leftover is removed by the next run that writes the same target;
//! dataset readers skip such leftovers; a training run interrupted after a
//! checkpoint resumes to the uninterrupted result.
mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{bin, run, stderr};

/// Temporary output files (`.NAME.pk-tmp-PID`) in `dir`.
fn temporaries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains(".pk-tmp-"))
        .collect()
}

fn spawn(tool: &str, args: &[&str]) -> Child {
    Command::new(bin(tool))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs")
}

/// Wait (at most a minute) until `ready` holds, with the child still running.
fn wait_for(child: &mut Child, what: &str, ready: impl Fn() -> bool) {
    let start = Instant::now();
    while !ready() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended ({status}) before {what}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no {what} in 60 s"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Send `signal`, wait for the exit (at most 20 s); exit code and stderr.
fn interrupt(mut child: Child, signal: i32) -> (Option<i32>, String) {
    // SAFETY: kill(2) on our own child's PID.
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            panic!("no exit 20 s after signal {signal}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().unwrap();
    (out.status.code(), stderr(&out))
}

/// Start `tool` writing `out.parquet` for minutes, send `signal` once its
/// temporary output exists, and check what it leaves.
fn interrupted_generator_leaves_nothing(tool: &str, args: &[&str], signal: i32, expect: i32) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.parquet");
    let o = out.to_str().unwrap();
    let mut a = args.to_vec();
    a.extend(["-o", o]);
    let mut child = spawn(tool, &a);
    wait_for(&mut child, "the temporary output", || {
        !temporaries(dir.path()).is_empty()
    });
    std::thread::sleep(Duration::from_millis(300));
    let (code, err) = interrupt(child, signal);
    assert_eq!(
        code,
        Some(expect),
        "{tool}: exit code after signal {signal}; stderr: {err}"
    );
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines,
        [format!("{tool}: interrupted; nothing written to {o}")],
        "one line on stderr"
    );
    assert!(!out.exists(), "no output at the target path");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no temporary file: {:?}",
        temporaries(dir.path())
    );
}

#[test]
fn ctrl_c_during_generation_leaves_nothing() {
    // minutes of work: it is interrupted long before it ends
    let args = [
        "--n", "4000000", "--L", "64", "--sweeps", "2000", "--seed", "1",
    ];
    interrupted_generator_leaves_nothing("gen-ising", &args, libc::SIGINT, 130);
}

#[test]
fn sigterm_during_generation_leaves_nothing() {
    let args = [
        "--n", "1000000", "--M", "4096", "--shape", "64x64", "--seed", "1", "-q",
    ];
    interrupted_generator_leaves_nothing("gen-tasep", &args, libc::SIGTERM, 143);
}

#[test]
fn a_killed_runs_leftover_goes_with_the_next_run_and_readers_skip_it() {
    let dir = tempfile::tempdir().unwrap();
    let part = dir.path().join("ising");
    std::fs::create_dir(&part).unwrap();
    let shard = part.join("part-00000-of-00001.parquet");
    let out = shard.to_str().unwrap();
    let args = [
        "--n", "2000000", "--L", "32", "--sweeps", "2000", "--seed", "1", "-o", out,
    ];
    let mut child = spawn("gen-ising", &args);
    wait_for(&mut child, "the temporary output", || {
        !temporaries(&part).is_empty()
    });
    child.kill().unwrap(); // SIGKILL: nothing can be cleaned up
    child.wait().unwrap();
    let left = temporaries(&part);
    assert_eq!(left.len(), 1, "SIGKILL leaves the temporary file");
    // a live run's temporary file (PID 1 never ends) must survive the sweep
    let live = part.join(".part-00000-of-00001.parquet.pk-tmp-1");
    std::fs::write(&live, b"a live run's partial output").unwrap();

    // a reader of the folder does not see the leftover: this one part is
    // complete, and the folder reads as a one-part dataset
    let small = [
        "--n", "40", "--L", "4", "--sweeps", "5", "--seed", "2", "-q",
    ];
    let whole = dir.path().join("other.parquet");
    let mut a = small.to_vec();
    a.extend(["-o", whole.to_str().unwrap()]);
    let r = run("gen-ising", &a);
    assert!(r.status.success(), "{}", stderr(&r));
    std::fs::copy(&whole, part.join("part-00001-of-00002.parquet")).unwrap();
    let r = run("pk-inspect", &[part.to_str().unwrap()]);
    assert!(r.status.success(), "{}", stderr(&r));
    let shown = String::from_utf8_lossy(&r.stdout);
    assert!(
        !shown.contains("pk-tmp"),
        "pk-inspect lists no leftover: {shown}"
    );
    std::fs::remove_file(part.join("part-00001-of-00002.parquet")).unwrap();

    // the next run that writes the same target removes the dead run's file
    let mut a = small.to_vec();
    a.extend(["-o", out]);
    let r = run("gen-ising", &a);
    assert!(r.status.success(), "{}", stderr(&r));
    assert!(shard.exists());
    assert_eq!(
        temporaries(&part),
        vec![live.clone()],
        "the dead run's file is gone, the live one's kept"
    );
}

fn fit_args<'a>(dir: &'a Path, bundles: &'a Path, name: &str, steps: &'a str) -> Vec<String> {
    let f = |s: String| dir.join(s).to_string_lossy().into_owned();
    [
        "--bundles",
        bundles.to_str().unwrap(),
        "--out-model",
        &f(format!("{name}.onnx")),
        "--out-posteriors",
        &f(format!("{name}-post.parquet")),
        "--arch",
        "small-cnn",
        "--batch",
        "32",
        "--lr",
        "2e-3",
        "--lr-schedule",
        "constant",
        "--checkpoint-every",
        "20",
        "--steps",
        steps,
        "--seed",
        "3",
        "-q",
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn training_interrupted_by_ctrl_c_resumes_to_the_same_model() {
    let dir = tempfile::tempdir().unwrap();
    let (_, bundles) = common::small_pipeline(dir.path(), "800", "8");
    let ck = dir.path().join("cut.ckpt");
    // far more steps than it gets to run: Ctrl-C ends it after a checkpoint
    let mut a = fit_args(dir.path(), &bundles, "cut", "1000000");
    a.extend(["--checkpoint".into(), ck.to_string_lossy().into_owned()]);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let mut child = spawn("fit-posterior", &a);
    wait_for(&mut child, "a checkpoint", || ck.exists());
    let (code, err) = interrupt(child, libc::SIGINT);
    assert_eq!(code, Some(130), "exit code after SIGINT; stderr: {err}");
    assert_eq!(
        err.trim(),
        format!(
            "fit-posterior: interrupted; {} complete, nothing else written",
            ck.display()
        ),
    );
    assert!(temporaries(dir.path()).is_empty(), "no temporary file");
    assert!(!dir.path().join("cut.onnx").exists());

    // resume the interrupted run to 200 steps: the model of 200 straight steps
    let mut r = fit_args(dir.path(), &bundles, "resumed", "200");
    r.extend(["--resume".into(), ck.to_string_lossy().into_owned()]);
    let r: Vec<&str> = r.iter().map(String::as_str).collect();
    let o = run("fit-posterior", &r);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = fit_args(dir.path(), &bundles, "straight", "200");
    let s: Vec<&str> = s.iter().map(String::as_str).collect();
    let o = run("fit-posterior", &s);
    assert!(o.status.success(), "{}", stderr(&o));
    let straight = std::fs::read(dir.path().join("straight.onnx")).unwrap();
    let resumed = std::fs::read(dir.path().join("resumed.onnx")).unwrap();
    assert!(
        straight == resumed,
        "resuming after Ctrl-C reproduces the uninterrupted run"
    );
}
