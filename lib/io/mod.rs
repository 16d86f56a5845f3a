//! Files on disk: atomic output, Parquet datasets, content hashes.

pub mod atomic;
pub mod dataset;
pub mod hash;
pub mod sink;

pub use atomic::AtomicFile;
pub use dataset::Dataset;
pub use hash::content_hash;
pub use sink::{ParquetSink, SinkOptions};
