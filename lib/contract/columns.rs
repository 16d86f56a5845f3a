//! Typed access to the columns of a record batch read from a checked file.
//! The contract check has already run, so a type mismatch here is a bug in
//! phasekit, but nulls can still come from foreign writers and are reported.

use std::borrow::Cow;

use anyhow::{anyhow, Result};
use arrow::array::{
    Array, AsArray, FixedSizeListArray, Float32Array, Float64Array, Int8Array, StringArray,
    UInt64Array,
};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;

use crate::error::InputError;

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a dyn Array> {
    let col = batch
        .column_by_name(name)
        .ok_or_else(|| anyhow!("column '{name}' missing from batch"))?;
    if col.null_count() > 0 {
        return Err(InputError::new(format!(
            "column '{name}' holds {} null values",
            col.null_count()
        ))
        .into());
    }
    Ok(col.as_ref())
}

pub fn col_u64<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a [u64]> {
    let a = column(batch, name)?
        .as_any()
        .downcast_ref::<UInt64Array>()
        .ok_or_else(|| anyhow!("column '{name}' is not UInt64"))?;
    Ok(a.values())
}

pub fn col_f64<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a [f64]> {
    let a = column(batch, name)?
        .as_any()
        .downcast_ref::<Float64Array>()
        .ok_or_else(|| anyhow!("column '{name}' is not Float64"))?;
    Ok(a.values())
}

/// A nullable Float64 column (e.g. an estimate's std_error), nulls as None.
pub fn col_f64_or_null(batch: &RecordBatch, name: &str) -> Result<Vec<Option<f64>>> {
    let a = batch
        .column_by_name(name)
        .ok_or_else(|| anyhow!("column '{name}' missing from batch"))?
        .as_any()
        .downcast_ref::<Float64Array>()
        .ok_or_else(|| anyhow!("column '{name}' is not Float64"))?;
    Ok(a.iter().collect())
}

/// A string column as a plain Utf8 array (other string encodings are cast).
pub fn col_str<'a>(batch: &'a RecordBatch, name: &str) -> Result<Cow<'a, StringArray>> {
    let a = column(batch, name)?;
    if let Some(s) = a.as_any().downcast_ref::<StringArray>() {
        return Ok(Cow::Borrowed(s));
    }
    let casted = cast(a, &DataType::Utf8)?;
    Ok(Cow::Owned(casted.as_string::<i32>().clone()))
}

fn list_values<'a>(batch: &'a RecordBatch, name: &str) -> Result<(&'a FixedSizeListArray, usize)> {
    let a = column(batch, name)?
        .as_any()
        .downcast_ref::<FixedSizeListArray>()
        .ok_or_else(|| anyhow!("column '{name}' is not a FixedSizeList"))?;
    if a.values().null_count() > 0 {
        return Err(InputError::new(format!("column '{name}' holds null list elements")).into());
    }
    Ok((a, a.value_length() as usize))
}

/// A FixedSizeList<Int8> column as one flat slice (row-major) and its row length.
pub fn list_i8<'a>(batch: &'a RecordBatch, name: &str) -> Result<(&'a [i8], usize)> {
    let (a, n) = list_values(batch, name)?;
    let v = a
        .values()
        .as_any()
        .downcast_ref::<Int8Array>()
        .ok_or_else(|| anyhow!("column '{name}' does not hold Int8"))?;
    let start = a.offset() * n;
    Ok((&v.values()[start..start + a.len() * n], n))
}

pub fn list_u64<'a>(batch: &'a RecordBatch, name: &str) -> Result<(&'a [u64], usize)> {
    let (a, n) = list_values(batch, name)?;
    let v = a
        .values()
        .as_any()
        .downcast_ref::<UInt64Array>()
        .ok_or_else(|| anyhow!("column '{name}' does not hold UInt64"))?;
    let start = a.offset() * n;
    Ok((&v.values()[start..start + a.len() * n], n))
}

pub fn list_f32<'a>(batch: &'a RecordBatch, name: &str) -> Result<(&'a [f32], usize)> {
    let (a, n) = list_values(batch, name)?;
    let v = a
        .values()
        .as_any()
        .downcast_ref::<Float32Array>()
        .ok_or_else(|| anyhow!("column '{name}' does not hold Float32"))?;
    let start = a.offset() * n;
    Ok((&v.values()[start..start + a.len() * n], n))
}
