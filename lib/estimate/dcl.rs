//! eval-dcl: thermodynamics of an energy model (the DCL paper's learned
//! Hamiltonian, or the exact Ising one) by Metropolis chains over a list of
//! β and L. A phasekit EDNN is tabulated once (every tile's energy, checked
//! against ONNX Runtime on random configurations) and run by table lookup;
//! the errors account for each series' autocorrelation.

use std::path::PathBuf;

use anyhow::Result;
use rand::Rng;
use rayon::prelude::*;
use serde_json::json;

use super::autocorr::mean_with_error;
use crate::cli::Common;
use crate::contract::estimates::{self, EstimateRow};
use crate::meta::{Bounds, FileMeta, InputRef, Kind, Provenance};
use crate::nn::ednn::{EdnnSpec, HostEdnn};
use crate::runtime::{take_output, Device, Model, ModelFile};
use crate::sim::rng::chain_rng;
use crate::sim::tiles::{ising_table, TileChain, Tiling};
use crate::{bail_input, input_error};

/// Random configurations per L on which the table must match the model.
const TABLE_PROBES: usize = 16;

/// The energy whose thermodynamics eval-dcl measures.
#[derive(Clone, Debug)]
pub enum EnergySource {
    /// an `energy` ONNX model from fit-ednn
    Model(PathBuf),
    /// the exact Ising energy with coupling J (the reference)
    Ising { j: f64 },
}

#[derive(Clone, Debug)]
pub struct DclConfig {
    pub energy: EnergySource,
    pub betas: Vec<f64>,
    pub sizes: Vec<usize>,
    pub chains: usize,
    pub burn_in: usize,
    pub sweeps: usize,
}

/// A tile table with its tiling parameters.
pub struct Tabulated {
    pub spec: EdnnSpec,
    pub table: Vec<f64>,
    pub describe: serde_json::Value,
    file: Option<ModelFile>,
}

impl DclConfig {
    pub fn validate(&self) -> Result<()> {
        if self.betas.is_empty() || self.sizes.is_empty() {
            bail_input!("--beta and --L: give at least one value each");
        }
        if let Some(b) = self.betas.iter().find(|b| !(b.is_finite() && **b > 0.0)) {
            bail_input!("--beta: every β must be positive, got {b}");
        }
        if self.chains == 0 || self.sweeps < 2 {
            bail_input!("--chains ≥ 1 and --sweeps ≥ 2");
        }
        Ok(())
    }
}

/// Tabulate the energy: an EDNN file through its weights (then checked
/// against ONNX Runtime at every L), or the exact Ising bonds.
pub fn tabulate(source: &EnergySource, sizes: &[usize]) -> Result<Tabulated> {
    match source {
        EnergySource::Ising { j } => Ok(Tabulated {
            spec: EdnnSpec {
                f: 2,
                c: 1,
                hidden: vec![1],
            },
            table: ising_table(2, 1, *j),
            describe: json!({"kind": "ising", "J": j}),
            file: None,
        }),
        EnergySource::Model(path) => {
            let file = ModelFile::read(path)?;
            let label = format!("--energy {}", file.label());
            let mut model = Model::from_bytes(&file.bytes, &label, Device::Cpu, 1)?;
            if model.metadata.get("phasekit.kind").map(String::as_str) != Some("energy") {
                bail_input!("{label}: phasekit.kind is not `energy` (schemas/models.md)");
            }
            let network: serde_json::Value = model
                .metadata
                .get("phasekit.network")
                .and_then(|v| serde_json::from_str(v).ok())
                .unwrap_or_default();
            if network["arch"] != "ednn" {
                bail_input!(
                    "{label}: not a tiled EDNN (phasekit.network {network}); eval-dcl tabulates fit-ednn's models"
                );
            }
            let spec: EdnnSpec = serde_json::from_value(network.clone())
                .map_err(|e| input_error!("{label}: phasekit.network: {e}"))?;
            let params = crate::nn::ednn::params_from_onnx(&file.bytes, &spec)
                .map_err(|e| input_error!("{label}: {e}"))?;
            let host = HostEdnn::new(&spec, &params).map_err(|e| input_error!("{label}: {e}"))?;
            let table = host.table().ok_or_else(|| {
                input_error!(
                    "{label}: tiles of {} spins are too many to tabulate",
                    spec.inputs()
                )
            })?;
            for &l in sizes {
                if let Err(why) = spec.check_l(l) {
                    bail_input!("--L {l}: {why}");
                }
                check_table(&mut model, &spec, &table, l, &label)?;
            }
            Ok(Tabulated {
                spec,
                table,
                describe: json!({"kind": "model", "file": file.label(), "hash": file.hash(), "network": network}),
                file: Some(file),
            })
        }
    }
}

/// The table's energies must be the model's on random configurations.
fn check_table(
    model: &mut Model,
    spec: &EdnnSpec,
    table: &[f64],
    l: usize,
    label: &str,
) -> Result<()> {
    let n = l * l;
    let mut rng = chain_rng(0x4443_4c00, l as u64);
    let states: Vec<i8> = (0..TABLE_PROBES * n)
        .map(|_| if rng.random() { 1 } else { -1 })
        .collect();
    let x: Vec<f32> = states.iter().map(|&v| v as f32).collect();
    let mut out = model.run(&[("states", &[TABLE_PROBES, l, l], &x)])?;
    let e = take_output(&mut out, "energy");
    if e.len() != TABLE_PROBES {
        bail_input!(
            "{label}: `energy` has {} values for {TABLE_PROBES} configurations; the contract is one per configuration",
            e.len()
        );
    }
    let tiling = Tiling::new(l, spec.f, spec.c);
    for (k, s) in states.chunks(n).enumerate() {
        let by_table: f64 = tiling.indices(s).iter().map(|&i| table[i as usize]).sum();
        if (by_table - e[k] as f64).abs() > 1e-3 * (1.0 + by_table.abs()) {
            bail_input!(
                "{label}: at L = {l} the tile table gives {by_table:.5}, the model {:.5}: not a plain sum over tiles",
                e[k]
            );
        }
    }
    Ok(())
}

/// Per-sweep measurements of one chain.
struct Series {
    e: Vec<f64>,
    abs_m: Vec<f64>,
    m2: Vec<f64>,
    accepted: u64,
}

fn run_chain(
    tiling: &Tiling,
    table: &[f64],
    beta: f64,
    cfg: &DclConfig,
    seed: u64,
    stream: u64,
) -> Series {
    let n = tiling.l * tiling.l;
    let mut rng = chain_rng(seed, stream);
    let start: Vec<i8> = (0..n).map(|_| if rng.random() { 1 } else { -1 }).collect();
    let mut chain = TileChain::new(tiling, table, start);
    chain.sweeps(beta, cfg.burn_in, &mut rng);
    let mut s = Series {
        e: Vec::with_capacity(cfg.sweeps),
        abs_m: Vec::with_capacity(cfg.sweeps),
        m2: Vec::with_capacity(cfg.sweeps),
        accepted: 0,
    };
    for _ in 0..cfg.sweeps {
        s.accepted += chain.sweeps(beta, 1, &mut rng);
        let m = chain.magnetization();
        s.e.push(chain.energy() / n as f64);
        s.abs_m.push(m.abs());
        s.m2.push(m * m);
    }
    s
}

/// The estimates at one (β, L): U/N, ⟨|m|⟩, ⟨m²⟩, C/N, χ/N, τ, acceptance.
fn point_rows(method: &str, series: &[Series], beta: f64, n: usize) -> Vec<EstimateRow> {
    let cat = |f: fn(&Series) -> &Vec<f64>| -> Vec<f64> {
        series.iter().flat_map(|s| f(s).clone()).collect()
    };
    let (e, am, m2) = (cat(|s| &s.e), cat(|s| &s.abs_m), cat(|s| &s.m2));
    let count = e.len();
    let nf = n as f64;
    let mut rows = Vec::new();
    let (u, su, ac_e) = mean_with_error(&e);
    let (a, sa, ac_m) = mean_with_error(&am);
    let (q, sq, _) = mean_with_error(&m2);
    rows.push(EstimateRow::new(method, "energy", u, Some(su), count));
    rows.push(EstimateRow::new(
        method,
        "abs_magnetization",
        a,
        Some(sa),
        count,
    ));
    rows.push(EstimateRow::new(
        method,
        "magnetization_sq",
        q,
        Some(sq),
        count,
    ));
    // variances as means of squared deviations, with their own τ
    let var = |x: &[f64], mean: f64| {
        let d: Vec<f64> = x.iter().map(|v| (v - mean).powi(2)).collect();
        let (v, s, _) = mean_with_error(&d);
        (v, s)
    };
    let (ve, sve) = var(&e, u);
    let (vm, svm) = var(&am, a);
    rows.push(EstimateRow::new(
        method,
        "specific_heat",
        beta * beta * nf * ve,
        Some(beta * beta * nf * sve),
        count,
    ));
    rows.push(EstimateRow::new(
        method,
        "susceptibility",
        beta * nf * vm,
        Some(beta * nf * svm),
        count,
    ));
    rows.push(EstimateRow::new(
        method,
        "tau_energy",
        ac_e.tau,
        Some(ac_e.tau_sigma),
        count,
    ));
    rows.push(EstimateRow::new(
        method,
        "tau_abs_magnetization",
        ac_m.tau,
        Some(ac_m.tau_sigma),
        count,
    ));
    let attempts = (count * n) as f64;
    let accepted: u64 = series.iter().map(|s| s.accepted).sum();
    rows.push(EstimateRow::new(
        method,
        "acceptance",
        accepted as f64 / attempts,
        None,
        count,
    ));
    rows
}

/// One estimates row set per (β, L), in the order given.
pub struct DclResult {
    pub points: Vec<(f64, usize, Vec<EstimateRow>)>,
    pub sweeps_per_s: f64,
}

pub fn run(cfg: &DclConfig, out: &std::path::Path, common: &Common) -> Result<DclResult> {
    cfg.validate()?;
    let tab = tabulate(&cfg.energy, &cfg.sizes)?;
    let method = match cfg.energy {
        EnergySource::Model(_) => "mcmc",
        EnergySource::Ising { .. } => "mcmc-ising",
    };
    for &l in &cfg.sizes {
        if let Err(why) = tab.spec.check_l(l) {
            bail_input!("--L {l}: {why}");
        }
    }
    let total = (cfg.betas.len() * cfg.sizes.len()) as u64;
    let bar = common.bar(total, "points");
    let started = std::time::Instant::now();
    let mut points = Vec::new();
    let mut sweeps = 0usize;
    for (li, &l) in cfg.sizes.iter().enumerate() {
        let tiling = Tiling::new(l, tab.spec.f, tab.spec.c);
        for (bi, &beta) in cfg.betas.iter().enumerate() {
            let base = ((li * cfg.betas.len() + bi) * cfg.chains) as u64;
            let series: Vec<Series> = (0..cfg.chains)
                .into_par_iter()
                .map(|k| run_chain(&tiling, &tab.table, beta, cfg, common.seed, base + k as u64))
                .collect();
            sweeps += cfg.chains * (cfg.burn_in + cfg.sweeps) * l * l;
            points.push((beta, l, point_rows(method, &series, beta, l * l)));
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let mut prov = Provenance::from_env("eval-dcl", Some(common.seed));
    if let Some(f) = &tab.file {
        prov.inputs.push(InputRef {
            path: f.label(),
            hash: f.hash(),
        });
    }
    let mut bounds = Bounds::new();
    let lo_hi = |v: &[f64]| {
        [
            v.iter().copied().fold(f64::INFINITY, f64::min),
            v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        ]
    };
    bounds.insert("beta".into(), lo_hi(&cfg.betas));
    let sizes: Vec<f64> = cfg.sizes.iter().map(|&l| l as f64).collect();
    bounds.insert("L".into(), lo_hi(&sizes));
    let meta = FileMeta::new(
        Kind::Estimates,
        vec!["beta".into(), "L".into()],
        bounds,
        json!({"system": "ising", "energy": tab.describe, "chains": cfg.chains, "burn_in": cfg.burn_in,
               "sweeps": cfg.sweeps, "update": "sequential Metropolis, tile-table lookup"}),
        prov,
    )
    .with("warnings", Vec::<String>::new());
    let mut rows = Vec::new();
    let mut at = Vec::new();
    for (beta, l, r) in &points {
        for row in r {
            rows.push(row.clone());
            at.push([*beta, *l as f64]);
        }
    }
    estimates::write_points(out, &meta, &at, &rows)?;
    Ok(DclResult {
        points,
        // site updates per second, all chains together
        sweeps_per_s: sweeps as f64 / secs.max(1e-9),
    })
}
