//! Inverse Ising by maximum entropy (the max-ent notes, issue 18): the
//! distribution of largest entropy that matches the data's first and second
//! moments is P(s) ∝ exp(Σ K_ij s_i s_j + Σ H_i s_i). This sign convention
//! makes the notes' moment matching an ascent:
//! K ← K + α(⟨s_i s_j⟩_data − ⟨s_i s_j⟩_model), H ← H + α(⟨s_i⟩_data − ⟨s_i⟩_model).
//! (The notes write P ∝ e^{−Σ J s s − Σ h s}, for which their update is a
//! descent, and swap the labels of d log Z/dJ and d log Z/dh.)
//!
//! Methods: pseudo-likelihood ([`pl`]), persistent-chain moment matching
//! ([`mcmc`]), naive mean field ([`meanfield`]), Kaufman's exact solution for
//! a tied K at h = 0 and exact gradients by enumeration ([`exact`]).

pub mod exact;
pub mod mcmc;
pub mod meanfield;
pub mod model;
pub mod pl;

use anyhow::Result;
use serde::Serialize;

pub use model::{Couplings, Fields, Model};

/// Configurations as ±1 spins, one row of `n` per sample.
#[derive(Clone, Debug)]
pub struct Samples {
    pub n: usize,
    pub m: usize,
    pub spins: Vec<i8>,
}

impl Samples {
    pub fn sample(&self, k: usize) -> &[i8] {
        &self.spins[k * self.n..(k + 1) * self.n]
    }

    /// The mean sufficient statistics ⟨φ⟩ of the data under `model`.
    pub fn moments(&self, model: &Model) -> Vec<f64> {
        let mut sum = vec![0.0; model.len()];
        let mut phi = vec![0.0; model.len()];
        for k in 0..self.m {
            model.statistics(self.sample(k), &mut phi);
            sum.iter_mut().zip(&phi).for_each(|(a, b)| *a += b);
        }
        sum.iter().map(|v| v / self.m as f64).collect()
    }
}

/// A fit: the parameters in [`Model::terms`] order and their standard errors.
#[derive(Clone, Debug)]
pub struct Estimate {
    pub theta: Vec<f64>,
    pub std_error: Vec<f64>,
    /// Newton steps, or chain steps for mcmc
    pub iterations: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Pseudo-likelihood (convex; Newton), standard errors by the sandwich.
    Pl,
    /// The notes' moment matching with persistent Markov chains and a decreasing step.
    Mcmc,
    /// Naive mean field: K = −(C⁻¹) off the diagonal (known to be biased).
    MeanField,
    /// Tied K at h = 0: solve Kaufman's ⟨s_i s_j⟩_nn(K) = the data's.
    Exact,
    /// Exact likelihood by enumerating all 2^n states (n ≤ 20).
    Enum,
}

/// Settings of the iterative methods.
#[derive(Clone, Debug)]
pub struct Options {
    pub steps: usize,
    pub lr: f64,
    pub chains: usize,
    pub seed: u64,
}

/// Fit `model` to `data` with `method`.
pub fn fit(method: Method, model: &Model, data: &Samples, opts: &Options) -> Result<Estimate> {
    match method {
        Method::Pl => pl::fit(model, data),
        Method::Mcmc => mcmc::fit(model, data, opts),
        Method::MeanField => meanfield::fit(model, data),
        Method::Exact => exact::kaufman_fit(model, data),
        Method::Enum => exact::enumeration_fit(model, data),
    }
}
