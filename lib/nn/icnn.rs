//! The input-convex network of fit-icnn (Amos, Xu & Kolter 2017) for
//! log Z(t), with its gradient and Hessian by forward-mode tangents.
//!
//! ```text
//! x   = (t − lo) / (hi − lo)                       affine: convex in x ⇔ convex in t
//! z_0 = softplus(x W_0 + b_0)
//! z_l = softplus(z_{l−1} U_l + x W_l + b_l)        U_l = softplus(Ũ_l) ≥ 0
//! F   = scale · (z_{K−1} u + x w + c)              u = softplus(ũ) ≥ 0, scale > 0
//! ```
//! Non-negative weights on the hidden path (a reparametrisation, so every
//! step of training keeps them non-negative) and convex non-decreasing
//! softplus make F convex in t by construction.
//!
//! The network is written once, in [`propagate`], over an [`Algebra`] of a
//! few tensor operations; burn executes it for training (so ∇F, which the
//! loss uses, is itself differentiable in the weights) and the ONNX writer
//! records the same operations for `free_energy.onnx`. Tangents:
//! da = dz U + dx W, dz = σ(a) ⊙ da, d²z = σ(a)(1 − σ(a)) ⊙ da_p ⊙ da_q + σ(a) ⊙ d²a
//! (d²x = 0 because x is affine in t), so the Hessian is exact, not a
//! finite difference.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::onnx::{encode, Dim, GraphBuilder};
use super::program::ParamData;

/// Shape and normalisation of an ICNN over P parameters.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IcnnSpec {
    /// lower prior bound per parameter (physical units)
    pub lo: Vec<f64>,
    /// upper prior bound per parameter
    pub hi: Vec<f64>,
    /// hidden layers
    pub layers: usize,
    /// units per hidden layer
    pub hidden: usize,
    /// networks of this shape, trained apart (own initialisation and
    /// batches), whose mean is the model: it cuts the seed's share of the
    /// fitted curvature
    #[serde(default = "one")]
    pub ensemble: usize,
    /// fixed positive output scale (conditions training: the data's typical
    /// posterior precision, so the network itself works at curvature ~1)
    pub scale: f64,
}

fn one() -> usize {
    1
}

/// The few tensor operations the network needs (row-major 2-D tensors,
/// numpy broadcasting of size-1 dimensions).
pub trait Algebra {
    type V: Clone;
    fn matmul(&mut self, a: &Self::V, b: &Self::V) -> Self::V;
    fn add(&mut self, a: &Self::V, b: &Self::V) -> Self::V;
    fn sub(&mut self, a: &Self::V, b: &Self::V) -> Self::V;
    fn mul(&mut self, a: &Self::V, b: &Self::V) -> Self::V;
    fn softplus(&mut self, a: &Self::V) -> Self::V;
    fn sigmoid(&mut self, a: &Self::V) -> Self::V;
}

/// The weights as the forward pass uses them (non-negative ones already
/// through softplus, `scale` folded into the output layer).
pub struct Weights<V> {
    /// [P, P] diagonal 1/(hi − lo)
    pub norm: V,
    /// [1, P] −lo/(hi − lo)
    pub shift: V,
    /// [1, P] per parameter p: row p of `norm` (dx/dt_p)
    pub dx: Vec<V>,
    /// per layer [P, H]
    pub w_in: Vec<V>,
    /// per layer [1, H]
    pub bias: Vec<V>,
    /// per layer from the second [H, H], non-negative
    pub u: Vec<V>,
    /// [H, 1] non-negative
    pub u_out: V,
    /// [P, 1]
    pub w_out: V,
    /// [1, 1]
    pub b_out: V,
}

/// F at the input points, and (by `order`) its gradient and Hessian.
pub struct Jet<V> {
    /// [N, 1]
    pub value: V,
    /// per parameter p, [N, 1] (order ≥ 1)
    pub grad: Vec<V>,
    /// per pair p ≤ q in order (0,0), (0,1), …, [N, 1] (order 2)
    pub hess: Vec<V>,
}

/// Index of the pair (p, q) in [`Jet::hess`].
pub fn pair_index(p: usize, q: usize, n: usize) -> usize {
    let (a, b) = if p <= q { (p, q) } else { (q, p) };
    a * n - a * (a + 1) / 2 + b
}

/// Evaluate the network and its tangents up to `order` (0, 1 or 2) at `t` [N, P].
pub fn propagate<A: Algebra>(alg: &mut A, w: &Weights<A::V>, t: &A::V, order: usize) -> Jet<A::V> {
    let np = w.dx.len();
    let pairs: Vec<(usize, usize)> = (0..np).flat_map(|p| (p..np).map(move |q| (p, q))).collect();
    let tn = alg.matmul(t, &w.norm);
    let x = alg.add(&tn, &w.shift);
    let mut z: Option<A::V> = None;
    let mut dz: Vec<A::V> = Vec::new();
    let mut d2z: Vec<A::V> = Vec::new();
    for l in 0..w.w_in.len() {
        let xw = alg.matmul(&x, &w.w_in[l]);
        let mut pre = alg.add(&xw, &w.bias[l]);
        let mut da: Vec<A::V> = Vec::new();
        let mut d2a: Vec<A::V> = Vec::new();
        if order >= 1 {
            da = w.dx.iter().map(|d| alg.matmul(d, &w.w_in[l])).collect();
        }
        if let Some(zp) = &z {
            let u = &w.u[l - 1];
            let zu = alg.matmul(zp, u);
            pre = alg.add(&zu, &pre);
            for (p, d) in da.iter_mut().enumerate() {
                let du = alg.matmul(&dz[p], u);
                *d = alg.add(&du, d);
            }
            d2a = d2z.iter().map(|d| alg.matmul(d, u)).collect();
        }
        if order >= 1 {
            let s = alg.sigmoid(&pre);
            if order >= 2 {
                let ss = alg.mul(&s, &s);
                let slope = alg.sub(&s, &ss);
                d2z = pairs
                    .iter()
                    .enumerate()
                    .map(|(k, &(p, q))| {
                        let dd = alg.mul(&da[p], &da[q]);
                        let curv = alg.mul(&slope, &dd);
                        match d2a.get(k) {
                            Some(d) => {
                                let lin = alg.mul(&s, d);
                                alg.add(&curv, &lin)
                            }
                            None => curv,
                        }
                    })
                    .collect();
            }
            dz = da.iter().map(|d| alg.mul(&s, d)).collect();
        }
        z = Some(alg.softplus(&pre));
    }
    let z = z.expect("at least one layer");
    let zu = alg.matmul(&z, &w.u_out);
    let xw = alg.matmul(&x, &w.w_out);
    let lin = alg.add(&zu, &xw);
    let value = alg.add(&lin, &w.b_out);
    let grad = dz
        .iter()
        .zip(&w.dx)
        .map(|(d, dx)| {
            let a = alg.matmul(d, &w.u_out);
            let b = alg.matmul(dx, &w.w_out);
            alg.add(&a, &b)
        })
        .collect();
    let hess = d2z.iter().map(|d| alg.matmul(d, &w.u_out)).collect();
    Jet { value, grad, hess }
}

/// softplus on the host, the same function burn and ONNX Runtime evaluate.
pub fn softplus_f64(v: f64) -> f64 {
    if v > 20.0 {
        v
    } else {
        v.exp().ln_1p()
    }
}

/// Inverse of softplus (for initialising the raw weights).
fn inv_softplus(y: f64) -> f64 {
    y.exp_m1().ln()
}

impl IcnnSpec {
    pub fn inputs(&self) -> usize {
        self.lo.len()
    }

    pub fn check(&self) -> Result<(), String> {
        if self.layers == 0 {
            return Err("--layers must be at least 1".into());
        }
        if self.hidden == 0 {
            return Err("--hidden must be at least 1".into());
        }
        if self.ensemble == 0 {
            return Err("--ensemble must be at least 1".into());
        }
        if self.lo.len() != self.hi.len() || self.lo.is_empty() {
            return Err("bounds are needed for every parameter".into());
        }
        if let Some(p) = (0..self.lo.len())
            .find(|&p| self.hi[p].partial_cmp(&self.lo[p]) != Some(std::cmp::Ordering::Greater))
        {
            return Err(format!("empty prior range for parameter {p}"));
        }
        if !(self.scale.is_finite() && self.scale > 0.0) {
            return Err(format!("output scale {} is not positive", self.scale));
        }
        Ok(())
    }

    /// Raw parameters, initialised: input weights ±1/√P, biases 0, raw
    /// hidden weights so that softplus(Ũ) ~ U(0.1, 1.9)/H (mean 1/H keeps the
    /// hidden activations O(1) at every depth).
    pub fn init(&self, rng: &mut ChaCha8Rng) -> Vec<ParamData> {
        let (np, h) = (self.inputs(), self.hidden);
        let mut out = Vec::new();
        let mut uniform = |name: String, shape: Vec<usize>, f: &mut dyn FnMut(f64) -> f64| {
            let n: usize = shape.iter().product();
            let data = (0..n).map(|_| f(rng.random::<f64>()) as f32).collect();
            out.push(ParamData { name, shape, data });
        };
        let bound = 1.0 / (np as f64).sqrt();
        for l in 0..self.layers {
            uniform(format!("in{l}.weight"), vec![np, h], &mut |r| {
                (2.0 * r - 1.0) * bound
            });
            uniform(format!("in{l}.bias"), vec![h], &mut |_| 0.0);
            if l > 0 {
                uniform(format!("z{l}.raw"), vec![h, h], &mut |r| {
                    inv_softplus((0.1 + 1.8 * r) / h as f64)
                });
            }
        }
        uniform("out.z_raw".into(), vec![h, 1], &mut |r| {
            inv_softplus((0.1 + 1.8 * r) / h as f64)
        });
        uniform("out.x".into(), vec![np, 1], &mut |_| 0.0);
        uniform("out.bias".into(), vec![1], &mut |_| 0.0);
        out
    }

    /// The normalisation constants: diag 1/(hi − lo), −lo/(hi − lo), dx/dt_p.
    pub fn normalisation(&self) -> (Vec<f32>, Vec<f32>, Vec<Vec<f32>>) {
        let np = self.inputs();
        let inv: Vec<f64> = (0..np).map(|p| 1.0 / (self.hi[p] - self.lo[p])).collect();
        let mut norm = vec![0f32; np * np];
        for p in 0..np {
            norm[p * np + p] = inv[p] as f32;
        }
        let shift = (0..np).map(|p| (-self.lo[p] * inv[p]) as f32).collect();
        let dx = (0..np)
            .map(|p| norm[p * np..(p + 1) * np].to_vec())
            .collect();
        (norm, shift, dx)
    }

    /// Effective weights on the host from raw parameters (in [`IcnnSpec::init`] order).
    pub fn host_weights(&self, raw: &[ParamData]) -> Weights<(Vec<usize>, Vec<f32>)> {
        let (np, h) = (self.inputs(), self.hidden);
        let (norm, shift, dx) = self.normalisation();
        let by = |name: &str| -> &ParamData {
            raw.iter()
                .find(|p| p.name == name)
                .unwrap_or_else(|| panic!("ICNN parameter {name} missing"))
        };
        let plain = |name: &str, shape: Vec<usize>| (shape, by(name).data.clone());
        let positive = |name: &str, shape: Vec<usize>, s: f64| {
            let d = by(name)
                .data
                .iter()
                .map(|&v| (s * softplus_f64(v as f64)) as f32)
                .collect();
            (shape, d)
        };
        let s = self.scale;
        let scaled = |name: &str, shape: Vec<usize>| {
            let d = by(name)
                .data
                .iter()
                .map(|&v| (s * v as f64) as f32)
                .collect();
            (shape, d)
        };
        Weights {
            norm: (vec![np, np], norm),
            shift: (vec![1, np], shift),
            dx: dx.into_iter().map(|d| (vec![1, np], d)).collect(),
            w_in: (0..self.layers)
                .map(|l| plain(&format!("in{l}.weight"), vec![np, h]))
                .collect(),
            bias: (0..self.layers)
                .map(|l| plain(&format!("in{l}.bias"), vec![1, h]))
                .collect(),
            u: (1..self.layers)
                .map(|l| positive(&format!("z{l}.raw"), vec![h, h], 1.0))
                .collect(),
            u_out: positive("out.z_raw", vec![h, 1], s),
            w_out: scaled("out.x", vec![np, 1]),
            b_out: scaled("out.bias", vec![1, 1]),
        }
    }
}

/// Records the operations as ONNX nodes.
struct OnnxAlgebra<'a> {
    g: &'a mut GraphBuilder,
}

impl Algebra for OnnxAlgebra<'_> {
    type V = String;
    fn matmul(&mut self, a: &String, b: &String) -> String {
        self.g.op("MatMul", &[a, b], &[])
    }
    fn add(&mut self, a: &String, b: &String) -> String {
        self.g.op("Add", &[a, b], &[])
    }
    fn sub(&mut self, a: &String, b: &String) -> String {
        self.g.op("Sub", &[a, b], &[])
    }
    fn mul(&mut self, a: &String, b: &String) -> String {
        self.g.op("Mul", &[a, b], &[])
    }
    fn softplus(&mut self, a: &String) -> String {
        self.g.op("Softplus", &[a], &[])
    }
    fn sigmoid(&mut self, a: &String) -> String {
        self.g.op("Sigmoid", &[a], &[])
    }
}

/// `a + b` term by term.
fn add_each<A: Algebra>(alg: &mut A, a: &[A::V], b: &[A::V]) -> Vec<A::V> {
    a.iter().zip(b).map(|(x, y)| alg.add(x, y)).collect()
}

/// Export as the `free_energy` contract of schemas/models.md: input `t`
/// [N, P] in physical units; outputs `log_z` [N], `grad` [N, P], `hessian`
/// [N, P, P]. With an ensemble (`members`: the raw parameters of each network)
/// the model is their mean, so still convex.
pub fn to_onnx(
    spec: &IcnnSpec,
    members: &[Vec<ParamData>],
    metadata: &[(String, String)],
) -> Vec<u8> {
    let np = spec.inputs();
    let mut g = GraphBuilder::new("phasekit_free_energy");
    let t = g.input_f32("t", &[Dim::batch(), Dim::Fixed(np)]);
    let mean = 1.0 / members.len() as f32;
    let mut n = 0;
    let mut init = |g: &mut GraphBuilder, (shape, data): &(Vec<usize>, Vec<f32>)| {
        n += 1;
        g.weight(&format!("w{n}"), shape, data)
    };
    // the input normalisation depends on the bounds only: one copy serves
    // every network
    let (norm, shift, dx) = spec.normalisation();
    let norm = init(&mut g, &(vec![np, np], norm));
    let shift = init(&mut g, &(vec![1, np], shift));
    let dx: Vec<String> = dx
        .into_iter()
        .map(|d| init(&mut g, &(vec![1, np], d)))
        .collect();
    let mut jets: Vec<Jet<String>> = Vec::new();
    for raw in members {
        let mut host = spec.host_weights(raw);
        // the mean's 1/M folded into the output layer, which is linear
        for (_, d) in [&mut host.u_out, &mut host.w_out, &mut host.b_out] {
            d.iter_mut().for_each(|v| *v *= mean);
        }
        let w = Weights {
            norm: norm.clone(),
            shift: shift.clone(),
            dx: dx.clone(),
            w_in: host.w_in.iter().map(|d| init(&mut g, d)).collect(),
            bias: host.bias.iter().map(|d| init(&mut g, d)).collect(),
            u: host.u.iter().map(|d| init(&mut g, d)).collect(),
            u_out: init(&mut g, &host.u_out),
            w_out: init(&mut g, &host.w_out),
            b_out: init(&mut g, &host.b_out),
        };
        jets.push(propagate(&mut OnnxAlgebra { g: &mut g }, &w, &t, 2));
    }
    let alg = &mut OnnxAlgebra { g: &mut g };
    let jet = jets
        .into_iter()
        .reduce(|a, b| Jet {
            value: alg.add(&a.value, &b.value),
            grad: add_each(alg, &a.grad, &b.grad),
            hess: add_each(alg, &a.hess, &b.hess),
        })
        .expect("at least one member");
    let flat = g.const_i64("shape", &[-1]);
    g.op_into("Reshape", &[&jet.value, &flat], &["log_z"], &[]);
    let grads: Vec<&str> = jet.grad.iter().map(|s| s.as_str()).collect();
    g.op_into(
        "Concat",
        &grads,
        &["grad"],
        &[("axis", super::onnx::Attr::Int(1))],
    );
    let full: Vec<&str> = (0..np)
        .flat_map(|p| (0..np).map(move |q| (p, q)))
        .map(|(p, q)| jet.hess[pair_index(p, q, np)].as_str())
        .collect();
    let hcat = g.op("Concat", &full, &[("axis", super::onnx::Attr::Int(1))]);
    let hshape = g.const_i64("shape", &[-1, np as i64, np as i64]);
    g.op_into("Reshape", &[&hcat, &hshape], &["hessian"], &[]);
    g.output_f32("log_z", &[Dim::batch()]);
    g.output_f32("grad", &[Dim::batch(), Dim::Fixed(np)]);
    g.output_f32("hessian", &[Dim::batch(), Dim::Fixed(np), Dim::Fixed(np)]);
    encode(&g.finish(
        "phasekit free energy: input-convex network log Z(t) with its exact gradient and Hessian",
        metadata,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_indices_are_dense() {
        let n = 3;
        let mut seen: Vec<usize> = (0..n)
            .flat_map(|p| (p..n).map(move |q| pair_index(p, q, n)))
            .collect();
        seen.sort();
        assert_eq!(seen, (0..n * (n + 1) / 2).collect::<Vec<_>>());
        assert_eq!(pair_index(2, 0, n), pair_index(0, 2, n));
    }

    #[test]
    fn softplus_inverse_round_trips() {
        for y in [1e-3, 0.05, 1.0, 7.0] {
            assert!((softplus_f64(inv_softplus(y)) - y).abs() < 1e-12 * y.max(1.0));
        }
    }
}
