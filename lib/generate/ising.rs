//! `gen-ising`: datasets of 2D Ising configurations.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use rand::Rng;
use serde_json::json;

use super::{chain_range, output_path, run_in_order, Shard};
use crate::bail_input;
use crate::cli::Common;
use crate::contract::TableWriter;
use crate::io::SinkOptions;
use crate::meta::{Bounds, FileMeta, Kind, Provenance};
use crate::plot::mosaic::PreviewGrid;
use crate::sim::couplings::{Chain, CouplingTable};
use crate::sim::ising::lattice::bonds as lattice_bonds;
use crate::sim::ising::{run_chain, Algorithm, ChainSpec, Init, Isa, Record};
use crate::sim::rng::chain_rng;

/// Everything that determines a gen-ising dataset.
#[derive(Clone, Debug)]
pub struct IsingJob {
    pub n: u64,
    pub l: usize,
    pub t: [f64; 2],
    pub h: [f64; 2],
    pub j: f64,
    pub sweeps: usize,
    pub burn_in: Option<usize>,
    pub thin: usize,
    pub per_chain: u64,
    pub algorithm: Algorithm,
    pub init: Init,
    pub shard: Option<Shard>,
    /// Fixed per-bond couplings J_ij = J + σ·N(0, 1), drawn once for the
    /// dataset from the seed (a disordered lattice; heat-bath chains).
    pub bond_disorder: Option<f64>,
}

/// What a run produced.
pub struct Summary {
    pub path: PathBuf,
    pub rows: u64,
    pub flips_per_ns: f64,
    pub isa: Isa,
}

impl IsingJob {
    /// Check every flag; errors name the flag.
    pub fn validate(&self) -> Result<()> {
        if self.n == 0 {
            bail_input!("--n: must be at least 1");
        }
        if self.l < 2 {
            bail_input!("--L: must be at least 2, got {}", self.l);
        }
        if self.algorithm.is_checkerboard() && self.l % 2 == 1 {
            bail_input!("--L: {} is odd; the checkerboard {:?} update needs an even L (or use --algorithm sw)", self.l, self.algorithm);
        }
        if self.t[0] <= 0.0 {
            bail_input!(
                "--T: temperatures must be positive, got {}:{}",
                self.t[0],
                self.t[1]
            );
        }
        if !self.j.is_finite() || self.j == 0.0 {
            bail_input!("--J: must be a non-zero finite coupling");
        }
        if self.sweeps == 0 {
            bail_input!("--sweeps: must be at least 1");
        }
        if self.per_chain == 0 || !self.n.is_multiple_of(self.per_chain) {
            bail_input!(
                "--per-chain: {} does not divide --n {}",
                self.per_chain,
                self.n
            );
        }
        if self.per_chain > 1 && self.thin == 0 {
            bail_input!("--thin: must be at least 1 when --per-chain > 1");
        }
        if let Some(sd) = self.bond_disorder {
            if !(sd.is_finite() && sd >= 0.0) {
                bail_input!("--bond-disorder: must be a standard deviation ≥ 0, got {sd}");
            }
            if self.algorithm != Algorithm::Glauber {
                bail_input!("--bond-disorder runs heat-bath chains over the bond table: give --algorithm glauber");
            }
            if self.t[0] != self.t[1] || self.h[0] != self.h[1] {
                bail_input!("--bond-disorder: the couplings are fixed for the dataset, so --T and --h must be single values");
            }
            if self.l < 3 {
                bail_input!(
                    "--bond-disorder: --L must be at least 3 (so every bond joins a distinct pair)"
                );
            }
        }
        Ok(())
    }

    fn burn_in(&self) -> usize {
        self.burn_in.unwrap_or(self.sweeps)
    }

    /// The per-bond couplings J_ij of a disordered lattice: bond 2i joins
    /// site i to its right neighbour, bond 2i + 1 to the one below.
    pub fn bonds(&self, seed: u64) -> Option<Vec<f64>> {
        let sd = self.bond_disorder?;
        // a stream no chain uses (chain ids are below --n)
        let mut rng = chain_rng(seed, u64::MAX);
        Some(
            (0..2 * self.l * self.l)
                .map(|_| {
                    // Box–Muller
                    let (u, v): (f64, f64) = (rng.random(), rng.random());
                    self.j + sd * (-2.0 * (1.0 - u).ln()).sqrt() * (std::f64::consts::TAU * v).cos()
                })
                .collect(),
        )
    }

    fn meta(&self, seed: u64) -> FileMeta {
        let mut bounds = Bounds::new();
        bounds.insert("T".into(), self.t);
        bounds.insert("h".into(), self.h);
        let model = json!({
            "system": "ising",
            "L": self.l,
            "J": self.j,
            "boundary": "periodic",
            "algorithm": self.algorithm,
            "sweeps": self.sweeps,
            "burn_in": self.burn_in(),
            "thin": self.thin,
            "per_chain": self.per_chain,
            "init": self.init,
            "n_total": self.n,
            "rng": "chacha8 per chain (seed, chain id) -> 16 xoshiro128++ lanes",
        });
        let mut model = model;
        if let Some(sd) = self.bond_disorder {
            model["bond_disorder"] = json!(sd);
            model["rng"] =
                json!("chacha8 per chain (seed, chain id), heat-bath over the bond table");
        }
        let meta = FileMeta::new(
            Kind::Microstates,
            vec!["T".into(), "h".into()],
            bounds,
            model,
            Provenance::from_env("gen-ising", Some(seed)),
        )
        .with("state_shape", [self.l, self.l]);
        match self.bonds(seed) {
            Some(b) => meta.with("bonds", b),
            None => meta,
        }
    }

    /// Generate the dataset (this shard of it) at `out`.
    pub fn generate(&self, out: &Path, common: &Common, preview: Option<&Path>) -> Result<Summary> {
        self.validate()?;
        let path = output_path(out, self.shard)?;
        let meta = self.meta(common.seed);
        let mut writer = TableWriter::create(
            &path,
            &meta,
            &["energy", "magnetization"],
            &SinkOptions::default(),
        )?;
        let cols = ["id", "T", "h", "state", "energy", "magnetization"]
            .map(|c| writer.col(c).expect("schema column"));

        let chains = chain_range(self.n / self.per_chain, self.shard);
        let rows_here = (chains.end - chains.start) * self.per_chain;
        let isa = Isa::detect();
        let bar = common.bar(rows_here, "gen-ising");
        // keep parallel blocks to ~64 MiB of states
        let chain_bytes = (self.per_chain as usize * self.l * self.l).max(1);
        let block = (64usize << 20) / chain_bytes;
        let block = block.clamp(1, 64 * rayon::current_num_threads());
        let mut grid = PreviewGrid::new(8, ("T", self.t), ("h", self.h));
        let seed = common.seed;
        let bonds = self.bonds(seed);
        let started = Instant::now();
        run_in_order(
            chains.clone(),
            block,
            |chain| {
                let mut rng = chain_rng(seed, chain);
                let t = self.t[0] + (self.t[1] - self.t[0]) * rng.random::<f64>();
                let h = self.h[0] + (self.h[1] - self.h[0]) * rng.random::<f64>();
                let spec = ChainSpec {
                    l: self.l,
                    j: self.j,
                    t,
                    h,
                    algorithm: self.algorithm,
                    init: self.init,
                    burn_in: self.burn_in(),
                    thin: self.thin,
                    records: self.per_chain as usize,
                };
                let records = match &bonds {
                    Some(b) => disordered_chain(&spec, b, rng),
                    None => run_chain(&spec, &mut rng, isa),
                };
                (t, h, records)
            },
            |chain, (t, h, records)| {
                for (k, r) in records.into_iter().enumerate() {
                    let id = chain * self.per_chain + k as u64;
                    writer.u64(cols[0], id);
                    writer.f64(cols[1], t);
                    writer.f64(cols[2], h);
                    writer.list_i8(cols[3], &r.state);
                    writer.f64(cols[4], r.energy);
                    writer.f64(cols[5], r.magnetization);
                    writer.end_row()?;
                    if preview.is_some() {
                        grid.offer(t, h, &r.state);
                    }
                }
                bar.inc(self.per_chain);
                Ok(())
            },
        )?;
        bar.finish_and_clear();
        let secs = started.elapsed().as_secs_f64();
        let rows = writer.finish()?;
        if let Some(p) = preview {
            // a phase diagram: T grows to the right, h upwards
            let title = format!(
                "gen-ising: {} configurations, L = {}, J = {} (spin +1 light)",
                rows, self.l, self.j
            );
            grid.write(p, self.l, self.l, false, &title)?;
        }
        let sweeps_per_chain = self.burn_in() + self.thin * (self.per_chain as usize - 1);
        let flips =
            (chains.end - chains.start) as f64 * sweeps_per_chain as f64 * (self.l * self.l) as f64;
        Ok(Summary {
            path,
            rows,
            flips_per_ns: flips / secs / 1e9,
            isa,
        })
    }
}

/// One heat-bath chain on the bond table `bonds` (J_ij) at the spec's T
/// and h; energies per site with those couplings.
fn disordered_chain(spec: &ChainSpec, bonds: &[f64], rng: rand_chacha::ChaCha8Rng) -> Vec<Record> {
    let (l, beta) = (spec.l, 1.0 / spec.t);
    let k: Vec<f64> = bonds.iter().map(|j| beta * j).collect();
    let table = CouplingTable::lattice(l, &k, beta * spec.h);
    let mut chain = Chain::from_rng(l * l, rng);
    if spec.init != Init::Random {
        let s = if spec.init == Init::Up { 1 } else { -1 };
        chain.spins.iter_mut().for_each(|v| *v = s);
    }
    let n = (l * l) as f64;
    let pairs = lattice_bonds(l);
    (0..spec.records)
        .map(|r| {
            chain.sweep(&table, if r == 0 { spec.burn_in } else { spec.thin });
            let s = &chain.spins;
            let bond_sum: f64 = pairs
                .iter()
                .zip(bonds)
                .map(|(&(a, b), j)| j * (s[a] * s[b]) as f64)
                .sum();
            let m = s.iter().map(|&v| v as f64).sum::<f64>();
            Record {
                state: s.clone(),
                energy: (-bond_sum - spec.h * m) / n,
                magnetization: m / n,
            }
        })
        .collect()
}
