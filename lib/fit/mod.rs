//! Training stages: data assembly, training loops, prediction, reports.

pub mod data;
pub mod ednn;
pub mod icnn;
pub mod maxent;
pub mod posterior;
pub mod posteriors;
pub mod predict;
pub mod sampler;
pub mod vae;
pub mod vae_report;
