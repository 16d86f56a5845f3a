//! fit-vae: the exported encoder and decoder against burn's forward pass
//! (and onnx.checker), a short training run whose loss falls and whose latent
//! axes follow m on FM data and m_s on AFM data at L = 8, byte-identical
//! reruns, resume, and bad input.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use phasekit::contract::latents;
use phasekit::io::SinkOptions;
use phasekit::meta::Kind;
use phasekit::nn::burn_exec::{train_device, Net};
use phasekit::nn::program::Program;
use phasekit::nn::vae::{
    decoder_onnx, encoder_onnx, DecoderKind, Inference, RunningStats, VaeSpec,
};
use phasekit::runtime::{take_output, Device, Model};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn spec(decoder: DecoderKind) -> VaeSpec {
    VaeSpec {
        l: 8,
        latent: 2,
        width: 3,
        decoder,
    }
}

/// Running statistics away from (0, 1), so the export must carry them.
fn some_stats(spec: &VaeSpec, rng: &mut ChaCha8Rng) -> RunningStats {
    let mut s = spec.fresh_stats();
    for (m, v) in s.mean.iter_mut().zip(s.var.iter_mut()) {
        m.iter_mut().for_each(|x| *x = rng.random_range(-0.5..0.5));
        v.iter_mut().for_each(|x| *x = rng.random_range(0.5..2.0));
    }
    s
}

#[test]
fn exported_encoder_and_decoder_match_burn() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for decoder in [DecoderKind::Bernoulli, DecoderKind::Beta2] {
        let spec = spec(decoder);
        let device = train_device(Device::Cpu).unwrap();
        let mut params = spec.init(&mut rng);
        // batch-norm shifts and scales away from their start, too
        for p in params.iter_mut().filter(|p| p.name.contains(".bn")) {
            p.data
                .iter_mut()
                .for_each(|x| *x += rng.random_range(-0.3..0.3));
        }
        let net = Net::new(Program::default(), params.clone(), &device);
        let stats = some_stats(&spec, &mut rng);
        let inf = Inference::new(&spec, &net, &stats);
        let rows = 7;
        let spins: Vec<f32> = (0..rows * 64)
            .map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 })
            .collect();
        let x01: Vec<f32> = spins.iter().map(|s| (s + 1.0) / 2.0).collect();
        let enc = inf.encode(&x01).unwrap();
        let z: Vec<f32> = (0..rows * 2).map(|_| rng.random_range(-2.0..2.0)).collect();
        let dec = inf.decode(&z).unwrap();

        let enc_onnx = encoder_onnx(
            &spec,
            &params,
            &stats,
            &[("phasekit.kind".into(), "vae-encoder".into())],
        );
        let dec_onnx = decoder_onnx(
            &spec,
            &params,
            &stats,
            &[("phasekit.kind".into(), "vae-decoder".into())],
        );
        let mut e = Model::from_bytes(&enc_onnx, "encoder", Device::Cpu, 1).unwrap();
        let mut out = e.run(&[("states", &[rows, 8, 8], &spins)]).unwrap();
        let (mu, log_sigma) = (
            take_output(&mut out, "mu"),
            take_output(&mut out, "log_sigma"),
        );
        let worst = |a: &[f32], b: &[f32]| {
            a.iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0f32, f32::max)
        };
        let log_s: Vec<f32> = enc.sigma.iter().map(|s| s.ln()).collect();
        let (dm, ds) = (worst(&mu, &enc.mu), worst(&log_sigma, &log_s));
        let mut d = Model::from_bytes(&dec_onnx, "decoder", Device::Cpu, 1).unwrap();
        let mut out = d.run(&[("z", &[rows, 2], &z)]).unwrap();
        let mean = take_output(&mut out, "mean");
        let dmean = worst(&mean, &dec.mean);
        println!("{decoder:?}: |Δμ| {dm:.2e}, |Δ log σ| {ds:.2e}, |Δ mean| {dmean:.2e}");
        assert!(dm < 1e-5 && ds < 1e-5 && dmean < 1e-5, "{dm} {ds} {dmean}");
        assert!(mean.iter().all(|p| (0.0..=1.0).contains(p)));
        let mut outputs = serde_json::json!({"mean": {"shape": [rows, 8, 8], "data": dec.mean}});
        if decoder == DecoderKind::Beta2 {
            let (b, h) = (
                take_output(&mut out, "beta_k"),
                take_output(&mut out, "h_k"),
            );
            let (db, dh) = (
                worst(&b, dec.beta.as_ref().unwrap()),
                worst(&h, dec.field.as_ref().unwrap()),
            );
            assert!(db < 1e-5 && dh < 1e-5, "{db} {dh}");
            assert!(b.iter().all(|v| *v > 0.0 && *v < 1.0));
            // the mean is sigmoid(β_k h_k)
            for ((m, b), h) in mean.iter().zip(&b).zip(&h) {
                assert!((m - 1.0 / (1.0 + (-b * h).exp())).abs() < 1e-5);
            }
            outputs["beta_k"] = serde_json::json!({"shape": [rows, 8, 8], "data": b});
        }
        // onnx.checker and Python's onnxruntime agree with burn
        let dir = tempfile::tempdir().unwrap();
        let (ep, dp, eio, dio) = (
            dir.path().join("enc.onnx"),
            dir.path().join("dec.onnx"),
            dir.path().join("enc.json"),
            dir.path().join("dec.json"),
        );
        std::fs::write(&ep, &enc_onnx).unwrap();
        std::fs::write(&dp, &dec_onnx).unwrap();
        let io = serde_json::json!({
            "inputs": {"states": {"shape": [rows, 8, 8], "data": spins}},
            "outputs": {"mu": {"shape": [rows, 2], "data": enc.mu}, "log_sigma": {"shape": [rows, 2], "data": log_s}},
        });
        std::fs::write(&eio, io.to_string()).unwrap();
        run_python("check_onnx.py", &[&ep, &eio]);
        let io = serde_json::json!({"inputs": {"z": {"shape": [rows, 2], "data": z}}, "outputs": outputs});
        std::fs::write(&dio, io.to_string()).unwrap();
        run_python("check_onnx.py", &[&dp, &dio]);
    }
}

/// FM, AFM and PM configurations of L = 8 in one folder, one file each.
fn three_phases(dir: &Path, n: &str) -> PathBuf {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let gen = |name: &str, t: &str, j: &str| {
        gen_ising(
            &data.join(name),
            &[
                "--n",
                n,
                "--L",
                "8",
                "--T",
                t,
                "--h",
                "0",
                &format!("--J={j}"),
                "--algorithm",
                "sw",
                "--per-chain",
                "10",
                "--burn-in",
                "50",
                "--thin",
                "3",
                "--sweeps",
                "50",
                "--seed",
                "3",
            ],
        )
    };
    gen("fm.parquet", "1:1.8", "1");
    gen("afm.parquet", "1:1.8", "-1");
    gen("pm.parquet", "4:6", "1");
    data
}

#[test]
fn training_loss_falls_and_the_latent_axes_follow_the_order_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let data = three_phases(dir.path(), "400");
    let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let err = run_ok(
        "fit-vae",
        &[
            "--data",
            data.to_str().unwrap(),
            "--beta",
            "4",
            "--width",
            "8",
            "--steps",
            "2000",
            "--batch",
            "64",
            "--eval-every",
            "200",
            "--seed",
            "2",
            "--out-encoder",
            &p("enc.onnx"),
            "--out-decoder",
            &p("dec.onnx"),
            "--out-latents",
            &p("latents.parquet"),
            "--out-log",
            &p("log.parquet"),
            "--plots",
            &p("figs"),
        ],
    );
    eprintln!("{err}");
    let log = read_log(&dir.path().join("log.parquet"));
    let train: Vec<f64> = log.iter().filter(|r| r.1 == "train").map(|r| r.2).collect();
    let test: Vec<f64> = log.iter().filter(|r| r.1 == "test").map(|r| r.2).collect();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (first, last) = (mean(&train[..20]), mean(&train[train.len() - 20..]));
    println!(
        "train loss {first:.2} -> {last:.2}; test {:.2} -> {:.2}",
        test[0],
        test[test.len() - 1]
    );
    assert!(last < 0.7 * first, "{first} -> {last}");
    assert!(test[test.len() - 1] < test[0]);

    let (meta, rows) = latents::load(&dir.path().join("latents.parquet")).unwrap();
    assert_eq!(rows.len(), 1200);
    assert_eq!(meta.params, ["T", "J"]);
    for phase in ["fm", "afm", "pm"] {
        assert_eq!(
            rows.iter().filter(|r| r.phase == phase).count(),
            400,
            "{phase}"
        );
    }
    assert!(rows
        .iter()
        .filter(|r| r.phase == "afm")
        .all(|r| r.j == -1.0));
    let report: phasekit::fit::vae_report::VaeReport =
        meta.get(Path::new("latents"), "report").unwrap();
    println!("{}", report.lines().join("\n"));
    let (fm, afm) = (report.fm_axis_corr.unwrap(), report.afm_axis_corr.unwrap());
    assert!(fm >= 0.9 && afm >= 0.9, "|corr| {fm} {afm}");
    assert_ne!(report.fm_axis, report.afm_axis);
    // every phase comes back from the prior (at L = 8 the two splits need not be
    // axis-aligned: the tilt is reported, graded only at L = 32 by make demo-vae)
    assert!(
        report.generated.iter().all(|&g| g >= 0.1),
        "{:?}",
        report.generated
    );
    // the report's correlation is the one pandas would compute from the file
    let fm_rows: Vec<_> = rows.iter().filter(|r| r.phase == "fm").collect();
    let a = report.fm_axis.unwrap();
    let x: Vec<f64> = fm_rows.iter().map(|r| r.mu[a]).collect();
    let y: Vec<f64> = fm_rows.iter().map(|r| r.magnetization).collect();
    let c = phasekit::fit::vae_report::correlation(&x, &y).unwrap();
    assert!((c.abs() - fm).abs() < 1e-12);
    for f in ["vae-loss", "vae-samples", "vae-latents", "vae-latent-grid"] {
        let (w, h, _) = png_facts(&dir.path().join("figs").join(format!("{f}.png")));
        assert!(w > 300 && h > 300, "{f}");
    }
}

#[test]
fn same_bytes_across_threads_and_after_resume() {
    let dir = tempfile::tempdir().unwrap();
    let data = three_phases(dir.path(), "60");
    let d = data.to_str().unwrap();
    let base = [
        "--data",
        d,
        "--beta",
        "4",
        "--width",
        "2",
        "--batch",
        "16",
        "--eval-every",
        "5",
        "--samples",
        "50",
        "--decoder",
        "beta2",
    ];
    let mut args = base.to_vec();
    args.extend([
        "--steps",
        "12",
        "--out-latents",
        "lat.parquet",
        "--out-log",
        "log.parquet",
    ]);
    same_outputs_across_threads(
        "fit-vae",
        &args,
        &["encoder.onnx", "decoder.onnx", "lat.parquet", "log.parquet"],
        &dir.path().join("threads"),
    );
    // 6 steps, then resume to 12 (constant learning rate): the same models as 12 straight
    let w = dir.path();
    let ck = w.join("c.ckpt");
    let ck = ck.to_str().unwrap();
    let fit = |extra: &[&str]| -> (Vec<u8>, Vec<u8>) {
        let (e, d) = (w.join("e.onnx"), w.join("d.onnx"));
        let mut a = base.to_vec();
        a.extend([
            "--lr-schedule",
            "constant",
            "--kl-warmup",
            "3",
            "--checkpoint",
            ck,
            "-q",
        ]);
        a.extend([
            "--out-encoder",
            e.to_str().unwrap(),
            "--out-decoder",
            d.to_str().unwrap(),
        ]);
        a.extend(extra);
        let o = run("fit-vae", &a);
        assert!(o.status.success(), "{a:?}: {}", stderr(&o));
        (std::fs::read(e).unwrap(), std::fs::read(d).unwrap())
    };
    let straight = fit(&["--steps", "12"]);
    fit(&["--steps", "6"]);
    let resumed = fit(&["--steps", "12", "--resume", ck]);
    assert!(
        straight == resumed,
        "6 steps + resume to 12 differs from 12 steps"
    );
}

#[test]
fn bad_input_is_refused_with_exit_2_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let data = three_phases(dir.path(), "20");
    let enc = dir.path().join("enc.onnx");
    let e = enc.to_str().unwrap().to_string();
    let d = data.to_str().unwrap().to_string();
    // configurations of 0/1 in an Ising file
    let zeros = dir.path().join("zeros.parquet");
    let m = meta(Kind::Microstates).with("state_shape", [8, 8]);
    let mut w =
        phasekit::contract::TableWriter::create(&zeros, &m, &[], &SinkOptions::default()).unwrap();
    for i in 0..4u64 {
        w.u64(w.col("id").unwrap(), i);
        w.f64(w.col("T").unwrap(), 2.0);
        w.f64(w.col("h").unwrap(), 0.0);
        w.list_i8(w.col("state").unwrap(), &[0i8; 64]);
        w.end_row().unwrap();
    }
    w.finish().unwrap();
    let z = zeros.to_str().unwrap().to_string();
    let base = ["--steps", "2", "--out-encoder", e.as_str(), "-q"];
    assert_refused(
        "fit-vae",
        &base,
        &[
            (vec!["--data", &d, "--latent", "0"], "--latent"),
            (vec!["--data", &d, "--beta", "0"], "--beta"),
            (vec!["--data", &d, "--beta=-3"], "--beta"),
            (vec!["--data", &d, "--beta", "nan"], "--beta"),
            (vec!["--data", &z], "fit-vae reads Ising spins ±1"),
            (vec!["--data", "missing.parquet"], "missing.parquet"),
            (vec!["--data", &d, "--width", "0"], "--width"),
        ],
        &enc,
    );
    // FM alone: a warning that names what is missing, and a model
    let r = run(
        "fit-vae",
        &[
            "--data",
            data.join("fm.parquet").to_str().unwrap(),
            "--steps",
            "2",
            "--width",
            "2",
            "--out-encoder",
            &e,
            "--out-decoder",
            dir.path().join("dec.onnx").to_str().unwrap(),
        ],
    );
    let err = stderr(&r);
    assert!(r.status.success(), "{err}");
    assert!(err.contains("warning: --data has no AFM samples"), "{err}");
    assert!(!err.contains("no FM samples"), "{err}");
    assert!(enc.exists());
}
