//! Naive mean-field inversion, the known-biased baseline: with C the
//! connected correlation matrix of the data, K_ij = −(C⁻¹)_ij for i ≠ j
//! (C⁻¹ scaled by (M − n − 2)/(M − 1) against its finite-sample bias) and
//! H_i = atanh(m_i) − Σ_j K_ij m_j; a tied parameter is the mean over the
//! pairs (sites) it covers. Standard errors by a 10-block jackknife.

use anyhow::Result;
use nalgebra::DMatrix;

use super::model::Model;
use super::{Estimate, Samples};

/// Largest n whose n×n correlation matrix is inverted (eleven times, with the jackknife).
pub const MAX_SPINS: usize = 1024;
const BLOCKS: usize = 10;

pub fn fit(model: &Model, data: &Samples) -> Result<Estimate> {
    if model.n > MAX_SPINS {
        crate::bail_input!(
            "--method mean-field inverts the {n}×{n} correlation matrix: at most {MAX_SPINS} spins",
            n = model.n
        );
    }
    if data.m < 2 * BLOCKS {
        crate::bail_input!(
            "--method mean-field needs at least {} configurations for its jackknife errors",
            2 * BLOCKS
        );
    }
    // first and second moment sums per block, once; the estimate leaving
    // block b out subtracts its sums from the whole (rows past the last
    // whole block stay in every estimate)
    let block = data.m / BLOCKS;
    let sums = |rows: std::ops::Range<usize>| Moments::of(data, rows);
    let parts: Vec<Moments> = (0..BLOCKS)
        .map(|b| sums(b * block..(b + 1) * block))
        .collect();
    let mut whole = sums(BLOCKS * block..data.m);
    parts.iter().for_each(|p| whole.add(p, 1.0));
    let theta = estimate(model, &whole)?;
    let mut jack = Vec::with_capacity(BLOCKS);
    for p in &parts {
        let mut rest = whole.clone();
        rest.add(p, -1.0);
        jack.push(estimate(model, &rest)?);
    }
    let f = (BLOCKS - 1) as f64 / BLOCKS as f64;
    let std_error = (0..model.len())
        .map(|p| {
            let mean = jack.iter().map(|t| t[p]).sum::<f64>() / BLOCKS as f64;
            (f * jack.iter().map(|t| (t[p] - mean).powi(2)).sum::<f64>()).sqrt()
        })
        .collect();
    Ok(Estimate {
        theta,
        std_error,
        iterations: 1,
    })
}

/// Sums of s_i and s_i s_j over some configurations.
#[derive(Clone)]
struct Moments {
    count: f64,
    first: Vec<f64>,
    second: DMatrix<f64>,
}

impl Moments {
    fn of(data: &Samples, rows: std::ops::Range<usize>) -> Moments {
        let n = data.n;
        let mut m = Moments {
            count: rows.len() as f64,
            first: vec![0.0; n],
            second: DMatrix::zeros(n, n),
        };
        for k in rows {
            let s = data.sample(k);
            for i in 0..n {
                m.first[i] += s[i] as f64;
                for j in 0..n {
                    m.second[(i, j)] += (s[i] * s[j]) as f64;
                }
            }
        }
        m
    }

    /// self += sign · other
    fn add(&mut self, other: &Moments, sign: f64) {
        self.count += sign * other.count;
        self.first
            .iter_mut()
            .zip(&other.first)
            .for_each(|(a, b)| *a += sign * b);
        self.second += &other.second * sign;
    }
}

fn estimate(model: &Model, sums: &Moments) -> Result<Vec<f64>> {
    let n = model.n;
    let m = sums.count;
    let mean: Vec<f64> = sums.first.iter().map(|v| v / m).collect();
    let second = &sums.second;
    let c = DMatrix::from_fn(n, n, |i, j| second[(i, j)] / m - mean[i] * mean[j]);
    let Some(inv) = c.cholesky().map(|ch| ch.inverse()) else {
        crate::bail_input!(
            "--method mean-field: the correlation matrix is singular (fewer configurations than spins, or a spin that never varies)"
        );
    };
    // the inverse of a sample covariance overstates the precision by
    // (M − 1)/(M − n − 2) (the inverse-Wishart mean); undo that, so the bias
    // left is mean field's own and not the sample size's
    let shrink = (m - n as f64 - 2.0) / (m - 1.0);
    if shrink <= 0.0 {
        crate::bail_input!(
            "--method mean-field: {m} configurations for {n} spins; it needs more than n + 2 (use --method pl)"
        );
    }
    let mut theta = vec![0.0; model.len()];
    let counts = model.counts();
    for &(i, j, p) in &model.pairs {
        theta[p as usize] -= shrink * inv[(i as usize, j as usize)] / counts[p as usize];
    }
    // fields from the fitted couplings
    let k_of = |i: usize, j: usize| -> f64 {
        model.neighbours[i]
            .iter()
            .filter(|(q, _)| *q as usize == j)
            .map(|(_, p)| theta[*p as usize])
            .sum()
    };
    let mut h = vec![0.0; model.len()];
    for (i, f) in model.field_of.iter().enumerate() {
        if let Some(p) = f {
            let mi = mean[i].clamp(-1.0 + 1e-12, 1.0 - 1e-12);
            let coupled: f64 = model.neighbours[i]
                .iter()
                .map(|&(j, _)| j as usize)
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .map(|j| k_of(i, j) * mean[j])
                .sum();
            h[*p as usize] += (mi.atanh() - coupled) / counts[*p as usize];
        }
    }
    for (t, v) in theta.iter_mut().zip(h) {
        *t += v;
    }
    Ok(theta)
}
