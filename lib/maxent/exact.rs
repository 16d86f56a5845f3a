//! Exact methods. `exact`: a tied K at h = 0 from Kaufman's finite-lattice
//! solution, by solving ⟨s_i s_j⟩_nn(K) = the data's nearest-neighbour
//! correlation (one equation, one unknown; σ by the delta method). `enum`:
//! the exact likelihood of any model on n ≤ 20 spins, its moments and
//! covariance summed over all 2^n states, maximised by Newton's method;
//! σ from the inverse Fisher information.

use anyhow::Result;
use nalgebra::{DMatrix, DVector};
use rayon::prelude::*;

use super::model::{Couplings, Fields, Model};
use super::{Estimate, Samples};
use crate::exact::ising::kaufman;

/// Largest n for `--method enum`.
pub const MAX_ENUM_SPINS: usize = 20;

/// ⟨s_i s_j⟩ over nearest neighbours of the periodic L×L lattice at coupling
/// K ≥ 0 (h = 0), and its derivative in K. Kaufman's energy per site is
/// −2⟨s s⟩_nn (two bonds per site) at T = 1/K, J = 1.
pub fn nn_correlation(l: usize, k: f64) -> (f64, f64) {
    if k <= 0.0 {
        return (0.0, 1.0); // u ≈ K as K → 0
    }
    let t = 1.0 / k;
    let z = kaufman(l, l, t, 1.0);
    (-0.5 * z.energy, 0.5 * z.heat_capacity * t * t)
}

pub fn kaufman_fit(model: &Model, data: &Samples) -> Result<Estimate> {
    if model.couplings != Couplings::Tied || model.fields != Fields::None {
        crate::bail_input!(
            "--method exact: Kaufman's solution is for a tied K at h = 0: use --model tied --field none"
        );
    }
    let l = model.l;
    let bonds = (2 * l * l) as f64;
    let mut phi = vec![0.0; 1];
    let per_sample: Vec<f64> = (0..data.m)
        .map(|k| {
            model.statistics(data.sample(k), &mut phi);
            phi[0] / bonds
        })
        .collect();
    let m = data.m as f64;
    let mean = per_sample.iter().sum::<f64>() / m;
    let var = per_sample.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / (m - 1.0);
    // an antiferromagnet maps onto the ferromagnet by flipping one sublattice (even L)
    let sign = if mean < 0.0 {
        if l % 2 == 1 {
            crate::bail_input!(
                "--method exact: negative nearest-neighbour correlation on an odd lattice (L = {l}) has no Kaufman solution"
            );
        }
        -1.0
    } else {
        1.0
    };
    let target = mean.abs();
    let (mut lo, mut hi) = (0.0f64, 0.5f64);
    while nn_correlation(l, hi).0 < target {
        hi *= 2.0;
        if hi > 64.0 {
            crate::bail_input!(
                "--method exact: the data's nearest-neighbour correlation {mean:.6} is that of a frozen lattice; no finite K reproduces it"
            );
        }
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if nn_correlation(l, mid).0 < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let k = 0.5 * (lo + hi);
    let slope = nn_correlation(l, k).1;
    Ok(Estimate {
        theta: vec![sign * k],
        std_error: vec![(var / m).sqrt() / slope],
        iterations: 200,
    })
}

/// ln Z, ⟨φ⟩ and, where `covariance`, Cov(φ) of `model` at θ by summing
/// over all 2^n states (the covariance costs p² per state: only Newton's
/// steps and the errors need it).
pub fn enumerate(
    model: &Model,
    theta: &[f64],
    covariance: bool,
) -> (f64, Vec<f64>, Option<DMatrix<f64>>) {
    let (n, p) = (model.n, model.len());
    let p2 = if covariance { p * p } else { 0 };
    let states = 1usize << n;
    let state = |x: usize, s: &mut [i8]| {
        for (i, v) in s.iter_mut().enumerate() {
            *v = if x >> i & 1 == 1 { 1 } else { -1 };
        }
    };
    // the largest log weight first, so the sums below cannot overflow
    let top = (0..states)
        .into_par_iter()
        .map_init(
            || vec![0i8; n],
            |s, x| {
                state(x, s);
                model.log_weight(theta, s)
            },
        )
        .reduce(|| f64::NEG_INFINITY, f64::max);
    const BLOCK: usize = 4096;
    let parts: Vec<(f64, Vec<f64>, Vec<f64>)> = (0..states.div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| {
            let (mut z, mut m1, mut m2) = (0.0, vec![0.0; p], vec![0.0; p2]);
            let mut s = vec![0i8; n];
            let mut phi = vec![0.0; p];
            for x in b * BLOCK..((b + 1) * BLOCK).min(states) {
                state(x, &mut s);
                model.statistics(&s, &mut phi);
                let w = (phi.iter().zip(theta).map(|(a, t)| a * t).sum::<f64>() - top).exp();
                z += w;
                for a in 0..p {
                    m1[a] += w * phi[a];
                    if covariance {
                        for c in 0..p {
                            m2[a * p + c] += w * phi[a] * phi[c];
                        }
                    }
                }
            }
            (z, m1, m2)
        })
        .collect();
    let (mut z, mut m1, mut m2) = (0.0, vec![0.0; p], vec![0.0; p2]);
    for (pz, p1, p2) in &parts {
        z += pz;
        m1.iter_mut().zip(p1).for_each(|(a, b)| *a += b);
        m2.iter_mut().zip(p2).for_each(|(a, b)| *a += b);
    }
    let mean: Vec<f64> = m1.iter().map(|v| v / z).collect();
    let cov =
        covariance.then(|| DMatrix::from_fn(p, p, |a, c| m2[a * p + c] / z - mean[a] * mean[c]));
    (top + z.ln(), mean, cov)
}

pub fn enumeration_fit(model: &Model, data: &Samples) -> Result<Estimate> {
    if model.n > MAX_ENUM_SPINS {
        crate::bail_input!(
            "--method enum: {} spins is too many to enumerate (2^{} states; at most {MAX_ENUM_SPINS} spins)",
            model.n,
            model.n
        );
    }
    let target = data.moments(model);
    let p = model.len();
    let m = data.m as f64;
    let mut theta = vec![0.0; p];
    let loglik = |theta: &[f64]| {
        let (ln_z, _, _) = enumerate(model, theta, false);
        theta.iter().zip(&target).map(|(t, f)| t * f).sum::<f64>() - ln_z
    };
    for it in 1..=100 {
        let (ln_z, mean, cov) = enumerate(model, &theta, true);
        let cov = cov.expect("asked for");
        let grad = DVector::from_iterator(p, target.iter().zip(&mean).map(|(a, b)| a - b));
        let Some(chol) = cov.clone().cholesky() else {
            crate::bail_input!(
                "--method enum: the likelihood has no finite maximum (a statistic never varies in the data)"
            );
        };
        let step = chol.solve(&grad);
        let now = theta.iter().zip(&target).map(|(t, f)| t * f).sum::<f64>() - ln_z;
        let mut t = 1.0;
        let mut cand: Vec<f64>;
        loop {
            cand = theta
                .iter()
                .zip(step.iter())
                .map(|(a, d)| a + t * d)
                .collect();
            if loglik(&cand) >= now - 1e-12 * now.abs() || t < 1e-6 {
                break;
            }
            t *= 0.5;
        }
        let moved = step.iter().map(|d| (t * d).abs()).fold(0.0, f64::max);
        theta = cand;
        if moved < 1e-10 {
            let (_, _, cov) = enumerate(model, &theta, true);
            let inv = cov.expect("asked for").cholesky().map(|c| c.inverse());
            let std_error = (0..p)
                .map(|a| {
                    inv.as_ref()
                        .map_or(f64::NAN, |i| (i[(a, a)] / m).max(0.0).sqrt())
                })
                .collect();
            return Ok(Estimate {
                theta,
                std_error,
                iterations: it,
            });
        }
    }
    crate::bail_input!("--method enum: Newton's method did not converge in 100 steps")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enumeration_matches_the_transfer_matrix() {
        let model = Model::new(Couplings::Tied, Fields::Uniform, 4, 0);
        let (k, h) = (0.4, 0.1);
        let (ln_z, mean, _) = enumerate(&model, &[k, h], false);
        let x = crate::exact::ising::transfer(4, 1.0 / k, h / k, 1.0);
        assert!((ln_z - x.ln_z).abs() < 1e-9, "{ln_z} vs {}", x.ln_z);
        // ⟨Σ s⟩ = N m
        assert!((mean[1] / 16.0 - x.magnetization).abs() < 1e-9);
    }

    #[test]
    fn nn_correlation_is_kaufmans_and_its_slope_is_right() {
        let l = 8;
        let (u, du) = nn_correlation(l, 0.3);
        let e = 1e-5;
        let fd = (nn_correlation(l, 0.3 + e).0 - nn_correlation(l, 0.3 - e).0) / (2.0 * e);
        assert!((du - fd).abs() < 1e-5 * du, "{du} vs {fd}");
        assert!(u > 0.0 && u < 1.0);
    }
}
