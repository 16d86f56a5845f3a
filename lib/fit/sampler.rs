//! fit-sampler's training: an autoregressive model q(s) = Π_i q(s_i | s_<i)
//! of Ising configurations (MADE or GRU, `nn::autoreg`), by reverse KL with no data
//! (VAN's REINFORCE with the batch-mean baseline, β annealing and gradient
//! clipping) or forward KL on observed configurations, exported as a
//! `sampler` ONNX model (schemas/models.md).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use rand::Rng;
use serde_json::json;

use super::data::States;
use crate::bail_input;
use crate::cli::Common;
use crate::contract::trainlog::{self, LogRow};
use crate::meta::Bounds;
pub use crate::nn::autoreg::{sample_configurations, sample_with_log_q};
use crate::nn::autoreg::{HostSampler, SamplerSpec};
use crate::nn::burn_exec::{train_device, Net};
use crate::nn::objectives::SamplerObjective;
use crate::nn::program::Program;
use crate::sim::ising::lattice::{energy, symmetries, symmetry_image};
use crate::sim::rng::chain_rng;
use crate::train::{RunSettings, TestLoss, Tracker};

const INIT_STREAM: u64 = 0x5341_4d50_0000_0001;
const SAMPLE_STREAM: u64 = 0x5341_4d50_0000_0002;
const BATCH_STREAM: u64 = 0x5341_4d50_0000_0003;
const SPLIT_STREAM: u64 = 0x5341_4d50_0000_0004;

/// Held-out configurations in the fixed test-loss set, at most.
const TEST_SET: usize = 4096;

/// The network family of a sampler.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Arch {
    /// VAN's masked dense network (channels per site: --width, default 4)
    Made,
    /// one GRU layer over the sites (hidden units: --width, default 64), as in the DCL paper
    Gru,
    /// VAN's masked convolutions ((2·--kernel+1)² kernels, --width channels, default 16); for GPUs
    Pixelcnn,
}

impl Arch {
    /// The network the flags describe; `width` defaults per family.
    pub fn spec(
        self,
        l: usize,
        depth: usize,
        width: Option<usize>,
        half_kernel: usize,
    ) -> SamplerSpec {
        match self {
            Arch::Made => SamplerSpec::Made(crate::nn::made::MadeSpec {
                l,
                depth,
                width: width.unwrap_or(4),
            }),
            Arch::Gru => SamplerSpec::Gru(crate::nn::gru::GruSpec {
                l,
                hidden: width.unwrap_or(64),
            }),
            Arch::Pixelcnn => SamplerSpec::Pixel(crate::nn::pixelcnn::PixelSpec {
                l,
                depth,
                width: width.unwrap_or(16),
                half_kernel,
            }),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Objective {
    /// KL(q‖p) from the model's own samples and the energy: no data
    ReverseKl,
    /// KL(p‖q): maximum likelihood on --data
    ForwardKl,
}

/// The Boltzmann distribution the sampler targets.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Target {
    #[serde(rename = "L")]
    pub l: usize,
    #[serde(rename = "T")]
    pub t: f64,
    pub h: f64,
    #[serde(rename = "J")]
    pub j: f64,
}

impl Target {
    pub fn beta(&self) -> f64 {
        1.0 / self.t
    }
}

#[derive(Clone, Debug)]
pub struct SamplerConfig {
    pub run: RunSettings,
    pub target: Target,
    pub spec: SamplerSpec,
    pub z2: bool,
    pub objective: Objective,
    /// β_t = β (1 − a^t) in reverse KL; 0 for none
    pub beta_anneal: f64,
    pub clip_grad: Option<f64>,
    pub data: Option<PathBuf>,
    pub test_fraction: f64,
    /// start from the weights of this sampler file (e.g. forward, then reverse KL)
    pub init_from: Option<PathBuf>,
    /// forward KL: feed each data row under a random lattice symmetry
    /// (translation, rotation, reflection, global flip; h = 0 only)
    pub augment: bool,
}

impl SamplerConfig {
    /// Check the flags that no file can contradict.
    pub fn validate(&self) -> Result<()> {
        if let Err(why) = self.spec.check() {
            bail_input!("{why}");
        }
        let t = &self.target;
        if !(t.t.is_finite() && t.t > 0.0) {
            bail_input!("--T: must be a positive temperature, got {}", t.t);
        }
        if !t.h.is_finite() || !t.j.is_finite() || t.j == 0.0 {
            bail_input!("--h and --J: must be finite, with J ≠ 0");
        }
        if !(0.0..1.0).contains(&self.beta_anneal) {
            bail_input!("--beta-anneal: must be in [0, 1), got {}", self.beta_anneal);
        }
        if let Some(c) = self.clip_grad {
            crate::cli::require_positive("--clip-grad", c)?;
        }
        if self.init_from.is_some() && self.run.resume.is_some() {
            bail_input!(
                "--init-from and --resume: give one (a checkpoint already holds the weights)"
            );
        }
        if !(0.0..1.0).contains(&self.test_fraction) {
            bail_input!(
                "--test-fraction: must be in [0, 1), got {}",
                self.test_fraction
            );
        }
        if self.augment && (self.objective != Objective::ForwardKl || self.target.h != 0.0) {
            bail_input!(
                "--augment: forward KL at h = 0 only (the symmetries include the global flip)"
            );
        }
        match (self.objective, &self.data) {
            (Objective::ForwardKl, None) => bail_input!("--objective forward-kl needs --data"),
            (Objective::ReverseKl, Some(_)) => {
                bail_input!("--data: reverse KL learns from the energy alone; drop --data or use --objective forward-kl")
            }
            _ => Ok(()),
        }
    }
}

/// Observed configurations, split into training and held-out rows.
struct Observed {
    train: Vec<f32>,
    test: Vec<f32>,
    n: usize,
}

/// Load `--data` and check it is Ising at the sampler's own (L, T, h, J).
fn load_observed(path: &Path, cfg: &SamplerConfig, seed: u64) -> Result<Observed> {
    let t = &cfg.target;
    let states = States::load(path, None)?;
    let ds = crate::contract::open(path, crate::meta::Kind::Microstates)?;
    let p = path.display();
    if ds.meta.model["system"] != "ising" {
        bail_input!(
            "{p}: --data holds {} configurations, not Ising",
            ds.meta.model["system"]
        );
    }
    if states.shape != [t.l, t.l] {
        bail_input!(
            "{p}: --data has {:?} lattices, --L is {}",
            states.shape,
            t.l
        );
    }
    let j = ds.meta.model["J"].as_f64().unwrap_or(f64::NAN);
    if (j - t.j).abs() > 1e-12 {
        bail_input!("{p}: --data was generated at J = {j}, --J is {}", t.j);
    }
    let bounds: &Bounds = &ds.meta.bounds;
    for (name, want) in [("T", t.t), ("h", t.h)] {
        match bounds.get(name) {
            Some([lo, hi]) if (lo - want).abs() < 1e-9 && (hi - want).abs() < 1e-9 => {}
            Some([lo, hi]) => bail_input!(
                "{p}: --data spans {name} in [{lo}, {hi}], the sampler targets --{name} {want}"
            ),
            None => bail_input!("{p}: --data has no parameter {name}"),
        }
    }
    let n = t.l * t.l;
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for pos in 0..states.params.len() {
        let held_out =
            chain_rng(seed ^ SPLIT_STREAM, pos as u64).random::<f64>() < cfg.test_fraction;
        let dst = if held_out { &mut test } else { &mut train };
        dst.extend(states.state(pos).iter().map(|&v| v as f32));
    }
    if train.is_empty() {
        bail_input!("{p}: no configurations left to train on");
    }
    Ok(Observed { train, test, n })
}

/// The weights of a MADE sampler file, which must have the network the flags ask for.
fn initial_weights(path: &Path, spec: &SamplerSpec) -> Result<Vec<crate::nn::program::ParamData>> {
    let bytes = crate::io::read_input(path, "sampler")?;
    let (found, _, params) = crate::nn::autoreg::from_onnx(&bytes).map_err(|e| {
        crate::input_error!(
            "--init-from {}: not a sampler from fit-sampler ({e})",
            path.display()
        )
    })?;
    if &found != spec {
        bail_input!(
            "--init-from {}: its network is {} at L {}, the flags ask for {} at L {}",
            path.display(),
            found.network(),
            found.l(),
            spec.network(),
            spec.l()
        );
    }
    Ok(params)
}

pub struct TrainedSampler {
    pub spec: SamplerSpec,
    pub onnx: Vec<u8>,
    /// the step graph for sequential sampling (schemas/models.md)
    pub step_onnx: Option<Vec<u8>>,
    pub log: Vec<LogRow>,
    pub steps_per_s: f64,
    pub parameters: usize,
    /// what the log shows: F_q/N (reverse KL) or the held-out NLL per site
    pub last: f64,
}

/// The ONNX metadata_props of a sampler model.
pub fn model_metadata(cfg: &SamplerConfig, training: serde_json::Value) -> Vec<(String, String)> {
    vec![
        ("phasekit.kind".into(), "sampler".into()),
        ("phasekit.version".into(), "1".into()),
        ("phasekit.L".into(), cfg.spec.l().to_string()),
        ("phasekit.order".into(), "raster".into()),
        ("phasekit.z2".into(), cfg.z2.to_string()),
        ("phasekit.target".into(), json!(cfg.target).to_string()),
        ("phasekit.network".into(), cfg.spec.network().to_string()),
        ("phasekit.training".into(), training.to_string()),
    ]
}

pub fn train(cfg: &SamplerConfig, common: &Common) -> Result<TrainedSampler> {
    cfg.validate()?;
    let observed = match &cfg.data {
        Some(p) => Some(load_observed(p, cfg, common.seed)?),
        None => None,
    };
    let device = train_device(cfg.run.device)?;
    let init = match &cfg.init_from {
        Some(path) => initial_weights(path, &cfg.spec)?,
        None => cfg.spec.init(&mut chain_rng(common.seed, INIT_STREAM)),
    };
    let spec_json = json!({"network": cfg.spec.network(), "z2": cfg.z2, "objective": cfg.objective, "target": cfg.target});
    let (mut net, mut adam, mut tracker) = Tracker::begin(
        &cfg.run,
        Program::default(),
        init,
        &device,
        &spec_json,
        "another network (--depth/--width/--z2), objective or target",
    )?;
    adam.clip = cfg.clip_grad;
    let start = adam.step as usize;
    let objective = SamplerObjective::new(&cfg.spec, cfg.z2, &device);
    let (n, b) = (cfg.spec.sites(), cfg.run.batch);
    let beta = cfg.target.beta();
    let bar = common.bar(cfg.run.steps as u64, "train");
    bar.set_position(start as u64);
    let started = Instant::now();
    // the held-out set, fixed: at most TEST_SET configurations
    let test_set: Option<Vec<f32>> = observed.as_ref().and_then(|o| {
        let rows = (o.test.len() / o.n).min(TEST_SET);
        (rows > 0).then(|| o.test[..rows * o.n].to_vec())
    });
    let eval = |net: &Net| -> Result<f64> {
        let set = test_set.as_ref().expect("a test set");
        let mut total = 0.0;
        let chunk = 512 * n;
        for part in set.chunks(chunk) {
            let lq = objective.log_q_values(net, part)?;
            total -= lq.iter().sum::<f64>();
        }
        Ok(total / (set.len() / n) as f64 / n as f64)
    };
    for step in start..cfg.run.steps {
        match &observed {
            None => {
                let made = HostSampler::new(&cfg.spec, &net.host_params()?)
                    .map_err(|e| anyhow::anyhow!(e))?;
                let s = sample_configurations(
                    &made,
                    cfg.z2,
                    common.seed ^ SAMPLE_STREAM,
                    (step as u64) << 32,
                    b,
                );
                let energies: Vec<f64> = s
                    .chunks(n)
                    .map(|c| energy(c, cfg.target.l, cfg.target.j, cfg.target.h))
                    .collect();
                let beta_t = if cfg.beta_anneal > 0.0 {
                    beta * (1.0 - cfg.beta_anneal.powi(step as i32))
                } else {
                    beta
                };
                let x: Vec<f32> = s.iter().map(|&v| v as f32).collect();
                let (loss, f) = objective.reverse_kl(&net, &x, &energies, beta_t)?;
                // F_q/N at the target β: mean(log q + β E) / (β N), an upper bound on F/N
                let log_q_mean = f
                    .iter()
                    .zip(&energies)
                    .map(|(fi, e)| fi - beta_t * e)
                    .sum::<f64>()
                    / b as f64;
                let e_mean = energies.iter().sum::<f64>() / b as f64;
                let fq = (log_q_mean / beta + e_mean) / n as f64;
                tracker.after_step(
                    &cfg.run, step, loss, fq, &mut adam, &mut net, None, &spec_json, &bar,
                )?;
            }
            Some(o) => {
                let mut rng = chain_rng(common.seed ^ BATCH_STREAM, step as u64);
                let rows = o.train.len() / n;
                let mut x = Vec::with_capacity(b * n);
                for _ in 0..b {
                    let r = rng.random_range(0..rows);
                    let row = &o.train[r * n..(r + 1) * n];
                    if cfg.augment {
                        let op = rng.random_range(0..symmetries(cfg.target.l));
                        let s: Vec<i8> = row.iter().map(|&v| v as i8).collect();
                        x.extend(
                            symmetry_image(&s, cfg.target.l, op)
                                .iter()
                                .map(|&v| v as f32),
                        );
                    } else {
                        x.extend_from_slice(row);
                    }
                }
                let loss = objective.nll(&net, &x);
                let test: Option<TestLoss> = test_set.as_ref().map(|_| &eval as TestLoss);
                tracker.after_loss(
                    &cfg.run, step, loss, &mut adam, &mut net, test, &spec_json, &bar,
                )?;
            }
        }
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let last = match cfg.objective {
        Objective::ForwardKl if tracker.last_test.is_finite() => tracker.last_test,
        _ => {
            let train: Vec<&LogRow> = tracker.log.iter().filter(|r| !r.test).collect();
            let tail = &train[train.len().saturating_sub(50)..];
            tail.iter().map(|r| r.loss).sum::<f64>() / tail.len().max(1) as f64
        }
    };
    let training = json!({"objective": cfg.objective, "steps": cfg.run.steps, "batch": b, "lr": cfg.run.lr,
        "cosine": cfg.run.cosine, "beta_anneal": cfg.beta_anneal, "clip_grad": cfg.clip_grad, "seed": common.seed,
        "final": last});
    let params = net.host_params()?;
    let meta = model_metadata(cfg, training);
    let onnx = cfg.spec.to_onnx(&params, &meta);
    let mut step_meta = meta;
    step_meta[0].1 = "sampler-step".into();
    let step_onnx = cfg.spec.step_to_onnx(&params, &step_meta);
    Ok(TrainedSampler {
        spec: cfg.spec.clone(),
        onnx,
        step_onnx,
        log: tracker.log,
        steps_per_s: cfg.run.steps.saturating_sub(start) as f64 / secs.max(1e-9),
        parameters: net.parameter_count(),
        last,
    })
}

/// Everything a fit-sampler run writes.
pub struct SamplerOutputs<'a> {
    pub model: &'a Path,
    pub step: Option<&'a Path>,
    pub log: Option<&'a Path>,
    pub plots: Option<&'a Path>,
}

/// The exact reference the log is compared with: F/N (reverse KL) or S/N
/// (forward KL) from Kaufman's solution, where it applies (h = 0, J > 0).
pub fn exact_reference(cfg: &SamplerConfig) -> Option<(&'static str, f64)> {
    let t = &cfg.target;
    if t.h != 0.0 || t.j <= 0.0 {
        return None;
    }
    let k = crate::exact::ising::kaufman(t.l, t.l, t.t, t.j);
    Some(match cfg.objective {
        Objective::ReverseKl => ("exact F/N (Kaufman)", k.free_energy),
        Objective::ForwardKl => ("exact S/N (Kaufman)", k.entropy),
    })
}

/// Train, export, write the log and figures.
pub fn run(cfg: &SamplerConfig, out: &SamplerOutputs, common: &Common) -> Result<TrainedSampler> {
    let trained = train(cfg, common)?;
    crate::io::atomic::write_bytes(out.model, &trained.onnx)?;
    if let (Some(p), Some(step)) = (out.step, &trained.step_onnx) {
        crate::io::atomic::write_bytes(p, step)?;
    }
    let mut bounds = Bounds::new();
    bounds.insert("T".into(), [cfg.target.t; 2]);
    bounds.insert("h".into(), [cfg.target.h; 2]);
    let what = match cfg.objective {
        Objective::ReverseKl => "variational free energy per site F_q/N (train rows)",
        Objective::ForwardKl => "negative log-likelihood per site",
    };
    if let Some(lp) = out.log {
        trainlog::write_log(
            lp,
            &trained.log,
            &["T".into(), "h".into()],
            &bounds,
            json!({"system": "ising", "L": cfg.target.l, "J": cfg.target.j, "network": cfg.spec.network(), "z2": cfg.z2,
                   "objective": cfg.objective, "loss": what}),
            "fit-sampler",
            common.seed,
        )?;
    }
    if let Some(dir) = out.plots {
        std::fs::create_dir_all(dir)
            .map_err(|e| crate::input_error!("--plots {}: {e}", dir.display()))?;
        let (title, y) = match cfg.objective {
            Objective::ReverseKl => ("fit-sampler: reverse KL (VAN)", "F_q / N"),
            Objective::ForwardKl => ("fit-sampler: forward KL", "NLL per site (nats)"),
        };
        crate::plot::figures::loss_curve(
            &dir.join("sampler-loss.png"),
            &trained.log,
            title,
            y,
            exact_reference(cfg),
        )?;
        // 64 configurations drawn from the trained model
        let (spec, z2, params) =
            crate::nn::autoreg::from_onnx(&trained.onnx).map_err(|e| anyhow::anyhow!("{e}"))?;
        let made = HostSampler::new(&spec, &params).map_err(|e| anyhow::anyhow!(e))?;
        let s = sample_configurations(&made, z2, common.seed ^ SAMPLE_STREAM, u64::MAX << 32, 64);
        let mut grid = crate::plot::mosaic::PreviewGrid::new(
            8,
            ("T", [cfg.target.t; 2]),
            ("h", [cfg.target.h; 2]),
        );
        for c in s.chunks(spec.sites()) {
            grid.offer(cfg.target.t, cfg.target.h, c);
        }
        let title = format!(
            "fit-sampler: 64 samples of q, L = {} (spin +1 light)",
            cfg.target.l
        );
        grid.write(
            &dir.join("sampler-samples.png"),
            cfg.target.l,
            cfg.target.l,
            false,
            &title,
        )?;
    }
    Ok(trained)
}
