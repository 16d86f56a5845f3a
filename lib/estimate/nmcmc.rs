//! Neural MCMC (Nicoli et al. 2020, sec. III.B): an independence Metropolis
//! chain whose proposals are the sampler's own i.i.d. draws, accepted with
//! min(1, w'/w). Its states are exact samples of p asymptotically, at the
//! price of autocorrelation where proposals are rejected.

use rand::Rng;

use super::autocorr::{mean_with_error, Autocorrelation};
use crate::sim::rng::chain_rng;

/// The chain as indices into the proposals, one per step.
#[derive(Clone, Debug)]
pub struct Chain {
    pub states: Vec<usize>,
    pub accepted: usize,
}

impl Chain {
    /// Run over proposals with log weights `log_w`, in their order: the
    /// first is the start, each later one a proposal.
    pub fn run(log_w: &[f64], seed: u64, stream: u64) -> Chain {
        let mut rng = chain_rng(seed, stream);
        let mut current = 0;
        let mut accepted = 0;
        let mut states = Vec::with_capacity(log_w.len());
        states.push(0);
        for (k, &lw) in log_w.iter().enumerate().skip(1) {
            let log_ratio = lw - log_w[current];
            // u drawn every step, so the stream does not depend on outcomes
            let u: f64 = rng.random();
            if log_ratio >= 0.0 || u < log_ratio.exp() {
                current = k;
                accepted += 1;
            }
            states.push(current);
        }
        Chain { states, accepted }
    }

    pub fn acceptance(&self) -> f64 {
        self.accepted as f64 / (self.states.len() - 1).max(1) as f64
    }

    /// ⟨O⟩ along the chain with its τ-corrected σ.
    pub fn mean(&self, o: &[f64]) -> (f64, f64, Autocorrelation) {
        let series: Vec<f64> = self.states.iter().map(|&k| o[k]).collect();
        mean_with_error(&series)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_samples_the_target_of_a_two_state_system() {
        // proposals uniform over {0, 1}, target p(1) = 0.8: w ∝ p/q
        let mut rng = chain_rng(9, 0);
        let states: Vec<f64> = (0..100_000)
            .map(|_| if rng.random::<bool>() { 1.0 } else { 0.0 })
            .collect();
        let log_w: Vec<f64> = states
            .iter()
            .map(|&s| if s > 0.5 { 0.8f64.ln() } else { 0.2f64.ln() })
            .collect();
        let chain = Chain::run(&log_w, 1, 0);
        let (mean, se, ac) = chain.mean(&states);
        assert!((mean - 0.8).abs() < 4.0 * se, "{mean} ± {se}");
        assert!(ac.tau > 0.5, "rejections correlate the chain");
        // mean acceptance Σ_x p(x) Σ_y q(y) min(1, w(y)/w(x)) = 0.2·1 + 0.8·0.625
        assert!((chain.acceptance() - 0.7).abs() < 0.01);
        // proposals with equal weights are always accepted
        assert_eq!(Chain::run(&[0.3; 10], 1, 0).acceptance(), 1.0);
    }
}
