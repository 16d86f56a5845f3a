//! The couplings table (schemas/couplings.md): one row per parameter of a
//! fitted max-ent Ising model, with its standard error and the moment it
//! matches, in the data and in the fitted model.

use std::path::Path;

use anyhow::Result;

use super::columns::col_f64_or_null;
use super::{col_f64, col_str, col_u64, TableWriter};
use crate::io::SinkOptions;
use crate::meta::{FileMeta, Kind};

#[derive(Clone, Debug, PartialEq)]
pub struct CouplingRow {
    /// "K" or "H"
    pub term: String,
    /// "tied", "bond", "pair" or "site"
    pub scope: String,
    pub i: u64,
    pub j: u64,
    pub value: f64,
    pub std_error: Option<f64>,
    /// the matched moment per pair (or site): ⟨s_i s_j⟩ or ⟨s_i⟩
    pub data_moment: f64,
    pub model_moment: f64,
}

pub fn write(out: &Path, meta: &FileMeta, rows: &[CouplingRow]) -> Result<()> {
    let mut w = TableWriter::create(out, meta, &[], &SinkOptions::default())?;
    let cols = [
        "term",
        "scope",
        "i",
        "j",
        "value",
        "std_error",
        "data_moment",
        "model_moment",
    ]
    .map(|c| w.col(c));
    let [term, scope, i, j, value, se, dm, mm] = cols;
    let (term, scope, i, j, value, se, dm, mm) = (term?, scope?, i?, j?, value?, se?, dm?, mm?);
    for r in rows {
        w.str(term, &r.term);
        w.str(scope, &r.scope);
        w.u64(i, r.i);
        w.u64(j, r.j);
        w.f64(value, r.value);
        w.f64_or_null(se, r.std_error);
        w.f64(dm, r.data_moment);
        w.f64(mm, r.model_moment);
        w.end_row()?;
    }
    w.finish()?;
    Ok(())
}

pub fn load(path: &Path) -> Result<(FileMeta, Vec<CouplingRow>)> {
    let ds = super::open(path, Kind::Couplings)?;
    let mut rows = Vec::new();
    for b in ds.batches(None, 65536)? {
        let b = b?;
        let (term, scope) = (col_str(&b, "term")?, col_str(&b, "scope")?);
        let (i, j) = (col_u64(&b, "i")?, col_u64(&b, "j")?);
        let value = col_f64(&b, "value")?;
        let se = col_f64_or_null(&b, "std_error")?;
        let (dm, mm) = (col_f64(&b, "data_moment")?, col_f64(&b, "model_moment")?);
        for k in 0..b.num_rows() {
            rows.push(CouplingRow {
                term: term.value(k).to_string(),
                scope: scope.value(k).to_string(),
                i: i[k],
                j: j[k],
                value: value[k],
                std_error: se[k],
                data_moment: dm[k],
                model_moment: mm[k],
            });
        }
    }
    Ok((ds.meta, rows))
}
