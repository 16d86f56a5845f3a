//! `gen-tasep`: datasets of stationary open-boundary TASEP configurations.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use rand::Rng;
use serde_json::json;

use super::{chain_range, output_path, run_in_order, Shard};
use crate::bail_input;
use crate::cli::Common;
use crate::contract::TableWriter;
use crate::exact::tasep::current_single;
use crate::io::SinkOptions;
use crate::meta::{Bounds, FileMeta, Kind, Provenance};
use crate::plot::mosaic::PreviewGrid;
use crate::sim::rng::{chain_rng, Xoshiro256};
use crate::sim::tasep::paths::{PathSampler, MAX_CELLS, TRUNCATION};
use crate::sim::tasep::simulate::Simulation;
use crate::sim::tasep::{bond_current, density};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Random-sequential dynamics from a random start for --sweeps sweeps.
    Simulate,
    /// Exact stationary samples (needs α + β > 1 over the whole box).
    Exact,
    /// Exact where a non-negative representation fits in memory, else simulate.
    Auto,
}

#[derive(Clone, Debug)]
pub struct TasepJob {
    pub n: u64,
    pub m: usize,
    pub alpha: [f64; 2],
    pub beta: [f64; 2],
    pub method: Method,
    /// simulation budget in sweeps (units of M attempts)
    pub sweeps: u64,
    pub shape: Vec<usize>,
    pub shard: Option<Shard>,
}

pub struct Summary {
    pub path: PathBuf,
    pub rows: u64,
    pub exact_rows: u64,
    pub attempts_per_ns: f64,
}

/// Parse `--shape 128x128`.
pub fn parse_shape(s: &str) -> Result<Vec<usize>> {
    let dims: Result<Vec<usize>, _> = s
        .split(['x', 'X'])
        .map(|d| d.trim().parse::<usize>())
        .collect();
    match dims {
        Ok(d) if !d.is_empty() && d.iter().all(|&x| x > 0) => Ok(d),
        _ => bail_input!("--shape: '{s}' is not a shape like 128x128"),
    }
}

/// The default image shape: square when M is a perfect square, else 1-D.
pub fn default_shape(m: usize) -> Vec<usize> {
    let r = (m as f64).sqrt().round() as usize;
    if r * r == m {
        vec![r, r]
    } else {
        vec![m]
    }
}

struct Sample {
    alpha: f64,
    beta: f64,
    state: Vec<i8>,
    current: f64,
    exact: bool,
    attempts: u64,
}

impl TasepJob {
    pub fn validate(&self) -> Result<()> {
        if self.n == 0 {
            bail_input!("--n: must be at least 1");
        }
        if self.m < 2 {
            bail_input!("--M: must be at least 2 sites, got {}", self.m);
        }
        for (flag, r) in [("--alpha", self.alpha), ("--beta", self.beta)] {
            if r[0] < 0.0 || r[1] > 1.0 {
                bail_input!("{flag}: rates must lie in [0, 1], got {}:{}", r[0], r[1]);
            }
            if r[0] <= 0.0 {
                bail_input!(
                    "{flag}: a rate of 0 has no stationary state to sample; use a box above 0"
                );
            }
        }
        if self.shape.iter().product::<usize>() != self.m {
            bail_input!(
                "--shape: {:?} does not multiply to --M {}",
                self.shape,
                self.m
            );
        }
        if self.method != Method::Exact && self.sweeps == 0 {
            bail_input!("--sweeps: must be at least 1 for simulation");
        }
        if self.method == Method::Exact && self.alpha[0] + self.beta[0] <= 1.0 {
            bail_input!(
                "--method exact: needs α + β > 1 over the whole box, but {} + {} ≤ 1; use --method auto",
                self.alpha[0],
                self.beta[0]
            );
        }
        Ok(())
    }

    fn meta(&self, seed: u64) -> FileMeta {
        let mut bounds = Bounds::new();
        bounds.insert("alpha".into(), self.alpha);
        bounds.insert("beta".into(), self.beta);
        let model = json!({
            "system": "tasep",
            "M": self.m,
            "boundary": "open",
            "update": "random-sequential",
            "method": self.method,
            "sweeps": self.sweeps,
            "attempts": self.sweeps as u128 * self.m as u128,
            "init": "random, density 1/2",
            "current_window": "last quarter of the run",
            "exact_truncation": TRUNCATION,
            "n_total": self.n,
        });
        FileMeta::new(
            Kind::Microstates,
            vec!["alpha".into(), "beta".into()],
            bounds,
            model,
            Provenance::from_env("gen-tasep", Some(seed)),
        )
        .with("state_shape", &self.shape)
    }

    /// One sampler for the whole run when (α, β) is a single point.
    fn shared_sampler(&self) -> Option<PathSampler> {
        let point = self.alpha[0] == self.alpha[1] && self.beta[0] == self.beta[1];
        match self.method {
            _ if !point => None,
            Method::Simulate => None,
            Method::Exact => PathSampler::new(self.m, self.alpha[0], self.beta[0], usize::MAX),
            Method::Auto => PathSampler::new(self.m, self.alpha[0], self.beta[0], MAX_CELLS),
        }
    }

    fn sample(&self, seed: u64, id: u64, shared: Option<&PathSampler>) -> Sample {
        let mut rng = chain_rng(seed, id);
        let alpha = self.alpha[0] + (self.alpha[1] - self.alpha[0]) * rng.random::<f64>();
        let beta = self.beta[0] + (self.beta[1] - self.beta[0]) * rng.random::<f64>();
        let mut fast = Xoshiro256::from_rng(&mut rng);
        let own = match (shared, self.method) {
            (Some(_), _) | (None, Method::Simulate) => None,
            (None, Method::Exact) => PathSampler::new(self.m, alpha, beta, usize::MAX),
            (None, Method::Auto) => PathSampler::new(self.m, alpha, beta, MAX_CELLS),
        };
        if let Some(s) = shared.or(own.as_ref()) {
            let state = s.sample(&mut fast);
            return Sample {
                alpha,
                beta,
                state,
                current: current_single(alpha, beta, self.m),
                exact: true,
                attempts: 0,
            };
        }
        let init: Vec<i8> = (0..self.m).map(|_| (fast.next_u64() >> 63) as i8).collect();
        let mut sim = Simulation::new(&init, alpha, beta);
        let attempts = self.sweeps * self.m as u64;
        let window = (attempts / 4).max(1);
        sim.run(attempts - window, &mut fast);
        let moves = sim.run(window, &mut fast);
        Sample {
            alpha,
            beta,
            state: sim.state(),
            current: moves as f64 / window as f64,
            exact: false,
            attempts,
        }
    }

    pub fn generate(&self, out: &Path, common: &Common, preview: Option<&Path>) -> Result<Summary> {
        self.validate()?;
        let path = output_path(out, self.shard)?;
        let meta = self.meta(common.seed);
        let optional = ["density", "current", "bond_current", "method"];
        let mut writer = TableWriter::create(&path, &meta, &optional, &SinkOptions::default())?;
        let cols = [
            "id",
            "alpha",
            "beta",
            "state",
            "density",
            "current",
            "bond_current",
            "method",
        ]
        .map(|c| writer.col(c).expect("schema column"));
        let ids = chain_range(self.n, self.shard);
        let rows_here = ids.end - ids.start;
        let bar = common.bar(rows_here, "gen-tasep");
        let block = ((64usize << 20) / self.m).clamp(1, 16 * rayon::current_num_threads());
        let mut grid = PreviewGrid::new(8, ("β", self.beta), ("α", self.alpha));
        let (mut exact_rows, mut attempts) = (0u64, 0u64);
        let started = Instant::now();
        let shared = self.shared_sampler();
        run_in_order(
            ids.clone(),
            block,
            |id| self.sample(common.seed, id, shared.as_ref()),
            |id, s| {
                writer.u64(cols[0], id);
                writer.f64(cols[1], s.alpha);
                writer.f64(cols[2], s.beta);
                writer.list_i8(cols[3], &s.state);
                writer.f64(cols[4], density(&s.state));
                writer.f64(cols[5], s.current);
                writer.f64(cols[6], bond_current(&s.state));
                writer.str(cols[7], if s.exact { "exact" } else { "simulate" });
                writer.end_row()?;
                exact_rows += s.exact as u64;
                attempts += s.attempts;
                if preview.is_some() {
                    grid.offer(s.beta, s.alpha, &s.state);
                }
                bar.inc(1);
                Ok(())
            },
        )?;
        bar.finish_and_clear();
        let secs = started.elapsed().as_secs_f64();
        let rows = writer.finish()?;
        if let Some(p) = preview {
            // the paper's Figure 4 layout: α grows upwards, β to the right
            let (h, w) = if self.shape.len() == 2 {
                (self.shape[0], self.shape[1])
            } else {
                (1, self.m)
            };
            let title = format!(
                "gen-tasep: {} configurations, M = {} (occupied dark)",
                rows, self.m
            );
            grid.write(p, h, w, true, &title)?;
        }
        Ok(Summary {
            path,
            rows,
            exact_rows,
            attempts_per_ns: attempts as f64 / secs / 1e9,
        })
    }
}
