//! Integrated autocorrelation times with Sokal's automatic windowing, and
//! the error of a mean over a correlated series.

/// τ_int of a series and the window it was summed over.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Autocorrelation {
    /// τ_int = ½ + Σ_{t=1}^{W} ρ(t); 0.5 for an uncorrelated series
    pub tau: f64,
    pub window: usize,
    /// Madras–Sokal: σ(τ)² ≈ 2(2W + 1)/M · τ²
    pub tau_sigma: f64,
}

/// The window constant: W is the first lag with W ≥ C · τ(W) (Sokal's c ≈ 5–6).
const WINDOW_C: f64 = 6.0;

/// τ_int of `x` by automatic windowing. A constant series has τ = 0.5.
pub fn integrated_time(x: &[f64]) -> Autocorrelation {
    let m = x.len();
    let mean = x.iter().sum::<f64>() / m.max(1) as f64;
    let d: Vec<f64> = x.iter().map(|v| v - mean).collect();
    let c0 = d.iter().map(|v| v * v).sum::<f64>() / m.max(1) as f64;
    let mut tau = 0.5;
    let mut window = 0;
    if c0 > 0.0 {
        for t in 1..m / 2 {
            let ct = d[..m - t]
                .iter()
                .zip(&d[t..])
                .map(|(a, b)| a * b)
                .sum::<f64>()
                / (m - t) as f64;
            tau += ct / c0;
            window = t;
            if t as f64 >= WINDOW_C * tau {
                break;
            }
        }
    }
    // a noisy negative sum never makes the error smaller than uncorrelated
    let tau = tau.max(0.5);
    Autocorrelation {
        tau,
        window,
        tau_sigma: tau * (2.0 * (2 * window + 1) as f64 / m.max(1) as f64).sqrt(),
    }
}

/// The mean of a correlated series with σ = √(2τ Var / M).
pub fn mean_with_error(x: &[f64]) -> (f64, f64, Autocorrelation) {
    let m = x.len() as f64;
    let mean = x.iter().sum::<f64>() / m;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (m - 1.0).max(1.0);
    let ac = integrated_time(x);
    (mean, (2.0 * ac.tau * var / m).sqrt(), ac)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::rng::chain_rng;
    use rand::Rng;

    /// An AR(1) series x_t = a x_{t−1} + ε has τ_int = ½ (1 + a)/(1 − a).
    fn ar1(a: f64, m: usize, seed: u64) -> Vec<f64> {
        let mut rng = chain_rng(seed, 0);
        let mut x = 0.0;
        (0..m)
            .map(|_| {
                // a uniform innovation of unit variance is enough for τ
                x = a * x + (rng.random::<f64>() - 0.5) * 12f64.sqrt();
                x
            })
            .collect()
    }

    #[test]
    fn ar1_tau_matches_the_closed_form_within_its_error() {
        for (a, seed) in [(0.0, 1), (0.5, 2), (0.9, 3)] {
            let ac = integrated_time(&ar1(a, 200_000, seed));
            let exact = 0.5 * (1.0 + a) / (1.0 - a);
            let z = (ac.tau - exact) / ac.tau_sigma;
            assert!(
                z.abs() < 4.0,
                "a {a}: τ {} ± {} vs {exact}",
                ac.tau,
                ac.tau_sigma
            );
        }
    }

    #[test]
    fn the_error_of_a_correlated_mean_is_honest_over_seeds() {
        // AR(1) with a = 0.8 (τ = 4.5) has mean 0: the pulls over 40 seeds
        let pulls: Vec<f64> = (0..40)
            .map(|s| {
                let (m, se, _) = mean_with_error(&ar1(0.8, 20_000, 100 + s));
                m / se
            })
            .collect();
        let rms = (pulls.iter().map(|z| z * z).sum::<f64>() / pulls.len() as f64).sqrt();
        assert!(pulls.iter().all(|z| z.abs() < 4.0), "{pulls:?}");
        assert!((0.7..1.3).contains(&rms), "rms pull {rms}");
        assert_eq!(integrated_time(&[2.0; 50]).tau, 0.5);
    }
}
