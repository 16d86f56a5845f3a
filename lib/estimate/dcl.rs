//! eval-dcl: thermodynamics of an energy model (the DCL paper's learned
//! Hamiltonian, or the exact Ising one) by Metropolis chains over a list of
//! β and L, sixteen chains to a group (`sim::replicas`). A phasekit EDNN is
//! tabulated once (every tile's energy, checked against ONNX Runtime on
//! random configurations) and run by table lookup; any other `energy` model
//! is run through ONNX Runtime itself, one batch of sixteen proposals per
//! site: slower, equally exact. The errors account for each series'
//! autocorrelation.

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
use crate::sim::replicas::{self, accepts, lane_start, Replicas, Series};
use crate::sim::rng::{chain_rng, Lanes, LANES};
use crate::sim::tiles::{ising_table, TileReplicas, TileTable, Tiling};
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

/// The energy, ready for the chains, and how the output file describes it.
pub struct Prepared {
    pub evaluator: Evaluator,
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

/// The energy as the chains evaluate it.
pub enum Evaluator {
    /// a tile table (an EDNN, or the exact Ising bonds) and its tiling
    Table { spec: EdnnSpec, table: TileTable },
    /// an `energy` model run through ONNX Runtime
    Model { file: ModelFile, label: String },
}

/// The exact Ising bonds as a 2×2-focus tile table.
fn ising(j: f64, sizes: &[usize]) -> Result<Prepared> {
    let spec = EdnnSpec {
        f: 2,
        c: 1,
        hidden: vec![1],
    };
    for &l in sizes {
        if let Err(why) = spec.check_l(l) {
            bail_input!("--L {l}: {why}");
        }
    }
    Ok(Prepared {
        evaluator: Evaluator::Table {
            spec,
            table: TileTable::new(ising_table(2, 1, j)),
        },
        describe: json!({"kind": "ising", "J": j}),
        file: None,
    })
}

/// Prepare the energy: an EDNN file tabulated through its weights (the
/// table then checked against ONNX Runtime at every L), the exact Ising
/// bonds, or any other `energy` model as it is (checked at every L).
pub fn prepare(source: &EnergySource, sizes: &[usize]) -> Result<Prepared> {
    let path = match source {
        EnergySource::Model(path) => path,
        EnergySource::Ising { j } => return ising(*j, sizes),
    };
    let file = ModelFile::read(path)?;
    let label = format!("--energy {}", file.label());
    let mut model = Model::from_bytes(&file.bytes, &label, Device::Cpu, 1)?;
    if model.metadata.get("phasekit.kind").map(String::as_str) != Some("energy") {
        bail_input!("{label}: phasekit.kind is not `energy` (schemas/models.md)");
    }
    if model.input("states").is_none() || model.output("energy").is_none() {
        bail_input!(
            "{label}: an energy model needs input `states` f32[N, L, L] and output `energy` f32[N]"
        );
    }
    let network: serde_json::Value = model
        .metadata
        .get("phasekit.network")
        .and_then(|v| serde_json::from_str(v).ok())
        .unwrap_or_default();
    let tabulated = tabulate_ednn(&file, &network, &label)?;
    for &l in sizes {
        match &tabulated {
            Some((spec, table)) => {
                if let Err(why) = spec.check_l(l) {
                    bail_input!("--L {l}: {why}");
                }
                check_table(&mut model, spec, table, l, &label)?;
            }
            None => {
                energies(&mut model, &probes(l), l, &label)?;
            }
        }
    }
    let how = if tabulated.is_some() {
        "tile table"
    } else {
        "onnxruntime"
    };
    let describe = json!({"kind": "model", "file": file.label(), "hash": file.hash(),
                          "network": network, "evaluated": how});
    let evaluator = match tabulated {
        Some((spec, table)) => Evaluator::Table {
            spec,
            table: TileTable::new(table),
        },
        None => Evaluator::Model {
            file: file.clone(),
            label,
        },
    };
    Ok(Prepared {
        evaluator,
        describe,
        file: Some(file),
    })
}

/// A phasekit EDNN small enough to tabulate: its spec and table; None for
/// any other energy model.
fn tabulate_ednn(
    file: &ModelFile,
    network: &serde_json::Value,
    label: &str,
) -> Result<Option<(EdnnSpec, Vec<f64>)>> {
    if network["arch"] != "ednn" {
        return Ok(None);
    }
    let spec: EdnnSpec = serde_json::from_value(network.clone())
        .map_err(|e| input_error!("{label}: phasekit.network: {e}"))?;
    let params = crate::nn::ednn::params_from_onnx(&file.bytes, &spec)
        .map_err(|e| input_error!("{label}: {e}"))?;
    let host = HostEdnn::new(&spec, &params).map_err(|e| input_error!("{label}: {e}"))?;
    Ok(host.table().map(|table| (spec, table)))
}

/// Random ±1 configurations for probing a model at L.
fn probes(l: usize) -> Vec<i8> {
    let mut rng = chain_rng(0x4443_4c00, l as u64);
    (0..TABLE_PROBES * l * l)
        .map(|_| if rng.random() { 1 } else { -1 })
        .collect()
}

/// The model's energies of L×L configurations, one finite number each.
fn energies(model: &mut Model, states: &[i8], l: usize, label: &str) -> Result<Vec<f64>> {
    let rows = states.len() / (l * l);
    let x: Vec<f32> = states.iter().map(|&v| v as f32).collect();
    let mut out = model
        .run(&[("states", &[rows, l, l], &x)])
        .map_err(|e| input_error!("{label}: at L = {l}: {e}"))?;
    let e = take_output(&mut out, "energy");
    if e.len() != rows {
        bail_input!(
            "{label}: `energy` has {} values for {rows} configurations at L = {l}; the contract is one per configuration",
            e.len()
        );
    }
    if let Some(k) = e.iter().position(|v| !v.is_finite()) {
        bail_input!(
            "{label}: at L = {l} the energy of a configuration is {}",
            e[k]
        );
    }
    Ok(e.into_iter().map(f64::from).collect())
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
    let states = probes(l);
    let e = energies(model, &states, l, label)?;
    let tiling = Tiling::new(l, spec.f, spec.c);
    for (k, s) in states.chunks(n).enumerate() {
        let by_table: f64 = tiling.indices(s).iter().map(|&i| table[i as usize]).sum();
        if (by_table - e[k]).abs() > 1e-3 * (1.0 + by_table.abs()) {
            bail_input!(
                "{label}: at L = {l} the tile table gives {by_table:.5}, the model {:.5}: not a plain sum over tiles",
                e[k]
            );
        }
    }
    Ok(())
}

/// Sixteen chains of an energy model run through ONNX Runtime: at each
/// site, the sixteen configurations with that spin flipped go through the
/// model in one batch, and ΔE is the difference of totals.
struct ModelReplicas {
    model: Model,
    label: String,
    l: usize,
    beta: [f32; LANES],
    spins: Vec<Vec<i8>>,
    energy: [f64; LANES],
    lanes: Lanes,
}

impl ModelReplicas {
    fn new(
        mut model: Model,
        label: String,
        l: usize,
        beta: [f64; LANES],
        spins: Vec<Vec<i8>>,
        lanes: Lanes,
    ) -> Result<ModelReplicas> {
        let e = energies(&mut model, &spins.concat(), l, &label)?;
        Ok(ModelReplicas {
            model,
            label,
            l,
            beta: beta.map(|b| b as f32),
            spins,
            energy: std::array::from_fn(|k| e[k]),
            lanes,
        })
    }
}

impl Replicas for ModelReplicas {
    fn sweep(&mut self) -> Result<[u32; LANES]> {
        let n = self.l * self.l;
        let mut accepted = [0u32; LANES];
        let mut proposed: Vec<i8> = self.spins.concat();
        for site in 0..n {
            for lane in 0..LANES {
                proposed[lane * n + site] = -self.spins[lane][site];
            }
            let e = energies(&mut self.model, &proposed, self.l, &self.label)?;
            let u = self.lanes.next16();
            for lane in 0..LANES {
                let delta = (e[lane] - self.energy[lane]) as f32;
                if accepts(self.beta[lane], delta, u[lane]) {
                    self.spins[lane][site] = -self.spins[lane][site];
                    self.energy[lane] = e[lane];
                    accepted[lane] += 1;
                } else {
                    proposed[lane * n + site] = self.spins[lane][site];
                }
            }
        }
        Ok(accepted)
    }

    fn observe(&self) -> ([f64; LANES], [f64; LANES]) {
        let n = (self.l * self.l) as f64;
        let m =
            std::array::from_fn(|lane| self.spins[lane].iter().map(|&v| v as f64).sum::<f64>() / n);
        (self.energy.map(|e| e / n), m)
    }
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
    pub updates_per_s: f64,
}

/// The stream of a lane that holds no task (its results are dropped).
const FILLER_STREAM: u64 = u64::MAX - LANES as u64;

/// One group of up to sixteen (β, stream) tasks at L, as lanes: their series.
fn run_group(
    evaluator: &Evaluator,
    l: usize,
    group: &[(f64, u64)],
    cfg: &DclConfig,
    seed: u64,
    tick: impl FnMut(),
) -> Result<Vec<Series>> {
    let beta = std::array::from_fn(|k| group.get(k).map_or(group[0].0, |t| t.0));
    let streams = std::array::from_fn(|k| group.get(k).map_or(FILLER_STREAM + k as u64, |t| t.1));
    let (spins, lanes) = lane_start(seed, &streams, l * l);
    let mut series = match evaluator {
        Evaluator::Table { spec, table } => {
            let tiling = Tiling::new(l, spec.f, spec.c);
            let mut chains = TileReplicas::new(&tiling, table, beta, &spins, lanes);
            replicas::run(&mut chains, cfg.burn_in, cfg.sweeps, tick)?
        }
        Evaluator::Model { file, label } => {
            let model = Model::from_bytes(&file.bytes, label, Device::Cpu, 1)?;
            let mut chains = ModelReplicas::new(model, label.clone(), l, beta, spins, lanes)?;
            replicas::run(&mut chains, cfg.burn_in, cfg.sweeps, tick)?
        }
    };
    series.truncate(group.len());
    Ok(series)
}

pub fn run(cfg: &DclConfig, out: &std::path::Path, common: &Common) -> Result<DclResult> {
    cfg.validate()?;
    let prepared = prepare(&cfg.energy, &cfg.sizes)?;
    let method = match cfg.energy {
        EnergySource::Model(_) => "mcmc",
        EnergySource::Ising { .. } => "mcmc-ising",
    };
    let (nb, chains) = (cfg.betas.len(), cfg.chains);
    let groups_per_l = (nb * chains).div_ceil(LANES);
    let total = (cfg.sizes.len() * groups_per_l * (cfg.burn_in + cfg.sweeps)) as u64;
    let bar = common.bar(total, "sweeps");
    let started = std::time::Instant::now();
    let mut points = Vec::new();
    let mut updates = 0usize;
    for (li, &l) in cfg.sizes.iter().enumerate() {
        // one task per (β, chain); its stream is fixed by its place in --L × --beta
        // and its chain number alone, whatever group or thread runs it
        let tasks: Vec<(f64, u64)> = (0..nb * chains)
            .map(|t| (cfg.betas[t / chains], (li * nb * chains + t) as u64))
            .collect();
        let groups: Vec<Vec<Series>> = tasks
            .par_chunks(LANES)
            .map(|g| run_group(&prepared.evaluator, l, g, cfg, common.seed, || bar.inc(1)))
            .collect::<Result<_>>()?;
        let series: Vec<Series> = groups.into_iter().flatten().collect();
        for (bi, &beta) in cfg.betas.iter().enumerate() {
            let mine = &series[bi * chains..(bi + 1) * chains];
            points.push((beta, l, point_rows(method, mine, beta, l * l)));
        }
        updates += tasks.len() * (cfg.burn_in + cfg.sweeps) * l * l;
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let mut prov = Provenance::from_env("eval-dcl", Some(common.seed));
    if let Some(f) = &prepared.file {
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
        json!({"system": "ising", "energy": prepared.describe, "chains": cfg.chains, "burn_in": cfg.burn_in,
               "sweeps": cfg.sweeps, "update": "sequential Metropolis, sixteen chains in lanes"}),
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
        updates_per_s: updates as f64 / secs.max(1e-9),
    })
}
