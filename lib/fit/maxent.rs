//! fit-maxent's run: configurations from a microstates file (any source:
//! ±1 spins or 0/1 occupations) or a binary image, the chosen max-ent model
//! and method, the fitted model's moments beside the data's, the couplings
//! file and its figures.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde_json::json;

use crate::cli::Common;
use crate::contract::couplings::{self, CouplingRow};
use crate::contract::{self, list_i8};
use crate::io::content_hash;
use crate::maxent::{self, exact, mcmc, Couplings, Fields, Method, Model, Options, Samples};
use crate::meta::{FileMeta, InputRef, Kind, Provenance};

/// Where the configurations come from.
#[derive(Clone, Debug)]
pub enum Source {
    Microstates(PathBuf),
    Image {
        path: PathBuf,
        threshold: f64,
        size: Option<(usize, usize)>,
    },
}

#[derive(Clone, Debug)]
pub struct Job {
    pub source: Source,
    pub couplings: Couplings,
    pub fields: Fields,
    pub method: Method,
    pub options: Options,
    /// sweeps of the chains that measure the fitted model's moments
    pub check_sweeps: usize,
    pub out: PathBuf,
    pub plots: Option<PathBuf>,
}

/// What a run found, for the tool's summary line.
pub struct Summary {
    pub samples: usize,
    pub parameters: usize,
    pub rows: Vec<CouplingRow>,
    /// largest |data − model| moment over the parameters
    pub largest_residual: f64,
    /// seconds of the fit itself (not loading, checking or writing)
    pub fit_seconds: f64,
}

/// The configurations and the lattice shape [rows, cols].
fn load(source: &Source) -> Result<(Samples, [usize; 2], PathBuf)> {
    match source {
        Source::Image {
            path,
            threshold,
            size,
        } => {
            if !(0.0..=1.0).contains(threshold) {
                crate::bail_input!("--threshold {threshold}: must be between 0 and 1");
            }
            let (spins, r, c) = crate::io::image::binary_lattice(path, *threshold, *size)?;
            Ok((
                Samples {
                    n: r * c,
                    m: 1,
                    spins,
                },
                [r, c],
                path.clone(),
            ))
        }
        Source::Microstates(path) => {
            let ds = contract::open(path, Kind::Microstates)?;
            let shape: Vec<usize> = ds.meta.get(path, "state_shape")?;
            let n: usize = shape.iter().product();
            let mut raw = Vec::new();
            for b in ds.batches(Some(&["state"]), 65536)? {
                raw.extend_from_slice(list_i8(&b?, "state")?.0);
            }
            let spins = as_spins(path, raw)?;
            let shape = match shape[..] {
                [r, c] => [r, c],
                _ => [1, n],
            };
            Ok((
                Samples {
                    n,
                    m: spins.len() / n,
                    spins,
                },
                shape,
                path.clone(),
            ))
        }
    }
}

/// ±1 spins as they are; 0/1 occupations as 2x − 1; anything else refused.
fn as_spins(path: &Path, raw: Vec<i8>) -> Result<Vec<i8>> {
    let (mut minus, mut zero) = (false, false);
    for &v in &raw {
        match v {
            -1 => minus = true,
            0 => zero = true,
            1 => {}
            other => crate::bail_input!(
                "{}: state value {other} is neither a ±1 spin nor a 0/1 occupation",
                path.display()
            ),
        }
    }
    if minus && zero {
        crate::bail_input!(
            "{}: states mix −1 and 0: neither ±1 spins nor 0/1 occupations",
            path.display()
        );
    }
    Ok(if zero {
        raw.into_iter().map(|v| 2 * v - 1).collect()
    } else {
        raw
    })
}

fn model_for(job: &Job, shape: [usize; 2], n: usize) -> Result<Model> {
    if job.couplings != Couplings::Pairs {
        let [r, c] = shape;
        if r != c || r < 3 {
            crate::bail_input!(
                "--model {:?}: needs square L×L configurations with L ≥ 3, these are {r}×{c}; use --model pairs",
                job.couplings
            );
        }
        return Ok(Model::new(job.couplings, job.fields, r, 0));
    }
    if n < 2 {
        crate::bail_input!("--model pairs: needs at least 2 spins");
    }
    Ok(Model::new(Couplings::Pairs, job.fields, 0, n))
}

pub fn run(job: &Job, common: &Common) -> Result<Summary> {
    let (data, shape, path) = load(&job.source)?;
    if data.m < 2 && !matches!(job.source, Source::Image { .. }) {
        crate::bail_input!(
            "{}: {} configuration(s); a fit needs at least 2",
            path.display(),
            data.m
        );
    }
    let model = model_for(job, shape, data.n)?;
    let started = std::time::Instant::now();
    let estimate = maxent::fit(job.method, &model, &data, &job.options)?;
    let fit_seconds = started.elapsed().as_secs_f64();
    // the fitted model's own moments: exact for small n, else from chains
    let fitted = if model.n <= 16 {
        exact::enumerate(&model, &estimate.theta, false).1
    } else {
        mcmc::model_means(
            &model,
            &estimate.theta,
            job.options.chains,
            job.check_sweeps,
            common.seed ^ 0x7265_7369,
        )
    };
    let target = data.moments(&model);
    let counts = model.counts();
    let rows: Vec<CouplingRow> = model
        .terms
        .iter()
        .enumerate()
        .map(|(p, t)| CouplingRow {
            term: t.term.into(),
            scope: t.scope.into(),
            i: t.i as u64,
            j: t.j as u64,
            value: estimate.theta[p],
            std_error: Some(estimate.std_error[p]).filter(|v| v.is_finite()),
            data_moment: target[p] / counts[p],
            model_moment: fitted[p] / counts[p],
        })
        .collect();
    let largest_residual = rows
        .iter()
        .map(|r| (r.data_moment - r.model_moment).abs())
        .fold(0.0, f64::max);
    let mut prov = Provenance::from_env("fit-maxent", Some(common.seed));
    prov.inputs.push(InputRef {
        path: path.display().to_string(),
        hash: content_hash(&path)?,
    });
    let meta = FileMeta::new(
        Kind::Couplings,
        vec![],
        Default::default(),
        json!({
            "system": "ising-maxent",
            "distribution": "P(s) ∝ exp(Σ K_ij s_i s_j + Σ H_i s_i)",
            "model": job.couplings,
            "field": job.fields,
            "lattice": if model.l > 0 { json!([model.l, model.l]) } else { json!(null) },
            "n": model.n,
        }),
        prov,
    )
    .with("method", job.method)
    .with("samples", data.m)
    .with("iterations", estimate.iterations)
    .with(
        "moments",
        json!({
            "largest_residual": largest_residual,
            "model_moments_from": if model.n <= 16 { "enumeration" } else { "chains" },
        }),
    );
    if let Some(dir) = &job.plots {
        std::fs::create_dir_all(dir).map_err(|e| {
            crate::input_error!("--plots {}: cannot create the folder ({e})", dir.display())
        })?;
        crate::plot::maxent::maxent_figures(dir, &model, &rows)?;
    }
    couplings::write(&job.out, &meta, &rows)?;
    Ok(Summary {
        samples: data.m,
        parameters: model.len(),
        rows,
        largest_residual,
        fit_seconds,
    })
}
