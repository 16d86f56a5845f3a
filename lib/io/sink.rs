//! Streaming, atomic Parquet output with phasekit footer metadata.
//!
//! Rows are written as Arrow record batches; the writer flushes a row group
//! whenever its encoded size passes `row_group_bytes`, so memory stays flat
//! however many rows a run produces. Nothing time-dependent goes into the
//! file, so identical content gives identical bytes.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use super::atomic::AtomicFile;
use crate::meta::FileMeta;

#[derive(Clone, Debug)]
pub struct SinkOptions {
    /// Flush a row group once its encoded size passes this many bytes.
    pub row_group_bytes: usize,
    /// Upper bound on rows per row group.
    pub row_group_rows: usize,
    pub zstd_level: i32,
}

impl Default for SinkOptions {
    fn default() -> Self {
        SinkOptions {
            row_group_bytes: 32 << 20,
            row_group_rows: 1 << 20,
            zstd_level: 3,
        }
    }
}

pub struct ParquetSink {
    writer: ArrowWriter<Box<dyn Write + Send>>,
    file: AtomicFile,
    rows: u64,
}

impl ParquetSink {
    pub fn create(
        target: &Path,
        schema: SchemaRef,
        meta: &FileMeta,
        opts: &SinkOptions,
    ) -> Result<ParquetSink> {
        let file = AtomicFile::create(target)?;
        let pairs = meta.to_key_values();
        let kv = pairs
            .iter()
            .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
            .collect();
        // The same keys go into the Arrow schema too, so pyarrow and pandas
        // show them as `schema.metadata`; DuckDB and parquet readers see the footer.
        let schema = Arc::new(
            schema.as_ref().clone().with_metadata(
                pairs
                    .into_iter()
                    .collect::<std::collections::BTreeMap<String, String>>(),
            ),
        );
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(opts.zstd_level)?))
            .set_max_row_group_bytes(Some(opts.row_group_bytes.max(1)))
            .set_max_row_group_row_count(Some(opts.row_group_rows.max(1)))
            .set_created_by(format!("phasekit {}", env!("CARGO_PKG_VERSION")))
            .set_key_value_metadata(Some(kv))
            .build();
        let writer =
            ArrowWriter::try_new(file.try_clone_writer()?, Arc::clone(&schema), Some(props))
                .with_context(|| format!("{}: starting Parquet writer", target.display()))?;
        Ok(ParquetSink {
            writer,
            file,
            rows: 0,
        })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.writer
            .write(batch)
            .with_context(|| format!("{}: writing rows", self.file.target().display()))?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Write the footer and move the file into place; returns the row count.
    pub fn finish(self) -> Result<u64> {
        let ParquetSink { writer, file, rows } = self;
        writer
            .into_inner()
            .and_then(|mut w| Ok(w.flush()?))
            .with_context(|| format!("{}: finishing Parquet file", file.target().display()))?;
        file.commit()?;
        Ok(rows)
    }
}
