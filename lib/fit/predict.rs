//! Posteriors from any ONNX model that honours the posterior contract
//! (schemas/models.md), run by ONNX Runtime — never by the training framework.

use std::path::Path;

use anyhow::Result;

use super::data::{assemble_nearest, Bundles, States};
use super::posteriors::{axes, moments};
use crate::bail_input;
use crate::cli::Common;
use crate::contract::TableWriter;
use crate::io::{content_hash, SinkOptions};
use crate::meta::{FileMeta, InputRef, Kind, Provenance};
use crate::runtime::{take_output, Device, Model, ModelFile, ModelPool};

/// Bundles per ONNX Runtime call; fixed, so the output bytes do not depend
/// on the thread count.
const PREDICT_BATCH: usize = 256;

/// Quality of predicted posteriors against the bundles' true centres.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Quality {
    pub rows: usize,
    pub test_rows: usize,
    /// RMSE of the posterior mean on test bundles, per parameter (physical units)
    pub rmse: [f64; 2],
    /// mean cross-entropy of the full-member targets under the predictions (test)
    pub test_cross_entropy: f64,
    /// the first few test bundles (index) and their posteriors, for figures
    #[serde(skip)]
    pub examples: Vec<(usize, Vec<f32>)>,
}

/// Check the model's inputs and outputs against the bundles and states.
pub fn check_model(
    model: &Model,
    path: &Path,
    k: usize,
    shape: [usize; 2],
    grid: [usize; 2],
) -> Result<()> {
    let want_in = [-1i64, k as i64, shape[0] as i64, shape[1] as i64];
    let ok_dims = |have: &[i64], want: &[i64]| {
        have.len() == want.len()
            && have
                .iter()
                .zip(want)
                .skip(1)
                .all(|(h, w)| *h == *w || *h < 0)
    };
    match model.input("states") {
        Some(s) if ok_dims(&s.shape, &want_in) => {}
        Some(s) => bail_input!(
            "{}: input 'states' has shape {:?}, the bundles need [N, {k}, {}, {}]",
            path.display(),
            s.shape,
            shape[0],
            shape[1]
        ),
        None => bail_input!(
            "{}: model has no input named 'states' (see schemas/models.md)",
            path.display()
        ),
    }
    let want_out = [-1i64, grid[0] as i64, grid[1] as i64];
    match model.output("logits") {
        Some(s) if ok_dims(&s.shape, &want_out) => Ok(()),
        Some(s) => bail_input!(
            "{}: output 'logits' has shape {:?}, the grid is [N, {}, {}]",
            path.display(),
            s.shape,
            grid[0],
            grid[1]
        ),
        None => bail_input!(
            "{}: model has no output named 'logits' (see schemas/models.md)",
            path.display()
        ),
    }
}

/// Run the model on every bundle (or the first `limit`), write posteriors.
#[allow(clippy::too_many_arguments)]
pub fn predict(
    model: &ModelFile,
    bundles: &Bundles,
    states: &States,
    out: &Path,
    limit: Option<usize>,
    device: Device,
    common: &Common,
    tool: &str,
) -> Result<Quality> {
    let model_path = &model.path;
    let pool = ModelPool::load(model, device)?;
    let grid = bundles.grid.shape;
    check_model(
        &pool.model(),
        model_path,
        bundles.k_bundle,
        states.shape,
        grid,
    )?;
    let g = bundles.grid.len();
    let n = limit.unwrap_or(bundles.ids.len()).min(bundles.ids.len());

    let mut prov = Provenance::from_env(tool, Some(common.seed));
    prov.inputs.push(InputRef {
        path: bundles.path.display().to_string(),
        hash: content_hash(&bundles.path)?,
    });
    prov.inputs.push(InputRef {
        path: model.label(),
        hash: model.hash(),
    });
    let meta = FileMeta::new(
        Kind::Posteriors,
        bundles.meta.params.clone(),
        bundles.meta.bounds.clone(),
        bundles.meta.model.clone(),
        prov,
    )
    .with("grid", &bundles.grid)
    .with("k_bundle", bundles.k_bundle);
    let mut w = TableWriter::create(out, &meta, &[], &SinkOptions::default())?;
    let p = &bundles.meta.params;
    let cols = [
        w.col("bundle_id")?,
        w.col("split")?,
        w.col(&p[0])?,
        w.col(&p[1])?,
        w.col("posterior")?,
    ];

    let coords = axes(&bundles.grid);
    let mut q = Quality {
        rows: n,
        ..Default::default()
    };
    let (mut se, mut ce) = ([0.0f64; 2], 0.0f64);
    let mut targets = crate::bundle::target::TargetBuilder::new(&bundles.grid);
    let mut target = vec![0f32; g];
    let bar = common.bar(n as u64, "predict");
    let mut post = vec![0f32; g];
    // batches run in parallel, one single-threaded session per worker, then
    // are written in order: the bytes do not depend on the thread count
    let batches: Vec<Vec<usize>> = (0..n)
        .step_by(PREDICT_BATCH)
        .map(|s| (s..(s + PREDICT_BATCH).min(n)).collect())
        .collect();
    for group in batches.chunks(rayon::current_num_threads().max(1)) {
        let outputs = pool.run_each(group.iter().collect(), |model, centres| {
            let mut x = Vec::new();
            assemble_nearest(bundles, states, centres, &mut x);
            let shape = [
                centres.len(),
                bundles.k_bundle,
                states.shape[0],
                states.shape[1],
            ];
            let mut outs = model.run(&[("states", &shape, &x)])?;
            Ok(take_output(&mut outs, "logits"))
        })?;
        for (centres, logits) in group.iter().zip(&outputs) {
            if logits.len() != centres.len() * g {
                bail_input!(
                    "{}: output 'logits' has {} values for {} bundles of {g} grid points",
                    model_path.display(),
                    logits.len(),
                    centres.len()
                );
            }
            for (b, &c) in centres.iter().enumerate() {
                let row = &logits[b * g..(b + 1) * g];
                if row.iter().any(|v| !v.is_finite()) {
                    bail_input!(
                        "{}: the model produced non-finite logits for bundle {}",
                        model_path.display(),
                        bundles.ids[c]
                    );
                }
                let mx = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
                let z: f64 = row.iter().map(|&v| (v as f64 - mx).exp()).sum();
                for (o, &v) in post.iter_mut().zip(row) {
                    *o = ((v as f64 - mx).exp() / z) as f32;
                }
                w.u64(cols[0], bundles.ids[c]);
                w.str(cols[1], if bundles.is_test[c] { "test" } else { "train" });
                w.f64(cols[2], bundles.params[c][0]);
                w.f64(cols[3], bundles.params[c][1]);
                w.list_f32(cols[4], &post);
                w.end_row()?;
                if bundles.is_test[c] {
                    // posterior mean vs truth; cross-entropy of the full-member target
                    let (mean, _) = moments(&post, &coords);
                    for a in 0..2 {
                        se[a] += (mean[a] - bundles.params[c][a]).powi(2);
                    }
                    let ms: Vec<[f64; 2]> = bundles
                        .members_of(c)
                        .iter()
                        .map(|id| states.params[states.position(*id).expect("covered")])
                        .collect();
                    targets.build(&ms, &mut target);
                    if q.examples.len() < 6 {
                        q.examples.push((c, post.clone()));
                    }
                    let lz = mx + z.ln();
                    ce -= target
                        .iter()
                        .zip(row)
                        .map(|(t, l)| *t as f64 * (*l as f64 - lz))
                        .sum::<f64>();
                    q.test_rows += 1;
                }
            }
            bar.inc(centres.len() as u64);
        }
    }
    bar.finish_and_clear();
    w.finish()?;
    if q.test_rows > 0 {
        q.rmse = [0, 1].map(|a| (se[a] / q.test_rows as f64).sqrt());
        q.test_cross_entropy = ce / q.test_rows as f64;
    }
    Ok(q)
}
