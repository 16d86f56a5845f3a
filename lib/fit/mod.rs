//! Training stages: data assembly, training loops, prediction, reports.

pub mod data;
pub mod figures;
pub mod posterior;
pub mod predict;
