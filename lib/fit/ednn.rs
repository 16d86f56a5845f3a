//! fit-ednn: the DCL paper's second stage (Sprague et al. 2021, eq. 6).
//! Configurations observed at β_O are labelled with
//! E_RNN(s) = −T_O ln q(s) + C, where q is the autoregressive sampler fitted to them, and the
//! extensive network (`nn::ednn`) learns these energies by mean squared error
//! on the totals. C is fixed so that the mean over uniformly random
//! configurations is zero, or so that the all-up state has `--ground-state`
//! J per site. `--true-energy` labels with the Ising energy instead (a
//! reference). The model is an `energy` ONNX file with a symbolic L.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use rand::Rng;
use serde_json::json;

use super::data::States;
use crate::cli::Common;
use crate::contract::trainlog::LogRow;
use crate::estimate::proposal::Proposal;
use crate::nn::burn_exec::{train_device, Net};
use crate::nn::ednn::{tiles, EdnnSpec, HostEdnn};
use crate::nn::objectives::EdnnObjective;
use crate::nn::program::Program;
use crate::runtime::{Device, ModelFile};
use crate::sim::ising::lattice::{energy, symmetries, symmetry_image};
use crate::sim::rng::chain_rng;
use crate::train::{RunSettings, TestLoss, Tracker};
use crate::{bail_input, input_error};

const INIT_STREAM: u64 = 0x4544_4e4e_0000_0001;
const BATCH_STREAM: u64 = 0x4544_4e4e_0000_0002;
const SPLIT_STREAM: u64 = 0x4544_4e4e_0000_0003;
const DRAW_STREAM: u64 = 0x4544_4e4e_0000_0004;
/// Uniformly random configurations that fix C (zero mean).
const ZERO_MEAN_SET: usize = 4096;
/// Held-out rows in the fixed test set, at most.
const TEST_SET: usize = 4096;

/// Where the training energies come from.
#[derive(Clone, Debug)]
pub enum Labels {
    /// E_RNN = −T_O ln q + C from a sampler fitted to the data
    Sampler {
        path: PathBuf,
        /// C such that E(all up) = ground_state · N; None: zero mean over random states
        ground_state: Option<f64>,
        /// extra configurations drawn from q and labelled the same way
        draws: usize,
        /// uniformly random configurations labelled the same way (the local
        /// patterns the observations rarely show)
        random: usize,
        /// average −T_O ln q over this many symmetric images of each
        /// configuration (translations, rotations, reflections, the global
        /// flip: p is invariant under all of them, q only approximately)
        images: usize,
    },
    /// the Ising energy with the data's J (a reference, not DCL)
    TrueIsing,
}

#[derive(Clone, Debug)]
pub struct EdnnConfig {
    pub run: RunSettings,
    pub spec: EdnnSpec,
    pub data: PathBuf,
    pub labels: Labels,
    pub test_fraction: f64,
}

pub struct TrainedEdnn {
    pub params: Vec<crate::nn::program::ParamData>,
    /// `phasekit.training` of the exported file
    pub training: serde_json::Value,
    pub host: HostEdnn,
    pub log: Vec<LogRow>,
    pub steps_per_s: f64,
    /// RMSE per configuration of the held-out labels
    pub test_rmse: f64,
    /// the constant C of the labels (0 for true energies)
    pub constant: f64,
    pub l: usize,
    /// the Ising J of the data
    pub j: f64,
    /// T_O of the sampler (None for true energies)
    pub t_obs: Option<f64>,
    /// the sampler that labelled the data (None for true energies)
    pub sampler: Option<Proposal>,
}

impl EdnnConfig {
    pub fn validate(&self) -> Result<()> {
        if let Err(why) = self.spec.check() {
            bail_input!("{why}");
        }
        if !(0.0..1.0).contains(&self.test_fraction) {
            bail_input!(
                "--test-fraction: must be in [0, 1), got {}",
                self.test_fraction
            );
        }
        if let Labels::Sampler {
            ground_state: Some(g),
            ..
        } = &self.labels
        {
            if !g.is_finite() {
                bail_input!("--ground-state: must be finite");
            }
        }
        Ok(())
    }
}

/// Configurations and their energy labels.
struct Labelled {
    states: Vec<i8>,
    labels: Vec<f64>,
    constant: f64,
    /// the sampler that made the labels, kept for the evaluation
    sampler: Option<Proposal>,
    t_obs: Option<f64>,
}

fn label(cfg: &EdnnConfig, states: Vec<i8>, l: usize, j: f64, seed: u64) -> Result<Labelled> {
    let n = l * l;
    match &cfg.labels {
        Labels::TrueIsing => {
            let labels = states.chunks(n).map(|s| energy(s, l, j, 0.0)).collect();
            Ok(Labelled {
                states,
                labels,
                constant: 0.0,
                sampler: None,
                t_obs: None,
            })
        }
        Labels::Sampler {
            path,
            ground_state,
            draws,
            random,
            images,
        } => {
            let q = Proposal::load(ModelFile::read(path)?, Device::Cpu)?;
            if q.l != l {
                bail_input!(
                    "--sampler {}: trained at L = {}, the observations are L = {l}",
                    path.display(),
                    q.l
                );
            }
            let t = q.trained_for.as_ref().map(|t| t.t).ok_or_else(|| {
                crate::input_error!(
                    "--sampler {}: no phasekit.target, so no T_O",
                    path.display()
                )
            })?;
            let mut states = states;
            if *draws > 0 {
                states.extend(q.draw(seed ^ DRAW_STREAM, 0, *draws)?.0);
            }
            let mut rng = chain_rng(seed ^ DRAW_STREAM, 1 << 41);
            states.extend((0..random * n).map(|_| if rng.random::<bool>() { 1i8 } else { -1 }));
            let constant = match ground_state {
                Some(g) => g * n as f64 + t * q.log_q(&vec![1i8; n])?[0],
                None => {
                    let mut rng = chain_rng(seed ^ DRAW_STREAM, 1 << 40);
                    let u: Vec<i8> = (0..ZERO_MEAN_SET * n)
                        .map(|_| if rng.random() { 1 } else { -1 })
                        .collect();
                    let lq = q.log_q(&u)?;
                    t * lq.iter().sum::<f64>() / ZERO_MEAN_SET as f64
                }
            };
            let labels = symmetric_log_q(&q, &states, l, *images, seed)?
                .iter()
                .map(|lq| -t * lq + constant)
                .collect();
            Ok(Labelled {
                states,
                labels,
                constant,
                sampler: Some(q),
                t_obs: Some(t),
            })
        }
    }
}

/// log q averaged over `images` symmetric images of each configuration
/// (the configuration itself when `images` ≤ 1).
fn symmetric_log_q(
    q: &Proposal,
    states: &[i8],
    l: usize,
    images: usize,
    seed: u64,
) -> Result<Vec<f64>> {
    if images <= 1 {
        return q.log_q(states);
    }
    let n = l * l;
    let ops = symmetries(l);
    let mut all = Vec::with_capacity(states.len() * images);
    for (k, s) in states.chunks(n).enumerate() {
        let mut rng = chain_rng(seed ^ DRAW_STREAM, (1 << 42) + k as u64);
        for i in 0..images {
            let op = if i == 0 { 0 } else { rng.random_range(0..ops) };
            all.extend(symmetry_image(s, l, op));
        }
    }
    let lq = q.log_q(&all)?;
    Ok(lq
        .chunks(images)
        .map(|c| c.iter().sum::<f64>() / images as f64)
        .collect())
}

pub fn train(cfg: &EdnnConfig, common: &Common) -> Result<TrainedEdnn> {
    cfg.validate()?;
    let data = States::load(&cfg.data, None)?;
    let ds = crate::contract::open(&cfg.data, crate::meta::Kind::Microstates)?;
    let p = cfg.data.display();
    if ds.meta.model["system"] != "ising" || data.shape[0] != data.shape[1] {
        bail_input!("{p}: --data must hold square Ising configurations");
    }
    let l = data.shape[0];
    if let Err(why) = cfg.spec.check_l(l) {
        bail_input!("{p}: {why}");
    }
    let j = ds.meta.model["J"].as_f64().unwrap_or(1.0);
    let n = l * l;
    let states: Vec<i8> = (0..data.params.len())
        .flat_map(|k| data.state(k).to_vec())
        .collect();
    let lab = label(cfg, states, l, j, common.seed)?;
    let rows = lab.labels.len();
    // a seeded split into training and held-out rows
    let (mut train_rows, mut test_rows) = (Vec::new(), Vec::new());
    for r in 0..rows {
        let held =
            chain_rng(common.seed ^ SPLIT_STREAM, r as u64).random::<f64>() < cfg.test_fraction;
        if held && test_rows.len() < TEST_SET {
            test_rows.push(r)
        } else {
            train_rows.push(r)
        }
    }
    if train_rows.is_empty() {
        bail_input!("{p}: no configurations left to train on");
    }
    let tile_rows = |rs: &[usize]| -> (Vec<f32>, Vec<f32>) {
        let mut t = Vec::new();
        for &r in rs {
            tiles(&cfg.spec, l, &lab.states[r * n..(r + 1) * n], &mut t);
        }
        (t, rs.iter().map(|&r| lab.labels[r] as f32).collect())
    };
    let (test_tiles, test_labels) = tile_rows(&test_rows);
    let device = train_device(cfg.run.device)?;
    let init = cfg.spec.init(&mut chain_rng(common.seed, INIT_STREAM));
    let spec_json = json!({"network": cfg.spec.network(), "data": p.to_string()});
    let (mut net, mut adam, mut tracker) = Tracker::begin(
        &cfg.run,
        Program::default(),
        init,
        &device,
        &spec_json,
        "another network (--focus/--context/--hidden)",
    )?;
    let objective = EdnnObjective::new(&cfg.spec, l);
    let start = adam.step as usize;
    let bar = common.bar(cfg.run.steps as u64, "train");
    bar.set_position(start as u64);
    let started = Instant::now();
    let mse = |net: &Net| -> Result<f64> {
        let e = objective.predict(net, &test_tiles)?;
        let se: f64 = e
            .iter()
            .zip(&test_labels)
            .map(|(a, b)| (a - *b as f64).powi(2))
            .sum();
        Ok(se / e.len().max(1) as f64)
    };
    for step in start..cfg.run.steps {
        let mut rng = chain_rng(common.seed ^ BATCH_STREAM, step as u64);
        let batch: Vec<usize> = (0..cfg.run.batch)
            .map(|_| train_rows[rng.random_range(0..train_rows.len())])
            .collect();
        let (t, y) = tile_rows(&batch);
        let loss = objective.mse(&net, &t, &y);
        let test: Option<TestLoss> = (!test_rows.is_empty()).then_some(&mse as TestLoss);
        tracker.after_loss(
            &cfg.run, step, loss, &mut adam, &mut net, test, &spec_json, &bar,
        )?;
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let params = net.host_params()?;
    let host = HostEdnn::new(&cfg.spec, &params).map_err(|e| anyhow::anyhow!(e))?;
    let training = json!({"steps": cfg.run.steps, "batch": cfg.run.batch, "lr": cfg.run.lr, "seed": common.seed,
        "labels": match &cfg.labels { Labels::TrueIsing => "true Ising energy".to_string(),
                                      Labels::Sampler { path, .. } => format!("E_RNN from {}", path.display()) },
        "constant": lab.constant, "t_obs": lab.t_obs, "test_rmse": tracker.last_test.sqrt()});
    Ok(TrainedEdnn {
        params,
        training,
        host,
        log: tracker.log,
        steps_per_s: cfg.run.steps.saturating_sub(start) as f64 / secs.max(1e-9),
        test_rmse: tracker.last_test.sqrt(),
        constant: lab.constant,
        l,
        j,
        t_obs: lab.t_obs,
        sampler: lab.sampler,
    })
}

/// Energies of the `--test` configurations: the truth, the EDNN's, and
/// E_RNN when a sampler made the labels (evaluation only).
pub struct TestEnergies {
    pub truth: Vec<f64>,
    pub ednn: Vec<f64>,
    pub rnn: Option<Vec<f64>>,
}

impl TestEnergies {
    /// RMSE per configuration of `pred` against the truth.
    pub fn rmse(&self, pred: &[f64]) -> f64 {
        let sq: f64 = pred
            .iter()
            .zip(&self.truth)
            .map(|(a, b)| (a - b).powi(2))
            .sum();
        (sq / self.truth.len() as f64).sqrt()
    }
}

pub fn test_energies(trained: &TrainedEdnn, test: &Path) -> Result<TestEnergies> {
    let data = States::load(test, Some(&[trained.l, trained.l]))?;
    let l = trained.l;
    let states: Vec<i8> = (0..data.params.len())
        .flat_map(|k| data.state(k).to_vec())
        .collect();
    let truth = states
        .chunks(l * l)
        .map(|s| energy(s, l, trained.j, 0.0))
        .collect();
    let ednn = states
        .chunks(l * l)
        .map(|s| trained.host.energy(s, l))
        .collect();
    let rnn = match (&trained.sampler, trained.t_obs) {
        (Some(q), Some(t)) => Some(
            q.log_q(&states)?
                .iter()
                .map(|lq| -t * lq + trained.constant)
                .collect(),
        ),
        _ => None,
    };
    Ok(TestEnergies { truth, ednn, rnn })
}

/// What fit-ednn writes.
pub struct EdnnOutputs<'a> {
    pub model: &'a Path,
    pub log: Option<&'a Path>,
    /// configurations with known true energies for the RMSE (evaluation only)
    pub test: Option<&'a Path>,
    /// folder for ednn-energies.png (needs `test`)
    pub plots: Option<&'a Path>,
}

/// How the trained EDNN compares with the truth: RMSE on `--test` and the
/// couplings read off its tile table (`phasekit.evaluation` of the file).
#[derive(Clone, Debug, serde::Serialize)]
pub struct Evaluation {
    pub rmse_ednn: Option<f64>,
    pub rmse_rnn: Option<f64>,
    pub n_test: usize,
    pub couplings: Option<crate::nn::ednn::Couplings>,
}

/// Train, evaluate, export, write the log.
pub fn run(
    cfg: &EdnnConfig,
    out: &EdnnOutputs,
    common: &Common,
) -> Result<(TrainedEdnn, Evaluation)> {
    let trained = train(cfg, common)?;
    let tested = out.test.map(|t| test_energies(&trained, t)).transpose()?;
    let (rmse_ednn, rmse_rnn, n_test) = match &tested {
        Some(te) => (
            Some(te.rmse(&te.ednn)),
            te.rnn.as_ref().map(|r| te.rmse(r)),
            te.truth.len(),
        ),
        None => (None, None, 0),
    };
    let couplings = trained
        .host
        .table()
        .map(|table| crate::nn::ednn::couplings(&cfg.spec, &table, trained.l));
    let eval = Evaluation {
        rmse_ednn,
        rmse_rnn,
        n_test,
        couplings,
    };
    let meta = vec![
        ("phasekit.kind".to_string(), "energy".to_string()),
        ("phasekit.version".into(), "1".into()),
        ("phasekit.L".into(), trained.l.to_string()),
        ("phasekit.network".into(), cfg.spec.network().to_string()),
        ("phasekit.training".into(), trained.training.to_string()),
        ("phasekit.evaluation".into(), json!(eval).to_string()),
    ];
    if let (Some(dir), Some(te)) = (out.plots, &tested) {
        std::fs::create_dir_all(dir).map_err(|e| input_error!("--plots {}: {e}", dir.display()))?;
        crate::plot::figures::predicted_energies(
            &dir.join("ednn-energies.png"),
            &te.truth,
            &te.ednn,
            te.rnn.as_deref(),
        )?;
    }
    let onnx = crate::nn::ednn::to_onnx(&cfg.spec, &trained.params, &meta);
    crate::io::atomic::write_bytes(out.model, &onnx)?;
    if let Some(lp) = out.log {
        let mut bounds = crate::meta::Bounds::new();
        bounds.insert("T".into(), [trained.t_obs.unwrap_or(f64::NAN); 2]);
        crate::contract::trainlog::write_log(
            lp,
            &trained.log,
            &["T".into()],
            &bounds,
            json!({"system": "ising", "L": trained.l, "network": cfg.spec.network(),
                   "loss": "mean squared error of the total energy per configuration"}),
            "fit-ednn",
            common.seed,
        )?;
    }
    Ok((trained, eval))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symmetric_images_keep_the_ising_energy() {
        let l = 6;
        let mut rng = chain_rng(1, 0);
        let s: Vec<i8> = (0..l * l)
            .map(|_| if rng.random() { 1 } else { -1 })
            .collect();
        let e = energy(&s, l, 1.0, 0.0);
        let mut seen = std::collections::HashSet::new();
        for op in 0..symmetries(l) {
            let img = symmetry_image(&s, l, op);
            assert_eq!(energy(&img, l, 1.0, 0.0), e, "op {op}");
            assert_eq!(
                img.iter().filter(|v| **v > 0).count() * 2 == l * l,
                s.iter().filter(|v| **v > 0).count() * 2 == l * l
            );
            seen.insert(img);
        }
        // a random configuration has no symmetry of its own: every image differs
        assert_eq!(seen.len(), 16 * l * l);
    }
}
