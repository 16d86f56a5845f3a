//! Estimators with error bars: importance sampling from an autoregressive
//! sampler (`nis`).

pub mod nis;
