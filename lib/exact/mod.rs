//! Exact references every sampler is validated against.

pub mod family;
pub mod ising;
pub mod jet;
pub mod tasep;
