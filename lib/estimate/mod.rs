//! nis-estimate's estimators with error bars: importance sampling from an
//! autoregressive sampler (`nis`), autocorrelation times (`autocorr`), the
//! independence Metropolis chain on the sampler's proposals (`nmcmc`), the
//! sampler file as a checked proposal (`proposal`), the target's energy
//! (`energy`) and the tool's run (`run`).

pub mod autocorr;
pub mod dcl;
pub mod energy;
pub mod nis;
pub mod nmcmc;
pub mod proposal;
pub mod run;
