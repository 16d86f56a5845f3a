//! The bundle-knn step: read ids and parameters (never the states), split,
//! find every sample's K_neib nearest neighbours within its split, write the
//! bundles file.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::knn::{knn_all, Points};
use super::split::split_test;
use super::target::TargetBuilder;
use crate::cli::Common;
use crate::contract::{self, check_finite, col_f64, col_u64, TableWriter};
use crate::io::{content_hash, SinkOptions};
use crate::meta::{FileMeta, Grid, InputRef, Kind, Provenance};
use crate::{bail_input, input_error};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sigma {
    Fixed(f64),
    /// the mean distance from a training point to its K_neib-th neighbour
    Auto,
}

impl std::str::FromStr for Sigma {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "auto" {
            return Ok(Sigma::Auto);
        }
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() && v > 0.0 => Ok(Sigma::Fixed(v)),
            _ => Err(format!("'{s}' is not a positive number or 'auto'")),
        }
    }
}

/// Parse `--grid 32x32`.
pub fn parse_grid(s: &str) -> Result<[usize; 2]> {
    let dims: Vec<&str> = s.split(['x', 'X']).collect();
    match dims.as_slice() {
        [a, b] => match (a.trim().parse::<usize>(), b.trim().parse::<usize>()) {
            (Ok(gh), Ok(gw)) if gh > 0 && gw > 0 => Ok([gh, gw]),
            (Ok(_), Ok(_)) => bail_input!("--grid: '{s}' has a zero side"),
            _ => bail_input!("--grid: '{s}' is not a grid like 32x32"),
        },
        _ => bail_input!("--grid: '{s}' is not a grid like 32x32"),
    }
}

#[derive(Clone, Debug)]
pub struct BundleJob {
    pub k_neib: usize,
    pub k_bundle: usize,
    pub grid: [usize; 2],
    pub sigma: Sigma,
    pub test_fraction: f64,
    pub materialize_targets: bool,
}

pub struct Summary {
    pub path: PathBuf,
    pub rows: u64,
    pub train: usize,
    pub test: usize,
    pub sigma: f64,
}

impl BundleJob {
    pub fn validate(&self) -> Result<()> {
        if self.k_neib == 0 {
            bail_input!("--k-neib: must be at least 1");
        }
        if self.k_bundle == 0 || self.k_bundle > self.k_neib {
            bail_input!(
                "--k-bundle: must be between 1 and --k-neib ({}), got {}",
                self.k_neib,
                self.k_bundle
            );
        }
        if !(0.0..1.0).contains(&self.test_fraction) {
            bail_input!(
                "--test-fraction: must be in [0, 1), got {}",
                self.test_fraction
            );
        }
        Ok(())
    }

    pub fn run(&self, dataset: &Path, out: &Path, common: &Common) -> Result<Summary> {
        self.validate()?;
        let ds = contract::open(dataset, Kind::Microstates)?;
        let params = ds.meta.params.clone();
        if params.len() != 2 {
            bail_input!(
                "{}: bundles need exactly two parameters, the dataset has {:?}",
                dataset.display(),
                params
            );
        }
        // ids and parameters only: the states are never read
        let (mut ids, mut t) = (Vec::new(), Vec::new());
        let cols = ["id", params[0].as_str(), params[1].as_str()];
        for b in ds.batches(Some(&cols), 65536)? {
            let b = b?;
            let p0 = col_f64(&b, &params[0])?;
            let p1 = col_f64(&b, &params[1])?;
            check_finite(dataset, &params[0], p0)?;
            check_finite(dataset, &params[1], p1)?;
            ids.extend_from_slice(col_u64(&b, "id")?);
            t.extend(p0.iter().zip(p1).map(|(a, b)| [*a, *b]));
        }
        let mut grid = Grid {
            params: params.clone(),
            bounds: ds.meta.bounds.clone(),
            shape: self.grid,
            sigma: 1.0,
        };
        let unit_of = TargetBuilder::new(&grid);
        let unit: Vec<[f64; 2]> = t.iter().map(|p| unit_of.to_unit(*p)).collect();

        let is_test = split_test(&ids, self.test_fraction, common.seed);
        let mut members = vec![0u64; ids.len() * self.k_neib];
        let mut kth_distance_sum = [0.0f64; 2];
        let mut counts = [0usize; 2];
        for (s, want_test) in [false, true].into_iter().enumerate() {
            let idx: Vec<usize> = (0..ids.len())
                .filter(|&i| is_test[i] == want_test)
                .collect();
            counts[s] = idx.len();
            if idx.is_empty() {
                continue;
            }
            let name = if want_test { "test" } else { "train" };
            if idx.len() < self.k_neib {
                bail_input!(
                    "--k-neib: {} is larger than the {name} split ({} samples)",
                    self.k_neib,
                    idx.len()
                );
            }
            let xy: Vec<[f64; 2]> = idx.iter().map(|&i| unit[i]).collect();
            let sid: Vec<u64> = idx.iter().map(|&i| ids[i]).collect();
            let nn = knn_all(&Points { xy: &xy, ids: &sid }, self.k_neib);
            for (q, row) in nn.chunks(self.k_neib).enumerate() {
                let dst = idx[q] * self.k_neib;
                for (slot, &j) in members[dst..dst + self.k_neib].iter_mut().zip(row) {
                    *slot = sid[j as usize];
                }
                let far = xy[*row.last().unwrap() as usize];
                kth_distance_sum[s] +=
                    ((far[0] - xy[q][0]).powi(2) + (far[1] - xy[q][1]).powi(2)).sqrt();
            }
        }
        grid.sigma = match self.sigma {
            Sigma::Fixed(v) => v,
            Sigma::Auto => {
                let s = if counts[0] > 0 { 0 } else { 1 };
                let v = kth_distance_sum[s] / counts[s] as f64;
                if v.is_nan() || v <= 0.0 {
                    bail_input!("--sigma auto: every sample's {}-th neighbour is at distance 0; give --sigma", self.k_neib);
                }
                v
            }
        };

        let mut prov = Provenance::from_env("bundle-knn", Some(common.seed));
        prov.inputs.push(InputRef {
            path: dataset.display().to_string(),
            hash: content_hash(dataset)?,
        });
        let meta = FileMeta::new(
            Kind::Bundles,
            params.clone(),
            ds.meta.bounds.clone(),
            ds.meta.model.clone(),
            prov,
        )
        .with("k_neib", self.k_neib)
        .with("k_bundle", self.k_bundle)
        .with("grid", &grid)
        .with("test_fraction", self.test_fraction)
        .with(
            "state_shape",
            ds.meta
                .extra
                .get("state_shape")
                .cloned()
                .unwrap_or_default(),
        );
        let optional: &[&str] = if self.materialize_targets {
            &["target"]
        } else {
            &[]
        };
        let mut w = TableWriter::create(out, &meta, optional, &SinkOptions::default())?;
        let (c_id, c_split, c_p0, c_p1, c_m) = (
            w.col("bundle_id")?,
            w.col("split")?,
            w.col(&params[0])?,
            w.col(&params[1])?,
            w.col("members")?,
        );
        let c_target = if self.materialize_targets {
            Some(w.col("target")?)
        } else {
            None
        };
        let mut builder = TargetBuilder::new(&grid);
        let pos_of: std::collections::HashMap<u64, usize> = if self.materialize_targets {
            ids.iter().enumerate().map(|(i, &id)| (id, i)).collect()
        } else {
            Default::default()
        };
        let mut target = vec![0f32; grid.len()];
        let bar = common.bar(ids.len() as u64, "bundle-knn");
        for i in 0..ids.len() {
            w.u64(c_id, ids[i]);
            w.str(c_split, if is_test[i] { "test" } else { "train" });
            w.f64(c_p0, t[i][0]);
            w.f64(c_p1, t[i][1]);
            let row = &members[i * self.k_neib..(i + 1) * self.k_neib];
            w.list_u64(c_m, row);
            if let Some(c) = c_target {
                let ms: Vec<[f64; 2]> = row
                    .iter()
                    .map(|id| {
                        pos_of
                            .get(id)
                            .map(|&p| t[p])
                            .ok_or_else(|| input_error!("member id {id} not in dataset"))
                    })
                    .collect::<Result<_>>()?;
                builder.build(&ms, &mut target);
                w.list_f32(c, &target);
            }
            w.end_row()?;
            if i % 65536 == 0 {
                bar.set_position(i as u64);
            }
        }
        bar.finish_and_clear();
        let rows = w.finish()?;
        Ok(Summary {
            path: out.to_path_buf(),
            rows,
            train: counts[0],
            test: counts[1],
            sigma: grid.sigma,
        })
    }
}
