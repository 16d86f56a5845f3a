//! fit-posterior's training: bundles in, a trained posterior network out
//! (ONNX), with a training log, checkpoints and figures.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use super::data::{assemble, Bundles, States};
use crate::bail_input;
use crate::bundle::target::TargetBuilder;
use crate::cli::Common;
use crate::contract::trainlog::{self, LogRow};
use crate::nn::burn_exec::{train_device, Net};
use crate::nn::objectives::{posterior_eval_loss, posterior_loss};
use crate::nn::posterior::{Arch, PosteriorSpec};
use crate::nn::program::to_onnx;
use crate::plot::figures::PosteriorExample;
use crate::runtime::{Device, ModelFile};
use crate::sim::rng::chain_rng;
use crate::train::{RunSettings, TestLoss, Tracker};

/// Random streams of training (distinct from the generators' chain ids).
const INIT_STREAM: u64 = 0x4649_5450_0000_0001;
const BATCH_STREAM: u64 = 0x4649_5450_0000_0002;
const TEST_STREAM: u64 = 0x4649_5450_0000_0003;

#[derive(Clone, Debug)]
pub struct TrainConfig {
    pub run: RunSettings,
    pub arch: Arch,
    pub width: usize,
    pub depth: usize,
    /// fixed test batches per evaluation
    pub test_batches: usize,
}

pub struct Trained {
    pub spec: PosteriorSpec,
    pub onnx: Vec<u8>,
    pub log: Vec<LogRow>,
    pub uniform_loss: f64,
    pub steps_per_s: f64,
    pub parameters: usize,
}

pub fn spec_for(cfg: &TrainConfig, bundles: &Bundles, states: &States) -> Result<PosteriorSpec> {
    let spec = PosteriorSpec {
        arch: cfg.arch,
        k: bundles.k_bundle,
        h: states.shape[0],
        w: states.shape[1],
        gh: bundles.grid.shape[0],
        gw: bundles.grid.shape[1],
        width: cfg.width,
        depth: cfg.depth,
    };
    if let Err(why) = spec.check() {
        bail_input!("--arch {:?}: {why}", cfg.arch);
    }
    Ok(spec)
}

/// The ONNX metadata_props of a posterior model.
pub fn model_metadata(
    bundles: &Bundles,
    states: &States,
    spec: &PosteriorSpec,
    extra: serde_json::Value,
) -> Vec<(String, String)> {
    let j = |v: serde_json::Value| v.to_string();
    vec![
        ("phasekit.kind".into(), "posterior".into()),
        ("phasekit.version".into(), "1".into()),
        (
            "phasekit.grid".into(),
            j(serde_json::to_value(&bundles.grid).unwrap()),
        ),
        ("phasekit.params".into(), j(json!(bundles.meta.params))),
        ("phasekit.bounds".into(), j(json!(bundles.meta.bounds))),
        ("phasekit.k_bundle".into(), bundles.k_bundle.to_string()),
        ("phasekit.state_shape".into(), j(json!(states.shape))),
        (
            "phasekit.network".into(),
            j(serde_json::to_value(spec).unwrap()),
        ),
        ("phasekit.training".into(), j(extra)),
    ]
}

#[allow(clippy::too_many_arguments)]
pub fn train(
    cfg: &TrainConfig,
    bundles: &Bundles,
    states: &States,
    common: &Common,
) -> Result<Trained> {
    let spec = spec_for(cfg, bundles, states)?;
    let device = train_device(cfg.run.device)?;
    let (program, init) = spec.build(&mut chain_rng(common.seed, INIT_STREAM));
    let spec_json = serde_json::to_value(&spec)?;
    let (mut net, mut adam, mut tracker) = Tracker::begin(
        &cfg.run,
        program,
        init,
        &device,
        &spec_json,
        "another network or data shape",
    )?;
    let start = adam.step as usize;

    let train_idx: Vec<usize> = (0..bundles.ids.len())
        .filter(|&i| !bundles.is_test[i])
        .collect();
    let test_idx: Vec<usize> = (0..bundles.ids.len())
        .filter(|&i| bundles.is_test[i])
        .collect();
    if train_idx.is_empty() {
        bail_input!("{}: no training bundles", bundles.path.display());
    }
    let [h, w] = states.shape;
    let (b, k, g) = (cfg.run.batch, bundles.k_bundle, bundles.grid.len());
    let mut targets = TargetBuilder::new(&bundles.grid);
    let (mut x, mut t) = (Vec::new(), Vec::new());

    // fixed test batches, the same at every evaluation
    let test_sets: Vec<(Vec<f32>, Vec<f32>, usize)> = if test_idx.is_empty() {
        Vec::new()
    } else {
        let mut rng = chain_rng(common.seed, TEST_STREAM);
        (0..cfg.test_batches)
            .map(|_| {
                let centres: Vec<usize> = (0..b)
                    .map(|_| test_idx[rng.random_range(0..test_idx.len())])
                    .collect();
                let (mut xs, mut ts) = (Vec::new(), Vec::new());
                assemble(
                    bundles,
                    states,
                    &centres,
                    &mut rng,
                    &mut targets,
                    &mut xs,
                    &mut ts,
                );
                (xs, ts, centres.len())
            })
            .collect()
    };
    let eval = |net: &Net| -> Result<f64> {
        let mut total = 0.0;
        for (xs, ts, n) in &test_sets {
            total += posterior_eval_loss(net, xs, [*n, k, h, w], ts)?;
        }
        Ok(total / test_sets.len().max(1) as f64)
    };

    let bar = common.bar(cfg.run.steps as u64, "train");
    bar.set_position(start as u64);
    let started = Instant::now();
    for step in start..cfg.run.steps {
        let mut rng: ChaCha8Rng = chain_rng(common.seed ^ BATCH_STREAM, step as u64);
        let centres: Vec<usize> = (0..b)
            .map(|_| train_idx[rng.random_range(0..train_idx.len())])
            .collect();
        assemble(
            bundles,
            states,
            &centres,
            &mut rng,
            &mut targets,
            &mut x,
            &mut t,
        );
        let loss = posterior_loss(&net, &x, [b, k, h, w], &t);
        let test: Option<TestLoss> = if test_sets.is_empty() {
            None
        } else {
            Some(&eval)
        };
        tracker.after_loss(
            &cfg.run, step, loss, &mut adam, &mut net, test, &spec_json, &bar,
        )?;
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let trained_steps = cfg.run.steps.saturating_sub(start);
    let extra = json!({"steps": cfg.run.steps, "batch": cfg.run.batch, "lr": cfg.run.lr, "cosine": cfg.run.cosine, "seed": common.seed,
                       "final_test_loss": tracker.last_test, "uniform_loss": (g as f64).ln()});
    let meta = model_metadata(bundles, states, &spec, extra);
    let onnx = to_onnx(
        &net.program,
        &net.host_params()?,
        ("states", &[k, h, w]),
        ("logits", &[spec.gh, spec.gw]),
        &meta,
        "phasekit posterior network: bundle of states -> logits over the parameter grid",
    );
    Ok(Trained {
        spec,
        onnx,
        log: tracker.log,
        uniform_loss: (g as f64).ln(),
        steps_per_s: trained_steps as f64 / secs.max(1e-9),
        parameters: net.parameter_count(),
    })
}

/// Everything a fit-posterior run writes.
pub struct Outputs<'a> {
    pub model: &'a Path,
    pub posteriors: &'a Path,
    pub log: Option<&'a Path>,
    pub plots: Option<&'a Path>,
    pub predict_limit: Option<usize>,
}

pub struct RunSummary {
    pub trained: Option<Trained>,
    pub quality: super::predict::Quality,
}

/// Load bundles and their dataset (`data`, or the one the bundles record).
pub fn load_inputs(bundles_path: &Path, data: Option<&Path>) -> Result<(Bundles, States, PathBuf)> {
    let bundles = Bundles::load(bundles_path)?;
    let dataset = match data {
        Some(d) => d.to_path_buf(),
        None => bundles.recorded_dataset()?,
    };
    if !dataset.exists() {
        bail_input!(
            "{}: the dataset {} recorded with these bundles does not exist; give --data",
            bundles_path.display(),
            dataset.display()
        );
    }
    let expected: Option<Vec<usize>> = bundles
        .meta
        .extra
        .get("state_shape")
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    let states = States::load(&dataset, expected.as_deref())?;
    states.check_covers(&bundles, &dataset)?;
    Ok((bundles, states, dataset))
}

/// Train (unless `model_only` is given), export, predict with ONNX Runtime, write figures.
pub fn run(
    cfg: Option<&TrainConfig>,
    bundles: &Bundles,
    states: &States,
    out: &Outputs,
    device: Device,
    common: &Common,
) -> Result<RunSummary> {
    let mut model = None;
    let trained = match cfg {
        Some(cfg) => {
            let t = train(cfg, bundles, states, common)?;
            crate::io::atomic::write_bytes(out.model, &t.onnx)?;
            // predictions come from the bytes just written, wherever they went
            model = Some(ModelFile {
                path: out.model.to_path_buf(),
                bytes: t.onnx.clone().into(),
            });
            if let Some(lp) = out.log {
                trainlog::write_log(
                    lp,
                    &t.log,
                    &bundles.meta.params,
                    &bundles.meta.bounds,
                    json!({"network": t.spec, "loss": "soft cross-entropy"}),
                    "fit-posterior",
                    common.seed,
                )?;
            }
            Some(t)
        }
        None => None,
    };
    let model = match model {
        Some(m) => m,
        None => ModelFile::read(out.model)?,
    };
    let quality = super::predict::predict(
        &model,
        bundles,
        states,
        out.posteriors,
        out.predict_limit,
        device,
        common,
        "fit-posterior",
    )?;
    if let Some(dir) = out.plots {
        std::fs::create_dir_all(dir)
            .map_err(|e| crate::input_error!("--plots {}: {e}", dir.display()))?;
        if let Some(t) = &trained {
            crate::plot::figures::loss_curve(
                &dir.join("loss.png"),
                &t.log,
                "fit-posterior: soft cross-entropy",
                "loss (nats)",
                Some(("uniform prior", t.uniform_loss)),
            )?;
        }
        if !quality.examples.is_empty() {
            let examples: Vec<PosteriorExample> = quality
                .examples
                .iter()
                .map(|(idx, post)| {
                    let first = bundles.members_of(*idx)[0];
                    let pos = states.position(first).expect("covered");
                    PosteriorExample {
                        label: format!("id {}", bundles.ids[*idx]),
                        state: states.state(pos).iter().map(|&v| v as f64).collect(),
                        shape: states.shape,
                        // spins +1 light as in gen-ising's preview, TASEP particles dark
                        dark_positive: bundles.meta.model["system"] == "tasep",
                        posterior: post.clone(),
                        truth: bundles.params[*idx],
                    }
                })
                .collect();
            crate::plot::figures::posterior_panels(
                &dir.join("posteriors.png"),
                &examples,
                &bundles.grid,
            )?;
        }
    }
    Ok(RunSummary { trained, quality })
}
