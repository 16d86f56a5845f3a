//! The losses the training tools minimise, on burn tensors: the posterior
//! network's soft cross-entropy and the ICNN's Jensen–Shannon divergence
//! (BTI paper eqs. 19–20). Tools hand over host data and get a [`Loss`].

use anyhow::Result;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Tensor, TensorData};

use super::burn_exec::{forward, icnn_weights, to_vec, BurnAlgebra, Loss, Net, TrainDevice};
use super::icnn::{propagate, IcnnSpec};

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

    /// The JSD of the network in `net` on a batch of bundles: their centres,
    /// posteriors `q` (rows of G values) and Σ q log q per row.
    pub fn loss(
        &self,
        spec: &IcnnSpec,
        net: &Net,
        centres: &[[f64; 2]],
        q: Vec<f32>,
        q_log_q: Vec<f32>,
    ) -> Loss {
        let (dev, g, n) = (&net.device, self.g, centres.len());
        let w = icnn_weights(spec, net);
        let mut alg = BurnAlgebra;
        let log_z = propagate(&mut alg, &w, &self.grid_t, 0)
            .value
            .reshape([1, g]);
        let jet = propagate(&mut alg, &w, &points_tensor(centres, dev), 1);
        let grad = Tensor::cat(jet.grad, 1);
        let q = Tensor::<2>::from_data(TensorData::new(q, [n, g]), dev);
        let qlq = Tensor::<2>::from_data(TensorData::new(q_log_q, [n, 1]), dev);
        Loss::new(jsd_loss(q, qlq, log_z, grad, self.grid_t.clone()))
    }
}
