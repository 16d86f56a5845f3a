//! The open-boundary TASEP: M sites, entry at rate α into site 1, hops to the
//! right at rate 1, exit at rate β from site M.
//!
//! * [`simulate`]: random-sequential dynamics from a random start.
//! * [`paths`]: exact stationary samples for α + β > 1 from the matrix-product
//!   representation as non-negative height paths.

pub mod paths;
pub mod simulate;

/// (1/(M−1)) Σ τ_i (1 − τ_{i+1}): its stationary mean is the current J_M.
pub fn bond_current(state: &[i8]) -> f64 {
    if state.len() < 2 {
        return 0.0;
    }
    let hops = state.windows(2).filter(|w| w[0] == 1 && w[1] == 0).count();
    hops as f64 / (state.len() - 1) as f64
}

pub fn density(state: &[i8]) -> f64 {
    state.iter().map(|&t| t as f64).sum::<f64>() / state.len() as f64
}
