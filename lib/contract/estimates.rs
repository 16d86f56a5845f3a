//! The estimates table (schemas/estimates.md): one row per quantity and
//! method with its standard error, as nis-estimate writes it and pk-report
//! reads it.

use std::path::Path;

use anyhow::Result;

use super::columns::col_f64_or_null;
use super::{col_f64, col_str, col_u64, TableWriter};
use crate::io::SinkOptions;
use crate::meta::{FileMeta, Kind};

#[derive(Clone, Debug, PartialEq)]
pub struct EstimateRow {
    pub method: String,
    pub quantity: String,
    pub value: f64,
    /// None where a standard error is not defined (ESS, acceptance, a bias)
    pub std_error: Option<f64>,
    pub n_samples: u64,
}

impl EstimateRow {
    pub fn new(method: &str, quantity: &str, value: f64, std_error: Option<f64>, n: usize) -> Self {
        EstimateRow {
            method: method.into(),
            quantity: quantity.into(),
            value,
            std_error,
            n_samples: n as u64,
        }
    }
}

/// Write `rows` at the point `at` (one value per parameter of `meta`).
pub fn write(out: &Path, meta: &FileMeta, at: &[f64], rows: &[EstimateRow]) -> Result<()> {
    write_with(out, meta, rows, |_| at)
}

/// Write `rows`, row k at the point `at[k]` (two parameters, e.g. β and L).
pub fn write_points(
    out: &Path,
    meta: &FileMeta,
    at: &[[f64; 2]],
    rows: &[EstimateRow],
) -> Result<()> {
    write_with(out, meta, rows, |k| &at[k][..])
}

fn write_with<'a>(
    out: &Path,
    meta: &FileMeta,
    rows: &[EstimateRow],
    at: impl Fn(usize) -> &'a [f64],
) -> Result<()> {
    let mut w = TableWriter::create(out, meta, &[], &SinkOptions::default())?;
    let params: Vec<usize> = meta
        .params
        .iter()
        .map(|p| w.col(p))
        .collect::<Result<_>>()?;
    let [method, quantity, value, std_error, n] =
        ["method", "quantity", "value", "std_error", "n_samples"].map(|c| w.col(c));
    let (method, quantity, value, std_error, n) = (method?, quantity?, value?, std_error?, n?);
    for (k, r) in rows.iter().enumerate() {
        for (c, v) in params.iter().zip(at(k)) {
            w.f64(*c, *v);
        }
        w.str(method, &r.method);
        w.str(quantity, &r.quantity);
        w.f64(value, r.value);
        w.f64_or_null(std_error, r.std_error);
        w.u64(n, r.n_samples);
        w.end_row()?;
    }
    w.finish()?;
    Ok(())
}

/// Read an estimates table with its footer.
pub fn load(path: &Path) -> Result<(FileMeta, Vec<EstimateRow>)> {
    let ds = super::open(path, Kind::Estimates)?;
    let mut rows = Vec::new();
    for b in ds.batches(None, 65536)? {
        let b = b?;
        let (method, quantity) = (col_str(&b, "method")?, col_str(&b, "quantity")?);
        let value = col_f64(&b, "value")?;
        let se = col_f64_or_null(&b, "std_error")?;
        let n = col_u64(&b, "n_samples")?;
        for i in 0..b.num_rows() {
            rows.push(EstimateRow {
                method: method.value(i).to_string(),
                quantity: quantity.value(i).to_string(),
                value: value[i],
                std_error: se[i],
                n_samples: n[i],
            });
        }
    }
    Ok((ds.meta, rows))
}

/// The row of `quantity` by `method`, if any.
pub fn find<'a>(rows: &'a [EstimateRow], method: &str, quantity: &str) -> Option<&'a EstimateRow> {
    rows.iter()
        .find(|r| r.method == method && r.quantity == quantity)
}
