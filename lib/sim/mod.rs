//! Samplers of statistical-mechanics systems.

pub mod ising;
pub mod rng;
