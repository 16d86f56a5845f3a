//! The losses the training tools minimise, on burn tensors: the posterior
//! network's soft cross-entropy and the ICNN's Jensen–Shannon divergence
//! (BTI paper eqs. 19–20), and the autoregressive sampler's reverse and
//! forward KL. Tools hand over host data and get a [`Loss`].

use anyhow::Result;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Tensor, TensorData};

use super::autoreg::SamplerSpec;
use super::burn_exec::{forward, icnn_weights, to_vec, BurnAlgebra, Loss, Net, TrainDevice};
use super::gru::GruSpec;
use super::icnn::{propagate, IcnnSpec};
use super::made::MadeSpec;
use super::pixelcnn::PixelSpec;

/// Soft cross-entropy −Σ target · log softmax(logits), averaged over the batch.
pub fn soft_cross_entropy(logits: Tensor<3>, target: Tensor<2>) -> Tensor<1> {
    let [n, gh, gw] = logits.dims();
    let lp = log_softmax(logits.reshape([n, gh * gw]), 1);
    (lp * target).sum_dim(1).mean().neg()
}

/// The posterior network's loss on a batch: inputs `x` of shape `dims`
/// [N, K, H, W], soft targets `t` [N, G].
pub fn posterior_loss(net: &Net, x: &[f32], dims: [usize; 4], t: &[f32]) -> Loss {
    let n = dims[0];
    let xt = Tensor::<4>::from_data(TensorData::new(x.to_vec(), dims), &net.device);
    let tt = Tensor::<2>::from_data(TensorData::new(t.to_vec(), [n, t.len() / n]), &net.device);
    Loss::new(soft_cross_entropy(net.forward(xt), tt))
}

/// The same loss outside the autodiff graph (for test sets).
pub fn posterior_eval_loss(net: &Net, x: &[f32], dims: [usize; 4], t: &[f32]) -> Result<f64> {
    let params: Vec<Tensor<1>> = net.params.iter().map(|p| p.clone().inner()).collect();
    let dev = params[0].device();
    let n = dims[0];
    let xt = Tensor::<4>::from_data(TensorData::new(x.to_vec(), dims), &dev);
    let tt = Tensor::<2>::from_data(TensorData::new(t.to_vec(), [n, t.len() / n]), &dev);
    let logits = forward(&net.program, &params, &net.shapes, xt);
    Ok(to_vec(soft_cross_entropy(logits, tt))?[0] as f64)
}

/// Rows of `points` as an [N, 2] tensor.
fn points_tensor(points: &[[f64; 2]], device: &TrainDevice) -> Tensor<2> {
    let flat: Vec<f32> = points.iter().flat_map(|p| p.map(|v| v as f32)).collect();
    Tensor::<2>::from_data(TensorData::new(flat, [points.len(), 2]), device)
}

/// Mean Jensen–Shannon divergence (nats) between the posteriors `q` [B, G]
/// (with Σ q log q per row, `q_log_q` [B, 1]) and the exponential family of
/// eq. 19 built from log Z on the grid `log_z` [1, G] and ∇log Z at the
/// bundle centres `grad` [B, 2], over grid points `grid_t` [G, 2].
pub fn jsd_loss(
    q: Tensor<2>,
    q_log_q: Tensor<2>,
    log_z: Tensor<2>,
    grad: Tensor<2>,
    grid_t: Tensor<2>,
) -> Tensor<1> {
    let logits = grad.matmul(grid_t.transpose()) - log_z;
    let log_p = log_softmax(logits, 1);
    let p = log_p.clone().exp();
    let m = (q.clone() + p.clone()) * 0.5;
    let log_m = m.clamp_min(1e-30).log();
    let kl_q = q_log_q - (q * log_m.clone()).sum_dim(1);
    let kl_p = (p * (log_p - log_m)).sum_dim(1);
    ((kl_q + kl_p) * 0.5).mean()
}

/// The ICNN's objective over one parameter grid (eq. 20): the grid's points
/// stay on the training device between steps.
pub struct IcnnObjective {
    grid_t: Tensor<2>,
    g: usize,
}

impl IcnnObjective {
    pub fn new(grid_points: &[[f64; 2]], device: &TrainDevice) -> IcnnObjective {
        IcnnObjective {
            grid_t: points_tensor(grid_points, device),
            g: grid_points.len(),
        }
    }

    /// The JSD on a batch of bundles (their centres, posteriors `q`, rows of
    /// G values, and Σ q log q per row) of the mean of the ICNNs in `members`
    /// (one network, or an ensemble: the mean of convex functions is convex).
    pub fn loss(
        &self,
        spec: &IcnnSpec,
        members: &[&Net],
        centres: &[[f64; 2]],
        q: Vec<f32>,
        q_log_q: Vec<f32>,
    ) -> Loss {
        let (dev, g, n) = (&members[0].device, self.g, centres.len());
        let at_centres = points_tensor(centres, dev);
        let mut alg = BurnAlgebra;
        let mut sum: Option<(Tensor<2>, Tensor<2>)> = None;
        for net in members {
            let w = icnn_weights(spec, net);
            let log_z = propagate(&mut alg, &w, &self.grid_t, 0)
                .value
                .reshape([1, g]);
            let grad = Tensor::cat(propagate(&mut alg, &w, &at_centres, 1).grad, 1);
            sum = Some(match sum {
                None => (log_z, grad),
                Some((l, d)) => (l + log_z, d + grad),
            });
        }
        let (log_z, grad) = sum.expect("at least one member");
        let inv = 1.0 / members.len() as f32;
        let (log_z, grad) = (log_z * inv, grad * inv);
        let q = Tensor::<2>::from_data(TensorData::new(q, [n, g]), dev);
        let qlq = Tensor::<2>::from_data(TensorData::new(q_log_q, [n, 1]), dev);
        Loss::new(jsd_loss(q, qlq, log_z, grad, self.grid_t.clone()))
    }
}

/// An autoregressive sampler in burn (`nn::made`, `nn::gru`); a MADE's
/// masks stay on the training device.
pub struct SamplerObjective {
    spec: SamplerSpec,
    masks: Vec<Tensor<2>>,
    /// log q = logsumexp(log q̃(s), log q̃(−s)) − ln 2
    z2: bool,
}

impl SamplerObjective {
    pub fn new(spec: &SamplerSpec, z2: bool, device: &TrainDevice) -> SamplerObjective {
        let masks = match spec {
            SamplerSpec::Made(m) => {
                let d = m.channels();
                let n = m.sites();
                (1..=m.depth)
                    .map(|k| {
                        Tensor::<2>::from_data(
                            TensorData::new(m.mask(k), [d[k - 1] * n, d[k] * n]),
                            device,
                        )
                    })
                    .collect()
            }
            SamplerSpec::Gru(_) => Vec::new(),
            SamplerSpec::Pixel(p) => {
                let k = p.kernel();
                vec![
                    Tensor::<2>::from_data(TensorData::new(p.mask(true), [k, k]), device),
                    Tensor::<2>::from_data(TensorData::new(p.mask(false), [k, k]), device),
                ]
            }
        };
        SamplerObjective {
            spec: spec.clone(),
            masks,
            z2,
        }
    }

    fn param(net: &Net, name: &str) -> Tensor<1> {
        let k = net
            .names
            .iter()
            .position(|n| n == name)
            .unwrap_or_else(|| panic!("sampler parameter {name} missing"));
        net.params[k].clone()
    }

    /// Logits [B, N] of configurations `x` [B, N] (±1).
    fn logits(&self, net: &Net, x: Tensor<2>) -> Tensor<2> {
        match &self.spec {
            SamplerSpec::Made(m) => self.made_logits(m, net, x),
            SamplerSpec::Gru(g) => Self::gru_logits(g, net, x),
            SamplerSpec::Pixel(p) => self.pixel_logits(p, net, x),
        }
    }

    /// Masked convolutions with zero padding; masks [k, k] broadcast over channels.
    fn pixel_logits(&self, spec: &PixelSpec, net: &Net, x: Tensor<2>) -> Tensor<2> {
        use burn::tensor::module::conv2d;
        use burn::tensor::ops::ConvOptions;
        let [b, n] = x.dims();
        let (l, k, c) = (spec.l, spec.kernel(), spec.half_kernel);
        let d = spec.channels();
        let mut h = x.reshape([b, 1, l, l]);
        for layer in 1..=spec.depth {
            let mask = self.masks[if layer == 1 { 0 } else { 1 }]
                .clone()
                .reshape([1, 1, k, k]);
            let w = Self::param(net, &format!("w{layer}")).reshape([d[layer], d[layer - 1], k, k])
                * mask;
            let bias = Self::param(net, &format!("b{layer}"));
            let opts = ConvOptions {
                stride: [1, 1],
                padding: [(c, c), (c, c)],
                dilation: [1, 1],
                groups: 1,
            };
            h = conv2d(h, w, Some(bias), opts);
            if layer < spec.depth {
                let a = Self::param(net, &format!("a{layer}")).reshape([1, d[layer], 1, 1]);
                let pos = burn::tensor::activation::relu(h.clone());
                h = pos.clone() + (h - pos) * a;
            }
        }
        h.reshape([b, n])
    }

    /// The GRU run over the sites, gates fused: step i reads s_{i−1}.
    fn gru_logits(spec: &GruSpec, net: &Net, x: Tensor<2>) -> Tensor<2> {
        let [b, n] = x.dims();
        let h = spec.hidden;
        let w_ih = Self::param(net, "w_ih").reshape([1, 3 * h]);
        let b_ih = Self::param(net, "b_ih").reshape([1, 3 * h]);
        let w_hh = Self::param(net, "w_hh").reshape([h, 3 * h]);
        let b_hh = Self::param(net, "b_hh").reshape([1, 3 * h]);
        let w_out = Self::param(net, "w_out").reshape([h, 1]);
        let b_out = Self::param(net, "b_out").reshape([1, 1]);
        let mut state = Tensor::<2>::zeros([b, h], &net.device);
        let mut logits = Vec::with_capacity(n);
        for i in 0..n {
            let gi = if i == 0 {
                b_ih.clone()
            } else {
                x.clone().slice([0..b, i - 1..i]) * w_ih.clone() + b_ih.clone()
            };
            let gh = state.clone().matmul(w_hh.clone()) + b_hh.clone();
            let gate =
                |t: &Tensor<2>, k: usize| t.clone().slice([0..t.dims()[0], k * h..(k + 1) * h]);
            let r = burn::tensor::activation::sigmoid(gate(&gi, 0) + gate(&gh, 0));
            let z = burn::tensor::activation::sigmoid(gate(&gi, 1) + gate(&gh, 1));
            let cand = burn::tensor::activation::tanh(gate(&gi, 2) + r * gate(&gh, 2));
            state = (z.clone().neg() + 1.0) * cand + z * state;
            logits.push(state.clone().matmul(w_out.clone()) + b_out.clone());
        }
        Tensor::cat(logits, 1)
    }

    fn made_logits(&self, spec: &MadeSpec, net: &Net, x: Tensor<2>) -> Tensor<2> {
        let d = spec.channels();
        let n = spec.sites();
        let mut h = x;
        for k in 1..=spec.depth {
            let (fin, fout) = (d[k - 1] * n, d[k] * n);
            let w =
                Self::param(net, &format!("w{k}")).reshape([fin, fout]) * self.masks[k - 1].clone();
            let b = Self::param(net, &format!("b{k}")).reshape([1, fout]);
            h = h.matmul(w) + b;
            if k < spec.depth {
                let a = Self::param(net, &format!("a{k}")).reshape([1, fout]);
                let pos = burn::tensor::activation::relu(h.clone());
                h = pos.clone() + (h - pos) * a;
            }
        }
        h
    }

    fn log_q_raw(&self, net: &Net, x: Tensor<2>) -> Tensor<1> {
        let [b, _] = x.dims();
        let l = self.logits(net, x.clone());
        burn::tensor::activation::log_sigmoid(l * x)
            .sum_dim(1)
            .reshape([b])
    }

    /// log q of configurations `s` (B rows of N values ±1), in the graph.
    fn log_q(&self, net: &Net, s: &[f32]) -> Tensor<1> {
        let n = self.spec.sites();
        let b = s.len() / n;
        let x = Tensor::<2>::from_data(TensorData::new(s.to_vec(), [b, n]), &net.device);
        let a = self.log_q_raw(net, x.clone());
        if !self.z2 {
            return a;
        }
        let c = self.log_q_raw(net, x.neg());
        let m = a.clone().max_pair(c.clone()).detach();
        ((a - m.clone()).exp() + (c - m.clone()).exp()).log() + m - std::f64::consts::LN_2
    }

    /// log q of each configuration, as values.
    pub fn log_q_values(&self, net: &Net, s: &[f32]) -> Result<Vec<f64>> {
        Ok(to_vec(self.log_q(net, s))?
            .into_iter()
            .map(|v| v as f64)
            .collect())
    }

    /// Reverse KL by REINFORCE (VAN): with f = log q(s) + β E(s) held fixed,
    /// the gradient of mean((f − mean f) · log q(s)) is that of KL(q‖p) for
    /// s drawn from q. Returns the loss and f per configuration (β F_q per
    /// sample, whose mean bounds β F from above).
    pub fn reverse_kl(
        &self,
        net: &Net,
        s: &[f32],
        energies: &[f64],
        beta: f64,
    ) -> Result<(Loss, Vec<f64>)> {
        let lq = self.log_q(net, s);
        let values = to_vec(lq.clone())?;
        let f: Vec<f64> = values
            .iter()
            .zip(energies)
            .map(|(&l, &e)| l as f64 + beta * e)
            .collect();
        let mean = f.iter().sum::<f64>() / f.len() as f64;
        let centred: Vec<f32> = f.iter().map(|v| (v - mean) as f32).collect();
        let weight = Tensor::<1>::from_data(TensorData::new(centred, [f.len()]), &net.device);
        Ok((Loss::new((weight * lq).mean()), f))
    }

    /// Forward KL (maximum likelihood): the negative log-likelihood per site
    /// of data configurations `s`.
    pub fn nll(&self, net: &Net, s: &[f32]) -> Loss {
        let n = self.spec.sites() as f64;
        Loss::new(self.log_q(net, s).mean().neg() / n)
    }
}

/// The EDNN's energies: the shared MLP on every tile, summed per configuration.
pub struct EdnnObjective {
    layers: usize,
    tiles_per: usize,
    inputs: usize,
}

impl EdnnObjective {
    pub fn new(spec: &super::ednn::EdnnSpec, l: usize) -> EdnnObjective {
        EdnnObjective {
            layers: spec.hidden.len() + 1,
            tiles_per: spec.tiles_per(l),
            inputs: spec.inputs(),
        }
    }

    /// Energies [B] of configurations given as their tiles [B·T, (f+2c)²].
    fn energies(&self, net: &Net, tiles: &[f32]) -> Tensor<1> {
        let rows = tiles.len() / self.inputs;
        let b = rows / self.tiles_per;
        let mut h = Tensor::<2>::from_data(
            TensorData::new(tiles.to_vec(), [rows, self.inputs]),
            &net.device,
        );
        for k in 1..=self.layers {
            let wi = net
                .names
                .iter()
                .position(|n| *n == format!("w{k}"))
                .expect("w");
            let bi = net
                .names
                .iter()
                .position(|n| *n == format!("b{k}"))
                .expect("b");
            let (i, o) = (net.shapes[wi][0], net.shapes[wi][1]);
            let w = net.params[wi].clone().reshape([i, o]);
            h = h.matmul(w) + net.params[bi].clone().reshape([1, o]);
            if k < self.layers {
                h = burn::tensor::activation::relu(h);
            }
        }
        h.reshape([b, self.tiles_per]).sum_dim(1).reshape([b])
    }

    /// Mean squared error of the total energies against `labels` (per
    /// configuration), as Mills et al. train it.
    pub fn mse(&self, net: &Net, tiles: &[f32], labels: &[f32]) -> Loss {
        let e = self.energies(net, tiles);
        let y = Tensor::<1>::from_data(
            TensorData::new(labels.to_vec(), [labels.len()]),
            &net.device,
        );
        Loss::new((e - y).powf_scalar(2.0).mean())
    }

    /// Energies without gradients (evaluation).
    pub fn predict(&self, net: &Net, tiles: &[f32]) -> Result<Vec<f64>> {
        Ok(to_vec(self.energies(net, tiles))?
            .into_iter()
            .map(f64::from)
            .collect())
    }
}
