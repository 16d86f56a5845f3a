//! Files on disk: atomic output, Parquet datasets, content hashes, and `-`
//! for standard input and output.

pub mod atomic;
pub mod dataset;
pub mod hash;
pub mod image;
pub mod sink;
pub mod stdio;

pub use atomic::AtomicFile;
pub use dataset::Dataset;
pub use hash::content_hash;
pub use sink::{ParquetSink, SinkOptions};
pub use stdio::{is_stdio, read_input};
