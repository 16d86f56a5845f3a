//! fit-vae's training: a β-VAE (or β²-VAE) over Ising configurations from
//! one or more microstates datasets, each at its own J (FM, AFM and PM
//! data side by side), exported as `vae-encoder` and `vae-decoder` ONNX
//! models (schemas/models.md), the latents of every configuration
//! (schemas/latents.md) and the report of [`super::vae_report`].

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use rand::Rng;
use serde_json::json;

use super::vae_report::{self, order_parameters, Phase, VaeReport};
use crate::bail_input;
use crate::cli::Common;
use crate::contract::latents::LatentRow;
use crate::contract::trainlog::{self, LogRow};
use crate::contract::{self, col_f64, col_u64, list_i8};
use crate::meta::{Bounds, FileMeta, InputRef, Kind, Provenance};
use crate::nn::burn_exec::{train_device, Net};
use crate::nn::program::Program;
pub use crate::nn::vae::DecoderKind;
use crate::nn::vae::{decoder_onnx, encoder_onnx, step_loss, Inference, RunningStats, VaeSpec};
use crate::sim::rng::{chain_rng, standard_normals as normals};
use crate::train::{RunSettings, TestLoss, Tracker};

const INIT_STREAM: u64 = 0x5641_4500_0000_0001;
const BATCH_STREAM: u64 = 0x5641_4500_0000_0002;
const EPS_STREAM: u64 = 0x5641_4500_0000_0003;
const SPLIT_STREAM: u64 = 0x5641_4500_0000_0004;
const TEST_EPS_STREAM: u64 = 0x5641_4500_0000_0005;

/// Held-out configurations in the fixed test-loss set, at most.
const TEST_SET: usize = 2048;
/// Rows per inference batch.
const CHUNK: usize = 512;

#[derive(Clone, Debug)]
pub struct VaeConfig {
    pub run: RunSettings,
    /// the KL weight β of eq. 4
    pub beta: f64,
    pub latent: usize,
    pub width: usize,
    pub decoder: DecoderKind,
    /// microstates files or folders; a folder's files are read one by one,
    /// each with its own J (schemas/microstates.md, "Collections")
    pub data: Vec<PathBuf>,
    pub test_fraction: f64,
    /// configurations drawn from the prior for the report
    pub samples: usize,
    /// steps over which the KL weight rises linearly from 0 to β (0: none)
    pub kl_warmup: usize,
}

impl VaeConfig {
    pub fn validate(&self) -> Result<()> {
        if !(self.beta.is_finite() && self.beta > 0.0) {
            bail_input!("--beta: must be a positive number, got {}", self.beta);
        }
        if self.latent == 0 {
            bail_input!("--latent: must be at least 1, got 0");
        }
        if self.width == 0 {
            bail_input!("--width: must be at least 1, got 0");
        }
        if self.data.is_empty() {
            bail_input!("--data: give at least one microstates file or folder");
        }
        if !(0.0..1.0).contains(&self.test_fraction) {
            bail_input!(
                "--test-fraction: must be in [0, 1), got {}",
                self.test_fraction
            );
        }
        if self.samples == 0 {
            bail_input!("--samples: must be at least 1");
        }
        Ok(())
    }
}

/// Every configuration of the training data, with what the report needs.
pub struct VaeData {
    pub l: usize,
    /// one entry per dataset file: (path as given, J, rows)
    pub sources: Vec<(String, f64, usize)>,
    pub source_of: Vec<usize>,
    pub ids: Vec<u64>,
    pub t: Vec<f64>,
    /// binary images σ = (s + 1)/2, rows of L²
    pub x01: Vec<f32>,
    pub magnetization: Vec<f64>,
    pub staggered: Vec<f64>,
    pub phase: Vec<Phase>,
    pub inputs: Vec<InputRef>,
}

impl VaeData {
    pub fn len(&self) -> usize {
        self.ids.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
    pub fn j(&self, row: usize) -> f64 {
        self.sources[self.source_of[row]].1
    }
    pub fn row(&self, r: usize) -> &[f32] {
        let n = self.l * self.l;
        &self.x01[r * n..(r + 1) * n]
    }
}

/// The files `--data` names: a file, or each `.parquet` file of a folder.
fn data_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            out.extend(crate::io::dataset::list_parts(p)?);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Load every configuration of `paths`: Ising, square, one lattice size, ±1.
pub fn load(paths: &[PathBuf]) -> Result<VaeData> {
    let mut d = VaeData {
        l: 0,
        sources: Vec::new(),
        source_of: Vec::new(),
        ids: Vec::new(),
        t: Vec::new(),
        x01: Vec::new(),
        magnetization: Vec::new(),
        staggered: Vec::new(),
        phase: Vec::new(),
        inputs: Vec::new(),
    };
    for path in data_files(paths)? {
        let p = path.display().to_string();
        let ds = contract::open(&path, Kind::Microstates)?;
        if ds.meta.model["system"] != "ising" {
            bail_input!(
                "{p}: --data holds {} configurations, not Ising",
                ds.meta.model["system"]
            );
        }
        let shape: Vec<usize> = ds.meta.get(&path, "state_shape")?;
        let l = match shape.as_slice() {
            [a, b] if a == b => *a,
            _ => bail_input!("{p}: state shape {shape:?} is not a square lattice"),
        };
        if d.l != 0 && l != d.l {
            bail_input!(
                "{p}: L = {l}, but {} has L = {}; every --data file needs one lattice size",
                d.sources[0].0,
                d.l
            );
        }
        d.l = l;
        let j = ds.meta.model["J"].as_f64().unwrap_or(1.0);
        if !ds.meta.params.iter().any(|q| q == "T") {
            bail_input!("{p}: no temperature column T");
        }
        let src = d.sources.len();
        let mut rows = 0;
        for batch in ds.batches(Some(&["id", "T", "state"]), 8192)? {
            let batch = batch?;
            let (ids, ts) = (col_u64(&batch, "id")?, col_f64(&batch, "T")?);
            let (states, _) = list_i8(&batch, "state")?;
            for (k, s) in states.chunks(l * l).enumerate() {
                if let Some(bad) = s.iter().find(|&&v| v != 1 && v != -1) {
                    bail_input!(
                        "{p}: sample id {} holds the value {bad}; fit-vae reads Ising spins ±1",
                        ids[k]
                    );
                }
                let (m, ms) = order_parameters(s, l);
                d.magnetization.push(m);
                d.staggered.push(ms);
                d.phase.push(Phase::of(j, ts[k]));
                d.x01
                    .extend(s.iter().map(|&v| if v > 0 { 1.0f32 } else { 0.0 }));
                d.ids.push(ids[k]);
                d.t.push(ts[k]);
                d.source_of.push(src);
                rows += 1;
            }
        }
        crate::contract::check_finite(&path, "T", &d.t[d.t.len() - rows..])?;
        d.sources.push((p, j, rows));
        d.inputs.push(InputRef {
            path: path.display().to_string(),
            hash: crate::io::hash::content_hash(&path)?,
        });
    }
    if d.is_empty() {
        bail_input!("--data: no configurations to train on");
    }
    Ok(d)
}

pub struct TrainedVae {
    pub spec: VaeSpec,
    pub encoder: Vec<u8>,
    pub decoder: Vec<u8>,
    pub latents: Vec<LatentRow>,
    pub report: VaeReport,
    pub log: Vec<LogRow>,
    pub steps_per_s: f64,
    pub parameters: usize,
    /// generated samples (Bernoulli means, rows of L²) and, for β²-VAE, β_k and h_k
    pub generated: vae_report::Generated,
    /// decoded means over a grid of the first two latent axes
    pub latent_grid: Option<(usize, f64, Vec<f32>)>,
    /// the --data files with their content hashes
    pub inputs: Vec<InputRef>,
}

/// The ONNX metadata_props of both models.
fn model_metadata(
    kind: &str,
    spec: &VaeSpec,
    training: &serde_json::Value,
) -> Vec<(String, String)> {
    vec![
        ("phasekit.kind".into(), kind.into()),
        ("phasekit.version".into(), "1".into()),
        ("phasekit.L".into(), spec.l.to_string()),
        ("phasekit.latent".into(), spec.latent.to_string()),
        (
            "phasekit.decoder".into(),
            json!(spec.decoder).as_str().unwrap_or("").into(),
        ),
        ("phasekit.network".into(), spec.network().to_string()),
        ("phasekit.training".into(), training.to_string()),
    ]
}

pub fn train(cfg: &VaeConfig, common: &Common) -> Result<TrainedVae> {
    cfg.validate()?;
    // a device that cannot start fails before any data is read
    let device = train_device(cfg.run.device)?;
    let data = load(&cfg.data)?;
    for w in vae_report::missing_phases(&data.phase) {
        if !common.quiet {
            eprintln!("fit-vae: warning: {w}");
        }
    }
    let spec = VaeSpec {
        l: data.l,
        latent: cfg.latent,
        width: cfg.width,
        decoder: cfg.decoder,
    };
    if let Err(why) = spec.check() {
        bail_input!("{}: {why}", data.sources[0].0);
    }
    let n = spec.sites();
    // held-out rows: a fixed fraction, by row
    let (mut train_rows, mut test_rows) = (Vec::new(), Vec::new());
    for r in 0..data.len() {
        let held =
            chain_rng(common.seed ^ SPLIT_STREAM, r as u64).random::<f64>() < cfg.test_fraction;
        if held {
            test_rows.push(r)
        } else {
            train_rows.push(r)
        }
    }
    if train_rows.is_empty() {
        bail_input!("--data: no configurations left to train on");
    }
    test_rows.truncate(TEST_SET);
    let test_x: Vec<f32> = test_rows
        .iter()
        .flat_map(|&r| data.row(r).to_vec())
        .collect();
    let test_eps = normals(
        &mut chain_rng(common.seed, TEST_EPS_STREAM),
        test_rows.len() * spec.latent,
    );

    let init = spec.init(&mut chain_rng(common.seed, INIT_STREAM));
    let spec_json = json!({"network": spec.network(), "beta": cfg.beta, "kl_warmup": cfg.kl_warmup, "data": data.sources.iter().map(|s| &s.0).collect::<Vec<_>>()});
    let (mut net, mut adam, mut tracker) = Tracker::begin(
        &cfg.run,
        Program::default(),
        init,
        &device,
        &spec_json,
        "another network (--latent/--width/--decoder), --beta or --data",
    )?;
    // the paper's Adam: β₁ = 0.5
    adam.beta1 = 0.5;
    let mut stats: RunningStats = if cfg.run.resume.is_some() {
        serde_json::from_value(tracker.state.clone()).map_err(|e| {
            crate::input_error!("--resume: the checkpoint lacks the batch-norm statistics ({e})")
        })?
    } else {
        spec.fresh_stats()
    };
    let start = adam.step as usize;
    let b = cfg.run.batch;
    let bar = common.bar(cfg.run.steps as u64, "train");
    bar.set_position(start as u64);
    let started = Instant::now();
    let (mut rec, mut kl) = (f64::NAN, f64::NAN);
    for step in start..cfg.run.steps {
        let mut rng = chain_rng(common.seed ^ BATCH_STREAM, step as u64);
        let mut x = Vec::with_capacity(b * n);
        for _ in 0..b {
            let r = train_rows[rng.random_range(0..train_rows.len())];
            x.extend_from_slice(data.row(r));
        }
        let eps = normals(
            &mut chain_rng(common.seed ^ EPS_STREAM, step as u64),
            b * spec.latent,
        );
        let beta_t = if step < cfg.kl_warmup {
            cfg.beta * (step + 1) as f64 / cfg.kl_warmup as f64
        } else {
            cfg.beta
        };
        let out = step_loss(&spec, &net, &x, &eps, beta_t)?;
        (rec, kl) = (out.reconstruction, out.kl);
        stats.update(&out.batch_stats);
        // the log shows eq. 4 at the target β, during the warm-up too
        let value = rec + cfg.beta * kl;
        if cfg.run.checkpoint.is_some()
            && ((step + 1).is_multiple_of(cfg.run.checkpoint_every) || step + 1 == cfg.run.steps)
        {
            tracker.state = serde_json::to_value(&stats)?;
        }
        let eval =
            |net: &Net| Inference::new(&spec, net, &stats).loss(&test_x, &test_eps, cfg.beta);
        let test: Option<TestLoss> = (!test_rows.is_empty()).then_some(&eval as TestLoss);
        tracker.after_step(
            &cfg.run, step, out.loss, value, &mut adam, &mut net, test, &spec_json, &bar,
        )?;
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();

    let inference = Inference::new(&spec, &net, &stats);
    let latents = encode_all(&inference, &data)?;
    let generated = vae_report::generate(&inference, &spec, cfg.samples, common.seed)?;
    let latent_grid = if spec.latent >= 2 {
        Some(vae_report::latent_grid(&inference, &spec, 8, 3.0)?)
    } else {
        None
    };
    let report = vae_report::report(cfg.beta, &spec, &latents, &generated, rec, kl);
    let training = json!({"steps": cfg.run.steps, "batch": b, "lr": cfg.run.lr, "beta": cfg.beta, "kl_warmup": cfg.kl_warmup,
        "adam": [adam.beta1, adam.beta2], "cosine": cfg.run.cosine, "seed": common.seed});
    let params = net.host_params()?;
    let encoder = encoder_onnx(
        &spec,
        &params,
        &stats,
        &model_metadata("vae-encoder", &spec, &training),
    );
    let decoder = decoder_onnx(
        &spec,
        &params,
        &stats,
        &model_metadata("vae-decoder", &spec, &training),
    );
    Ok(TrainedVae {
        spec,
        encoder,
        decoder,
        latents,
        report,
        log: tracker.log,
        steps_per_s: cfg.run.steps.saturating_sub(start) as f64 / secs.max(1e-9),
        parameters: net.parameter_count(),
        generated,
        latent_grid,
        inputs: data.inputs,
    })
}

/// μ and σ of every configuration, with its order parameters.
fn encode_all(inf: &Inference, data: &VaeData) -> Result<Vec<LatentRow>> {
    let n = data.l * data.l;
    let mut rows = Vec::with_capacity(data.len());
    for (c, chunk) in data.x01.chunks(CHUNK * n).enumerate() {
        let e = inf.encode(chunk)?;
        let d = e.mu.len() / (chunk.len() / n);
        for k in 0..chunk.len() / n {
            let r = c * CHUNK + k;
            rows.push(LatentRow {
                source: data.sources[data.source_of[r]].0.clone(),
                id: data.ids[r],
                t: data.t[r],
                j: data.j(r),
                phase: data.phase[r].as_str().into(),
                magnetization: data.magnetization[r],
                staggered_magnetization: data.staggered[r],
                mu: e.mu[k * d..(k + 1) * d].iter().map(|&v| v as f64).collect(),
                sigma: e.sigma[k * d..(k + 1) * d]
                    .iter()
                    .map(|&v| v as f64)
                    .collect(),
            });
        }
    }
    Ok(rows)
}

/// What the figures show of a trained VAE.
fn figure_data(t: &TrainedVae, beta: f64) -> crate::plot::vae::VaeFigures<'_> {
    let axes = match (t.report.fm_axis, t.report.afm_axis) {
        (Some(a), Some(b)) => (a, b),
        _ => (0, 1.min(t.spec.latent - 1)),
    };
    crate::plot::vae::VaeFigures {
        l: t.spec.l,
        latent: t.spec.latent,
        decoder: match t.spec.decoder {
            DecoderKind::Bernoulli => "β-VAE",
            DecoderKind::Beta2 => "β²-VAE",
        },
        beta,
        log: &t.log,
        latents: &t.latents,
        axes,
        generated: crate::plot::vae::Generated {
            n: t.generated.n,
            mean: &t.generated.mean,
            label: t.generated.phase.iter().map(|p| p.as_str()).collect(),
            beta: t.generated.beta.as_deref(),
            field: t.generated.field.as_deref(),
        },
        grid: t
            .latent_grid
            .as_ref()
            .map(|(n, r, m)| (*n, *r, m.as_slice())),
    }
}

/// Everything a fit-vae run writes.
pub struct VaeOutputs<'a> {
    pub encoder: &'a Path,
    pub decoder: &'a Path,
    pub latents: Option<&'a Path>,
    pub log: Option<&'a Path>,
    pub plots: Option<&'a Path>,
}

/// Train, export, write the latents, the log and the figures.
pub fn run(cfg: &VaeConfig, out: &VaeOutputs, common: &Common) -> Result<TrainedVae> {
    let trained = train(cfg, common)?;
    let mut bounds = Bounds::new();
    let range = |f: &dyn Fn(&LatentRow) -> f64| {
        let lo = trained.latents.iter().map(f).fold(f64::INFINITY, f64::min);
        let hi = trained
            .latents
            .iter()
            .map(f)
            .fold(f64::NEG_INFINITY, f64::max);
        [lo, hi]
    };
    bounds.insert("T".into(), range(&|r| r.t));
    bounds.insert("J".into(), range(&|r| r.j));
    let model = json!({"system": "ising", "L": trained.spec.l, "network": trained.spec.network(), "beta": cfg.beta});
    if let Some(dir) = out.plots {
        std::fs::create_dir_all(dir).map_err(|e| {
            crate::input_error!("--plots {}: cannot create the folder ({e})", dir.display())
        })?;
        crate::plot::vae::figures(dir, &figure_data(&trained, cfg.beta))?;
    }
    crate::io::atomic::write_bytes(out.encoder, &trained.encoder)?;
    crate::io::atomic::write_bytes(out.decoder, &trained.decoder)?;
    if let Some(p) = out.latents {
        let mut prov = Provenance::from_env("fit-vae", Some(common.seed));
        prov.inputs = trained.inputs.clone();
        let meta = FileMeta::new(
            Kind::Latents,
            vec!["T".into(), "J".into()],
            bounds.clone(),
            model.clone(),
            prov,
        )
        .with("latent", trained.spec.latent)
        .with("report", &trained.report);
        crate::contract::latents::write(p, &meta, &trained.latents)?;
    }
    if let Some(lp) = out.log {
        trainlog::write_log(
            lp,
            &trained.log,
            &["T".into(), "J".into()],
            &bounds,
            json!({"system": "ising", "L": trained.spec.l, "network": trained.spec.network(), "beta": cfg.beta,
                   "loss": "eq. 4: reconstruction NLL summed over pixels + β KL, per configuration"}),
            "fit-vae",
            common.seed,
        )?;
    }
    Ok(trained)
}
