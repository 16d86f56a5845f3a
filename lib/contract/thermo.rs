//! The thermo table (schemas/thermo.md): log Z, its gradient and the Fisher
//! metric at each point of a two-parameter grid, as fit-icnn writes it and
//! pk-report reads it.

use std::path::Path;

use anyhow::Result;

use super::{col_f64, TableWriter};
use crate::io::SinkOptions;
use crate::meta::{FileMeta, Grid, Kind};

/// log Z, its gradient and Hessian at some points (from a free-energy model).
pub struct Thermo {
    pub points: Vec<[f64; 2]>,
    pub log_z: Vec<f64>,
    pub grad: Vec<[f64; 2]>,
    /// [G][2][2]
    pub hessian: Vec<[[f64; 2]; 2]>,
}

impl Thermo {
    /// det G at each point.
    pub fn det(&self) -> Vec<f64> {
        self.hessian
            .iter()
            .map(|h| h[0][0] * h[1][1] - h[0][1] * h[1][0])
            .collect()
    }
}

/// Write `thermo` as a thermo file with footer `meta` (two parameters).
pub fn write(out: &Path, meta: &FileMeta, thermo: &Thermo) -> Result<()> {
    let mut w = TableWriter::create(out, meta, &[], &SinkOptions::default())?;
    let p = &meta.params;
    let cols = [
        w.col(&p[0])?,
        w.col(&p[1])?,
        w.col("log_z")?,
        w.col(&format!("grad_{}", p[0]))?,
        w.col(&format!("grad_{}", p[1]))?,
        w.col(&format!("fisher_{}_{}", p[0], p[0]))?,
        w.col(&format!("fisher_{}_{}", p[0], p[1]))?,
        w.col(&format!("fisher_{}_{}", p[1], p[1]))?,
    ];
    for i in 0..thermo.points.len() {
        let (t, g, h) = (thermo.points[i], thermo.grad[i], thermo.hessian[i]);
        for (c, v) in cols.iter().zip([
            t[0],
            t[1],
            thermo.log_z[i],
            g[0],
            g[1],
            h[0][0],
            h[0][1],
            h[1][1],
        ]) {
            w.f64(*c, v);
        }
        w.end_row()?;
    }
    w.finish()?;
    Ok(())
}

/// Read a thermo table (schemas/thermo.md) with its grid.
pub fn load(path: &Path) -> Result<(Grid, Thermo)> {
    let ds = super::open(path, Kind::Thermo)?;
    let grid: Grid = ds.meta.get(path, "grid")?;
    let p = ds.meta.params.clone();
    if p.len() != 2 {
        crate::bail_input!("{}: two parameters expected", path.display());
    }
    let mut t = Thermo {
        points: vec![],
        log_z: vec![],
        grad: vec![],
        hessian: vec![],
    };
    for b in ds.batches(None, 65536)? {
        let b = b?;
        let c = |n: String| -> Result<Vec<f64>> { Ok(col_f64(&b, &n)?.to_vec()) };
        let (a, bb) = (c(p[0].clone())?, c(p[1].clone())?);
        let lz = c("log_z".into())?;
        let (g0, g1) = (c(format!("grad_{}", p[0]))?, c(format!("grad_{}", p[1]))?);
        let h00 = c(format!("fisher_{}_{}", p[0], p[0]))?;
        let h01 = c(format!("fisher_{}_{}", p[0], p[1]))?;
        let h11 = c(format!("fisher_{}_{}", p[1], p[1]))?;
        for i in 0..a.len() {
            t.points.push([a[i], bb[i]]);
            t.log_z.push(lz[i]);
            t.grad.push([g0[i], g1[i]]);
            t.hessian.push([[h00[i], h01[i]], [h01[i], h11[i]]]);
        }
    }
    if t.points.len() != grid.len() {
        crate::bail_input!(
            "{}: {} rows, but phasekit.grid has {} points",
            path.display(),
            t.points.len(),
            grid.len()
        );
    }
    Ok((grid, t))
}
