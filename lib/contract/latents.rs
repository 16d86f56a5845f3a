//! The latents table (schemas/latents.md): one row per encoded
//! configuration with its order parameters and the encoder's μ and σ.

use std::path::Path;

use anyhow::Result;

use super::{col_f64, col_str, col_u64, TableWriter};
use crate::io::SinkOptions;
use crate::meta::{FileMeta, Kind};

#[derive(Clone, Debug, PartialEq)]
pub struct LatentRow {
    /// the --data file the configuration came from
    pub source: String,
    pub id: u64,
    pub t: f64,
    pub j: f64,
    /// "fm", "afm" or "pm": from J's sign and T against T_c = 2.269 |J|
    pub phase: String,
    pub magnetization: f64,
    pub staggered_magnetization: f64,
    pub mu: Vec<f64>,
    pub sigma: Vec<f64>,
}

/// Write `rows`; `meta` must have params `["T", "J"]` and the key `latent`.
pub fn write(out: &Path, meta: &FileMeta, rows: &[LatentRow]) -> Result<()> {
    let d: usize = meta.get(out, "latent")?;
    let mut w = TableWriter::create(out, meta, &[], &SinkOptions::default())?;
    let (source, id, t, j) = (w.col("source")?, w.col("id")?, w.col("T")?, w.col("J")?);
    let (phase, m, ms) = (
        w.col("phase")?,
        w.col("magnetization")?,
        w.col("staggered_magnetization")?,
    );
    let mu: Vec<usize> = (0..d)
        .map(|k| w.col(&format!("mu_{k}")))
        .collect::<Result<_>>()?;
    let sigma: Vec<usize> = (0..d)
        .map(|k| w.col(&format!("sigma_{k}")))
        .collect::<Result<_>>()?;
    for r in rows {
        w.str(source, &r.source);
        w.u64(id, r.id);
        w.f64(t, r.t);
        w.f64(j, r.j);
        w.str(phase, &r.phase);
        w.f64(m, r.magnetization);
        w.f64(ms, r.staggered_magnetization);
        for k in 0..d {
            w.f64(mu[k], r.mu[k]);
            w.f64(sigma[k], r.sigma[k]);
        }
        w.end_row()?;
    }
    w.finish()?;
    Ok(())
}

pub fn load(path: &Path) -> Result<(FileMeta, Vec<LatentRow>)> {
    let ds = super::open(path, Kind::Latents)?;
    let d: usize = ds.meta.get(path, "latent")?;
    let mut rows = Vec::new();
    for b in ds.batches(None, 65536)? {
        let b = b?;
        let (source, phase) = (col_str(&b, "source")?, col_str(&b, "phase")?);
        let id = col_u64(&b, "id")?;
        let (t, j) = (col_f64(&b, "T")?, col_f64(&b, "J")?);
        let (m, ms) = (
            col_f64(&b, "magnetization")?,
            col_f64(&b, "staggered_magnetization")?,
        );
        let mu: Vec<&[f64]> = (0..d)
            .map(|k| col_f64(&b, &format!("mu_{k}")))
            .collect::<Result<_>>()?;
        let sigma: Vec<&[f64]> = (0..d)
            .map(|k| col_f64(&b, &format!("sigma_{k}")))
            .collect::<Result<_>>()?;
        for r in 0..b.num_rows() {
            rows.push(LatentRow {
                source: source.value(r).to_string(),
                id: id[r],
                t: t[r],
                j: j[r],
                phase: phase.value(r).to_string(),
                magnetization: m[r],
                staggered_magnetization: ms[r],
                mu: mu.iter().map(|c| c[r]).collect(),
                sigma: sigma.iter().map(|c| c[r]).collect(),
            });
        }
    }
    Ok((ds.meta, rows))
}
