//! phasekit: machine learning on statistical-mechanics data.
//!
//! Every algorithm lives in this library; the binaries in `bins/` only parse
//! arguments, call into it and report. Stages talk through Parquet files
//! (see `schemas/`) and ONNX models.

pub mod analysis;
pub mod bundle;
pub mod cli;
pub mod contract;
pub mod cuda;
pub mod error;
pub mod estimate;
pub mod exact;
pub mod fit;
pub mod generate;
pub mod inspect;
pub mod interrupt;
pub mod io;
pub mod maxent;
pub mod meta;
pub mod nn;
pub mod plot;
pub mod report;
pub mod runtime;
pub mod sim;
pub mod train;

pub use error::InputError;
