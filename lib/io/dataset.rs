//! Reading a Parquet file, or a folder of part files, as one dataset.
//!
//! Parts are read in file-name order (`part-00000-of-00004.parquet`, ...), so a
//! sharded run read as a folder yields the unsharded file's rows in order.
//! Reading streams record batches, one row group at a time. The path `-`
//! reads one file from standard input.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use parquet::file::reader::{ChunkReader, Length};

use super::stdio::{is_stdio, stdin_bytes};
use crate::error::InputError;
use crate::meta::FileMeta;

/// The bytes of one part: a file on disk, or standard input held in memory.
enum Source {
    File(File),
    Memory(Bytes),
}

impl Length for Source {
    fn len(&self) -> u64 {
        match self {
            Source::File(f) => f.len(),
            Source::Memory(b) => b.len() as u64,
        }
    }
}

impl ChunkReader for Source {
    type T = Box<dyn Read + Send>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(match self {
            Source::File(f) => Box::new(f.get_read(start)?),
            Source::Memory(b) => Box::new(b.get_read(start)?),
        })
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        match self {
            Source::File(f) => f.get_bytes(start, length),
            Source::Memory(b) => b.get_bytes(start, length),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Dataset {
    /// What the user named: a file or a folder.
    pub path: PathBuf,
    pub parts: Vec<PathBuf>,
    /// Footer metadata of the first part (all parts agree but for provenance).
    pub meta: FileMeta,
    pub schema: SchemaRef,
    pub num_rows: u64,
}

/// The `*.parquet` files of a dataset folder, in name order; hidden and
/// temporary files are skipped.
pub fn list_parts(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut parts: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| InputError::new(format!("{}: cannot list folder ({e})", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            !name.starts_with('.') && name.ends_with(".parquet") && p.is_file()
        })
        .collect();
    parts.sort();
    if parts.is_empty() {
        return Err(
            InputError::new(format!("{}: folder holds no .parquet files", dir.display())).into(),
        );
    }
    Ok(parts)
}

fn open_builder(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<Source>> {
    let source = if is_stdio(path) {
        Source::Memory(stdin_bytes()?)
    } else {
        Source::File(
            File::open(path)
                .map_err(|e| InputError::new(format!("{}: cannot open ({e})", path.display())))?,
        )
    };
    ParquetRecordBatchReaderBuilder::try_new(source).map_err(|e| {
        InputError::new(format!(
            "{}: not a readable Parquet file, truncated or corrupt ({e})",
            path.display()
        ))
        .into()
    })
}

fn part_meta(
    path: &Path,
    builder: &ParquetRecordBatchReaderBuilder<Source>,
) -> Result<FileMeta, InputError> {
    let kv = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .map(|v| v.as_slice())
        .unwrap_or(&[]);
    FileMeta::from_key_values(
        path,
        kv.iter().map(|k| (k.key.as_str(), k.value.as_deref())),
    )
}

impl Dataset {
    /// Open a file or a folder of parts and check the parts belong together.
    pub fn open(path: &Path) -> Result<Dataset> {
        if !path.exists() && !is_stdio(path) {
            return Err(
                InputError::new(format!("{}: no such file or folder", path.display())).into(),
            );
        }
        let parts = if path.is_dir() {
            list_parts(path)?
        } else {
            vec![path.to_path_buf()]
        };
        let mut first: Option<(FileMeta, SchemaRef)> = None;
        let mut num_rows = 0u64;
        for part in &parts {
            let builder = open_builder(part)?;
            let meta = part_meta(part, &builder)?;
            let schema = builder.schema().clone();
            num_rows += builder.metadata().file_metadata().num_rows() as u64;
            match &first {
                None => first = Some((meta, schema)),
                Some((m0, s0)) => {
                    if m0.without_provenance() != meta.without_provenance() {
                        return Err(InputError::new(format!(
                            "{}: part's metadata disagrees with {} (kind, parameters, bounds, model or shape)",
                            part.display(),
                            parts[0].display()
                        ))
                        .into());
                    }
                    if s0.fields() != schema.fields() {
                        return Err(InputError::new(format!(
                            "{}: part's columns disagree with {}",
                            part.display(),
                            parts[0].display()
                        ))
                        .into());
                    }
                }
            }
        }
        let (meta, schema) = first.expect("at least one part");
        Ok(Dataset {
            path: path.to_path_buf(),
            parts,
            meta,
            schema,
            num_rows,
        })
    }

    /// Stream record batches of at most `batch_rows` rows, keeping only the
    /// named columns (all when `columns` is `None`).
    pub fn batches(
        &self,
        columns: Option<&[&str]>,
        batch_rows: usize,
    ) -> Result<impl Iterator<Item = Result<RecordBatch>> + Send + 'static> {
        let indices: Option<Vec<usize>> = match columns {
            None => None,
            Some(names) => Some(
                names
                    .iter()
                    .map(|n| {
                        self.schema.index_of(n).map_err(|_| {
                            InputError::new(format!("{}: no column '{n}'", self.path.display()))
                                .into()
                        })
                    })
                    .collect::<Result<Vec<usize>>>()?,
            ),
        };
        let parts = self.parts.clone();
        let batch_rows = batch_rows.max(1);
        let iter = parts.into_iter().flat_map(move |part| {
            let reader = open_builder(&part).and_then(|b| {
                let b = b.with_batch_size(batch_rows);
                let b = match &indices {
                    Some(ix) => {
                        let mask = ProjectionMask::roots(b.parquet_schema(), ix.iter().copied());
                        b.with_projection(mask)
                    }
                    None => b,
                };
                b.build()
                    .with_context(|| format!("{}: reading", part.display()))
            });
            let boxed: Box<dyn Iterator<Item = Result<RecordBatch>> + Send> = match reader {
                Ok(r) => {
                    let part = part.clone();
                    Box::new(r.map(move |b| {
                        b.map_err(|e| {
                            InputError::new(format!("{}: corrupt data ({e})", part.display()))
                                .into()
                        })
                    }))
                }
                Err(e) => Box::new(std::iter::once(Err(e))),
            };
            boxed
        });
        Ok(iter)
    }
}
