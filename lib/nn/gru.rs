//! A GRU autoregressive model of Ising configurations in raster order (the
//! DCL paper's RNN): step i reads the spin drawn at site i − 1 (0 at i = 0),
//! updates the hidden state h and emits the logit of s_i = +1 as h·w + b.
//! PyTorch's GRU convention (gates r, z, n; the reset gate applied after the
//! hidden projection, ONNX `linear_before_reset = 1`):
//!
//! ```text
//! r = σ(x W_r + b_r + h U_r + c_r)      z = σ(x W_z + b_z + h U_z + c_z)
//! n = tanh(x W_n + b_n + r ⊙ (h U_n + c_n))      h' = (1 − z) ⊙ n + z ⊙ h
//! ```
//!
//! burn trains it with the gates fused ([1, 3H] and [H, 3H]); the ONNX
//! export unrolls the L² steps into MatMul/Sigmoid/Tanh nodes (faster than
//! ORT's GRU op at these batch sizes) and writes a one-step graph with the
//! hidden state as explicit input and output; [`HostGru`] samples on the CPU.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::made::log_sigmoid;
use super::onnx::{encode, Attr, Dim, GraphBuilder};
use super::program::ParamData;

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GruSpec {
    pub l: usize,
    pub hidden: usize,
}

impl GruSpec {
    pub fn sites(&self) -> usize {
        self.l * self.l
    }

    pub fn check(&self) -> Result<(), String> {
        if self.l < 2 {
            return Err(format!("--L: must be at least 2, got {}", self.l));
        }
        if self.hidden == 0 || self.hidden > 4096 {
            return Err(format!(
                "--width: the GRU's hidden size must be 1..4096, got {}",
                self.hidden
            ));
        }
        Ok(())
    }

    /// `w_ih` [1, 3H], `b_ih` [3H], `w_hh` [H, 3H] (x·W layout), `b_hh` [3H],
    /// `w_out` [H], `b_out` [1]; uniform ±1/√H as PyTorch does.
    pub fn init(&self, rng: &mut ChaCha8Rng) -> Vec<ParamData> {
        let h = self.hidden;
        let bound = 1.0 / (h as f32).sqrt();
        let mut uniform = |len: usize| -> Vec<f32> {
            (0..len).map(|_| rng.random_range(-bound..bound)).collect()
        };
        vec![
            ParamData {
                name: "w_ih".into(),
                shape: vec![1, 3 * h],
                data: uniform(3 * h),
            },
            ParamData {
                name: "b_ih".into(),
                shape: vec![3 * h],
                data: uniform(3 * h),
            },
            ParamData {
                name: "w_hh".into(),
                shape: vec![h, 3 * h],
                data: uniform(3 * h * h),
            },
            ParamData {
                name: "b_hh".into(),
                shape: vec![3 * h],
                data: uniform(3 * h),
            },
            ParamData {
                name: "w_out".into(),
                shape: vec![h],
                data: uniform(h),
            },
            ParamData {
                name: "b_out".into(),
                shape: vec![1],
                data: vec![0.0],
            },
        ]
    }
}

fn param<'a>(params: &'a [ParamData], name: &str) -> Result<&'a ParamData, String> {
    params
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| format!("GRU parameter {name} missing"))
}

fn sigmoid(v: f32) -> f32 {
    1.0 / (1.0 + (-v).exp())
}

/// A GRU's weights on the host.
#[derive(Clone, Debug)]
pub struct HostGru {
    pub spec: GruSpec,
    w_ih: Vec<f32>,
    b_ih: Vec<f32>,
    w_hh: Vec<f32>,
    b_hh: Vec<f32>,
    w_out: Vec<f32>,
    b_out: f32,
}

impl HostGru {
    pub fn new(spec: &GruSpec, params: &[ParamData]) -> Result<HostGru, String> {
        let h = spec.hidden;
        let get = |name: &str, len: usize| -> Result<Vec<f32>, String> {
            let p = param(params, name)?;
            if p.data.len() != len {
                return Err(format!(
                    "{name} holds {} values, expected {len}",
                    p.data.len()
                ));
            }
            Ok(p.data.clone())
        };
        Ok(HostGru {
            spec: spec.clone(),
            w_ih: get("w_ih", 3 * h)?,
            b_ih: get("b_ih", 3 * h)?,
            w_hh: get("w_hh", 3 * h * h)?,
            b_hh: get("b_hh", 3 * h)?,
            w_out: get("w_out", h)?,
            b_out: get("b_out", 1)?[0],
        })
    }

    /// One step: the hidden state `state` after reading input `x`; returns the logit.
    fn step(&self, x: f32, state: &mut [f32], gh: &mut [f32]) -> f32 {
        let h = self.spec.hidden;
        gh.copy_from_slice(&self.b_hh);
        for (k, &hk) in state.iter().enumerate() {
            let row = &self.w_hh[k * 3 * h..(k + 1) * 3 * h];
            for (g, &w) in gh.iter_mut().zip(row) {
                *g += hk * w;
            }
        }
        let mut logit = self.b_out;
        for j in 0..h {
            let gi = |gate: usize| x * self.w_ih[gate * h + j] + self.b_ih[gate * h + j];
            let r = sigmoid(gi(0) + gh[j]);
            let z = sigmoid(gi(1) + gh[h + j]);
            let n = (gi(2) + r * gh[2 * h + j]).tanh();
            state[j] = (1.0 - z) * n + z * state[j];
            logit += state[j] * self.w_out[j];
        }
        logit
    }

    /// The logits of one configuration (teacher-forced).
    pub fn logits(&self, s: &[i8]) -> Vec<f32> {
        let h = self.spec.hidden;
        let (mut state, mut gh) = (vec![0f32; h], vec![0f32; 3 * h]);
        (0..s.len())
            .map(|i| {
                self.step(
                    if i == 0 { 0.0 } else { s[i - 1] as f32 },
                    &mut state,
                    &mut gh,
                )
            })
            .collect()
    }

    pub fn log_q_raw(&self, s: &[i8]) -> f64 {
        self.logits(s)
            .iter()
            .zip(s)
            .map(|(&l, &v)| log_sigmoid(v as f64 * l as f64))
            .sum()
    }

    /// Draw one configuration per rng into `s`, with log q̃ into `log_q`.
    pub fn sample_block(&self, rngs: &mut [ChaCha8Rng], s: &mut [i8], log_q: &mut [f64]) {
        let (n, h) = (self.spec.sites(), self.spec.hidden);
        let (mut state, mut gh) = (vec![0f32; h], vec![0f32; 3 * h]);
        for (b, rng) in rngs.iter_mut().enumerate() {
            state.fill(0.0);
            log_q[b] = 0.0;
            let mut prev = 0f32;
            for i in 0..n {
                let logit = self.step(prev, &mut state, &mut gh) as f64;
                let v: i8 = if rng.random::<f64>() < 1.0 / (1.0 + (-logit).exp()) {
                    1
                } else {
                    -1
                };
                s[b * n + i] = v;
                log_q[b] += log_sigmoid(v as f64 * logit);
                prev = v as f32;
            }
        }
    }
}

/// Per-gate initializers of the export: `w_ih_{r,z,n}` [1, H], `b_ih_*` [H],
/// `w_hh_*` [H, H], `b_hh_*` [H], `w_out` [H, 1], `b_out` [1].
struct GateNames {
    w_ih: [String; 3],
    b_ih: [String; 3],
    w_hh: [String; 3],
    b_hh: [String; 3],
    w_out: String,
    b_out: String,
    one: String,
}

const GATES: [&str; 3] = ["r", "z", "n"];

fn gate_weights(g: &mut GraphBuilder, spec: &GruSpec, params: &[ParamData]) -> GateNames {
    let h = spec.hidden;
    let p = |name: &str| param(params, name).expect("GRU parameters").data.clone();
    let (w_ih, b_ih, w_hh, b_hh) = (p("w_ih"), p("b_ih"), p("w_hh"), p("b_hh"));
    let cols = |m: &[f32], gate: usize| -> Vec<f32> {
        (0..h)
            .flat_map(|k| m[k * 3 * h + gate * h..k * 3 * h + (gate + 1) * h].to_vec())
            .collect()
    };
    let names = |g: &mut GraphBuilder,
                 what: &str,
                 f: &dyn Fn(usize) -> (Vec<usize>, Vec<f32>)|
     -> [String; 3] {
        [0, 1, 2].map(|k| {
            let (shape, data) = f(k);
            g.weight(&format!("{what}_{}", GATES[k]), &shape, &data)
        })
    };
    GateNames {
        w_ih: names(g, "w_ih", &|k| {
            (vec![1, h], w_ih[k * h..(k + 1) * h].to_vec())
        }),
        b_ih: names(g, "b_ih", &|k| (vec![h], b_ih[k * h..(k + 1) * h].to_vec())),
        w_hh: names(g, "w_hh", &|k| (vec![h, h], cols(&w_hh, k))),
        b_hh: names(g, "b_hh", &|k| (vec![h], b_hh[k * h..(k + 1) * h].to_vec())),
        w_out: g.weight("w_out", &[h, 1], &p("w_out")),
        b_out: g.weight("b_out", &[1], &p("b_out")),
        one: g.weight("one", &[1], &[1.0]),
    }
}

/// One GRU step in the graph: input column `x` [N, 1], state `h` [N, H];
/// returns (h', logit [N, 1]).
fn step_nodes(g: &mut GraphBuilder, w: &GateNames, x: &str, h: &str) -> (String, String) {
    let mut gi = Vec::new();
    let mut gh = Vec::new();
    for k in 0..3 {
        let m = g.op("Mul", &[x, &w.w_ih[k]], &[]);
        gi.push(g.op("Add", &[&m, &w.b_ih[k]], &[]));
        let mm = g.op("MatMul", &[h, &w.w_hh[k]], &[]);
        gh.push(g.op("Add", &[&mm, &w.b_hh[k]], &[]));
    }
    let ar = g.op("Add", &[&gi[0], &gh[0]], &[]);
    let r = g.op("Sigmoid", &[&ar], &[]);
    let az = g.op("Add", &[&gi[1], &gh[1]], &[]);
    let z = g.op("Sigmoid", &[&az], &[]);
    let rn = g.op("Mul", &[&r, &gh[2]], &[]);
    let an = g.op("Add", &[&gi[2], &rn], &[]);
    let n = g.op("Tanh", &[&an], &[]);
    let one_minus = g.op("Sub", &[&w.one, &z], &[]);
    let a = g.op("Mul", &[&one_minus, &n], &[]);
    let b = g.op("Mul", &[&z, h], &[]);
    let h_new = g.op("Add", &[&a, &b], &[]);
    let lm = g.op("MatMul", &[&h_new, &w.w_out], &[]);
    let logit = g.op("Add", &[&lm, &w.b_out], &[]);
    (h_new, logit)
}

/// The one-pass graph (`sampler` contract): the L² steps unrolled.
pub fn to_onnx(spec: &GruSpec, params: &[ParamData], metadata: &[(String, String)]) -> Vec<u8> {
    let (l, n, hd) = (spec.l, spec.sites(), spec.hidden);
    let mut g = GraphBuilder::new("phasekit_sampler_gru");
    let x = g.input_f32("x", &Dim::lattice(l));
    let w = gate_weights(&mut g, spec, params);
    let flat = g.const_i64("flat", &[-1, n as i64]);
    let xf = g.op("Reshape", &[&x, &flat], &[]);
    let axis1 = g.const_i64("axis1", &[1]);
    let col = |g: &mut GraphBuilder, i: usize| -> String {
        let (s, e) = (
            g.const_i64("start", &[i as i64]),
            g.const_i64("end", &[i as i64 + 1]),
        );
        g.op("Slice", &[&xf, &s, &e, &axis1], &[])
    };
    // zeros of the batch's size: the first column times 0
    let c0 = col(&mut g, 0);
    let zero = g.weight("zero", &[1], &[0.0]);
    let x0 = g.op("Mul", &[&c0, &zero], &[]);
    let zeros_h = g.weight("zeros_h", &[1, hd], &vec![0.0; hd]);
    let mut h = g.op("MatMul", &[&x0, &zeros_h], &[]);
    let mut logits = Vec::with_capacity(n);
    for i in 0..n {
        let xi = if i == 0 {
            x0.clone()
        } else {
            col(&mut g, i - 1)
        };
        let (h_new, logit) = step_nodes(&mut g, &w, &xi, &h);
        h = h_new;
        logits.push(logit);
    }
    let refs: Vec<&str> = logits.iter().map(|s| s.as_str()).collect();
    let all = g.op("Concat", &refs, &[("axis", Attr::Int(1))]);
    let image = g.const_i64("image", &[-1, 1, l as i64, l as i64]);
    g.op_into("Reshape", &[&all, &image], &["logits"], &[]);
    g.output_f32("logits", &Dim::lattice(l));
    encode(&g.finish(
        "phasekit autoregressive sampler (GRU): logit of s_i = +1 given s_<i, raster order",
        metadata,
    ))
}

/// The step graph (`sampler-step` contract): `site` i64[1] (unused by a GRU,
/// kept for one interface), `s_prev` f32[N, 1], `h` f32[N, H] → `logit`
/// f32[N, 1], `h_out` f32[N, H].
pub fn step_to_onnx(
    spec: &GruSpec,
    params: &[ParamData],
    metadata: &[(String, String)],
) -> Vec<u8> {
    let hd = spec.hidden;
    let mut g = GraphBuilder::new("phasekit_sampler_gru_step");
    let _site = g.input_i64("site", &[Dim::Fixed(1)]);
    let s_prev = g.input_f32("s_prev", &[Dim::batch(), Dim::Fixed(1)]);
    let h = g.input_f32("h", &[Dim::batch(), Dim::Fixed(hd)]);
    let w = gate_weights(&mut g, spec, params);
    let (h_new, logit) = step_nodes(&mut g, &w, &s_prev, &h);
    g.op_into("Identity", &[&h_new], &["h_out"], &[]);
    g.op_into("Identity", &[&logit], &["logit"], &[]);
    g.output_f32("logit", &[Dim::batch(), Dim::Fixed(1)]);
    g.output_f32("h_out", &[Dim::batch(), Dim::Fixed(hd)]);
    encode(&g.finish(
        "phasekit autoregressive sampler (GRU), step graph",
        metadata,
    ))
}

/// The fused parameters back from an exported file's per-gate initializers.
pub fn params_from_initializers(
    spec: &GruSpec,
    find: &dyn Fn(&str) -> Option<Vec<f32>>,
) -> Result<Vec<ParamData>, String> {
    let h = spec.hidden;
    let get = |name: &str, len: usize| -> Result<Vec<f32>, String> {
        let v = find(name).ok_or_else(|| format!("no initializer {name}"))?;
        if v.len() != len {
            return Err(format!("{name} holds {} values, expected {len}", v.len()));
        }
        Ok(v)
    };
    let (mut w_ih, mut b_ih, mut b_hh) = (Vec::new(), Vec::new(), Vec::new());
    let mut w_hh = vec![0f32; 3 * h * h];
    for (k, gate) in GATES.iter().enumerate() {
        w_ih.extend(get(&format!("w_ih_{gate}"), h)?);
        b_ih.extend(get(&format!("b_ih_{gate}"), h)?);
        b_hh.extend(get(&format!("b_hh_{gate}"), h)?);
        let m = get(&format!("w_hh_{gate}"), h * h)?;
        for row in 0..h {
            w_hh[row * 3 * h + k * h..row * 3 * h + (k + 1) * h]
                .copy_from_slice(&m[row * h..(row + 1) * h]);
        }
    }
    Ok(vec![
        ParamData {
            name: "w_ih".into(),
            shape: vec![1, 3 * h],
            data: w_ih,
        },
        ParamData {
            name: "b_ih".into(),
            shape: vec![3 * h],
            data: b_ih,
        },
        ParamData {
            name: "w_hh".into(),
            shape: vec![h, 3 * h],
            data: w_hh,
        },
        ParamData {
            name: "b_hh".into(),
            shape: vec![3 * h],
            data: b_hh,
        },
        ParamData {
            name: "w_out".into(),
            shape: vec![h],
            data: get("w_out", h)?,
        },
        ParamData {
            name: "b_out".into(),
            shape: vec![1],
            data: get("b_out", 1)?,
        },
    ])
}
