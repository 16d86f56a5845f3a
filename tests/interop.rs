//! Interoperability: phasekit files opened by pyarrow, polars and DuckDB; an
//! ONNX graph from phasekit's writer checked by onnx.checker and run by both
//! the Rust runtime and Python's onnxruntime. Needs the venv `make test` makes.

mod common;

use std::collections::BTreeMap;

use common::*;
use phasekit::meta::Kind;
use phasekit::nn::onnx::{encode, Attr, Dim, GraphBuilder};
use phasekit::runtime::{Device, Model};
use serde_json::json;

#[test]
fn parquet_files_open_in_pyarrow_polars_and_duckdb() {
    let dir = tempfile::tempdir().unwrap();
    for kind in Kind::ALL {
        write_example(kind, &dir.path().join(format!("{kind}.parquet"))).unwrap();
    }
    run_python("check_parquet.py", &[dir.path()]);
}

/// conv(2->3, 3x3, pad 1) + bias -> Relu -> flatten -> Gemm(75 -> 4) -> LogSoftmax
struct TinyNet {
    conv_w: Vec<f32>,
    conv_b: Vec<f32>,
    fc_w: Vec<f32>,
    fc_b: Vec<f32>,
}

impl TinyNet {
    fn new() -> Self {
        let mut r = Lcg(42);
        let mut v = |n: usize| {
            (0..n)
                .map(|_| (r.unit() - 0.5) as f32)
                .collect::<Vec<f32>>()
        };
        TinyNet {
            conv_w: v(3 * 2 * 9),
            conv_b: v(3),
            fc_w: v(4 * 75),
            fc_b: v(4),
        }
    }

    fn onnx(&self) -> Vec<u8> {
        let mut g = GraphBuilder::new("tiny");
        let x = g.input_f32(
            "x",
            &[Dim::batch(), Dim::Fixed(2), Dim::Fixed(5), Dim::Fixed(5)],
        );
        let w = g.weight("conv.w", &[3, 2, 3, 3], &self.conv_w);
        let b = g.weight("conv.b", &[3], &self.conv_b);
        let c = g.op(
            "Conv",
            &[&x, &w, &b],
            &[
                ("pads", Attr::Ints(vec![1, 1, 1, 1])),
                ("kernel_shape", Attr::Ints(vec![3, 3])),
            ],
        );
        let r = g.op("Relu", &[&c], &[]);
        let shape = g.const_i64("shape", &[-1, 75]);
        let f = g.op("Reshape", &[&r, &shape], &[]);
        let fw = g.weight("fc.w", &[4, 75], &self.fc_w);
        let fb = g.weight("fc.b", &[4], &self.fc_b);
        let y = g.op("Gemm", &[&f, &fw, &fb], &[("transB", Attr::Int(1))]);
        g.op_into("LogSoftmax", &[&y], &["logits"], &[("axis", Attr::Int(1))]);
        g.output_f32("logits", &[Dim::batch(), Dim::Fixed(4)]);
        let meta = vec![("phasekit.kind".to_string(), "test".to_string())];
        encode(&g.finish("tiny test network", &meta))
    }

    /// The same network computed directly, as the reference.
    fn forward(&self, x: &[f32], n: usize) -> Vec<f32> {
        let mut out = Vec::new();
        for s in 0..n {
            let xs = &x[s * 50..(s + 1) * 50];
            let mut h = vec![0f32; 75];
            for o in 0..3 {
                for i in 0..5 {
                    for j in 0..5 {
                        let mut acc = self.conv_b[o];
                        for c in 0..2 {
                            for di in 0..3 {
                                for dj in 0..3 {
                                    let (ii, jj) =
                                        (i as i64 + di as i64 - 1, j as i64 + dj as i64 - 1);
                                    if (0..5).contains(&ii) && (0..5).contains(&jj) {
                                        acc += self.conv_w[((o * 2 + c) * 3 + di) * 3 + dj]
                                            * xs[c * 25 + ii as usize * 5 + jj as usize];
                                    }
                                }
                            }
                        }
                        h[o * 25 + i * 5 + j] = acc.max(0.0);
                    }
                }
            }
            let y: Vec<f32> = (0..4)
                .map(|k| self.fc_b[k] + (0..75).map(|m| self.fc_w[k * 75 + m] * h[m]).sum::<f32>())
                .collect();
            let mx = y.iter().cloned().fold(f32::MIN, f32::max);
            let lse = mx + y.iter().map(|v| (v - mx).exp()).sum::<f32>().ln();
            out.extend(y.iter().map(|v| v - lse));
        }
        out
    }
}

#[test]
fn onnx_from_phasekit_writer_checks_and_agrees_across_runtimes() {
    let dir = tempfile::tempdir().unwrap();
    let net = TinyNet::new();
    let model_path = dir.path().join("tiny.onnx");
    std::fs::write(&model_path, net.onnx()).unwrap();

    let n = 3;
    let mut r = Lcg(7);
    let x: Vec<f32> = (0..n * 50).map(|_| (2.0 * r.unit() - 1.0) as f32).collect();
    let mut model = Model::load(&model_path, Device::Cpu, 1).unwrap();
    assert_eq!(
        model.metadata.get("phasekit.kind").map(String::as_str),
        Some("test")
    );
    assert_eq!(model.input("x").unwrap().shape, vec![-1, 2, 5, 5]);
    let out = model.run(&[("x", &[n, 2, 5, 5], &x)]).unwrap();
    let logits = &out["logits"];
    assert_eq!(logits.shape, vec![n, 4]);
    let reference = net.forward(&x, n);
    for (a, b) in logits.data.iter().zip(&reference) {
        assert!((a - b).abs() < 1e-5, "runtime {a} vs direct {b}");
    }

    let mut outputs = BTreeMap::new();
    outputs.insert(
        "logits",
        json!({"shape": logits.shape, "data": logits.data}),
    );
    let io = json!({"inputs": {"x": {"shape": [n, 2, 5, 5], "data": x}}, "outputs": outputs});
    let io_path = dir.path().join("io.json");
    std::fs::write(&io_path, serde_json::to_string(&io).unwrap()).unwrap();
    run_python("check_onnx.py", &[&model_path, &io_path]);
}

#[test]
fn cuda_request_without_cuda_gives_clear_error() {
    let net = TinyNet::new();
    match Model::from_bytes(&net.onnx(), "tiny.onnx", Device::Cuda, 1) {
        Ok(_) => {
            panic!("this test machine has no GPU; CUDA must not silently fall back to the CPU")
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.contains("--device cuda") && msg.contains("make setup DEVICE=cuda"),
                "{msg}"
            );
        }
    }
}

#[test]
fn inspect_describes_an_onnx_model() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("tiny.onnx");
    std::fs::write(&p, TinyNet::new().onnx()).unwrap();
    let o = run("pk-inspect", &[p.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("logits") && text.contains("phasekit.kind: test"),
        "{text}"
    );
    // a file that is not a model
    let bad = dir.path().join("bad.onnx");
    std::fs::write(&bad, b"not a model").unwrap();
    let o = run("pk-inspect", &[bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bad.onnx"), "{}", stderr(&o));
}
