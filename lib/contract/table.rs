//! Row-at-a-time writing of a contract-conforming Parquet file.
//!
//! Values are buffered per column and handed to the Parquet sink as a record
//! batch every `batch_rows` rows, so memory stays bounded.

use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Result};
use arrow::array::{
    ArrayRef, FixedSizeListArray, Float32Array, Float64Array, Int8Array, StringArray, UInt64Array,
};
use arrow::datatypes::{DataType, Field, SchemaRef};
use arrow::record_batch::RecordBatch;

use super::rules::{rules_for, schema_for, ColType};
use crate::io::{ParquetSink, SinkOptions};
use crate::meta::FileMeta;

enum Buf {
    U64(Vec<u64>),
    F64(Vec<f64>),
    F64Null(Vec<Option<f64>>),
    F32(Vec<f32>),
    Str(Vec<String>),
    I8List(Vec<i8>, usize),
    U64List(Vec<u64>, usize),
    F32List(Vec<f32>, usize),
}

impl Buf {
    fn new(ty: &ColType, nullable: bool) -> Buf {
        match ty {
            ColType::Float64 if nullable => Buf::F64Null(Vec::new()),
            ColType::UInt64 => Buf::U64(Vec::new()),
            ColType::Float64 => Buf::F64(Vec::new()),
            ColType::Float32 => Buf::F32(Vec::new()),
            ColType::Utf8 => Buf::Str(Vec::new()),
            ColType::ListInt8(n) => Buf::I8List(Vec::new(), *n),
            ColType::ListUInt64(n) => Buf::U64List(Vec::new(), *n),
            ColType::ListFloat32(n) => Buf::F32List(Vec::new(), *n),
        }
    }

    fn rows(&self) -> usize {
        match self {
            Buf::U64(v) => v.len(),
            Buf::F64(v) => v.len(),
            Buf::F64Null(v) => v.len(),
            Buf::F32(v) => v.len(),
            Buf::Str(v) => v.len(),
            Buf::I8List(v, n) => v.len() / n,
            Buf::U64List(v, n) => v.len() / n,
            Buf::F32List(v, n) => v.len() / n,
        }
    }

    fn take(&mut self) -> ArrayRef {
        fn list(values: ArrayRef, t: DataType, n: usize) -> ArrayRef {
            let field = Arc::new(Field::new("item", t, false));
            Arc::new(FixedSizeListArray::new(field, n as i32, values, None))
        }
        match self {
            Buf::U64(v) => Arc::new(UInt64Array::from(std::mem::take(v))),
            Buf::F64(v) => Arc::new(Float64Array::from(std::mem::take(v))),
            Buf::F64Null(v) => Arc::new(Float64Array::from(std::mem::take(v))),
            Buf::F32(v) => Arc::new(Float32Array::from(std::mem::take(v))),
            Buf::Str(v) => Arc::new(StringArray::from(std::mem::take(v))),
            Buf::I8List(v, n) => list(
                Arc::new(Int8Array::from(std::mem::take(v))),
                DataType::Int8,
                *n,
            ),
            Buf::U64List(v, n) => list(
                Arc::new(UInt64Array::from(std::mem::take(v))),
                DataType::UInt64,
                *n,
            ),
            Buf::F32List(v, n) => list(
                Arc::new(Float32Array::from(std::mem::take(v))),
                DataType::Float32,
                *n,
            ),
        }
    }
}

pub struct TableWriter {
    sink: ParquetSink,
    schema: SchemaRef,
    bufs: Vec<Buf>,
    names: Vec<String>,
    batch_rows: usize,
    pending: usize,
}

impl TableWriter {
    /// Start a file of `meta.kind` at `target` with the required columns and
    /// the optional ones named in `with_optional`.
    pub fn create(
        target: &Path,
        meta: &FileMeta,
        with_optional: &[&str],
        opts: &SinkOptions,
    ) -> Result<Self> {
        let rules = rules_for(target, meta)?;
        let schema = schema_for(&rules, with_optional);
        let mut bufs = Vec::new();
        let mut names = Vec::new();
        let mut row_bytes = 0usize;
        for f in schema.fields() {
            let rule = rules
                .iter()
                .find(|r| &r.name == f.name())
                .expect("schema built from rules");
            row_bytes += match &rule.ty {
                ColType::ListInt8(n) => *n,
                ColType::ListUInt64(n) => 8 * n,
                ColType::ListFloat32(n) => 4 * n,
                _ => 8,
            };
            bufs.push(Buf::new(&rule.ty, rule.nullable));
            names.push(f.name().clone());
        }
        // Hand the sink batches of about 8 MiB.
        let batch_rows = ((8usize << 20) / row_bytes.max(1)).clamp(1, 65536);
        let sink = ParquetSink::create(target, schema.clone(), meta, opts)?;
        Ok(TableWriter {
            sink,
            schema,
            bufs,
            names,
            batch_rows,
            pending: 0,
        })
    }

    /// Index of a column, looked up once before the row loop.
    pub fn col(&self, name: &str) -> Result<usize> {
        match self.names.iter().position(|n| n == name) {
            Some(i) => Ok(i),
            None => bail!("file has no column '{name}'"),
        }
    }

    pub fn u64(&mut self, col: usize, v: u64) {
        match &mut self.bufs[col] {
            Buf::U64(b) => b.push(v),
            _ => panic!("column '{}' is not UInt64", self.names[col]),
        }
    }

    pub fn f64(&mut self, col: usize, v: f64) {
        match &mut self.bufs[col] {
            Buf::F64(b) => b.push(v),
            Buf::F64Null(b) => b.push(Some(v)),
            _ => panic!("column '{}' is not Float64", self.names[col]),
        }
    }

    /// A value of a nullable Float64 column (None: null).
    pub fn f64_or_null(&mut self, col: usize, v: Option<f64>) {
        match &mut self.bufs[col] {
            Buf::F64Null(b) => b.push(v),
            _ => panic!("column '{}' is not nullable Float64", self.names[col]),
        }
    }

    pub fn f32(&mut self, col: usize, v: f32) {
        match &mut self.bufs[col] {
            Buf::F32(b) => b.push(v),
            _ => panic!("column '{}' is not Float32", self.names[col]),
        }
    }

    pub fn str(&mut self, col: usize, v: &str) {
        match &mut self.bufs[col] {
            Buf::Str(b) => b.push(v.to_string()),
            _ => panic!("column '{}' is not Utf8", self.names[col]),
        }
    }

    pub fn list_i8(&mut self, col: usize, v: &[i8]) {
        match &mut self.bufs[col] {
            Buf::I8List(b, n) if v.len() == *n => b.extend_from_slice(v),
            _ => panic!(
                "column '{}' is not FixedSizeList<Int8, {}>",
                self.names[col],
                v.len()
            ),
        }
    }

    pub fn list_u64(&mut self, col: usize, v: &[u64]) {
        match &mut self.bufs[col] {
            Buf::U64List(b, n) if v.len() == *n => b.extend_from_slice(v),
            _ => panic!(
                "column '{}' is not FixedSizeList<UInt64, {}>",
                self.names[col],
                v.len()
            ),
        }
    }

    pub fn list_f32(&mut self, col: usize, v: &[f32]) {
        match &mut self.bufs[col] {
            Buf::F32List(b, n) if v.len() == *n => b.extend_from_slice(v),
            _ => panic!(
                "column '{}' is not FixedSizeList<Float32, {}>",
                self.names[col],
                v.len()
            ),
        }
    }

    /// Close the current row; every column must have received one value.
    pub fn end_row(&mut self) -> Result<()> {
        self.pending += 1;
        debug_assert!(
            self.bufs.iter().all(|b| b.rows() == self.pending),
            "a row left a column without a value"
        );
        if self.pending >= self.batch_rows {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.pending == 0 {
            return Ok(());
        }
        for (b, name) in self.bufs.iter().zip(&self.names) {
            if b.rows() != self.pending {
                bail!(
                    "column '{name}' has {} values for {} rows",
                    b.rows(),
                    self.pending
                );
            }
        }
        let arrays: Vec<ArrayRef> = self.bufs.iter_mut().map(Buf::take).collect();
        let batch = RecordBatch::try_new(self.schema.clone(), arrays)?;
        self.sink.write(&batch)?;
        self.pending = 0;
        Ok(())
    }

    /// Write what is buffered, the footer, and move the file into place.
    pub fn finish(mut self) -> Result<u64> {
        self.flush()?;
        self.sink.finish()
    }

    pub fn rows(&self) -> u64 {
        self.sink.rows() + self.pending as u64
    }
}
