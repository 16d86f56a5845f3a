//! Helpers shared by the integration tests: example files of every kind,
//! running the real binaries, the project's Python venv.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use phasekit::contract::TableWriter;
use phasekit::io::SinkOptions;
use phasekit::meta::{Bounds, FileMeta, Grid, Kind, Provenance};
use serde_json::json;

pub fn bin(name: &str) -> PathBuf {
    match name {
        "pk-inspect" => PathBuf::from(env!("CARGO_BIN_EXE_pk-inspect")),
        other => {
            // Binaries live beside each other in the target folder.
            let inspect = PathBuf::from(env!("CARGO_BIN_EXE_pk-inspect"));
            inspect.with_file_name(other)
        }
    }
}

/// Check that `path` is a PNG figure of `size` pixels with something drawn
/// on it (anti-aliased text and colours give many distinct colours; a blank
/// or solid image gives one or two).
pub fn assert_png(path: &Path, size: (u32, u32)) {
    let (w, h, distinct) = png_facts(path);
    assert_eq!((w, h), size, "{}: size", path.display());
    assert!(
        distinct >= 40,
        "{}: only {distinct} colours",
        path.display()
    );
}

/// (width, height, distinct colours) of an RGB PNG.
pub fn png_facts(path: &Path) -> (u32, u32, usize) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .unwrap_or_else(|e| panic!("{}: not a PNG ({e})", path.display()));
    let mut buf = vec![0; reader.output_buffer_size().expect("sized")];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb, "{}", path.display());
    let distinct: std::collections::HashSet<&[u8]> = buf[..info.buffer_size()].chunks(3).collect();
    (info.width, info.height, distinct.len())
}

pub fn run(name: &str, args: &[&str]) -> Output {
    Command::new(bin(name))
        .args(args)
        .output()
        .expect("binary runs")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// The venv's Python (made by `make test`).
pub fn python() -> PathBuf {
    let p = std::env::var("PHASEKIT_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    assert!(
        p.exists(),
        "the interop tests need the project venv at {}: run them through `make test`",
        p.display()
    );
    p
}

pub fn provenance() -> Provenance {
    Provenance {
        tool: "test".into(),
        version: "0".into(),
        args: vec![],
        seed: Some(1),
        inputs: vec![],
    }
}

pub fn bounds_th() -> Bounds {
    let mut b = Bounds::new();
    b.insert("T".into(), [1.0, 5.0]);
    b.insert("h".into(), [-2.0, 2.0]);
    b
}

pub fn grid_th(gh: usize, gw: usize) -> Grid {
    Grid {
        params: vec!["T".into(), "h".into()],
        bounds: bounds_th(),
        shape: [gh, gw],
        sigma: 0.02,
    }
}

pub fn meta(kind: Kind) -> FileMeta {
    let m = FileMeta::new(
        kind,
        vec!["T".into(), "h".into()],
        bounds_th(),
        json!({"system": "ising", "L": 4, "J": 1.0}),
        provenance(),
    );
    match kind {
        Kind::Microstates => m.with("state_shape", [4, 4]),
        Kind::Bundles => m
            .with("k_neib", 3)
            .with("k_bundle", 2)
            .with("grid", grid_th(3, 2)),
        Kind::Posteriors | Kind::Thermo => m.with("grid", grid_th(3, 2)),
        Kind::Latents => m.with("latent", 2),
        _ => m,
    }
}

/// A small deterministic pseudo-random stream for test data.
pub struct Lcg(pub u64);
impl Lcg {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 11
    }
    pub fn unit(&mut self) -> f64 {
        self.next() as f64 / (1u64 << 53) as f64
    }
}

/// Write `rows` rows of a microstates file with `l`×`l` states.
pub fn write_microstates(path: &Path, rows: u64, l: usize, first_id: u64) -> anyhow::Result<u64> {
    let m = meta(Kind::Microstates).with("state_shape", [l, l]);
    let mut w = TableWriter::create(
        path,
        &m,
        &["energy", "magnetization"],
        &SinkOptions::default(),
    )?;
    let (id, t, h, st, e, mg) = (
        w.col("id")?,
        w.col("T")?,
        w.col("h")?,
        w.col("state")?,
        w.col("energy")?,
        w.col("magnetization")?,
    );
    let mut state = vec![0i8; l * l];
    for i in first_id..first_id + rows {
        let mut rng = Lcg(i * 7919 + 1);
        for s in state.iter_mut() {
            *s = if rng.next() & 1 == 1 { 1 } else { -1 };
        }
        w.u64(id, i);
        w.f64(t, 1.0 + 4.0 * rng.unit());
        w.f64(h, -2.0 + 4.0 * rng.unit());
        w.list_i8(st, &state);
        w.f64(e, -1.0);
        w.f64(
            mg,
            state.iter().map(|&s| s as f64).sum::<f64>() / (l * l) as f64,
        );
        w.end_row()?;
    }
    w.finish()
}

/// Write a small valid file of `kind` at `path`.
pub fn write_example(kind: Kind, path: &Path) -> anyhow::Result<u64> {
    if kind == Kind::Microstates {
        return write_microstates(path, 10, 4, 0);
    }
    let m = meta(kind);
    let mut w = TableWriter::create(path, &m, &[], &SinkOptions::default())?;
    let splits = ["train", "test"];
    for i in 0..6u64 {
        let split = splits[(i % 2) as usize];
        match kind {
            Kind::Bundles => {
                w.u64(w.col("bundle_id")?, i);
                w.str(w.col("split")?, split);
                w.f64(w.col("T")?, 1.0 + i as f64 * 0.5);
                w.f64(w.col("h")?, 0.1 * i as f64);
                w.list_u64(w.col("members")?, &[i, (i + 2) % 6, (i + 4) % 6]);
            }
            Kind::Posteriors => {
                w.u64(w.col("bundle_id")?, i);
                w.str(w.col("split")?, split);
                w.f64(w.col("T")?, 1.0 + i as f64 * 0.5);
                w.f64(w.col("h")?, 0.1 * i as f64);
                let mut p = [0f32; 6];
                p[i as usize] = 1.0;
                w.list_f32(w.col("posterior")?, &p);
            }
            Kind::Thermo => {
                for c in [
                    "T",
                    "h",
                    "log_z",
                    "grad_T",
                    "grad_h",
                    "fisher_T_T",
                    "fisher_T_h",
                    "fisher_h_h",
                ] {
                    w.f64(w.col(c)?, i as f64);
                }
            }
            Kind::Trainlog => {
                w.u64(w.col("step")?, i);
                w.str(w.col("split")?, split);
                w.f64(w.col("loss")?, 1.0 / (1.0 + i as f64));
            }
            Kind::Estimates => {
                w.f64(w.col("T")?, 2.0);
                w.f64(w.col("h")?, 0.0);
                w.str(w.col("method")?, "nis");
                w.str(w.col("quantity")?, "free_energy");
                w.f64(w.col("value")?, -2.1);
                // std_error is nullable: an ESS has none
                w.f64_or_null(w.col("std_error")?, (i % 2 == 0).then_some(0.01));
                w.u64(w.col("n_samples")?, 1000);
            }
            Kind::Couplings => {
                w.str(w.col("term")?, if i < 4 { "K" } else { "H" });
                w.str(w.col("scope")?, if i < 4 { "bond" } else { "site" });
                w.u64(w.col("i")?, i);
                w.u64(w.col("j")?, if i < 4 { (i + 1) % 4 } else { i });
                w.f64(w.col("value")?, 0.3 + 0.01 * i as f64);
                w.f64_or_null(w.col("std_error")?, Some(0.002));
                w.f64(w.col("data_moment")?, 0.5);
                w.f64(w.col("model_moment")?, 0.501);
            }
            Kind::Latents => {
                w.str(w.col("source")?, "fm.parquet");
                w.u64(w.col("id")?, i);
                w.f64(w.col("T")?, 1.5);
                w.f64(w.col("h")?, 0.0);
                w.str(w.col("phase")?, if i < 3 { "fm" } else { "pm" });
                w.f64(w.col("magnetization")?, 0.9);
                w.f64(w.col("staggered_magnetization")?, 0.01);
                for c in ["mu_0", "mu_1", "sigma_0", "sigma_1"] {
                    w.f64(w.col(c)?, 0.5 + i as f64);
                }
            }
            Kind::Microstates => unreachable!(),
        }
        w.end_row()?;
    }
    w.finish()
}

/// Run `tool ARGS -o d.parquet --threads T -q` in folders `a` (1 thread) and
/// `b` (2 threads) under `dir`, assert the outputs are byte-identical, and
/// return the first one's path.
pub fn same_bytes_across_threads(tool: &str, args: &[&str], dir: &Path) -> PathBuf {
    let mut a: Vec<&str> = args.to_vec();
    a.extend(["-o", "d.parquet"]);
    same_outputs_across_threads(tool, &a, &["d.parquet"], dir);
    dir.join("a/d.parquet")
}

/// Run `tool ARGS --threads 1` in DIR/a and `--threads 2` in DIR/b (outputs
/// named relative to the working directory, so provenance is the same) and
/// require every file in `outputs` to come out byte-identical.
pub fn same_outputs_across_threads(tool: &str, args: &[&str], outputs: &[&str], dir: &Path) {
    for (sub, threads) in [("a", "1"), ("b", "2")] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        let mut a: Vec<&str> = args.to_vec();
        a.extend(["--threads", threads, "-q"]);
        let o = Command::new(bin(tool))
            .args(&a)
            .current_dir(dir.join(sub))
            .output()
            .unwrap();
        assert!(o.status.success(), "{tool} {a:?}: {}", stderr(&o));
    }
    for out in outputs {
        let a = std::fs::read(dir.join("a").join(out)).unwrap();
        let b = std::fs::read(dir.join("b").join(out)).unwrap();
        assert!(a == b, "{tool}: --threads changed the bytes of {out}");
    }
}

/// Run `tool ARGS --shard i/n -o FOLDER` for every shard.
pub fn run_shards(tool: &str, args: &[&str], n: usize, folder: &Path) {
    for i in 0..n {
        let shard = format!("{i}/{n}");
        let mut a: Vec<&str> = args.to_vec();
        a.extend(["--shard", &shard, "-o", folder.to_str().unwrap(), "-q"]);
        let o = run(tool, &a);
        assert!(o.status.success(), "{tool} {a:?}: {}", stderr(&o));
    }
}

/// Each case (extra arguments, text the error must contain) must end in
/// exit code 2 with one error line, and leave nothing at `out`.
pub fn assert_refused(tool: &str, base: &[&str], cases: &[(Vec<&str>, &str)], out: &Path) {
    for (extra, needle) in cases {
        let mut args = base.to_vec();
        args.extend(extra.iter());
        let r = run(tool, &args);
        let err = stderr(&r);
        assert_eq!(r.status.code(), Some(2), "{extra:?}: {err}");
        assert!(
            err.contains(needle),
            "{extra:?}: error should name {needle}: {err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(!out.exists(), "{extra:?} left an output file");
    }
}

/// Run a script of tests/interop/ with the project venv's Python; it must succeed.
pub fn run_python(script: &str, args: &[&Path]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/interop")
        .join(script);
    let out = Command::new(python())
        .arg(&script)
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    assert!(out.status.success(), "{} failed:\n{text}", script.display());
}

/// A trainlog's rows: (step, split, loss).
pub fn read_log(path: &Path) -> Vec<(u64, String, f64)> {
    let ds = phasekit::contract::open(path, Kind::Trainlog).unwrap();
    let mut rows = Vec::new();
    for b in ds.batches(None, 4096).unwrap() {
        let b = b.unwrap();
        let (s, sp, l) = (
            phasekit::contract::col_u64(&b, "step").unwrap(),
            phasekit::contract::col_str(&b, "split").unwrap(),
            phasekit::contract::col_f64(&b, "loss").unwrap(),
        );
        for i in 0..b.num_rows() {
            rows.push((s[i], sp.value(i).to_string(), l[i]));
        }
    }
    rows
}

/// Run `tool ARGS`; it must succeed. Returns its stderr.
pub fn run_ok(tool: &str, args: &[&str]) -> String {
    let r = run(tool, args);
    let err = stderr(&r);
    assert!(r.status.success(), "{tool} {args:?}: {err}");
    err
}

/// gen-ising ARGS -q -o PATH; it must succeed.
pub fn gen_ising(path: &Path, args: &[&str]) {
    let mut all = args.to_vec();
    all.extend(["-q", "-o", path.to_str().unwrap()]);
    run_ok("gen-ising", &all);
}

/// The Ising energy as a foreign `energy` model: E = Σ_j s_j ((sB)_j − h)
/// with B = −J·A/2, A the periodic adjacency matrix.
pub fn ising_energy_model(path: &Path, l: usize, j: f32, h: f32) {
    let n = l * l;
    let mut b = vec![0f32; n * n];
    for r in 0..l {
        for c in 0..l {
            let i = r * l + c;
            for k in [r * l + (c + 1) % l, ((r + 1) % l) * l + c] {
                b[i * n + k] -= j / 2.0;
                b[k * n + i] -= j / 2.0;
            }
        }
    }
    let mut g = phasekit::nn::onnx::GraphBuilder::new("ising_energy");
    let s = g.input_f32(
        "states",
        &[
            phasekit::nn::onnx::Dim::batch(),
            phasekit::nn::onnx::Dim::Fixed(l),
            phasekit::nn::onnx::Dim::Fixed(l),
        ],
    );
    let flat = g.const_i64("flat", &[-1, n as i64]);
    let x = g.op("Reshape", &[&s, &flat], &[]);
    let bt = g.weight("couplings", &[n, n], &b);
    let field = g.weight("field", &[n], &vec![-h; n]);
    let sb = g.op("MatMul", &[&x, &bt], &[]);
    let local = g.op("Add", &[&sb, &field], &[]);
    let per_site = g.op("Mul", &[&local, &x], &[]);
    let axes = g.const_i64("axes", &[1]);
    g.op_into(
        "ReduceSum",
        &[&per_site, &axes],
        &["energy"],
        &[("keepdims", phasekit::nn::onnx::Attr::Int(0))],
    );
    g.output_f32("energy", &[phasekit::nn::onnx::Dim::batch()]);
    let meta = [
        ("phasekit.kind", "energy"),
        ("phasekit.version", "1"),
        ("phasekit.L", &l.to_string()),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()));
    std::fs::write(
        path,
        phasekit::nn::onnx::encode(&g.finish("Ising energy", &meta)),
    )
    .unwrap();
}

/// A small Ising dataset and its bundles in `dir`.
pub fn small_pipeline(dir: &Path, n: &str, l: &str) -> (PathBuf, PathBuf) {
    let data = dir.join("ising.parquet");
    let bundles = dir.join("bundles.parquet");
    let r = run(
        "gen-ising",
        &[
            "--n",
            n,
            "--L",
            l,
            "--sweeps",
            "30",
            "--seed",
            "1",
            "-o",
            data.to_str().unwrap(),
            "-q",
        ],
    );
    assert!(r.status.success(), "{}", stderr(&r));
    let r = run(
        "bundle-knn",
        &[
            "-i",
            data.to_str().unwrap(),
            "-o",
            bundles.to_str().unwrap(),
            "--k-neib",
            "6",
            "--k-bundle",
            "3",
            "--grid",
            "8x8",
            "--sigma",
            "0.05",
            "--seed",
            "2",
            "-q",
        ],
    );
    assert!(r.status.success(), "{}", stderr(&r));
    (data, bundles)
}
