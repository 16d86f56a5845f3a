//! The notes' moment matching (their eq. 4, multi-sample form) with
//! persistent Markov chains: each step moves every chain one sweep under the
//! current parameters and updates θ_p += α_t (⟨φ_p⟩_data − ⟨φ_p⟩_chains) /
//! Var_chains(φ_p), a diagonal Newton step whose size α_t = lr/(1 + t/50)
//! decreases, so the iterates settle; the estimate averages the second half
//! of them (Polyak). Tied lattice models with K ≥ 0 move by Swendsen–Wang
//! (phasekit's own cluster kernel, which does not slow down at T_c), every
//! other model by heat-bath sweeps over its coupling table.
//!
//! Standard errors: the maximum-likelihood estimate's own, √(diag Cov(φ)⁻¹/M)
//! from the chains at the estimate, and the iterates' Monte Carlo error (ten
//! batch means of the averaged half), added in quadrature.

use anyhow::Result;
use nalgebra::DMatrix;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::model::{Couplings, Fields, Model};
use super::{Estimate, Options, Samples};
use crate::sim::couplings::{Chain, CouplingTable};
use crate::sim::ising::cluster::SwendsenWang;
use crate::sim::rng::{chain_rng, LaneStream, Lanes};

/// The coupling table of `model` at θ.
pub fn table(model: &Model, theta: &[f64]) -> CouplingTable {
    CouplingTable {
        neighbours: model
            .neighbours
            .iter()
            .map(|nb| nb.iter().map(|&(j, p)| (j, theta[p as usize])).collect())
            .collect(),
        field: model
            .field_of
            .iter()
            .map(|f| f.map_or(0.0, |p| theta[p as usize]))
            .collect(),
    }
}

/// One persistent chain: heat-bath, or Swendsen–Wang for a tied lattice model.
struct Walker {
    chain: Chain,
    cluster: Option<(SwendsenWang, LaneStream)>,
}

impl Walker {
    fn new(model: &Model, seed: u64, c: u64) -> Walker {
        let tied = model.couplings == Couplings::Tied && model.fields != Fields::Site;
        let cluster = tied.then(|| {
            let mut rng: ChaCha8Rng = chain_rng(seed ^ 0x5753_0000, c);
            (
                SwendsenWang::new(model.l),
                LaneStream::new(Lanes::from_rng(&mut rng)),
            )
        });
        Walker {
            chain: Chain::new(model.n, seed, c),
            cluster,
        }
    }

    /// One sweep at θ, whose coupling table is `table`.
    fn step(&mut self, model: &Model, theta: &[f64], table: &CouplingTable) {
        let k = theta[0];
        match &mut self.cluster {
            Some((sw, stream)) if k >= 0.0 => {
                let h = if model.fields == Fields::Uniform {
                    theta[1]
                } else {
                    0.0
                };
                sw.sweeps(&mut self.chain.spins, 1.0, k, h, stream, 1);
            }
            _ => self.chain.sweep(table, 1),
        }
    }
}

/// Mean and covariance of φ over the chains' current states.
fn chain_moments(model: &Model, walkers: &[Walker]) -> (Vec<f64>, Vec<f64>) {
    let p = model.len();
    let mut mean = vec![0.0; p];
    let mut sq = vec![0.0; p];
    let mut phi = vec![0.0; p];
    for w in walkers {
        model.statistics(&w.chain.spins, &mut phi);
        for a in 0..p {
            mean[a] += phi[a];
            sq[a] += phi[a] * phi[a];
        }
    }
    let c = walkers.len() as f64;
    let var = (0..p)
        .map(|a| (sq[a] / c - (mean[a] / c).powi(2)).max(0.0))
        .collect();
    (mean.iter().map(|v| v / c).collect(), var)
}

/// Sums over `chains` chains at θ, `sweeps` steps each after as many again
/// of burn-in: of φ, and of φφᵀ where `second` (p² per step: only where the
/// covariance is needed).
fn chain_sums(
    model: &Model,
    theta: &[f64],
    chains: usize,
    sweeps: usize,
    seed: u64,
    second: bool,
) -> (Vec<f64>, Vec<f64>) {
    let p = model.len();
    let tab = table(model, theta);
    let parts: Vec<(Vec<f64>, Vec<f64>)> = (0..chains as u64)
        .into_par_iter()
        .map(|c| {
            let mut w = Walker::new(model, seed ^ 0x6d6f_6d00, c);
            let mut m1 = vec![0.0; p];
            let mut m2 = vec![0.0; if second { p * p } else { 0 }];
            let mut phi = vec![0.0; p];
            for t in 0..2 * sweeps {
                w.step(model, theta, &tab);
                if t >= sweeps {
                    model.statistics(&w.chain.spins, &mut phi);
                    m1.iter_mut().zip(&phi).for_each(|(m, f)| *m += f);
                    if second {
                        for a in 0..p {
                            for b in 0..p {
                                m2[a * p + b] += phi[a] * phi[b];
                            }
                        }
                    }
                }
            }
            (m1, m2)
        })
        .collect();
    let n = (chains * sweeps) as f64;
    let (mut m1, mut m2) = (vec![0.0; p], vec![0.0; if second { p * p } else { 0 }]);
    for (a, b) in &parts {
        m1.iter_mut().zip(a).for_each(|(x, y)| *x += y / n);
        m2.iter_mut().zip(b).for_each(|(x, y)| *x += y / n);
    }
    (m1, m2)
}

/// ⟨φ⟩ of `model` at θ from `chains` chains (see [`chain_sums`]).
pub fn model_means(
    model: &Model,
    theta: &[f64],
    chains: usize,
    sweeps: usize,
    seed: u64,
) -> Vec<f64> {
    chain_sums(model, theta, chains, sweeps, seed, false).0
}

/// ⟨φ⟩ and Cov(φ) of `model` at θ from `chains` chains (see [`chain_sums`]).
pub fn model_moments(
    model: &Model,
    theta: &[f64],
    chains: usize,
    sweeps: usize,
    seed: u64,
) -> (Vec<f64>, DMatrix<f64>) {
    let p = model.len();
    let (m1, m2) = chain_sums(model, theta, chains, sweeps, seed, true);
    let cov = DMatrix::from_fn(p, p, |a, b| m2[a * p + b] - m1[a] * m1[b]);
    (m1, cov)
}

pub fn fit(model: &Model, data: &Samples, opts: &Options) -> Result<Estimate> {
    if model.len() > 20_000 {
        crate::bail_input!(
            "--method mcmc: {} parameters is too many; use --model tied or bonds",
            model.len()
        );
    }
    let p = model.len();
    let target = data.moments(model);
    let mut theta = vec![0.0; p];
    let mut walkers: Vec<Walker> = (0..opts.chains as u64)
        .map(|c| Walker::new(model, opts.seed, c))
        .collect();
    let half = opts.steps / 2;
    let mut history: Vec<Vec<f64>> = Vec::with_capacity(opts.steps - half);
    for t in 0..opts.steps {
        let tab = table(model, &theta);
        walkers
            .par_iter_mut()
            .for_each(|w| w.step(model, &theta, &tab));
        let (mean, var) = chain_moments(model, &walkers);
        let alpha = opts.lr / (1.0 + t as f64 / 50.0);
        for a in 0..p {
            // the data's spread stands in while the chains have none yet
            let scale = var[a].max(1.0);
            theta[a] += alpha * (target[a] - mean[a]) / scale;
        }
        if theta.iter().any(|v| !v.is_finite()) {
            crate::bail_input!("--method mcmc: the parameters diverged at step {t}; lower --lr");
        }
        if t >= half {
            history.push(theta.clone());
        }
    }
    let kept = history.len() as f64;
    let estimate: Vec<f64> = (0..p)
        .map(|a| history.iter().map(|h| h[a]).sum::<f64>() / kept)
        .collect();
    // Monte Carlo error of the average: ten batch means
    let batches = 10.min(history.len());
    let size = history.len() / batches;
    let mc: Vec<f64> = (0..p)
        .map(|a| {
            let means: Vec<f64> = (0..batches)
                .map(|b| {
                    history[b * size..(b + 1) * size]
                        .iter()
                        .map(|h| h[a])
                        .sum::<f64>()
                        / size as f64
                })
                .collect();
            let mu = means.iter().sum::<f64>() / batches as f64;
            let var =
                means.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / (batches - 1).max(1) as f64;
            (var / batches as f64).sqrt()
        })
        .collect();
    let (_, cov) = model_moments(
        model,
        &estimate,
        opts.chains,
        (opts.steps / 4).max(100),
        opts.seed,
    );
    let inv = cov.cholesky().map(|c| c.inverse());
    let m = data.m as f64;
    let std_error = (0..p)
        .map(|a| {
            let stat = inv
                .as_ref()
                .map_or(f64::NAN, |i| (i[(a, a)] / m).max(0.0).sqrt());
            stat.hypot(mc[a])
        })
        .collect();
    Ok(Estimate {
        theta: estimate,
        std_error,
        iterations: opts.steps,
    })
}
