//! The β-VAE and β²-VAE of Huang, Hu & Yang (Tables I and II): a
//! convolutional encoder q(z|x) = N(μ(x), diag σ(x)²) and a deconvolutional
//! Bernoulli decoder p(x|z) over the binary image σ_k = (s_k + 1)/2 of an
//! L×L Ising configuration. β²-VAE's decoder has a second, "temperature"
//! branch: p(σ_k = 1) = sigmoid(β_k h_k) with β_k = sigmoid(·) ∈ (0, 1).
//!
//! Widths: the paper's 64 / 128 / 1024 channels are `width` / 2·`width` /
//! 16·`width` with `width` = 64. Batch norm follows every layer but the
//! heads, leaky ReLU 0.2 in the encoder, ReLU in the decoder. Layers that a
//! batch norm follows carry no bias (the norm's shift replaces it).
//!
//! Two executions of one description: burn trains it (batch statistics,
//! running averages kept on the host), and the ONNX writer exports it with
//! the running averages as BatchNormalization inputs.

use std::collections::HashMap;

use anyhow::Result;
use burn::tensor::activation::{leaky_relu, relu, sigmoid, softplus};
use burn::tensor::module::{batch_norm, batch_norm_train, conv2d, conv_transpose2d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::{Tensor, TensorData};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::burn_exec::{to_vec, Loss, Net};
use super::onnx::{encode, Attr, Dim, GraphBuilder};
use super::program::ParamData;

/// Slope of the encoder's leaky ReLU (the paper's α).
pub const LEAK: f64 = 0.2;
/// Batch norm's ε, as PyTorch's and burn's default.
pub const BN_EPS: f64 = 1e-5;
/// Weight of the newest batch in the running statistics (PyTorch's momentum).
pub const BN_MOMENTUM: f64 = 0.1;
/// Added to softplus so that log σ stays finite.
pub const SIGMA_FLOOR: f64 = 1e-6;

/// The decoder's output layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DecoderKind {
    /// p(σ_k = 1) = sigmoid(h_k): β-VAE (Table I)
    Bernoulli,
    /// p(σ_k = 1) = sigmoid(β_k h_k), β_k ∈ (0, 1) from a second branch: β²-VAE (Table II)
    Beta2,
}

/// Shape of a VAE over L×L lattices.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VaeSpec {
    #[serde(rename = "L")]
    pub l: usize,
    /// latent dimensions d_z
    pub latent: usize,
    /// channels of the first convolution (the paper: 64)
    pub width: usize,
    pub decoder: DecoderKind,
}

/// How a parameter starts.
enum Init {
    /// uniform in ±1/√fan-in
    Uniform(usize),
    Ones,
    Zeros,
}

/// A batch norm layer's running statistics, one value per channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunningStats {
    pub mean: Vec<Vec<f32>>,
    pub var: Vec<Vec<f32>>,
}

impl RunningStats {
    /// Blend in the batch statistics of one training step.
    pub fn update(&mut self, batch: &[(Vec<f32>, Vec<f32>)]) {
        let m = BN_MOMENTUM as f32;
        for (k, (bm, bv)) in batch.iter().enumerate() {
            for (r, b) in self.mean[k].iter_mut().zip(bm) {
                *r = (1.0 - m) * *r + m * b;
            }
            for (r, b) in self.var[k].iter_mut().zip(bv) {
                *r = (1.0 - m) * *r + m * b;
            }
        }
    }
}

impl VaeSpec {
    pub fn c1(&self) -> usize {
        self.width
    }
    pub fn c2(&self) -> usize {
        2 * self.width
    }
    pub fn fc(&self) -> usize {
        16 * self.width
    }
    /// side of the encoder's last feature map (L/4)
    pub fn q(&self) -> usize {
        self.l / 4
    }
    pub fn sites(&self) -> usize {
        self.l * self.l
    }
    fn flat(&self) -> usize {
        self.c2() * self.q() * self.q()
    }

    pub fn check(&self) -> Result<(), String> {
        if self.l < 4 || !self.l.is_multiple_of(4) {
            return Err(format!(
                "L = {}: the two stride-2 convolutions need L divisible by 4 (at least 4)",
                self.l
            ));
        }
        if self.latent == 0 {
            return Err("--latent: must be at least 1".into());
        }
        if self.width == 0 {
            return Err("--width: must be at least 1".into());
        }
        if self.flat() * self.fc() > 1 << 26 {
            return Err(format!(
                "--width {} at L {}: a dense layer would hold more than 2^26 weights",
                self.width, self.l
            ));
        }
        Ok(())
    }

    pub fn network(&self) -> serde_json::Value {
        serde_json::json!({"type": "vae", "L": self.l, "latent": self.latent, "width": self.width,
            "channels": [self.c1(), self.c2()], "fc": self.fc(), "decoder": self.decoder})
    }

    /// Batch norm layers in forward order: (name, channels).
    pub fn norms(&self) -> Vec<(&'static str, usize)> {
        vec![
            ("enc.bn1", self.c1()),
            ("enc.bn2", self.c2()),
            ("enc.bn3", self.fc()),
            ("dec.bn1", self.fc()),
            ("dec.bn2", self.flat()),
            ("dec.bn3", self.c1()),
        ]
    }

    /// Running statistics before any training: mean 0, variance 1.
    pub fn fresh_stats(&self) -> RunningStats {
        let n = self.norms();
        RunningStats {
            mean: n.iter().map(|(_, c)| vec![0.0; *c]).collect(),
            var: n.iter().map(|(_, c)| vec![1.0; *c]).collect(),
        }
    }

    fn layout(&self) -> Vec<(String, Vec<usize>, Init)> {
        let (c1, c2, fc, d) = (self.c1(), self.c2(), self.fc(), self.latent);
        let w = |name: &str, shape: Vec<usize>, fan: usize| {
            (name.to_string(), shape, Init::Uniform(fan))
        };
        let mut out = vec![
            w("enc.conv1.w", vec![c1, 1, 4, 4], 16),
            w("enc.conv2.w", vec![c2, c1, 4, 4], 16 * c1),
            w("enc.fc.w", vec![self.flat(), fc], self.flat()),
            w("enc.mu.w", vec![fc, d], fc),
            ("enc.mu.b".into(), vec![d], Init::Zeros),
            w("enc.sigma.w", vec![fc, d], fc),
            ("enc.sigma.b".into(), vec![d], Init::Zeros),
            w("dec.fc1.w", vec![d, fc], d),
            w("dec.fc2.w", vec![fc, self.flat()], fc),
            // a stride-2 4×4 transposed convolution feeds each output from 4 input pixels
            w("dec.up1.w", vec![c2, c1, 4, 4], 4 * c2),
            w("dec.up2.w", vec![c1, 1, 4, 4], 4 * c1),
            ("dec.up2.b".into(), vec![1], Init::Zeros),
        ];
        if self.decoder == DecoderKind::Beta2 {
            out.push(w("dec.temp.w", vec![c1, 1, 4, 4], 4 * c1));
            out.push(("dec.temp.b".into(), vec![1], Init::Zeros));
        }
        for (name, c) in self.norms() {
            out.push((format!("{name}.gamma"), vec![c], Init::Ones));
            out.push((format!("{name}.beta"), vec![c], Init::Zeros));
        }
        out
    }

    /// Fresh parameters, in a fixed order.
    pub fn init(&self, rng: &mut ChaCha8Rng) -> Vec<ParamData> {
        self.layout()
            .into_iter()
            .map(|(name, shape, init)| {
                let n: usize = shape.iter().product();
                let data = match init {
                    Init::Uniform(fan) => {
                        let b = 1.0 / (fan as f32).sqrt();
                        (0..n).map(|_| rng.random_range(-b..b)).collect()
                    }
                    Init::Ones => vec![1.0; n],
                    Init::Zeros => vec![0.0; n],
                };
                ParamData { name, shape, data }
            })
            .collect()
    }
}

/// Whether batch norm uses the batch's statistics (training) or the running ones.
enum Mode<'a> {
    Train,
    Eval(&'a RunningStats),
}

/// One forward pass over a network's parameters.
struct Pass<'a> {
    spec: &'a VaeSpec,
    params: &'a [Tensor<1>],
    shapes: &'a [Vec<usize>],
    index: HashMap<&'a str, usize>,
    mode: Mode<'a>,
    /// (mean, biased variance) of each batch norm, in training mode (in
    /// forward order: a training pass runs the encoder, then the decoder)
    batch_stats: Vec<(Tensor<1>, Tensor<1>)>,
}

const CONV: ConvOptions<2> = ConvOptions {
    stride: [2, 2],
    padding: [(1, 1), (1, 1)],
    dilation: [1, 1],
    groups: 1,
};
const UP: ConvTransposeOptions<2> = ConvTransposeOptions {
    stride: [2, 2],
    padding: [1, 1],
    padding_out: [0, 0],
    dilation: [1, 1],
    groups: 1,
};

impl<'a> Pass<'a> {
    fn new(spec: &'a VaeSpec, net: &'a Net, params: &'a [Tensor<1>], mode: Mode<'a>) -> Pass<'a> {
        Pass {
            spec,
            params,
            shapes: &net.shapes,
            index: net
                .names
                .iter()
                .enumerate()
                .map(|(k, n)| (n.as_str(), k))
                .collect(),
            mode,
            batch_stats: Vec::new(),
        }
    }

    fn k(&self, name: &str) -> usize {
        *self
            .index
            .get(name)
            .unwrap_or_else(|| panic!("VAE parameter {name} missing"))
    }
    fn p1(&self, name: &str) -> Tensor<1> {
        self.params[self.k(name)].clone()
    }
    fn p2(&self, name: &str) -> Tensor<2> {
        let k = self.k(name);
        let s = &self.shapes[k];
        self.params[k].clone().reshape([s[0], s[1]])
    }
    fn p4(&self, name: &str) -> Tensor<4> {
        let k = self.k(name);
        let s = &self.shapes[k];
        self.params[k].clone().reshape([s[0], s[1], s[2], s[3]])
    }

    fn norm<const D: usize>(&mut self, x: Tensor<D>, name: &str) -> Tensor<D> {
        let gamma = self.p1(&format!("{name}.gamma"));
        let beta = self.p1(&format!("{name}.beta"));
        let k = self
            .spec
            .norms()
            .iter()
            .position(|(n, _)| *n == name)
            .expect("a batch norm of this spec");
        match self.mode {
            Mode::Train => {
                let r = batch_norm_train(x, gamma, beta, BN_EPS);
                self.batch_stats.push((r.mean, r.variance));
                r.output
            }
            Mode::Eval(stats) => {
                let dev = x.device();
                let c = stats.mean[k].len();
                let m = Tensor::<1>::from_data(TensorData::new(stats.mean[k].clone(), [c]), &dev);
                let v = Tensor::<1>::from_data(TensorData::new(stats.var[k].clone(), [c]), &dev);
                batch_norm(x, gamma, beta, m, v, BN_EPS)
            }
        }
    }

    /// x [N, 1, L, L] in {0, 1} → (μ, σ), each [N, d].
    fn encode(&mut self, x: Tensor<4>) -> (Tensor<2>, Tensor<2>) {
        let h = conv2d(x, self.p4("enc.conv1.w"), None, CONV);
        let h = leaky_relu(self.norm(h, "enc.bn1"), LEAK);
        let h = conv2d(h, self.p4("enc.conv2.w"), None, CONV);
        let h = leaky_relu(self.norm(h, "enc.bn2"), LEAK);
        let [n, c, a, b] = h.dims();
        let h = h.reshape([n, c * a * b]).matmul(self.p2("enc.fc.w"));
        let h = leaky_relu(self.norm(h, "enc.bn3"), LEAK);
        let d = self.spec.latent;
        let mu = h.clone().matmul(self.p2("enc.mu.w")) + self.p1("enc.mu.b").reshape([1, d]);
        let raw = h.matmul(self.p2("enc.sigma.w")) + self.p1("enc.sigma.b").reshape([1, d]);
        (mu, softplus(raw, 1.0) + SIGMA_FLOOR)
    }

    /// z [N, d] → the decoder's logits [N, L²] and, for β²-VAE, (β_k, h_k).
    fn decode(&mut self, z: Tensor<2>) -> Decoded {
        let s = self.spec;
        let h = z.matmul(self.p2("dec.fc1.w"));
        let h = relu(self.norm(h, "dec.bn1"));
        let h = h.matmul(self.p2("dec.fc2.w"));
        let h = relu(self.norm(h, "dec.bn2"));
        let n = h.dims()[0];
        let h = h.reshape([n, s.c2(), s.q(), s.q()]);
        let h = conv_transpose2d(h, self.p4("dec.up1.w"), None, UP);
        let h = relu(self.norm(h, "dec.bn3"));
        let field = conv_transpose2d(
            h.clone(),
            self.p4("dec.up2.w"),
            Some(self.p1("dec.up2.b")),
            UP,
        )
        .reshape([n, s.sites()]);
        match s.decoder {
            DecoderKind::Bernoulli => Decoded {
                logit: field,
                branches: None,
            },
            DecoderKind::Beta2 => {
                let t = conv_transpose2d(h, self.p4("dec.temp.w"), Some(self.p1("dec.temp.b")), UP);
                let beta = sigmoid(t.reshape([n, s.sites()]));
                Decoded {
                    logit: beta.clone() * field.clone(),
                    branches: Some((beta, field)),
                }
            }
        }
    }
}

impl Pass<'_> {
    /// The two terms of eq. 4 per row, [N, 1] each: the reconstruction NLL
    /// summed over pixels, and the KL to the prior summed over dimensions,
    /// with z = μ + σ ε for the standard normal `eps` [N, d].
    fn eq4_terms(
        &mut self,
        x01: &[f32],
        eps: &[f32],
        dev: &burn::tensor::Device,
    ) -> (Tensor<2>, Tensor<2>) {
        let spec = self.spec;
        let n = x01.len() / spec.sites();
        let x = images(spec, x01, dev);
        let (mu, sigma) = self.encode(x.clone());
        let e = Tensor::<2>::from_data(TensorData::new(eps.to_vec(), [n, spec.latent]), dev);
        let dec = self.decode(mu.clone() + sigma.clone() * e);
        let rec = reconstruction(dec.logit, x.reshape([n, spec.sites()]));
        (rec, kl_terms(mu, sigma).sum_dim(1))
    }
}

struct Decoded {
    logit: Tensor<2>,
    /// β²-VAE: (β_k, h_k)
    branches: Option<(Tensor<2>, Tensor<2>)>,
}

/// Σ_k over pixels of −log p(x_k | logit_k), per row: softplus(l) − x·l.
fn reconstruction(logit: Tensor<2>, x: Tensor<2>) -> Tensor<2> {
    (softplus(logit.clone(), 1.0) - x * logit).sum_dim(1)
}

/// KL(N(μ, σ²) ‖ N(0, 1)) per row and dimension: ½(μ² + σ² − 1) − ln σ.
fn kl_terms(mu: Tensor<2>, sigma: Tensor<2>) -> Tensor<2> {
    (mu.clone() * mu + sigma.clone() * sigma.clone() - 1.0) * 0.5 - sigma.log()
}

/// One training step's loss and what the log reports of it.
pub struct StepLoss {
    pub loss: Loss,
    /// mean over the batch of the summed reconstruction NLL (nats)
    pub reconstruction: f64,
    /// mean over the batch of the KL to the prior, summed over dimensions
    pub kl: f64,
    /// the batch statistics of every batch norm, for [`RunningStats::update`]
    pub batch_stats: Vec<(Vec<f32>, Vec<f32>)>,
}

/// Binary images σ ∈ {0, 1} (rows of L²) as an [N, 1, L, L] tensor.
fn images(spec: &VaeSpec, x01: &[f32], dev: &burn::tensor::Device) -> Tensor<4> {
    let n = x01.len() / spec.sites();
    Tensor::<4>::from_data(TensorData::new(x01.to_vec(), [n, 1, spec.l, spec.l]), dev)
}

/// Eq. 4 of the paper on a batch: mean over rows of the reconstruction NLL
/// summed over pixels plus β times the KL, with z = μ + σ ε for the given
/// standard normal `eps` [N, d] (the reparameterisation).
pub fn step_loss(
    spec: &VaeSpec,
    net: &Net,
    x01: &[f32],
    eps: &[f32],
    beta: f64,
) -> Result<StepLoss> {
    let mut pass = Pass::new(spec, net, &net.params, Mode::Train);
    let (rec, kl) = pass.eq4_terms(x01, eps, &net.device);
    let rec = rec.mean().reshape([1]);
    let kl = kl.mean().reshape([1]);
    let loss = rec.clone() + kl.clone() * beta;
    let batch_stats = pass
        .batch_stats
        .into_iter()
        .map(|(m, v)| Ok((to_vec(m)?, to_vec(v)?)))
        .collect::<Result<Vec<_>>>()?;
    Ok(StepLoss {
        reconstruction: to_vec(rec.detach())?[0] as f64,
        kl: to_vec(kl.detach())?[0] as f64,
        loss: Loss::new(loss),
        batch_stats,
    })
}

/// A trained VAE in inference mode (running statistics, no autodiff).
pub struct Inference<'a> {
    spec: &'a VaeSpec,
    net: &'a Net,
    stats: &'a RunningStats,
    params: Vec<Tensor<1>>,
}

/// What the encoder gives for a batch, row-major [N, d].
pub struct Encoding {
    pub mu: Vec<f32>,
    pub sigma: Vec<f32>,
}

/// What the decoder gives for a batch, row-major [N, L²].
pub struct Decoding {
    /// p(σ_k = 1), the Bernoulli means m_k
    pub mean: Vec<f32>,
    /// β²-VAE: β_k and h_k
    pub beta: Option<Vec<f32>>,
    pub field: Option<Vec<f32>>,
}

impl<'a> Inference<'a> {
    pub fn new(spec: &'a VaeSpec, net: &'a Net, stats: &'a RunningStats) -> Inference<'a> {
        let params = net.params.iter().map(|p| p.clone().inner()).collect();
        Inference {
            spec,
            net,
            stats,
            params,
        }
    }

    fn pass(&self) -> Pass<'_> {
        Pass::new(self.spec, self.net, &self.params, Mode::Eval(self.stats))
    }

    /// Encode binary images `x01` (σ ∈ {0, 1}, rows of L²).
    pub fn encode(&self, x01: &[f32]) -> Result<Encoding> {
        let dev = self.params[0].device();
        let (mu, sigma) = self.pass().encode(images(self.spec, x01, &dev));
        Ok(Encoding {
            mu: to_vec(mu)?,
            sigma: to_vec(sigma)?,
        })
    }

    /// Decode latent points `z` (rows of d).
    pub fn decode(&self, z: &[f32]) -> Result<Decoding> {
        let dev = self.params[0].device();
        let n = z.len() / self.spec.latent;
        let zt = Tensor::<2>::from_data(TensorData::new(z.to_vec(), [n, self.spec.latent]), &dev);
        let d = self.pass().decode(zt);
        let (beta, field) = match d.branches {
            Some((b, h)) => (Some(to_vec(b)?), Some(to_vec(h)?)),
            None => (None, None),
        };
        Ok(Decoding {
            mean: to_vec(sigmoid(d.logit))?,
            beta,
            field,
        })
    }

    /// Eq. 4 with running statistics, for held-out rows and fixed `eps`.
    pub fn loss(&self, x01: &[f32], eps: &[f32], beta: f64) -> Result<f64> {
        let dev = self.params[0].device();
        let (rec, kl) = self.pass().eq4_terms(x01, eps, &dev);
        let total = to_vec((rec + kl * beta).mean())?;
        Ok(total[0] as f64)
    }
}

/// Parameters by name.
fn by_name(params: &[ParamData]) -> HashMap<&str, &ParamData> {
    params.iter().map(|p| (p.name.as_str(), p)).collect()
}

/// The ONNX side of one pass: weights by name, running statistics in order.
struct Writer<'a> {
    g: GraphBuilder,
    params: HashMap<&'a str, &'a ParamData>,
    stats: &'a RunningStats,
    spec: &'a VaeSpec,
}

impl<'a> Writer<'a> {
    fn new(
        name: &str,
        spec: &'a VaeSpec,
        params: &'a [ParamData],
        stats: &'a RunningStats,
    ) -> Self {
        Writer {
            g: GraphBuilder::new(name),
            params: by_name(params),
            stats,
            spec,
        }
    }

    fn w(&mut self, name: &str) -> String {
        let p = self.params[name];
        self.g.weight(name, &p.shape, &p.data)
    }

    fn norm(&mut self, x: &str, name: &str) -> String {
        let k = self
            .spec
            .norms()
            .iter()
            .position(|(n, _)| *n == name)
            .expect("a batch norm of this spec");
        let gamma = self.w(&format!("{name}.gamma"));
        let beta = self.w(&format!("{name}.beta"));
        let c = self.stats.mean[k].len();
        let mean = self
            .g
            .weight(&format!("{name}.running_mean"), &[c], &self.stats.mean[k]);
        let var = self
            .g
            .weight(&format!("{name}.running_var"), &[c], &self.stats.var[k]);
        self.g.op(
            "BatchNormalization",
            &[x, &gamma, &beta, &mean, &var],
            &[("epsilon", Attr::Float(BN_EPS as f32))],
        )
    }

    fn conv(&mut self, op: &str, x: &str, w: &str, b: Option<&str>) -> String {
        let w = self.w(w);
        let mut inputs = vec![x.to_string(), w];
        if let Some(b) = b {
            inputs.push(self.w(b));
        }
        let refs: Vec<&str> = inputs.iter().map(|s| s.as_str()).collect();
        self.g.op(
            op,
            &refs,
            &[
                ("kernel_shape", Attr::Ints(vec![4, 4])),
                ("strides", Attr::Ints(vec![2, 2])),
                ("pads", Attr::Ints(vec![1, 1, 1, 1])),
            ],
        )
    }

    fn matmul(&mut self, x: &str, w: &str, b: Option<&str>) -> String {
        let w = self.w(w);
        let m = self.g.op("MatMul", &[x, &w], &[]);
        match b {
            Some(b) => {
                let b = self.w(b);
                self.g.op("Add", &[&m, &b], &[])
            }
            None => m,
        }
    }

    fn leaky(&mut self, x: &str) -> String {
        self.g
            .op("LeakyRelu", &[x], &[("alpha", Attr::Float(LEAK as f32))])
    }
}

/// Export the encoder as a `vae-encoder` model: `states` f32[N, L, L] (±1)
/// → `mu` and `log_sigma`, f32[N, d].
pub fn encoder_onnx(
    spec: &VaeSpec,
    params: &[ParamData],
    stats: &RunningStats,
    metadata: &[(String, String)],
) -> Vec<u8> {
    let mut w = Writer::new("phasekit_vae_encoder", spec, params, stats);
    let l = spec.l;
    let s =
        w.g.input_f32("states", &[Dim::batch(), Dim::Fixed(l), Dim::Fixed(l)]);
    // σ = (s + 1)/2, as an [N, 1, L, L] image
    let shape = w.g.const_i64("shape", &[-1, 1, l as i64, l as i64]);
    let img = w.g.op("Reshape", &[&s, &shape], &[]);
    let one = w.g.weight("one", &[1], &[1.0]);
    let half = w.g.weight("half", &[1], &[0.5]);
    let plus = w.g.op("Add", &[&img, &one], &[]);
    let x = w.g.op("Mul", &[&plus, &half], &[]);
    let h = w.conv("Conv", &x, "enc.conv1.w", None);
    let h = w.norm(&h, "enc.bn1");
    let h = w.leaky(&h);
    let h = w.conv("Conv", &h, "enc.conv2.w", None);
    let h = w.norm(&h, "enc.bn2");
    let h = w.leaky(&h);
    let h = w.g.op("Flatten", &[&h], &[("axis", Attr::Int(1))]);
    let h = w.matmul(&h, "enc.fc.w", None);
    let h = w.norm(&h, "enc.bn3");
    let h = w.leaky(&h);
    let mu = w.matmul(&h, "enc.mu.w", Some("enc.mu.b"));
    let raw = w.matmul(&h, "enc.sigma.w", Some("enc.sigma.b"));
    let sp = w.g.op("Softplus", &[&raw], &[]);
    let floor = w.g.weight("sigma_floor", &[1], &[SIGMA_FLOOR as f32]);
    let sigma = w.g.op("Add", &[&sp, &floor], &[]);
    w.g.op_into("Identity", &[&mu], &["mu"], &[]);
    w.g.op_into("Log", &[&sigma], &["log_sigma"], &[]);
    let d = [Dim::batch(), Dim::Fixed(spec.latent)];
    w.g.output_f32("mu", &d);
    w.g.output_f32("log_sigma", &d);
    encode(&w.g.finish(
        "phasekit β-VAE encoder (Huang, Hu & Yang, Table I): ±1 states → μ, log σ of q(z|x)",
        metadata,
    ))
}

/// Export the decoder as a `vae-decoder` model: `z` f32[N, d] → `mean`
/// f32[N, L, L], p(s_k = +1); β²-VAE adds `beta_k` and `h_k`.
pub fn decoder_onnx(
    spec: &VaeSpec,
    params: &[ParamData],
    stats: &RunningStats,
    metadata: &[(String, String)],
) -> Vec<u8> {
    let mut w = Writer::new("phasekit_vae_decoder", spec, params, stats);
    let (l, q) = (spec.l as i64, spec.q() as i64);
    let z = w.g.input_f32("z", &[Dim::batch(), Dim::Fixed(spec.latent)]);
    let h = w.matmul(&z, "dec.fc1.w", None);
    let h = w.norm(&h, "dec.bn1");
    let h = w.g.op("Relu", &[&h], &[]);
    let h = w.matmul(&h, "dec.fc2.w", None);
    let h = w.norm(&h, "dec.bn2");
    let h = w.g.op("Relu", &[&h], &[]);
    let shape = w.g.const_i64("shape", &[-1, spec.c2() as i64, q, q]);
    let h = w.g.op("Reshape", &[&h, &shape], &[]);
    let h = w.conv("ConvTranspose", &h, "dec.up1.w", None);
    let h = w.norm(&h, "dec.bn3");
    let h = w.g.op("Relu", &[&h], &[]);
    let field = w.conv("ConvTranspose", &h, "dec.up2.w", Some("dec.up2.b"));
    let out_shape = w.g.const_i64("shape", &[-1, l, l]);
    let field = w.g.op("Reshape", &[&field, &out_shape], &[]);
    let dims = [Dim::batch(), Dim::Fixed(spec.l), Dim::Fixed(spec.l)];
    match spec.decoder {
        DecoderKind::Bernoulli => {
            w.g.op_into("Sigmoid", &[&field], &["mean"], &[]);
            w.g.output_f32("mean", &dims);
        }
        DecoderKind::Beta2 => {
            let t = w.conv("ConvTranspose", &h, "dec.temp.w", Some("dec.temp.b"));
            let t = w.g.op("Reshape", &[&t, &out_shape], &[]);
            w.g.op_into("Sigmoid", &[&t], &["beta_k"], &[]);
            w.g.op_into("Identity", &[&field], &["h_k"], &[]);
            let logit = w.g.op("Mul", &["beta_k", "h_k"], &[]);
            w.g.op_into("Sigmoid", &[&logit], &["mean"], &[]);
            w.g.output_f32("mean", &dims);
            w.g.output_f32("beta_k", &dims);
            w.g.output_f32("h_k", &dims);
        }
    }
    let what = match spec.decoder {
        DecoderKind::Bernoulli => "β-VAE decoder (Table I): z → Bernoulli means p(s = +1)",
        DecoderKind::Beta2 => {
            "β²-VAE decoder (Table II): z → p(s = +1) = sigmoid(β_k h_k), β_k, h_k"
        }
    };
    encode(&w.g.finish(&format!("phasekit {what}"), metadata))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_follow_the_paper_at_width_64() {
        let spec = VaeSpec {
            l: 32,
            latent: 2,
            width: 64,
            decoder: DecoderKind::Bernoulli,
        };
        assert_eq!((spec.c1(), spec.c2(), spec.fc()), (64, 128, 1024));
        assert_eq!(spec.c2() * spec.q() * spec.q(), 8 * 1024);
        let n: usize = spec
            .layout()
            .iter()
            .map(|(_, s, _)| s.iter().product::<usize>())
            .sum();
        // the paper's network: about 17M parameters
        assert!((16_900_000..17_100_000).contains(&n), "{n}");
        assert!(spec.check().is_ok());
        let bad = VaeSpec {
            l: 30,
            ..spec.clone()
        };
        assert!(bad.check().is_err());
        let bad = VaeSpec { latent: 0, ..spec };
        assert!(bad.check().is_err());
    }

    #[test]
    fn running_stats_move_by_the_momentum() {
        let mut s = RunningStats {
            mean: vec![vec![0.0, 1.0]],
            var: vec![vec![1.0, 1.0]],
        };
        s.update(&[(vec![1.0, 1.0], vec![3.0, 1.0])]);
        assert!((s.mean[0][0] - 0.1).abs() < 1e-7);
        assert!((s.mean[0][1] - 1.0).abs() < 1e-7);
        assert!((s.var[0][0] - 1.2).abs() < 1e-6);
    }
}
