//! What fit-icnn reads: a posteriors file (schemas/posteriors.md), checked
//! for a consistent grid, finite values and normalisation.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::bail_input;
use crate::contract::{self, col_f64, col_str, col_u64, list_f32};
use crate::meta::{FileMeta, Grid, Kind};

/// How far a posterior's sum may stray from 1.
pub const SUM_TOLERANCE: f64 = 1e-4;

pub struct PosteriorSet {
    pub path: PathBuf,
    pub meta: FileMeta,
    pub grid: Grid,
    pub ids: Vec<u64>,
    pub is_test: Vec<bool>,
    /// the bundle centres' parameters (physical units)
    pub centres: Vec<[f64; 2]>,
    /// row-major posteriors, grid.len() per bundle
    pub posteriors: Vec<f32>,
}

impl PosteriorSet {
    pub fn load(path: &Path) -> Result<PosteriorSet> {
        let ds = contract::open(path, Kind::Posteriors)?;
        let grid: Grid = ds.meta.get(path, "grid")?;
        let meta = ds.meta.clone();
        if meta.params.len() != 2 {
            bail_input!(
                "{}: two parameters expected, found {:?}",
                path.display(),
                meta.params
            );
        }
        if grid.params != meta.params {
            bail_input!(
                "{}: phasekit.grid names parameters {:?} but the file's are {:?}",
                path.display(),
                grid.params,
                meta.params
            );
        }
        for p in &meta.params {
            let (g, m) = (grid.bounds.get(p), meta.bounds.get(p));
            if g.is_none() || g != m {
                bail_input!(
                    "{}: phasekit.grid bounds of {p} ({g:?}) disagree with phasekit.bounds ({m:?})",
                    path.display()
                );
            }
            let [lo, hi] = *g.unwrap();
            if !(lo.is_finite() && hi.is_finite() && hi > lo) {
                bail_input!("{}: empty or non-finite prior range of {p}", path.display());
            }
        }
        if grid.shape.contains(&0) {
            bail_input!("{}: phasekit.grid has an empty shape", path.display());
        }
        let g = grid.len();
        let mut set = PosteriorSet {
            path: path.to_path_buf(),
            meta: meta.clone(),
            grid,
            ids: vec![],
            is_test: vec![],
            centres: vec![],
            posteriors: vec![],
        };
        let (p0, p1) = (meta.params[0].clone(), meta.params[1].clone());
        for batch in ds.batches(None, 8192)? {
            let batch = batch?;
            set.ids.extend_from_slice(col_u64(&batch, "bundle_id")?);
            for s in col_str(&batch, "split")?.iter() {
                set.is_test.push(match s {
                    Some("train") => false,
                    Some("test") => true,
                    other => bail_input!(
                        "{}: column 'split' holds {other:?}, expected train or test",
                        path.display()
                    ),
                });
            }
            let (a, b) = (col_f64(&batch, &p0)?, col_f64(&batch, &p1)?);
            contract::check_finite(path, &p0, a)?;
            contract::check_finite(path, &p1, b)?;
            set.centres.extend(a.iter().zip(b).map(|(x, y)| [*x, *y]));
            let (values, len) = list_f32(&batch, "posterior")?;
            if len != g {
                bail_input!(
                    "{}: posteriors hold {len} values but phasekit.grid {:?} has {g} points",
                    path.display(),
                    set.grid.shape
                );
            }
            set.posteriors.extend_from_slice(values);
        }
        if set.ids.is_empty() {
            bail_input!("{}: no posteriors", path.display());
        }
        for (row, post) in set.posteriors.chunks_exact(g).enumerate() {
            if let Some(v) = post.iter().find(|v| !v.is_finite() || **v < 0.0) {
                bail_input!(
                    "{}: posterior of bundle {} holds {v}, not a probability",
                    path.display(),
                    set.ids[row]
                );
            }
            let sum: f64 = post.iter().map(|&v| v as f64).sum();
            if (sum - 1.0).abs() > SUM_TOLERANCE {
                bail_input!(
                    "{}: posterior of bundle {} sums to {sum}, not 1 within {SUM_TOLERANCE:e}",
                    path.display(),
                    set.ids[row]
                );
            }
        }
        Ok(set)
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn posterior(&self, i: usize) -> &[f32] {
        let g = self.grid.len();
        &self.posteriors[i * g..(i + 1) * g]
    }

    /// Grid points in physical units, row-major, [G][2].
    pub fn grid_points(&self) -> Vec<[f64; 2]> {
        grid_points(&self.grid)
    }

    /// Mean variance of the posteriors in unit coordinates (each parameter
    /// spanning [0, 1]), averaged over both parameters: the typical inverse
    /// curvature of log Z in those units.
    pub fn mean_unit_variance(&self) -> f64 {
        let unit: [Vec<f64>; 2] = [0, 1].map(|a| {
            (0..self.grid.shape[a])
                .map(|i| self.grid.unit_coord(a, i))
                .collect()
        });
        let total: f64 = (0..self.len())
            .map(|i| {
                let (_, var) = moments(self.posterior(i), &unit);
                0.5 * (var[0] + var[1])
            })
            .sum();
        total / self.len() as f64
    }
}

/// Cell centres of `grid` along each axis, in physical units.
pub fn axes(grid: &Grid) -> [Vec<f64>; 2] {
    [0, 1].map(|a| (0..grid.shape[a]).map(|i| grid.coord(a, i)).collect())
}

/// Marginal mean and variance of a row-major posterior along each axis, at
/// the axis coordinates `axes` (physical, or unit for unit-free widths).
pub fn moments(post: &[f32], axes: &[Vec<f64>; 2]) -> ([f64; 2], [f64; 2]) {
    let gw = axes[1].len();
    let (mut m, mut m2) = ([0.0f64; 2], [0.0f64; 2]);
    for (r, &y) in axes[0].iter().enumerate() {
        for (c, &x) in axes[1].iter().enumerate() {
            let p = post[r * gw + c] as f64;
            m[0] += p * y;
            m[1] += p * x;
            m2[0] += p * y * y;
            m2[1] += p * x * x;
        }
    }
    (m, [m2[0] - m[0] * m[0], m2[1] - m[1] * m[1]])
}

/// Grid points of `grid` in physical units, row-major.
pub fn grid_points(grid: &Grid) -> Vec<[f64; 2]> {
    let [gh, gw] = grid.shape;
    (0..gh)
        .flat_map(|r| (0..gw).map(move |c| [grid.coord(0, r), grid.coord(1, c)]))
        .collect()
}
