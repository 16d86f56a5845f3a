//! fit-posterior: export fidelity (burn forward = ONNX Runtime on the
//! exported file, onnx.checker, Python onnxruntime), targets of the drawn
//! members, a short training run that learns, exact resume, predict-only on
//! a foreign model, and bad input.

mod common;

use std::path::Path;

use burn::tensor::{Tensor, TensorData};
use common::*;
use phasekit::bundle::target::TargetBuilder;
use phasekit::contract::{self, list_f32};
use phasekit::fit::data::{assemble, Bundles, States};
use phasekit::meta::Kind;
use phasekit::nn::burn_exec::{to_vec, train_device, Net};
use phasekit::nn::onnx::{encode, Attr, Dim, GraphBuilder};
use phasekit::nn::posterior::{Arch, PosteriorSpec};
use phasekit::nn::program::to_onnx;
use phasekit::plot::figures;
use phasekit::runtime::{Device, Model};
use phasekit::sim::rng::chain_rng;

fn random_input(n: usize, len: usize, seed: u64) -> Vec<f32> {
    let mut r = Lcg(seed);
    (0..n * len)
        .map(|_| if r.next() & 1 == 1 { 1.0 } else { -1.0 })
        .collect()
}

#[test]
fn exported_onnx_matches_burn_forward() {
    let dir = tempfile::tempdir().unwrap();
    let specs = [
        PosteriorSpec {
            arch: Arch::Unet,
            k: 3,
            h: 8,
            w: 8,
            gh: 8,
            gw: 8,
            width: 4,
            depth: 2,
        },
        PosteriorSpec {
            arch: Arch::Unet,
            k: 2,
            h: 8,
            w: 16,
            gh: 6,
            gw: 10,
            width: 3,
            depth: 1,
        },
        PosteriorSpec {
            arch: Arch::SmallCnn,
            k: 4,
            h: 12,
            w: 12,
            gh: 5,
            gw: 7,
            width: 0,
            depth: 0,
        },
        PosteriorSpec {
            arch: Arch::Pool,
            k: 2,
            h: 8,
            w: 8,
            gh: 6,
            gw: 5,
            width: 3,
            depth: 0,
        },
        PosteriorSpec {
            arch: Arch::Members,
            k: 3,
            h: 8,
            w: 6,
            gh: 5,
            gw: 4,
            width: 4,
            depth: 0,
        },
        PosteriorSpec {
            arch: Arch::Extensive,
            k: 2,
            h: 6,
            w: 8,
            gh: 4,
            gw: 5,
            width: 3,
            depth: 0,
        },
    ];
    let device = train_device(Device::Cpu).unwrap();
    for (s, spec) in specs.iter().enumerate() {
        let (program, mut init) = spec.build(&mut chain_rng(1, s as u64));
        // zero-initialised parameters (every bias, the extensive head's
        // weights) get random values, so the comparison sees all of them
        for (i, p) in init.iter_mut().enumerate() {
            if p.data.iter().all(|&v| v == 0.0) {
                let fill = random_input(1, p.data.len(), 100 + i as u64);
                p.data.copy_from_slice(&fill);
            }
        }
        let net = Net::new(program, init, &device);
        let n = 3;
        let x = random_input(n, spec.k * spec.h * spec.w, 9 + s as u64);
        let xt = Tensor::<4>::from_data(
            TensorData::new(x.clone(), [n, spec.k, spec.h, spec.w]),
            &device,
        );
        let burn_out = to_vec(net.forward(xt)).unwrap();
        if matches!(spec.arch, Arch::Members | Arch::Extensive) {
            // the members' order does not matter: reverse it in every bundle
            let len = spec.h * spec.w;
            let mut rev = x.clone();
            for b in 0..n {
                for m in 0..spec.k {
                    let (src, dst) = ((b * spec.k + m) * len, (b * spec.k + spec.k - 1 - m) * len);
                    rev[dst..dst + len].copy_from_slice(&x[src..src + len]);
                }
            }
            let rt =
                Tensor::<4>::from_data(TensorData::new(rev, [n, spec.k, spec.h, spec.w]), &device);
            let again = to_vec(net.forward(rt)).unwrap();
            for (a, b) in burn_out.iter().zip(&again) {
                assert!(
                    (a - b).abs() <= 1e-5 * (1.0 + a.abs()),
                    "order changed {a} to {b}"
                );
            }
        }
        let bytes = to_onnx(
            &net.program,
            &net.host_params().unwrap(),
            ("states", &[spec.k, spec.h, spec.w]),
            ("logits", &[spec.gh, spec.gw]),
            &[("phasekit.kind".into(), "posterior".into())],
            "test",
        );
        let path = dir.path().join(format!("m{s}.onnx"));
        std::fs::write(&path, &bytes).unwrap();
        let mut model = Model::load(&path, Device::Cpu, 1).unwrap();
        let out = model
            .run(&[("states", &[n, spec.k, spec.h, spec.w], &x)])
            .unwrap();
        let ort_out = &out["logits"];
        assert_eq!(ort_out.shape, vec![n, spec.gh, spec.gw]);
        let scale = burn_out
            .iter()
            .map(|v| v.abs())
            .fold(0.0f32, f32::max)
            .max(1e-3);
        for (a, b) in burn_out.iter().zip(&ort_out.data) {
            assert!(
                (a - b).abs() <= 1e-4 * scale,
                "{spec:?}: burn {a} vs onnxruntime {b}"
            );
        }
        // onnx.checker and Python's onnxruntime agree too
        let io = serde_json::json!({
            "inputs": {"states": {"shape": [n, spec.k, spec.h, spec.w], "data": x}},
            "outputs": {"logits": {"shape": ort_out.shape, "data": burn_out}},
        });
        let io_path = dir.path().join(format!("io{s}.json"));
        std::fs::write(&io_path, io.to_string()).unwrap();
        run_python("check_onnx.py", &[&path, &io_path]);
    }
}

#[test]
fn targets_are_those_of_the_drawn_members() {
    let dir = tempfile::tempdir().unwrap();
    // random, pairwise different states, so each channel identifies its member
    let data = dir.path().join("random.parquet");
    write_microstates(&data, 300, 8, 0).unwrap();
    let bundles_path = dir.path().join("b.parquet");
    let r = run(
        "bundle-knn",
        &[
            "-i",
            data.to_str().unwrap(),
            "-o",
            bundles_path.to_str().unwrap(),
            "--k-neib",
            "6",
            "--k-bundle",
            "3",
            "--grid",
            "8x8",
            "--sigma",
            "0.05",
            "-q",
        ],
    );
    assert!(r.status.success(), "{}", stderr(&r));
    let bundles = Bundles::load(&bundles_path).unwrap();
    let states = States::load(&data, None).unwrap();
    let mut tb = TargetBuilder::new(&bundles.grid);
    let (mut x, mut t) = (Vec::new(), Vec::new());
    let centres: Vec<usize> = (0..20).collect();
    assemble(
        &bundles,
        &states,
        &centres,
        &mut chain_rng(5, 5),
        &mut tb,
        &mut x,
        &mut t,
    );
    let (k, len, g) = (bundles.k_bundle, states.len, bundles.grid.len());
    let mut want = vec![0f32; g];
    let mut orders = std::collections::HashSet::new();
    for (b, &c) in centres.iter().enumerate() {
        // identify each channel's member by its state
        let mut used = Vec::new();
        for slot in 0..k {
            let chan = &x[(b * k + slot) * len..(b * k + slot + 1) * len];
            let m = bundles.members_of(c).iter().position(|id| {
                let st = states.state(states.position(*id).unwrap());
                st.iter().zip(chan).all(|(a, b)| *a as f32 == *b)
            });
            used.push(m.expect("every channel is one of the bundle's members"));
        }
        let distinct: std::collections::HashSet<_> = used.iter().collect();
        assert_eq!(distinct.len(), k, "K_bundle distinct members");
        orders.insert(used.clone());
        let ms: Vec<[f64; 2]> = used
            .iter()
            .map(|&m| states.params[states.position(bundles.members_of(c)[m]).unwrap()])
            .collect();
        tb.build(&ms, &mut want);
        assert_eq!(&t[b * g..(b + 1) * g], &want[..]);
    }
    assert!(
        orders.len() > 10,
        "members are drawn at random, in random order"
    );
}

fn fit(dir: &Path, bundles: &Path, name: &str, extra: &[&str]) -> std::process::Output {
    let m = dir.join(format!("{name}.onnx"));
    let p = dir.join(format!("{name}-post.parquet"));
    let l = dir.join(format!("{name}-log.parquet"));
    let mut args = vec![
        "--bundles",
        bundles.to_str().unwrap(),
        "--out-model",
        m.to_str().unwrap(),
        "--out-posteriors",
        p.to_str().unwrap(),
        "--out-log",
        l.to_str().unwrap(),
        "--seed",
        "3",
        "-q",
    ];
    args.extend(extra);
    run("fit-posterior", &args)
}

#[test]
fn short_training_learns_and_resumes_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let (_, bundles) = common::small_pipeline(dir.path(), "800", "8");
    let common = [
        "--arch",
        "small-cnn",
        "--batch",
        "32",
        "--lr",
        "2e-3",
        "--eval-every",
        "20",
        // a cosine schedule depends on --steps, which differs between the halves
        "--lr-schedule",
        "constant",
    ];
    let figs = dir.path().join("figs");
    let mut a: Vec<&str> = common.to_vec();
    a.extend(["--steps", "120", "--plots", figs.to_str().unwrap()]);
    let r = fit(dir.path(), &bundles, "full", &a);
    assert!(r.status.success(), "{}", stderr(&r));
    let log = read_log(&dir.path().join("full-log.parquet"));
    let train: Vec<f64> = log.iter().filter(|r| r.1 == "train").map(|r| r.2).collect();
    let first = train[..10].iter().sum::<f64>() / 10.0;
    let last = train[train.len() - 10..].iter().sum::<f64>() / 10.0;
    assert!(
        last < first - 0.3,
        "train loss {first:.3} -> {last:.3} should fall"
    );
    let uniform = 64f64.ln();
    let test_last = log.iter().rev().find(|r| r.1 == "test").unwrap().2;
    assert!(
        test_last < uniform - 0.5,
        "test loss {test_last:.3} vs uniform prior {uniform:.3}"
    );
    let figs = dir.path().join("figs");
    common::assert_png(&figs.join("loss.png"), figures::LOSS_SIZE);
    // one row of panels per example bundle, under a title band
    let (w, h, distinct) = common::png_facts(&figs.join("posteriors.png"));
    let rows = (h - figures::POSTERIOR_TITLE) / figures::POSTERIOR_ROW;
    assert_eq!(w, figures::POSTERIOR_WIDTH);
    assert!(
        rows >= 1 && h == figures::POSTERIOR_TITLE + rows * figures::POSTERIOR_ROW,
        "height {h}"
    );
    assert!(distinct >= 40, "posteriors.png: {distinct} colours");
    // posteriors: one per bundle, each summing to 1
    let ds = contract::open(&dir.path().join("full-post.parquet"), Kind::Posteriors).unwrap();
    assert_eq!(ds.num_rows, 800);
    for b in ds.batches(None, 4096).unwrap() {
        let b = b.unwrap();
        let (p, g) = list_f32(&b, "posterior").unwrap();
        for row in p.chunks(g) {
            assert!((row.iter().map(|&v| v as f64).sum::<f64>() - 1.0).abs() < 1e-5);
        }
    }
    // 60 steps, then resume to 120: the same model as 120 straight
    let mut h: Vec<&str> = common.to_vec();
    let ck = dir.path().join("half.ckpt");
    h.extend(["--steps", "60", "--checkpoint", ck.to_str().unwrap()]);
    let r = fit(dir.path(), &bundles, "half", &h);
    assert!(r.status.success(), "{}", stderr(&r));
    let mut res: Vec<&str> = common.to_vec();
    res.extend(["--steps", "120", "--resume", ck.to_str().unwrap()]);
    let r = fit(dir.path(), &bundles, "resumed", &res);
    assert!(r.status.success(), "{}", stderr(&r));
    let full = std::fs::read(dir.path().join("full.onnx")).unwrap();
    let resumed = std::fs::read(dir.path().join("resumed.onnx")).unwrap();
    assert!(
        full == resumed,
        "resuming from a checkpoint reproduces the uninterrupted run"
    );
}

/// A foreign posterior model: logits = reshape(flatten(states) · W + b).
fn foreign_model(
    k: usize,
    h: usize,
    w: usize,
    gh: usize,
    gw: usize,
    seed: u64,
) -> (Vec<u8>, Vec<f32>, Vec<f32>) {
    let mut r = Lcg(seed);
    let wt: Vec<f32> = (0..k * h * w * gh * gw)
        .map(|_| (r.unit() - 0.5) as f32 * 0.2)
        .collect();
    let bias: Vec<f32> = (0..gh * gw).map(|_| (r.unit() - 0.5) as f32).collect();
    let mut g = GraphBuilder::new("foreign");
    let x = g.input_f32(
        "states",
        &[Dim::batch(), Dim::Fixed(k), Dim::Fixed(h), Dim::Fixed(w)],
    );
    let f = g.op("Flatten", &[&x], &[("axis", Attr::Int(1))]);
    let wn = g.weight("w", &[k * h * w, gh * gw], &wt);
    let bn = g.weight("b", &[gh * gw], &bias);
    let m = g.op("MatMul", &[&f, &wn], &[]);
    let a = g.op("Add", &[&m, &bn], &[]);
    let shape = g.const_i64("shape", &[-1, gh as i64, gw as i64]);
    g.op_into("Reshape", &[&a, &shape], &["logits"], &[]);
    g.output_f32("logits", &[Dim::batch(), Dim::Fixed(gh), Dim::Fixed(gw)]);
    (encode(&g.finish("foreign", &[])), wt, bias)
}

/// `fit-posterior --predict-only` with `model` on `bundles` into `out`.
fn predict_only(model: &Path, bundles: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "--predict-only",
        "--model",
        model.to_str().unwrap(),
        "--bundles",
        bundles.to_str().unwrap(),
        "--out-posteriors",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    run("fit-posterior", &args)
}

#[test]
fn predict_only_runs_a_foreign_model_and_refuses_a_mismatched_one() {
    let dir = tempfile::tempdir().unwrap();
    let (data, bundles_path) = common::small_pipeline(dir.path(), "200", "4");
    let (bytes, wt, bias) = foreign_model(3, 4, 4, 8, 8, 4);
    let model = dir.path().join("foreign.onnx");
    std::fs::write(&model, bytes).unwrap();
    let out = dir.path().join("p.parquet");
    let r = predict_only(
        &model,
        &bundles_path,
        &out,
        &["--predict-limit", "50", "-q"],
    );
    assert!(r.status.success(), "{}", stderr(&r));
    // recompute the first K_bundle members' posterior by hand
    let bundles = Bundles::load(&bundles_path).unwrap();
    let states = States::load(&data, None).unwrap();
    let ds = contract::open(&out, Kind::Posteriors).unwrap();
    assert_eq!(ds.num_rows, 50);
    let b = ds.batches(None, 4096).unwrap().next().unwrap().unwrap();
    let (post, g) = list_f32(&b, "posterior").unwrap();
    for c in 0..50 {
        let mut xin = Vec::new();
        for id in &bundles.members_of(c)[..3] {
            xin.extend(
                states
                    .state(states.position(*id).unwrap())
                    .iter()
                    .map(|&s| s as f64),
            );
        }
        let logits: Vec<f64> = (0..g)
            .map(|j| {
                bias[j] as f64
                    + xin
                        .iter()
                        .enumerate()
                        .map(|(i, x)| x * wt[i * g + j] as f64)
                        .sum::<f64>()
            })
            .collect();
        let mx = logits.iter().cloned().fold(f64::MIN, f64::max);
        let z: f64 = logits.iter().map(|l| (l - mx).exp()).sum();
        for j in 0..g {
            let want = (logits[j] - mx).exp() / z;
            assert!(
                (post[c * g + j] as f64 - want).abs() < 1e-5,
                "bundle {c} cell {j}"
            );
        }
    }
    // a model whose output does not match the grid
    let (bytes, _, _) = foreign_model(3, 4, 4, 8, 6, 4);
    let bad = dir.path().join("bad.onnx");
    std::fs::write(&bad, bytes).unwrap();
    let out2 = dir.path().join("p2.parquet");
    let r = predict_only(&bad, &bundles_path, &out2, &[]);
    assert_eq!(r.status.code(), Some(2), "{}", stderr(&r));
    assert!(
        stderr(&r).contains("bad.onnx") && stderr(&r).contains("logits"),
        "{}",
        stderr(&r)
    );
    assert!(!out2.exists());
}

#[test]
fn bad_input_is_refused_with_exit_2_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let (data, bundles) = common::small_pipeline(dir.path(), "200", "4");
    // a dataset with another state shape
    let other = dir.path().join("other.parquet");
    let r = run(
        "gen-ising",
        &[
            "--n",
            "200",
            "--L",
            "6",
            "--sweeps",
            "5",
            "-o",
            other.to_str().unwrap(),
            "-q",
        ],
    );
    assert!(r.status.success());
    let out = dir.path().join("o.onnx");
    let post = dir.path().join("o.parquet");
    let base = |extra: &[&str]| {
        let mut a = vec![
            "--bundles",
            bundles.to_str().unwrap(),
            "--out-model",
            out.to_str().unwrap(),
            "--out-posteriors",
            post.to_str().unwrap(),
            "--steps",
            "2",
        ];
        a.extend(extra);
        run(
            "fit-posterior",
            &a.iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        )
    };
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--data", other.to_str().unwrap()], "other.parquet"),
        (
            vec!["--data", "/nonexistent.parquet"],
            "/nonexistent.parquet",
        ),
        (vec!["--lr", "-1"], "--lr"),
        (vec!["--batch", "0"], "--batch"),
        (vec!["--depth", "3"], "--depth"),
        (vec!["--device", "cuda"], "--device cuda"),
        (vec!["--resume", data.to_str().unwrap()], "checkpoint"),
    ];
    for (extra, needle) in cases {
        let r = base(&extra);
        let err = stderr(&r);
        assert_eq!(r.status.code(), Some(2), "{extra:?}: {err}");
        assert!(
            err.contains(needle),
            "{extra:?}: should name {needle}: {err}"
        );
        assert!(!out.exists() && !post.exists(), "{extra:?} left output");
    }
    // the dataset the bundles record has gone
    std::fs::rename(&data, dir.path().join("moved.parquet")).unwrap();
    let r = base(&[]);
    assert_eq!(r.status.code(), Some(2));
    assert!(stderr(&r).contains("does not exist"), "{}", stderr(&r));
    assert!(!out.exists() && !post.exists());
}

#[test]
fn outputs_are_byte_identical_whatever_threads() {
    let dir = tempfile::tempdir().unwrap();
    // big enough for the thread pools to split the work
    let (_, bundles) = common::small_pipeline(dir.path(), "800", "8");
    #[rustfmt::skip]
    let args = [
        "--bundles", bundles.to_str().unwrap(), "--arch", "pool", "--width", "8",
        "--steps", "20", "--batch", "64", "--eval-every", "10",
        "--out-model", "p.onnx", "--out-posteriors", "p.parquet", "--out-log", "log.parquet",
    ];
    let outputs = ["p.onnx", "p.parquet", "log.parquet", "p.ckpt"];
    same_outputs_across_threads("fit-posterior", &args, &outputs, dir.path());
}
