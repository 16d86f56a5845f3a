//! Pseudo-likelihood: maximise Σ_samples Σ_i ln p(s_i | s_rest) =
//! Σ [s_i f_i − ln 2cosh f_i], f_i the local field, which is linear in θ, so
//! the objective is concave and Newton's method converges in a few steps.
//! Standard errors come from the sandwich H⁻¹ V H⁻¹ (V the per-sample
//! gradients' outer products): the pseudo-likelihood is not a likelihood, so
//! its inverse Hessian alone would understate them. With fewer than
//! [`MIN_SANDWICH`] configurations (one image) only H⁻¹ is left.
//!
//! Three paths: a tied lattice model counts (s_i, Σ neighbours) classes
//! once, so each Newton step costs ten terms per sample; `pairs` solves one
//! logistic regression per site and averages K_ij with K_ji (as ConIII's
//! pseudo-likelihood does); every other model takes full Newton steps.

use anyhow::Result;
use nalgebra::{DMatrix, DVector};
use rayon::prelude::*;

use super::model::{Couplings, Fields, Model};
use super::{Estimate, Samples};

/// Newton stops when no parameter moves more than this.
const TOLERANCE: f64 = 1e-10;
const MAX_ITERATIONS: usize = 100;
/// Samples per parallel block (fixed, so sums do not depend on threads).
const BLOCK: usize = 64;
/// Full Newton steps are refused above this many parameters.
pub const MAX_NEWTON_PARAMS: usize = 4000;

/// ln 2cosh f, stable for large |f|.
fn ln_2cosh(f: f64) -> f64 {
    let a = f.abs();
    a + (-2.0 * a).exp().ln_1p()
}

/// Fit `model` to `data` by pseudo-likelihood.
pub fn fit(model: &Model, data: &Samples) -> Result<Estimate> {
    let tied = model.couplings == Couplings::Tied && model.fields != Fields::Site;
    if tied {
        return fit_tied(model, data);
    }
    if model.couplings == Couplings::Pairs {
        return fit_pairs(model, data);
    }
    if model.len() > MAX_NEWTON_PARAMS {
        crate::bail_input!(
            "--method pl: {} parameters is more than the {MAX_NEWTON_PARAMS} a full Newton step can take; use --model tied or a smaller lattice",
            model.len()
        );
    }
    fit_general(model, data)
}

/// Objective, gradient and Hessian of a sum of logistic terms; `sample`
/// adds one sample's (value, its gradient, Hessian) at θ.
struct Sums {
    value: f64,
    grad: Vec<f64>,
    hess: Vec<f64>,
}

impl Sums {
    fn zero(p: usize) -> Sums {
        Sums {
            value: 0.0,
            grad: vec![0.0; p],
            hess: vec![0.0; p * p],
        }
    }

    fn add(mut self, o: &Sums) -> Sums {
        self.value += o.value;
        self.grad.iter_mut().zip(&o.grad).for_each(|(a, b)| *a += b);
        self.hess.iter_mut().zip(&o.hess).for_each(|(a, b)| *a += b);
        self
    }
}

/// Sum per block of samples in parallel, then the blocks in order.
fn sum_blocks(m: usize, p: usize, block: impl Fn(std::ops::Range<usize>) -> Sums + Sync) -> Sums {
    let starts: Vec<usize> = (0..m).step_by(BLOCK).collect();
    let parts: Vec<Sums> = starts
        .par_iter()
        .map(|&a| block(a..(a + BLOCK).min(m)))
        .collect();
    parts.iter().fold(Sums::zero(p), Sums::add)
}

/// Newton's method on a concave objective with backtracking; `eval(θ)`
/// returns the sums at θ. Returns θ, the negative Hessian there and the steps.
fn newton(
    p: usize,
    what: &str,
    eval: impl Fn(&[f64]) -> Sums,
) -> Result<(Vec<f64>, DMatrix<f64>, usize)> {
    let mut theta = vec![0.0; p];
    let mut s = eval(&theta);
    for it in 1..=MAX_ITERATIONS {
        let neg_h = -DMatrix::from_row_slice(p, p, &s.hess);
        let Some(chol) = neg_h.clone().cholesky() else {
            crate::bail_input!(
                "{what}: the pseudo-likelihood has no finite maximum (some spin or pair never varies in the data: \
                 all-equal configurations, or too few of them)"
            );
        };
        let step = chol.solve(&DVector::from_column_slice(&s.grad));
        let mut t = 1.0;
        let next = loop {
            let cand: Vec<f64> = theta
                .iter()
                .zip(step.iter())
                .map(|(a, d)| a + t * d)
                .collect();
            let c = eval(&cand);
            if c.value >= s.value - 1e-12 * s.value.abs() || t < 1e-6 {
                break (cand, c);
            }
            t *= 0.5;
        };
        let moved = step.iter().map(|d| (t * d).abs()).fold(0.0, f64::max);
        theta = next.0;
        s = next.1;
        if moved < TOLERANCE {
            return Ok((theta, -DMatrix::from_row_slice(p, p, &s.hess), it));
        }
    }
    crate::bail_input!("{what}: Newton's method did not converge in {MAX_ITERATIONS} steps")
}

/// Fewer configurations than this (one image, say) give the inverse
/// Hessian as the covariance: the sandwich needs many samples' gradients.
pub const MIN_SANDWICH: usize = 20;

/// The sandwich covariance H⁻¹ V H⁻¹ from the negative Hessian and the
/// per-sample gradients' outer-product sum of `m` samples; below
/// [`MIN_SANDWICH`] samples, H⁻¹ alone.
fn sandwich(neg_h: &DMatrix<f64>, v: &DMatrix<f64>, m: usize) -> Vec<f64> {
    let inv = neg_h
        .clone()
        .cholesky()
        .map(|c| c.inverse())
        .unwrap_or_else(|| DMatrix::from_element(neg_h.nrows(), neg_h.ncols(), f64::NAN));
    let cov = if m < MIN_SANDWICH {
        inv
    } else {
        &inv * v * &inv
    };
    (0..cov.nrows())
        .map(|i| cov[(i, i)].max(0.0).sqrt())
        .collect()
}

/// Per-sample gradients' outer products, summed in parallel blocks.
fn outer_sum(m: usize, p: usize, grad_of: impl Fn(usize, &mut [f64]) + Sync) -> DMatrix<f64> {
    let s = sum_blocks(m, p, |r| {
        let mut acc = Sums::zero(p);
        let mut g = vec![0.0; p];
        for k in r {
            grad_of(k, &mut g);
            for a in 0..p {
                for b in 0..p {
                    acc.hess[a * p + b] += g[a] * g[b];
                }
            }
        }
        acc
    });
    DMatrix::from_row_slice(p, p, &s.hess)
}

/// Tied K (and a uniform H): the local field is K·(Σ neighbours) + H, so a
/// sample is summarised by the counts of its (s_i, Σ neighbours) classes.
fn fit_tied(model: &Model, data: &Samples) -> Result<Estimate> {
    let p = model.len();
    let with_h = model.fields == Fields::Uniform;
    let l = model.l;
    // class = (s + 1)/2 · 5 + (Σ nb + 4)/2
    let counts: Vec<[u32; 10]> = (0..data.m)
        .into_par_iter()
        .map(|k| {
            let s = data.sample(k);
            let mut c = [0u32; 10];
            for i in 0..l * l {
                let nb: i32 = model.neighbours[i]
                    .iter()
                    .map(|&(j, _)| s[j as usize] as i32)
                    .sum();
                c[((s[i] as i32 + 1) / 2 * 5 + (nb + 4) / 2) as usize] += 1;
            }
            c
        })
        .collect();
    let class = |c: usize| ((2 * (c / 5)) as f64 - 1.0, (2 * (c % 5)) as f64 - 4.0);
    let features = |nb: f64| if with_h { vec![nb, 1.0] } else { vec![nb] };
    let total: Vec<f64> = (0..10)
        .map(|c| counts.iter().map(|k| k[c] as f64).sum())
        .collect();
    let eval = |theta: &[f64]| {
        let mut s = Sums::zero(p);
        for (c, &n) in total.iter().enumerate() {
            let (si, nb) = class(c);
            let a = features(nb);
            let f: f64 = a.iter().zip(theta).map(|(x, t)| x * t).sum();
            let (t, w) = (f.tanh(), 1.0 - f.tanh().powi(2));
            s.value += n * (si * f - ln_2cosh(f));
            for x in 0..p {
                s.grad[x] += n * (si - t) * a[x];
                for y in 0..p {
                    s.hess[x * p + y] -= n * w * a[x] * a[y];
                }
            }
        }
        s
    };
    let (theta, neg_h, iterations) = newton(p, "--method pl", eval)?;
    let v = outer_sum(data.m, p, |k, g| {
        g.iter_mut().for_each(|x| *x = 0.0);
        for (c, &n) in counts[k].iter().enumerate() {
            let (si, nb) = class(c);
            let a = features(nb);
            let f: f64 = a.iter().zip(&theta).map(|(x, t)| x * t).sum();
            for x in 0..p {
                g[x] += n as f64 * (si - f.tanh()) * a[x];
            }
        }
    });
    Ok(Estimate {
        std_error: sandwich(&neg_h, &v, data.m),
        theta,
        iterations,
    })
}

/// The gradient features of site i in sample s: (parameter, coefficient)
/// pairs of ∂f_i/∂θ, duplicates summed.
fn site_features(model: &Model, s: &[i8], i: usize, out: &mut Vec<(usize, f64)>) {
    out.clear();
    for &(j, p) in &model.neighbours[i] {
        let (p, x) = (p as usize, s[j as usize] as f64);
        match out.iter_mut().find(|(q, _)| *q == p) {
            Some(e) => e.1 += x,
            None => out.push((p, x)),
        }
    }
    if let Some(p) = model.field_of[i] {
        out.push((p as usize, 1.0));
    }
}

/// Full Newton over every parameter (bonds, site fields).
fn fit_general(model: &Model, data: &Samples) -> Result<Estimate> {
    let p = model.len();
    let eval = |theta: &[f64]| {
        sum_blocks(data.m, p, |r| {
            let mut acc = Sums::zero(p);
            let mut a = Vec::new();
            for k in r {
                let s = data.sample(k);
                for i in 0..model.n {
                    site_features(model, s, i, &mut a);
                    let f: f64 = a.iter().map(|&(q, x)| theta[q] * x).sum();
                    let (si, t) = (s[i] as f64, f.tanh());
                    let w = 1.0 - t * t;
                    acc.value += si * f - ln_2cosh(f);
                    for &(x, ax) in &a {
                        acc.grad[x] += (si - t) * ax;
                        for &(y, ay) in &a {
                            acc.hess[x * p + y] -= w * ax * ay;
                        }
                    }
                }
            }
            acc
        })
    };
    let (theta, neg_h, iterations) = newton(p, "--method pl", eval)?;
    let v = outer_sum(data.m, p, |k, g| {
        g.iter_mut().for_each(|x| *x = 0.0);
        let s = data.sample(k);
        let mut a = Vec::new();
        for i in 0..model.n {
            site_features(model, s, i, &mut a);
            let f: f64 = a.iter().map(|&(q, x)| theta[q] * x).sum();
            let r = s[i] as f64 - f.tanh();
            for &(x, ax) in &a {
                g[x] += r * ax;
            }
        }
    });
    Ok(Estimate {
        std_error: sandwich(&neg_h, &v, data.m),
        theta,
        iterations,
    })
}

/// Every pair: one logistic regression of s_i on the other spins per site
/// (parameters K_i· and H_i), then K_ij = (K_ij + K_ji)/2 and σ the mean of
/// the two rows' σ.
fn fit_pairs(model: &Model, data: &Samples) -> Result<Estimate> {
    let n = model.n;
    let with_h = model.fields != Fields::None;
    let q = n - 1 + with_h as usize;
    let rows: Vec<(Vec<f64>, Vec<f64>, usize)> = (0..n)
        .map(|i| {
            let x = |s: &[i8], out: &mut Vec<f64>| {
                out.clear();
                out.extend((0..n).filter(|&j| j != i).map(|j| s[j] as f64));
                if with_h {
                    out.push(1.0);
                }
            };
            let eval = |theta: &[f64]| {
                sum_blocks(data.m, q, |r| {
                    let mut acc = Sums::zero(q);
                    let mut a = Vec::with_capacity(q);
                    for k in r {
                        let s = data.sample(k);
                        x(s, &mut a);
                        let f: f64 = a.iter().zip(theta).map(|(u, t)| u * t).sum();
                        let (si, t) = (s[i] as f64, f.tanh());
                        acc.value += si * f - ln_2cosh(f);
                        for u in 0..q {
                            acc.grad[u] += (si - t) * a[u];
                            for v in 0..q {
                                acc.hess[u * q + v] -= (1.0 - t * t) * a[u] * a[v];
                            }
                        }
                    }
                    acc
                })
            };
            let what = format!("--method pl, spin {i}");
            let (theta, neg_h, it) = newton(q, &what, eval)?;
            let v = outer_sum(data.m, q, |k, g| {
                let s = data.sample(k);
                let mut a = Vec::with_capacity(q);
                x(s, &mut a);
                let f: f64 = a.iter().zip(&theta).map(|(u, t)| u * t).sum();
                let r = s[i] as f64 - f.tanh();
                g.iter_mut().zip(&a).for_each(|(gv, av)| *gv = r * av);
            });
            Ok((theta, sandwich(&neg_h, &v, data.m), it))
        })
        .collect::<Result<_>>()?;
    // row i's coefficient of spin j sits at j (j < i) or j − 1 (j > i)
    let at = |i: usize, j: usize| if j < i { j } else { j - 1 };
    let mut theta = vec![0.0; model.len()];
    let mut se = vec![0.0; model.len()];
    for &(i, j, p) in &model.pairs {
        let (i, j) = (i as usize, j as usize);
        theta[p as usize] = 0.5 * (rows[i].0[at(i, j)] + rows[j].0[at(j, i)]);
        // the two rows estimate K_ij from the same samples and move together,
        // so the σ of their mean is the mean of their σ's (combined as if
        // independent, all 4950 pairs of a 10×10 lattice had pulls of spread 1.48)
        se[p as usize] = 0.5 * (rows[i].1[at(i, j)] + rows[j].1[at(j, i)]);
    }
    match model.fields {
        Fields::None => {}
        Fields::Site => {
            for (i, f) in model.field_of.iter().enumerate() {
                let p = f.expect("site field") as usize;
                theta[p] = rows[i].0[q - 1];
                se[p] = rows[i].1[q - 1];
            }
        }
        Fields::Uniform => {
            let p = model.field_of[0].expect("uniform field") as usize;
            theta[p] = rows.iter().map(|r| r.0[q - 1]).sum::<f64>() / n as f64;
            se[p] = rows.iter().map(|r| r.1[q - 1].powi(2)).sum::<f64>().sqrt() / n as f64;
        }
    }
    Ok(Estimate {
        theta,
        std_error: se,
        iterations: rows.iter().map(|r| r.2).max().unwrap_or(0),
    })
}
