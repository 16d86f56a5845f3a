//! Samplers of statistical-mechanics systems.

pub mod couplings;
pub mod ising;
pub mod replicas;
pub mod rng;
pub mod tasep;
pub mod tiles;
