//! The 2D Ising model on an L×L periodic square lattice,
//! E = −J Σ⟨ij⟩ s_i s_j − h Σ_i s_i.
//!
//! * [`lattice`]: spins in checkerboard (two-sublattice) layout.
//! * [`kernel`]: Metropolis and Glauber sweeps, vectorised per instruction set.
//! * [`cluster`]: Swendsen–Wang with a ghost spin for the field.
//! * [`chain`]: one Markov chain from its seed to its recorded configurations.

pub mod chain;
pub mod cluster;
pub mod kernel;
pub mod lattice;

pub use chain::{run_chain, Algorithm, ChainSpec, Init, Record};
pub use kernel::Isa;
pub use lattice::Lattice;
