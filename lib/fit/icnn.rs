//! fit-icnn's training (BTI paper eqs. 19–21): an input-convex log Z_w(t)
//! whose exponential family, P_w(t | t') ∝ exp[∇log Z_w(t')·t − log Z_w(t)]
//! on the grid, matches each bundle's predicted posterior in Jensen–Shannon
//! divergence; or several such networks trained apart (an ensemble) whose
//! mean is the model. Then the export (free_energy.onnx) and the
//! thermodynamic table on the grid, computed from the exported file by ONNX
//! Runtime.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use indicatif::ProgressBar;
use rand::Rng;
use rayon::prelude::*;
use serde_json::json;

use super::posteriors::{grid_points, PosteriorSet};
use crate::bail_input;
use crate::cli::Common;
use crate::contract::thermo::{self, Thermo};
use crate::contract::trainlog::{self, LogRow};
use crate::io::content_hash;
use crate::meta::{FileMeta, InputRef, Kind, Provenance};
use crate::nn::burn_exec::{train_device, Net};
use crate::nn::icnn::IcnnSpec;
use crate::nn::objectives::IcnnObjective;
use crate::nn::program::{ParamData, Program};
use crate::runtime::{take_output, Device, ModelFile, ModelPool};
use crate::sim::rng::chain_rng;
use crate::train::{RunSettings, Tracker};

const INIT_STREAM: u64 = 0x4943_4e4e_0000_0001;
const BATCH_STREAM: u64 = 0x4943_4e4e_0000_0002;
const TEST_STREAM: u64 = 0x4943_4e4e_0000_0003;

/// Test bundles in the fixed test-loss set.
const TEST_SET: usize = 512;

#[derive(Clone, Debug)]
pub struct IcnnConfig {
    pub run: RunSettings,
    pub layers: usize,
    pub hidden: usize,
    /// networks trained apart and averaged
    pub ensemble: usize,
}

pub struct TrainedIcnn {
    pub spec: IcnnSpec,
    pub onnx: Vec<u8>,
    /// the ensemble's networks' mean loss at each logged step
    pub log: Vec<LogRow>,
    /// test loss of the exported model (the ensemble's mean log Z)
    pub final_test: f64,
    pub steps_per_s: f64,
    pub parameters: usize,
}

/// The spec for `set`: prior bounds from the grid, the output scale from the
/// posteriors' typical width.
pub fn spec_for(cfg: &IcnnConfig, set: &PosteriorSet) -> Result<IcnnSpec> {
    let b = |p: &String| set.grid.bounds[p];
    let var = set.mean_unit_variance();
    // posteriors narrower than a grid cell say no more than one cell's width
    let cell = 1.0 / (12.0 * (set.grid.shape[0].max(set.grid.shape[1]) as f64).powi(2));
    let spec = IcnnSpec {
        lo: set.grid.params.iter().map(|p| b(p)[0]).collect(),
        hi: set.grid.params.iter().map(|p| b(p)[1]).collect(),
        layers: cfg.layers,
        hidden: cfg.hidden,
        ensemble: cfg.ensemble,
        scale: 1.0 / var.max(cell),
    };
    if let Err(why) = spec.check() {
        bail_input!("{why}");
    }
    Ok(spec)
}

/// The loss of the mean of `members` on bundles `rows` of `set`.
fn loss_on(
    objective: &IcnnObjective,
    spec: &IcnnSpec,
    members: &[&Net],
    set: &PosteriorSet,
    rows: &[usize],
) -> crate::nn::burn_exec::Loss {
    let g = set.grid.len();
    let centres: Vec<[f64; 2]> = rows.iter().map(|&i| set.centres[i]).collect();
    let mut q = Vec::with_capacity(rows.len() * g);
    let mut qlq = Vec::with_capacity(rows.len());
    for &i in rows {
        let post = set.posterior(i);
        q.extend_from_slice(post);
        qlq.push(
            post.iter()
                .filter(|&&v| v > 0.0)
                .map(|&v| v as f64 * (v as f64).ln())
                .sum::<f64>() as f32,
        );
    }
    objective.loss(spec, members, &centres, q, qlq)
}

/// ONNX metadata_props of a free-energy model.
pub fn model_metadata(
    set: &PosteriorSet,
    spec: &IcnnSpec,
    training: serde_json::Value,
) -> Vec<(String, String)> {
    vec![
        ("phasekit.kind".into(), "free_energy".into()),
        ("phasekit.version".into(), "1".into()),
        ("phasekit.params".into(), json!(set.meta.params).to_string()),
        ("phasekit.bounds".into(), json!(set.meta.bounds).to_string()),
        ("phasekit.grid".into(), json!(set.grid).to_string()),
        ("phasekit.network".into(), json!(spec).to_string()),
        ("phasekit.training".into(), training.to_string()),
    ]
}

/// The training bundles, and the fixed test set (test bundles, or with no
/// split a sample of the training ones).
fn split_rows(set: &PosteriorSet, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let train_rows: Vec<usize> = (0..set.len()).filter(|&i| !set.is_test[i]).collect();
    // with no split, every bundle trains and the test loss is over all of them
    let train_rows = if train_rows.is_empty() {
        (0..set.len()).collect()
    } else {
        train_rows
    };
    let all: Vec<usize> = (0..set.len()).filter(|&i| set.is_test[i]).collect();
    let mut rng = chain_rng(seed, TEST_STREAM);
    let pool = if all.is_empty() { &train_rows } else { &all };
    let test_rows = if pool.len() <= TEST_SET {
        pool.clone()
    } else {
        (0..TEST_SET)
            .map(|_| pool[rng.random_range(0..pool.len())])
            .collect()
    };
    (train_rows, test_rows)
}

/// Network `m` of the ensemble checkpoints to (and resumes from) `path` for
/// m = 0 and beside it for the others: free_energy.ckpt, free_energy.m1.ckpt, …
pub fn member_path(path: &Path, m: usize) -> PathBuf {
    if m == 0 {
        return path.to_path_buf();
    }
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    let name = match path.extension() {
        Some(ext) => format!("{stem}.m{m}.{}", ext.to_string_lossy()),
        None => format!("{stem}.m{m}"),
    };
    path.with_file_name(name)
}

/// One trained network of the ensemble.
struct Member {
    params: Vec<ParamData>,
    log: Vec<LogRow>,
    start: usize,
}

/// Train network `m`: its own initialisation, batches and checkpoint.
#[allow(clippy::too_many_arguments)]
fn train_member(
    m: usize,
    cfg: &IcnnConfig,
    spec: &IcnnSpec,
    set: &PosteriorSet,
    (train_rows, test_rows): (&[usize], &[usize]),
    seed: u64,
    bar: &ProgressBar,
) -> Result<Member> {
    let device = train_device(cfg.run.device)?;
    let mut run = cfg.run.clone();
    run.checkpoint = run.checkpoint.map(|p| member_path(&p, m));
    run.resume = run.resume.map(|p| member_path(&p, m));
    let init = spec.init(&mut chain_rng(seed, INIT_STREAM | (m as u64) << 40));
    let spec_json = serde_json::to_value(spec)?;
    let (mut net, mut adam, mut tracker) = Tracker::begin(
        &run,
        Program::default(),
        init,
        &device,
        &spec_json,
        "another network (--layers/--hidden/--ensemble) or other posteriors",
    )?;
    let start = adam.step as usize;
    let objective = IcnnObjective::new(&grid_points(&set.grid), &device);
    if start == 0 {
        // the untrained network's test loss: where the curve starts
        let loss = loss_on(&objective, spec, &[&net], set, test_rows).value()?;
        tracker.log.push(LogRow {
            step: 0,
            test: true,
            loss,
        });
    }
    bar.inc(start as u64);
    for step in start..run.steps {
        // member m's batches: a stream of its own under the seed (m = 0 is
        // the lone network's), never another seed's
        let mut rng = chain_rng(seed ^ BATCH_STREAM, step as u64 | (m as u64) << 40);
        let rows: Vec<usize> = (0..run.batch)
            .map(|_| train_rows[rng.random_range(0..train_rows.len())])
            .collect();
        let loss = loss_on(&objective, spec, &[&net], set, &rows);
        // the test loss runs in the autodiff graph too (dropped unused): one code path
        let test = |net: &Net| -> Result<f64> {
            loss_on(&objective, spec, &[net], set, test_rows).value()
        };
        tracker.after_loss(
            &run,
            step,
            loss,
            &mut adam,
            &mut net,
            Some(&test),
            &spec_json,
            bar,
        )?;
    }
    Ok(Member {
        params: net.host_params()?,
        log: tracker.log,
        start,
    })
}

/// The members' logs, row by row (they log the same steps), averaged.
fn mean_log(members: &[Member]) -> Vec<LogRow> {
    let n = members.len() as f64;
    let mut log = members[0].log.clone();
    for (i, row) in log.iter_mut().enumerate() {
        row.loss = members.iter().map(|m| m.log[i].loss).sum::<f64>() / n;
    }
    log
}

pub fn train(cfg: &IcnnConfig, set: &PosteriorSet, common: &Common) -> Result<TrainedIcnn> {
    let spec = spec_for(cfg, set)?;
    let (train_rows, test_rows) = split_rows(set, common.seed);
    let rows = (train_rows.as_slice(), test_rows.as_slice());
    let bar = common.bar((cfg.run.steps * spec.ensemble) as u64, "train");
    let started = Instant::now();
    let one = |m: usize| train_member(m, cfg, &spec, set, rows, common.seed, &bar);
    // apart, the networks share nothing, so they train side by side on the
    // CPU's threads (the order of the results is fixed, so is the output)
    let members: Result<Vec<Member>> = match cfg.run.device {
        Device::Cpu => (0..spec.ensemble).into_par_iter().map(one).collect(),
        Device::Cuda => (0..spec.ensemble).map(one).collect(),
    };
    let members = members?;
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    if members.iter().any(|m| m.log.len() != members[0].log.len()) {
        bail_input!("--resume: the ensemble's checkpoints were written at different steps");
    }
    let device = train_device(cfg.run.device)?;
    let nets: Vec<Net> = members
        .iter()
        .map(|m| Net::new(Program::default(), m.params.clone(), &device))
        .collect();
    let objective = IcnnObjective::new(&grid_points(&set.grid), &device);
    let refs: Vec<&Net> = nets.iter().collect();
    let final_test = loss_on(&objective, &spec, &refs, set, &test_rows).value()?;
    let training = json!({"steps": cfg.run.steps, "batch": cfg.run.batch, "lr": cfg.run.lr, "cosine": cfg.run.cosine,
                          "seed": common.seed, "loss": "Jensen-Shannon divergence (eq. 20)",
                          "final_test_loss": final_test});
    let params: Vec<Vec<ParamData>> = members.iter().map(|m| m.params.clone()).collect();
    let onnx = crate::nn::icnn::to_onnx(&spec, &params, &model_metadata(set, &spec, training));
    Ok(TrainedIcnn {
        spec,
        onnx,
        log: mean_log(&members),
        final_test,
        steps_per_s: cfg.run.steps.saturating_sub(members[0].start) as f64 / secs.max(1e-9),
        parameters: params.iter().flatten().map(|p| p.data.len()).sum(),
    })
}

/// Points per ONNX Runtime call when evaluating a free-energy model; fixed,
/// so the results do not depend on the thread count.
const EVAL_CHUNK: usize = 1024;

/// Evaluate any model honouring the free-energy contract at `points`.
pub fn evaluate(model: &ModelFile, points: &[[f64; 2]], device: Device) -> Result<Thermo> {
    let model_path = &model.path;
    let pool = ModelPool::load(model, device)?;
    {
        let model = pool.model();
        for (name, rank) in [("log_z", 1usize), ("grad", 2), ("hessian", 3)] {
            match model.output(name) {
                Some(s) if s.shape.len() == rank => {}
                Some(s) => bail_input!(
                    "{}: output '{name}' has rank {}, the free-energy contract says {rank} (schemas/models.md)",
                    model_path.display(),
                    s.shape.len()
                ),
                None => bail_input!(
                    "{}: no output named '{name}' (schemas/models.md)",
                    model_path.display()
                ),
            }
        }
        if model.input("t").is_none() {
            bail_input!(
                "{}: no input named 't' (schemas/models.md)",
                model_path.display()
            );
        }
    }
    let chunks: Vec<&[[f64; 2]]> = points.chunks(EVAL_CHUNK).collect();
    let results = pool.run_each(chunks, |model, chunk| {
        let t: Vec<f32> = chunk.iter().flat_map(|p| p.map(|v| v as f32)).collect();
        let mut r = model.run(&[("t", &[chunk.len(), 2], &t)])?;
        let (lz, gr, he) = (
            take_output(&mut r, "log_z"),
            take_output(&mut r, "grad"),
            take_output(&mut r, "hessian"),
        );
        if lz.len() != chunk.len() || gr.len() != 2 * chunk.len() || he.len() != 4 * chunk.len() {
            bail_input!(
                "{}: outputs do not have the contract's shapes for 2 parameters",
                model_path.display()
            );
        }
        Ok((lz, gr, he))
    })?;
    let mut out = Thermo {
        points: points.to_vec(),
        log_z: Vec::with_capacity(points.len()),
        grad: Vec::with_capacity(points.len()),
        hessian: Vec::with_capacity(points.len()),
    };
    for (lz, gr, he) in results {
        for i in 0..lz.len() {
            out.log_z.push(lz[i] as f64);
            out.grad.push([gr[2 * i] as f64, gr[2 * i + 1] as f64]);
            let h = &he[4 * i..4 * i + 4];
            out.hessian
                .push([[h[0] as f64, h[1] as f64], [h[2] as f64, h[3] as f64]]);
        }
    }
    if let Some(v) = out.log_z.iter().find(|v| !v.is_finite()) {
        bail_input!("{}: the model produced {v} for log Z", model_path.display());
    }
    Ok(out)
}

/// Write the thermo table on the grid of `set` from the model at `model_path`.
pub fn write_thermo(
    model: &ModelFile,
    set: &PosteriorSet,
    out: &Path,
    device: Device,
    common: &Common,
) -> Result<Thermo> {
    let thermo = evaluate(model, &set.grid_points(), device)?;
    let mut prov = Provenance::from_env("fit-icnn", Some(common.seed));
    prov.inputs.push(InputRef {
        path: set.path.display().to_string(),
        hash: content_hash(&set.path)?,
    });
    prov.inputs.push(InputRef {
        path: model.label(),
        hash: model.hash(),
    });
    let meta = FileMeta::new(
        Kind::Thermo,
        set.meta.params.clone(),
        set.meta.bounds.clone(),
        set.meta.model.clone(),
        prov,
    )
    .with("grid", &set.grid);
    thermo::write(out, &meta, &thermo)?;
    Ok(thermo)
}

/// Everything a fit-icnn run writes.
pub struct IcnnOutputs<'a> {
    pub model: &'a Path,
    pub thermo: &'a Path,
    pub log: Option<&'a Path>,
    pub plots: Option<&'a Path>,
}

pub struct IcnnSummary {
    pub trained: TrainedIcnn,
    pub thermo: Thermo,
}

/// Train, export, tabulate with ONNX Runtime, draw.
pub fn run(
    cfg: &IcnnConfig,
    set: &PosteriorSet,
    out: &IcnnOutputs,
    common: &Common,
) -> Result<IcnnSummary> {
    let trained = train(cfg, set, common)?;
    crate::io::atomic::write_bytes(out.model, &trained.onnx)?;
    // the table comes from the bytes just written, wherever they went
    let model = ModelFile {
        path: out.model.to_path_buf(),
        bytes: trained.onnx.clone().into(),
    };
    if let Some(lp) = out.log {
        trainlog::write_log(
            lp,
            &trained.log,
            &set.meta.params,
            &set.meta.bounds,
            json!({"network": trained.spec,
                   "loss": "Jensen-Shannon divergence (eq. 20); with an ensemble, the mean over its networks"}),
            "fit-icnn",
            common.seed,
        )?;
    }
    let thermo = write_thermo(&model, set, out.thermo, cfg.run.device, common)?;
    if let Some(dir) = out.plots {
        std::fs::create_dir_all(dir)
            .map_err(|e| crate::input_error!("--plots {}: {e}", dir.display()))?;
        crate::plot::figures::loss_curve(
            &dir.join("icnn-loss.png"),
            &trained.log,
            "fit-icnn: Jensen-Shannon divergence",
            "JSD (nats)",
            None,
        )?;
        crate::plot::figures::thermo_maps(&dir.join("thermo.png"), &thermo, &set.grid)?;
    }
    Ok(IcnnSummary { trained, thermo })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_network_checkpoints_beside_the_first() {
        let p = Path::new("out/free_energy.ckpt");
        assert_eq!(member_path(p, 0), p);
        assert_eq!(member_path(p, 2), Path::new("out/free_energy.m2.ckpt"));
        assert_eq!(member_path(Path::new("ck"), 1), Path::new("ck.m1"));
    }
}
