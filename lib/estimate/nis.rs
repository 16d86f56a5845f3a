//! Neural importance sampling (Nicoli et al., PRE 101, 023304): for
//! configurations s_k drawn from q, the weights w_k = e^{−βE(s_k)} / q(s_k)
//! estimate Z = E_q[w] without bias and expectations under p = e^{−βE}/Z by
//! self-normalisation. Everything is in f64 and in log space, weights scaled
//! by their largest value, so no weight overflows.

use rand::Rng;

use crate::sim::rng::chain_rng;

/// Importance weights of M configurations.
#[derive(Clone, Debug)]
pub struct Weights {
    /// log w_k = −βE_k − log q_k
    log_w: Vec<f64>,
    /// w_k / max_k w_k
    scaled: Vec<f64>,
    log_max: f64,
}

/// A value with its standard error.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    pub value: f64,
    pub sigma: f64,
}

impl Weights {
    /// From log w; a non-finite one is refused with its index.
    pub fn new(log_w: Vec<f64>) -> Result<Weights, String> {
        if log_w.is_empty() {
            return Err("no samples".into());
        }
        if let Some(k) = log_w.iter().position(|v| !v.is_finite()) {
            return Err(format!("log weight of sample {k} is {}", log_w[k]));
        }
        let log_max = log_w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let scaled = log_w.iter().map(|v| (v - log_max).exp()).collect();
        Ok(Weights {
            log_w,
            scaled,
            log_max,
        })
    }

    /// From energies, log q and β.
    pub fn from_energies(energies: &[f64], log_q: &[f64], beta: f64) -> Result<Weights, String> {
        Weights::new(
            energies
                .iter()
                .zip(log_q)
                .map(|(e, q)| -beta * e - q)
                .collect(),
        )
    }

    pub fn len(&self) -> usize {
        self.log_w.len()
    }

    pub fn is_empty(&self) -> bool {
        self.log_w.is_empty()
    }

    fn sums(&self) -> (f64, f64) {
        self.scaled
            .iter()
            .fold((0.0, 0.0), |(a, b), w| (a + w, b + w * w))
    }

    /// ln Ẑ = logsumexp(log w) − ln M, with the delta-method σ:
    /// σ(ln Ẑ)² = Var(w) / (M ⟨w⟩²).
    pub fn ln_z(&self) -> Estimate {
        let m = self.len() as f64;
        let (s1, s2) = self.sums();
        let mean = s1 / m;
        let var = (s2 / m - mean * mean).max(0.0) * m / (m - 1.0).max(1.0);
        Estimate {
            value: self.log_max + mean.ln(),
            sigma: (var / (m * mean * mean)).sqrt(),
        }
    }

    /// The leading bias of ln Ẑ, −(⟨w̃²⟩ − 1)/(2M) with w̃ the weights
    /// normalised to mean 1 (ln of an unbiased Ẑ is biased low).
    pub fn ln_z_bias(&self) -> f64 {
        let m = self.len() as f64;
        let (s1, s2) = self.sums();
        -((s2 / m) / (s1 / m).powi(2) - 1.0) / (2.0 * m)
    }

    /// ESS/M = (Σw)² / (M Σw²).
    pub fn ess_fraction(&self) -> f64 {
        let (s1, s2) = self.sums();
        s1 * s1 / (self.len() as f64 * s2)
    }

    /// Self-normalised ⟨O⟩_p = Σ w O / Σ w, with the delta-method σ:
    /// σ² = Σ w² (O − ⟨O⟩)² / (Σ w)².
    pub fn mean(&self, o: &[f64]) -> Estimate {
        let (s1, _) = self.sums();
        let value = self.scaled.iter().zip(o).map(|(w, x)| w * x).sum::<f64>() / s1;
        let var = self
            .scaled
            .iter()
            .zip(o)
            .map(|(w, x)| (w * (x - value)).powi(2))
            .sum::<f64>()
            / (s1 * s1);
        Estimate {
            value,
            sigma: var.sqrt(),
        }
    }

    /// w̃_k = w_k / mean(w): the weights normalised to mean 1.
    pub fn normalised(&self) -> Vec<f64> {
        let mean = self.sums().0 / self.len() as f64;
        self.scaled.iter().map(|w| w / mean).collect()
    }

    /// The influence of each sample on ln Ẑ, w̃ − 1: for an estimate built
    /// from several of these, σ² = Σ_k φ_k² / M² (delta method).
    pub fn ln_z_influence(&self) -> Vec<f64> {
        self.normalised().into_iter().map(|w| w - 1.0).collect()
    }

    /// ⟨O⟩_p and each sample's influence on it, w̃ (O − ⟨O⟩).
    pub fn mean_influence(&self, o: &[f64]) -> (f64, Vec<f64>) {
        let value = self.mean(o).value;
        let phi = self
            .normalised()
            .iter()
            .zip(o)
            .map(|(w, x)| w * (x - value))
            .collect();
        (value, phi)
    }

    /// The self-normalised variance ⟨(O − ⟨O⟩)²⟩_p with its delta-method σ
    /// (influence w̃ ((O − ⟨O⟩)² − V); the mean's own term vanishes).
    pub fn variance(&self, o: &[f64]) -> Estimate {
        let mu = self.mean(o).value;
        let sq: Vec<f64> = o.iter().map(|x| (x - mu).powi(2)).collect();
        self.mean(&sq)
    }

    /// The log weights as given.
    pub fn log_w(&self) -> &[f64] {
        &self.log_w
    }

    /// mean(log w) = ln Z − KL(q‖p), the variational bound, with σ.
    pub fn mean_log_w(&self) -> Estimate {
        let m = self.len() as f64;
        let mean = self.log_w.iter().sum::<f64>() / m;
        let var = self.log_w.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (m - 1.0).max(1.0);
        Estimate {
            value: mean,
            sigma: (var / m).sqrt(),
        }
    }

    /// KL(q‖p) = ln Ẑ − mean(log w) ≥ 0, with the σ of the difference.
    pub fn kl(&self) -> Estimate {
        let mean = self.mean_log_w().value;
        let phi: Vec<f64> = self
            .ln_z_influence()
            .iter()
            .zip(&self.log_w)
            .map(|(a, lw)| a - (lw - mean))
            .collect();
        Estimate {
            value: self.ln_z().value - mean,
            sigma: sigma_of(&phi),
        }
    }

    /// The bootstrap σ of ln Ẑ over `rounds` resamplings (seeded).
    pub fn bootstrap_ln_z(&self, rounds: usize, seed: u64) -> f64 {
        let m = self.len();
        let values: Vec<f64> = (0..rounds)
            .map(|r| {
                let mut rng = chain_rng(seed, r as u64);
                let s: f64 = (0..m).map(|_| self.scaled[rng.random_range(0..m)]).sum();
                self.log_max + (s / m as f64).ln()
            })
            .collect();
        let mean = values.iter().sum::<f64>() / rounds as f64;
        (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (rounds as f64 - 1.0).max(1.0))
            .sqrt()
    }
}

/// σ of an estimate from its per-sample influences: √(Σ φ²)/M.
pub fn sigma_of(phi: &[f64]) -> f64 {
    phi.iter().map(|v| v * v).sum::<f64>().sqrt() / phi.len() as f64
}

/// The p-estimator of ln Z from samples of p (e.g. Swendsen–Wang):
/// 1/Z = E_p[q/e^{−βE}] = E_p[1/w], so ln Ẑ_p = −ln mean(1/w). Its σ takes
/// the chain's autocorrelation into account (τ of 1/w in file order).
pub fn ln_z_from_p(log_w: &[f64]) -> Result<(Estimate, f64), String> {
    let inv = Weights::new(log_w.iter().map(|v| -v).collect())?;
    let est = inv.ln_z();
    let tau = super::autocorr::integrated_time(&inv.scaled).tau;
    Ok((
        Estimate {
            value: -est.value,
            sigma: est.sigma * (2.0 * tau).sqrt(),
        },
        tau,
    ))
}

/// The mode-dropping estimator ŵ = Ẑ_q / Ẑ_p (≈ 1 when q covers p; the
/// fraction of p's mass that q reaches when it drops modes), with σ.
pub fn mode_dropping(ln_z_q: Estimate, ln_z_p: Estimate) -> Estimate {
    let value = (ln_z_q.value - ln_z_p.value).exp();
    Estimate {
        value,
        sigma: value * (ln_z_q.sigma.powi(2) + ln_z_p.sigma.powi(2)).sqrt(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exact::ising::brute_force;
    use crate::sim::ising::lattice::energy;

    /// Draws from a product of independent spins, P(s_i = +1) = p (log q exact).
    fn independent(seed: u64, m: usize, n: usize, p: f64) -> (Vec<Vec<i8>>, Vec<f64>) {
        let mut rng = chain_rng(seed, 0);
        (0..m)
            .map(|_| {
                let s: Vec<i8> = (0..n)
                    .map(|_| if rng.random::<f64>() < p { 1 } else { -1 })
                    .collect();
                let lq: f64 = s
                    .iter()
                    .map(|&v| if v > 0 { p.ln() } else { (1.0 - p).ln() })
                    .sum();
                (s, lq)
            })
            .unzip()
    }

    #[test]
    fn estimates_at_l4_match_exact_enumeration_within_their_errors() {
        let (l, t, h) = (4usize, 2.5, 0.3);
        let beta = 1.0 / t;
        let exact = brute_force(l, l, t, h, 1.0);
        let n = (l * l) as f64;
        let mut pulls = Vec::new();
        for seed in 0..5 {
            let (states, log_q) = independent(seed, 200_000, l * l, 0.62);
            let e: Vec<f64> = states.iter().map(|s| energy(s, l, 1.0, h)).collect();
            let w = Weights::from_energies(&e, &log_q, beta).unwrap();
            let ln_z = w.ln_z();
            let u = w.mean(&e.iter().map(|x| x / n).collect::<Vec<_>>());
            let am = w.mean(
                &states
                    .iter()
                    .map(|s| (s.iter().map(|&v| v as f64).sum::<f64>() / n).abs())
                    .collect::<Vec<_>>(),
            );
            let boot = w.bootstrap_ln_z(100, seed);
            for (name, est, reference) in [
                ("ln Z", ln_z, exact.ln_z),
                ("U/N", u, exact.energy),
                ("|M|/N", am, exact.abs_magnetization),
            ] {
                let z = (est.value - reference) / est.sigma;
                println!(
                    "seed {seed} {name}: {:.6} ± {:.2e} (exact {reference:.6}, pull {z:+.2})",
                    est.value, est.sigma
                );
                pulls.push(z);
            }
            assert!(
                (boot / ln_z.sigma - 1.0).abs() < 0.3,
                "bootstrap σ {boot} vs delta {}",
                ln_z.sigma
            );
            assert!(w.ess_fraction() > 0.0 && w.ess_fraction() <= 1.0);
            assert!(w.ln_z_bias() <= 0.0);
        }
        assert!(pulls.iter().all(|z| z.abs() < 3.0), "{pulls:?}");
        let mean_abs = pulls.iter().map(|z| z.abs()).sum::<f64>() / pulls.len() as f64;
        assert!(mean_abs < 1.5, "mean |pull| {mean_abs}");
    }

    #[test]
    fn exact_sampling_gives_unit_weights() {
        // q = p: every weight is Z, ESS is M, the estimate exact with zero σ
        let w = Weights::new(vec![3.5; 10]).unwrap();
        assert!((w.ln_z().value - 3.5).abs() < 1e-12 && w.ln_z().sigma < 1e-12);
        assert!((w.ess_fraction() - 1.0).abs() < 1e-12);
        assert!(Weights::new(vec![0.0, f64::NAN])
            .unwrap_err()
            .contains("sample 1"));
    }
}
