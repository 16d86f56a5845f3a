//! fit-icnn: forward-mode tangents against finite differences (burn and the
//! exported file), a positive semi-definite Hessian everywhere, recovery of a
//! known convex log Z from its exact eq.-19 posteriors, resume, and bad input.

mod common;

use std::path::Path;

use burn::tensor::{Tensor, TensorData};
use common::*;
use phasekit::analysis::align_affine;
use phasekit::contract::thermo::load as load_thermo;
use phasekit::contract::TableWriter;
use phasekit::exact::family::SpinPairs;
use phasekit::fit::posteriors::grid_points;
use phasekit::io::SinkOptions;
use phasekit::meta::{Bounds, FileMeta, Grid, Kind};
use phasekit::nn::burn_exec::{icnn_weights, to_vec, train_device, BurnAlgebra, Net};
use phasekit::nn::icnn::{propagate, to_onnx, IcnnSpec};
use phasekit::nn::program::{ParamData, Program};
use phasekit::plot::figures;
use phasekit::runtime::{Device, Model};
use phasekit::sim::rng::chain_rng;

fn spec() -> IcnnSpec {
    IcnnSpec {
        lo: vec![1.0, -2.0],
        hi: vec![5.0, 2.0],
        layers: 3,
        hidden: 8,
        ensemble: 1,
        scale: 3.0,
    }
}

/// Initial parameters with every bias and the linear output term made
/// non-zero, so no derivative is trivially zero.
fn params(spec: &IcnnSpec, seed: u64) -> Vec<ParamData> {
    let mut p = spec.init(&mut chain_rng(seed, 0));
    let mut r = Lcg(seed);
    for q in p.iter_mut() {
        if q.name.ends_with("bias") || q.name == "out.x" {
            for v in q.data.iter_mut() {
                *v = (r.unit() as f32 - 0.5) * 2.0;
            }
        }
    }
    p
}

fn points(n: usize, seed: u64) -> Vec<[f64; 2]> {
    let mut r = Lcg(seed);
    // inside the box and beyond it: convexity holds everywhere
    (0..n)
        .map(|_| [r.unit() * 6.0, r.unit() * 6.0 - 3.0])
        .collect()
}

/// log Z and ∇log Z from burn at `pts`.
fn burn_jet(spec: &IcnnSpec, p: &[ParamData], pts: &[[f64; 2]]) -> (Vec<f32>, Vec<[f32; 2]>) {
    let device = train_device(Device::Cpu).unwrap();
    let net = Net::new(Program::default(), p.to_vec(), &device);
    let w = icnn_weights(spec, &net);
    let flat: Vec<f32> = pts.iter().flat_map(|t| t.map(|v| v as f32)).collect();
    let t = Tensor::<2>::from_data(TensorData::new(flat, [pts.len(), 2]), &device);
    let jet = propagate(&mut BurnAlgebra, &w, &t, 1);
    let v = to_vec(jet.value).unwrap();
    let g0 = to_vec(jet.grad[0].clone()).unwrap();
    let g1 = to_vec(jet.grad[1].clone()).unwrap();
    (v, g0.into_iter().zip(g1).map(|(a, b)| [a, b]).collect())
}

#[test]
fn burn_gradient_matches_finite_differences() {
    let s = spec();
    let p = params(&s, 3);
    let pts = points(20, 5);
    let (_, grad) = burn_jet(&s, &p, &pts);
    let h = 1e-2;
    let mut worst = 0.0f64;
    for a in 0..2 {
        let shifted = |d: f64| -> Vec<[f64; 2]> {
            pts.iter()
                .map(|t| {
                    let mut u = *t;
                    u[a] += d;
                    u
                })
                .collect()
        };
        let (vp, _) = burn_jet(&s, &p, &shifted(h));
        let (vm, _) = burn_jet(&s, &p, &shifted(-h));
        for i in 0..pts.len() {
            let fd = (vp[i] as f64 - vm[i] as f64) / (2.0 * h);
            let err = (fd - grad[i][a] as f64).abs() / (1.0 + (grad[i][a] as f64).abs());
            worst = worst.max(err);
        }
    }
    println!("burn: worst relative |tangent - finite difference| = {worst:.2e}");
    assert!(worst < 2e-3, "tangent gradient off by {worst}");
}

#[test]
fn exported_model_matches_burn_and_its_hessian_matches_finite_differences() {
    let dir = tempfile::tempdir().unwrap();
    let s = spec();
    let p = params(&s, 7);
    let path = dir.path().join("f.onnx");
    std::fs::write(
        &path,
        to_onnx(
            &s,
            std::slice::from_ref(&p),
            &[("phasekit.kind".into(), "free_energy".into())],
        ),
    )
    .unwrap();
    let mut model = Model::load(&path, Device::Cpu, 1).unwrap();
    let pts = points(16, 11);
    let eval = |model: &mut Model, pts: &[[f64; 2]]| {
        let flat: Vec<f32> = pts.iter().flat_map(|t| t.map(|v| v as f32)).collect();
        let r = model.run(&[("t", &[pts.len(), 2], &flat)]).unwrap();
        assert_eq!(r["log_z"].shape, vec![pts.len()]);
        assert_eq!(r["grad"].shape, vec![pts.len(), 2]);
        assert_eq!(r["hessian"].shape, vec![pts.len(), 2, 2]);
        (
            r["log_z"].data.clone(),
            r["grad"].data.clone(),
            r["hessian"].data.clone(),
        )
    };
    let (lz, gr, he) = eval(&mut model, &pts);
    let (bv, bg) = burn_jet(&s, &p, &pts);
    for i in 0..pts.len() {
        assert!((lz[i] - bv[i]).abs() <= 1e-4 * (1.0 + bv[i].abs()));
        for a in 0..2 {
            assert!((gr[2 * i + a] - bg[i][a]).abs() <= 1e-4 * (1.0 + bg[i][a].abs()));
        }
    }
    let h = 1e-2;
    let mut worst = 0.0f64;
    for a in 0..2 {
        let shift = |d: f64| -> Vec<[f64; 2]> {
            pts.iter()
                .map(|t| {
                    let mut u = *t;
                    u[a] += d;
                    u
                })
                .collect()
        };
        let (_, gp, _) = eval(&mut model, &shift(h));
        let (_, gm, _) = eval(&mut model, &shift(-h));
        for i in 0..pts.len() {
            for b in 0..2 {
                let fd = (gp[2 * i + b] as f64 - gm[2 * i + b] as f64) / (2.0 * h);
                let exact = he[4 * i + 2 * a + b] as f64;
                worst = worst.max((fd - exact).abs() / (1.0 + exact.abs()));
            }
        }
        for i in 0..pts.len() {
            assert_eq!(he[4 * i + 1], he[4 * i + 2], "Hessian symmetric");
        }
    }
    println!("onnx: worst relative |Hessian - finite difference of grad| = {worst:.2e}");
    assert!(worst < 2e-3, "Hessian off by {worst}");

    // onnx.checker and Python's onnxruntime agree
    let flat: Vec<f32> = pts.iter().flat_map(|t| t.map(|v| v as f32)).collect();
    let io = serde_json::json!({
        "inputs": {"t": {"shape": [pts.len(), 2], "data": flat}},
        "outputs": {"log_z": {"shape": [pts.len()], "data": lz},
                    "grad": {"shape": [pts.len(), 2], "data": gr},
                    "hessian": {"shape": [pts.len(), 2, 2], "data": he}},
    });
    let io_path = dir.path().join("io.json");
    std::fs::write(&io_path, io.to_string()).unwrap();
    run_python("check_onnx.py", &[&path, &io_path]);
}

#[test]
fn exported_hessian_is_positive_semidefinite_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let mut min_ratio = f64::INFINITY;
    for seed in 0..6u64 {
        let mut s = spec();
        s.layers = 1 + seed as usize % 4;
        s.hidden = 4 + 5 * seed as usize;
        let p = params(&s, 100 + seed);
        let path = dir.path().join(format!("f{seed}.onnx"));
        std::fs::write(&path, to_onnx(&s, std::slice::from_ref(&p), &[])).unwrap();
        let mut model = Model::load(&path, Device::Cpu, 1).unwrap();
        let pts = points(2000, 200 + seed);
        let flat: Vec<f32> = pts.iter().flat_map(|t| t.map(|v| v as f32)).collect();
        let r = model.run(&[("t", &[pts.len(), 2], &flat)]).unwrap();
        let he = &r["hessian"].data;
        let scale = he.iter().map(|v| v.abs()).fold(0.0f32, f32::max) as f64;
        assert!(scale > 0.0);
        for i in 0..pts.len() {
            let (a, b, c) = (he[4 * i] as f64, he[4 * i + 1] as f64, he[4 * i + 3] as f64);
            let min_eig = 0.5 * (a + c) - (0.25 * (a - c).powi(2) + b * b).sqrt();
            min_ratio = min_ratio.min(min_eig / scale);
            assert!(
                min_eig >= -1e-5 * scale,
                "seed {seed} at {:?}: eigenvalue {min_eig} (scale {scale})",
                pts[i]
            );
        }
    }
    println!("smallest Hessian eigenvalue / largest entry over 12000 points: {min_ratio:.2e}");
}

#[test]
fn an_ensemble_exports_the_mean_of_its_networks() {
    let dir = tempfile::tempdir().unwrap();
    let s = spec();
    let members = [params(&s, 21), params(&s, 22), params(&s, 23)];
    let pts = points(12, 13);
    let flat: Vec<f32> = pts.iter().flat_map(|t| t.map(|v| v as f32)).collect();
    let eval = |name: &str, nets: &[Vec<ParamData>]| -> Vec<Vec<f32>> {
        let path = dir.path().join(name);
        let spec = IcnnSpec {
            ensemble: nets.len(),
            ..s.clone()
        };
        std::fs::write(&path, to_onnx(&spec, nets, &[])).unwrap();
        let mut model = Model::load(&path, Device::Cpu, 1).unwrap();
        let r = model.run(&[("t", &[pts.len(), 2], &flat)]).unwrap();
        ["log_z", "grad", "hessian"]
            .map(|o| r[o].data.clone())
            .to_vec()
    };
    let mean = eval("mean.onnx", &members);
    let apart: Vec<Vec<Vec<f32>>> = members
        .iter()
        .enumerate()
        .map(|(m, p)| eval(&format!("m{m}.onnx"), std::slice::from_ref(p)))
        .collect();
    let mut worst = 0.0f64;
    for (o, output) in mean.iter().enumerate() {
        for (i, &v) in output.iter().enumerate() {
            let want: f64 = apart.iter().map(|a| a[o][i] as f64).sum::<f64>() / 3.0;
            worst = worst.max((v as f64 - want).abs() / (1.0 + want.abs()));
        }
    }
    println!("ensemble of 3: worst relative |export - mean of the networks| = {worst:.2e}");
    assert!(worst < 1e-5, "off by {worst}");
    // and no network is the mean: the members differ
    assert!((apart[0][0][0] - apart[1][0][0]).abs() > 1e-3);
}

fn family_grid(n: usize) -> Grid {
    let mut bounds = Bounds::new();
    bounds.insert("a".into(), [-1.0, 1.0]);
    bounds.insert("b".into(), [-1.0, 1.0]);
    Grid {
        params: vec!["a".into(), "b".into()],
        bounds,
        shape: [n, n],
        sigma: 0.02,
    }
}

/// Posteriors of eq. 19 from the closed-form family at `n` random centres.
fn write_family_posteriors(path: &Path, fam: SpinPairs, grid: &Grid, n: usize) {
    let meta = FileMeta::new(
        Kind::Posteriors,
        grid.params.clone(),
        grid.bounds.clone(),
        serde_json::json!({"system": "spin pairs", "n": fam.n}),
        provenance(),
    )
    .with("grid", grid)
    .with("k_bundle", 1);
    let mut w = TableWriter::create(path, &meta, &[], &SinkOptions::default()).unwrap();
    let mut r = Lcg(17);
    for i in 0..n {
        let c = [r.unit() * 2.0 - 1.0, r.unit() * 2.0 - 1.0];
        let post: Vec<f32> = fam.posterior(grid, c).iter().map(|&v| v as f32).collect();
        w.u64(0, i as u64);
        w.str(1, if i % 5 == 0 { "test" } else { "train" });
        w.f64(2, c[0]);
        w.f64(3, c[1]);
        w.list_f32(4, &post);
        w.end_row().unwrap();
    }
    w.finish().unwrap();
}

#[test]
fn a_known_convex_log_z_is_recovered_from_its_posteriors() {
    let dir = tempfile::tempdir().unwrap();
    let grid = family_grid(24);
    let fam = SpinPairs { n: 20.0 };
    let post = dir.path().join("post.parquet");
    write_family_posteriors(&post, fam, &grid, 600);
    let (model, thermo, figs) = (
        dir.path().join("f.onnx"),
        dir.path().join("thermo.parquet"),
        dir.path().join("figs"),
    );
    let o = run(
        "fit-icnn",
        &[
            "--posteriors",
            post.to_str().unwrap(),
            "--steps",
            "1500",
            "--lr",
            "1e-2",
            "--seed",
            "1",
            "--out-model",
            model.to_str().unwrap(),
            "--out-thermo",
            thermo.to_str().unwrap(),
            "--plots",
            figs.to_str().unwrap(),
            "-q",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let (thermo_grid, th) = load_thermo(&thermo).unwrap();
    assert_eq!(thermo_grid, grid);
    assert_eq!(th.points, grid_points(&grid));
    let exact: Vec<f64> = th.points.iter().map(|&t| fam.log_z(t)).collect();
    let a = align_affine(&th.points, &th.log_z, &exact);
    println!(
        "recovered log Z: RMSE {:.4} after affine alignment, range {:.3} ({:.2}%)",
        a.rmse,
        a.range,
        100.0 * a.rmse / a.range
    );
    assert!(
        a.rmse <= 0.02 * a.range,
        "RMSE {} vs range {}",
        a.rmse,
        a.range
    );
    common::assert_png(&figs.join("thermo.png"), figures::THERMO_SIZE);
    common::assert_png(&figs.join("icnn-loss.png"), figures::LOSS_SIZE);
}

fn icnn_args<'a>(post: &'a str, model: &'a str, thermo: &'a str, steps: &'a str) -> Vec<&'a str> {
    vec![
        "--posteriors",
        post,
        "--steps",
        steps,
        "--hidden",
        "16",
        "--seed",
        "4",
        "--ensemble",
        "2",
        "--out-model",
        model,
        "--out-thermo",
        thermo,
        "-q",
    ]
}

#[test]
fn resuming_reproduces_the_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let post = dir.path().join("post.parquet");
    write_family_posteriors(&post, SpinPairs { n: 10.0 }, &family_grid(10), 80);
    let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let (post, straight, split, ck) = (p("post.parquet"), p("a.onnx"), p("b.onnx"), p("c.ckpt"));
    let th = p("th.parquet");
    let o = run("fit-icnn", &icnn_args(&post, &straight, &th, "120"));
    assert!(o.status.success(), "{}", stderr(&o));
    let mut first = icnn_args(&post, &split, &th, "60");
    first.extend(["--checkpoint", &ck, "--lr-schedule", "constant"]);
    let mut straight_const = icnn_args(&post, &straight, &th, "120");
    straight_const.extend(["--lr-schedule", "constant"]);
    assert!(run("fit-icnn", &straight_const).status.success());
    assert!(run("fit-icnn", &first).status.success());
    // each network of the ensemble checkpoints beside the first's file
    assert!(Path::new(&p("c.m1.ckpt")).exists());
    let mut second = icnn_args(&post, &split, &th, "120");
    second.extend(["--resume", &ck, "--lr-schedule", "constant"]);
    let o = run("fit-icnn", &second);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(&straight).unwrap(),
        std::fs::read(&split).unwrap(),
        "60 steps + resume to 120 = 120 steps"
    );
}

/// A posteriors file over the 3×2 test grid with `edit` applied to row 0.
fn write_posteriors_with(path: &Path, meta: FileMeta, edit: impl Fn(&mut [f32])) {
    let mut w = TableWriter::create(path, &meta, &[], &SinkOptions::default()).unwrap();
    for i in 0..6u64 {
        let mut p = [1.0f32 / 6.0; 6];
        if i == 0 {
            edit(&mut p);
        }
        w.u64(0, i);
        w.str(1, "train");
        w.f64(2, 1.0 + 0.5 * i as f64);
        w.f64(3, 0.1 * i as f64);
        w.list_f32(4, &p);
        w.end_row().unwrap();
    }
    w.finish().unwrap();
}

#[test]
fn bad_input_is_refused_with_exit_2_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let good = p("good.parquet");
    write_posteriors_with(Path::new(&good), meta(Kind::Posteriors), |_| {});
    write_posteriors_with(Path::new(&p("sum.parquet")), meta(Kind::Posteriors), |r| {
        r[0] += 0.01
    });
    write_posteriors_with(Path::new(&p("nan.parquet")), meta(Kind::Posteriors), |r| {
        r[3] = f32::NAN
    });
    let mut other_bounds = grid_th(3, 2);
    other_bounds.bounds.insert("h".into(), [-1.0, 1.0]);
    write_posteriors_with(
        Path::new(&p("grid.parquet")),
        meta(Kind::Posteriors).with("grid", other_bounds),
        |_| {},
    );
    write_example(Kind::Bundles, Path::new(&p("bundles.parquet"))).unwrap();
    let (model, thermo) = (p("f.onnx"), p("thermo.parquet"));
    let base = [
        "--out-model",
        &model,
        "--out-thermo",
        &thermo,
        "--steps",
        "5",
        "-q",
    ];
    let with = |file: &str| vec!["--posteriors", Box::leak(p(file).into_boxed_str()) as &str];
    let mut cases: Vec<(Vec<&str>, &str)> = vec![
        (with("sum.parquet"), "sums to"),
        (with("nan.parquet"), "not a probability"),
        (with("grid.parquet"), "bounds of h"),
        (with("missing.parquet"), "missing.parquet"),
        (with("bundles.parquet"), "bundles.parquet"),
    ];
    for (flag, v) in [
        ("--layers", "0"),
        ("--hidden", "0"),
        ("--ensemble", "0"),
        ("--lr", "-1"),
        ("--steps", "0"),
    ] {
        let mut a = with("good.parquet");
        a.extend([flag, v]);
        cases.push((a, flag));
    }
    let mut cuda = with("good.parquet");
    cuda.extend(["--device", "cuda"]);
    cases.push((cuda, "--device cuda"));
    assert_refused("fit-icnn", &base, &cases, Path::new(&thermo));
    assert!(!Path::new(&model).exists());
    // the good file itself runs
    let mut ok = with("good.parquet");
    ok.extend(base);
    let o = run("fit-icnn", &ok);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn ising_end_to_end_gives_a_convex_free_energy_that_learned() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let steps: [(&str, Vec<String>); 4] = [
        (
            "gen-ising",
            vec![
                "--n",
                "600",
                "--L",
                "8",
                "--sweeps",
                "50",
                "--seed",
                "2",
                "-o",
                &p("s.parquet"),
            ]
            .into_iter()
            .map(String::from)
            .collect(),
        ),
        (
            "bundle-knn",
            vec![
                "-i",
                &p("s.parquet"),
                "-o",
                &p("b.parquet"),
                "--k-neib",
                "6",
                "--k-bundle",
                "3",
                "--grid",
                "8x8",
                "--sigma",
                "0.06",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
        ),
        (
            "fit-posterior",
            vec![
                "--bundles",
                &p("b.parquet"),
                "--arch",
                "small-cnn",
                "--steps",
                "40",
                "--batch",
                "32",
                "--out-model",
                &p("post.onnx"),
                "--out-posteriors",
                &p("post.parquet"),
            ]
            .into_iter()
            .map(String::from)
            .collect(),
        ),
        (
            "fit-icnn",
            vec![
                "--posteriors",
                &p("post.parquet"),
                "--steps",
                "300",
                "--hidden",
                "16",
                "--eval-every",
                "50",
                "--out-model",
                &p("f.onnx"),
                "--out-thermo",
                &p("th.parquet"),
                "--out-log",
                &p("log.parquet"),
            ]
            .into_iter()
            .map(String::from)
            .collect(),
        ),
    ];
    for (tool, args) in &steps {
        let mut a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        a.push("-q");
        let o = run(tool, &a);
        assert!(o.status.success(), "{tool}: {}", stderr(&o));
    }
    // the thermo table covers the grid with a PSD Fisher metric
    let (_, th) = load_thermo(Path::new(&p("th.parquet"))).unwrap();
    assert_eq!(th.points.len(), 64);
    for h in &th.hessian {
        let scale = h[0][0].abs().max(h[1][1].abs()).max(1e-12);
        assert!(
            h[0][0] * h[1][1] - h[0][1] * h[1][0] >= -1e-4 * scale * scale,
            "det G < 0"
        );
        assert!(h[0][0] >= 0.0 && h[1][1] >= 0.0);
    }
    // test JSD fell during training
    let test: Vec<f64> = read_log(Path::new(&p("log.parquet")))
        .into_iter()
        .filter(|r| r.1 == "test")
        .map(|r| r.2)
        .collect();
    assert_eq!(test.len(), 7, "before training and every 50 steps");
    println!("end to end: test JSD {:.4} -> {:.4}", test[0], test[6]);
    assert!(test[6] < 0.8 * test[0], "test JSD {test:?}");
}

#[test]
fn outputs_are_byte_identical_whatever_threads() {
    let dir = tempfile::tempdir().unwrap();
    let post = dir.path().join("post.parquet");
    // big enough for the thread pools to split the work
    write_family_posteriors(&post, SpinPairs { n: 10.0 }, &family_grid(24), 600);
    #[rustfmt::skip]
    let args = [
        "--posteriors", post.to_str().unwrap(), "--steps", "40", "--hidden", "32", "--eval-every", "20",
        "--ensemble", "3",
        "--out-model", "f.onnx", "--out-thermo", "th.parquet", "--out-log", "log.parquet",
    ];
    let outputs = [
        "f.onnx",
        "th.parquet",
        "log.parquet",
        "f.ckpt",
        "f.m1.ckpt",
        "f.m2.ckpt",
    ];
    same_outputs_across_threads("fit-icnn", &args, &outputs, dir.path());
}
