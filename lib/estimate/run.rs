//! nis-estimate: draw M configurations from a sampler, weigh them by the
//! target's Boltzmann factor, and write every estimate with its standard
//! error (schemas/estimates.md); optionally the p-estimator and the
//! mode-dropping check on MCMC samples, the NMCMC chain, the weighted
//! samples and diagnostic figures.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use serde_json::json;

use super::energy::Energy;
use super::nis::{self, sigma_of, Estimate, Weights};
use super::nmcmc::Chain;
use super::proposal::Proposal;
use crate::cli::Common;
use crate::contract::estimates::{self, EstimateRow};
use crate::contract::{col_f64, list_i8, TableWriter};
use crate::io::SinkOptions;
use crate::meta::{Bounds, FileMeta, InputRef, Kind, Provenance};
use crate::runtime::{Device, ModelFile};
use crate::{bail_input, input_error};

const DRAW_STREAM: u64 = 0x4e49_5300_0000_0002;
const BOOT_STREAM: u64 = 0x4e49_5300_0000_0003;
const CHAIN_STREAM: u64 = 0x4e49_5300_0000_0004;
/// ESS/M below this makes σ itself unreliable: the tool warns.
const TINY_ESS: f64 = 0.01;
/// Points of the running estimates in the figure.
const RUNNING_POINTS: usize = 120;

/// The distribution p(s) ∝ e^{−E(s)/T} to estimate.
#[derive(Clone, Debug)]
pub enum TargetSpec {
    Ising {
        l: usize,
        t: f64,
        h: f64,
        j: f64,
    },
    /// an `energy` ONNX model at temperature t
    Model {
        path: PathBuf,
        t: f64,
    },
}

impl TargetSpec {
    fn t(&self) -> f64 {
        match self {
            TargetSpec::Ising { t, .. } | TargetSpec::Model { t, .. } => *t,
        }
    }
}

#[derive(Clone, Debug)]
pub struct NisConfig {
    pub model: PathBuf,
    pub target: TargetSpec,
    pub samples: usize,
    /// configurations drawn per round (memory and progress, never the result)
    pub batch: usize,
    pub mcmc: Option<PathBuf>,
    pub nmcmc: bool,
    pub bootstrap: usize,
    pub device: Device,
}

pub struct NisOutputs<'a> {
    pub estimates: &'a Path,
    pub samples: Option<&'a Path>,
    pub plots: Option<&'a Path>,
}

/// What a run found, for the summary line.
pub struct NisSummary {
    pub rows: Vec<EstimateRow>,
    pub warnings: Vec<String>,
    pub samples_per_s: f64,
    /// seconds drawing (sampling and log q), in energies, in the estimators
    pub seconds: [f64; 3],
    pub on_host: bool,
}

impl NisConfig {
    pub fn validate(&self) -> Result<()> {
        if self.samples < 2 {
            bail_input!("--samples: at least 2, got {}", self.samples);
        }
        if self.batch == 0 {
            bail_input!("--batch: must be positive");
        }
        let t = self.target.t();
        if !(t.is_finite() && t > 0.0) {
            bail_input!("--T: must be a positive temperature, got {t}");
        }
        if let TargetSpec::Ising { l, h, j, .. } = &self.target {
            if *l < 2 {
                bail_input!("--L: at least 2, got {l}");
            }
            if !h.is_finite() || !j.is_finite() {
                bail_input!("--h and --J must be finite");
            }
        }
        if self.bootstrap == 1 {
            bail_input!("--bootstrap: 0 (off) or at least 2 resamplings");
        }
        Ok(())
    }
}

/// Per-sample observables kept for the estimators (states are not kept).
#[derive(Default)]
struct Draws {
    log_q: Vec<f64>,
    energy: Vec<f64>,
    magnetization: Vec<f64>,
}

/// The per-site observables both estimators average: e = E/N, |m|, m².
struct Observables {
    u: Vec<f64>,
    abs_m: Vec<f64>,
    m2: Vec<f64>,
}

impl Draws {
    fn observables(&self, n: usize) -> Observables {
        Observables {
            u: self.energy.iter().map(|e| e / n as f64).collect(),
            abs_m: self.magnetization.iter().map(|v| v.abs()).collect(),
            m2: self.magnetization.iter().map(|v| v * v).collect(),
        }
    }
}

pub fn run(cfg: &NisConfig, out: &NisOutputs, common: &Common) -> Result<NisSummary> {
    cfg.validate()?;
    let proposal = Proposal::load(ModelFile::read(&cfg.model)?, cfg.device)
        .map_err(|e| prefix_model(e, &cfg.model))?;
    let l = proposal.l;
    let n = proposal.sites();
    let t = cfg.target.t();
    let beta = 1.0 / t;
    let mut warnings = Vec::new();
    let (energy, params, at) = match &cfg.target {
        TargetSpec::Ising { l: want, t, h, j } => {
            if *want != l {
                bail_input!(
                    "--L {want}: the sampler {} is for L = {l}",
                    cfg.model.display()
                );
            }
            if let Some(tf) = &proposal.trained_for {
                if (tf.t - t).abs() > 1e-9 || (tf.h - h).abs() > 1e-9 || (tf.j - j).abs() > 1e-9 {
                    warnings.push(format!(
                        "the sampler was trained for T = {}, h = {}, J = {}; importance sampling at T = {t}, h = {h}, J = {j} stays exact, but its ESS may be low",
                        tf.t, tf.h, tf.j
                    ));
                }
            }
            (
                Energy::Ising { l, j: *j, h: *h },
                vec!["T".to_string(), "h".to_string()],
                vec![*t, *h],
            )
        }
        TargetSpec::Model { path, t } => (
            Energy::model(ModelFile::read(path)?, cfg.device, l)?,
            vec!["T".to_string()],
            vec![*t],
        ),
    };
    // the MCMC file is checked before any sampling
    let mcmc = match &cfg.mcmc {
        Some(p) => Some(load_mcmc(p, &cfg.target, l)?),
        None => None,
    };
    let mut sink = match out.samples {
        Some(p) => Some(SamplesOut::create(
            p,
            &params,
            &at,
            l,
            &cfg.model,
            common.seed,
        )?),
        None => None,
    };

    let bar = common.bar(cfg.samples as u64, "sample");
    let mut draws = Draws::default();
    let mut seconds = [0.0; 3];
    let started = Instant::now();
    let mut done = 0usize;
    while done < cfg.samples {
        let count = cfg.batch.min(cfg.samples - done);
        let t0 = Instant::now();
        let (states, log_q) = proposal.draw(common.seed ^ DRAW_STREAM, done as u64, count)?;
        let t1 = Instant::now();
        if let Some(k) = log_q.iter().position(|v| !v.is_finite()) {
            bail_input!(
                "{}: log q of sample {} is {}",
                cfg.model.display(),
                done + k,
                log_q[k]
            );
        }
        let e = energy
            .energies(&states)
            .map_err(|err| input_error!("{err} (counting from sample {done})"))?;
        seconds[0] += (t1 - t0).as_secs_f64();
        seconds[1] += t1.elapsed().as_secs_f64();
        for s in states.chunks(n) {
            draws
                .magnetization
                .push(s.iter().map(|&v| v as f64).sum::<f64>() / n as f64);
        }
        if let Some(w) = sink.as_mut() {
            w.write(&states, &e, &log_q, beta, done as u64)?;
        }
        draws.log_q.extend_from_slice(&log_q);
        draws.energy.extend_from_slice(&e);
        done += count;
        bar.set_position(done as u64);
    }
    bar.finish_and_clear();
    let sampled_s = started.elapsed().as_secs_f64();

    let t2 = Instant::now();
    let weights = Weights::from_energies(&draws.energy, &draws.log_q, beta)
        .map_err(|e| input_error!("{}: {e}", cfg.model.display()))?;
    let obs = draws.observables(n);
    let mut rows = estimators(&weights, &draws, &obs, beta, n, cfg.bootstrap, common.seed);
    let ess = weights.ess_fraction();
    if ess < TINY_ESS {
        warnings.push(format!(
            "ESS/M = {ess:.2e} is tiny: the sampler is far from p, and the σ of every estimate is unreliable"
        ));
    }
    if let Some(states) = &mcmc {
        let (mut more, warning) = p_estimator(&proposal, &energy, states, beta, n, &weights)?;
        rows.append(&mut more);
        warnings.extend(warning);
    }
    if cfg.nmcmc {
        rows.extend(nmcmc_rows(&weights, &obs, common.seed));
    }
    seconds[2] = t2.elapsed().as_secs_f64();
    if let Some(w) = sink {
        w.finish()?;
    }

    let mut prov = Provenance::from_env("nis-estimate", Some(common.seed));
    prov.inputs.push(InputRef {
        path: proposal.file.label(),
        hash: proposal.file.hash(),
    });
    if let Some(p) = &cfg.mcmc {
        prov.inputs.push(InputRef {
            path: p.display().to_string(),
            hash: crate::io::content_hash(p)?,
        });
    }
    let mut bounds = Bounds::new();
    for (p, v) in params.iter().zip(&at) {
        bounds.insert(p.clone(), [*v; 2]);
    }
    let model = json!({"system": "ising", "L": l, "beta": beta, "energy": energy.describe(),
        "sampler": {"file": proposal.file.label(), "hash": proposal.file.hash(), "z2": proposal.z2,
                    "network": proposal.network, "trained_for": proposal.trained_for}});
    let meta = FileMeta::new(Kind::Estimates, params.clone(), bounds, model, prov)
        .with("warnings", &warnings);
    estimates::write(out.estimates, &meta, &at, &rows)?;
    if let Some(dir) = out.plots {
        std::fs::create_dir_all(dir).map_err(|e| input_error!("--plots {}: {e}", dir.display()))?;
        let exact = exact_free_energy(&cfg.target);
        crate::plot::figures::nis_diagnostics(
            &dir.join("nis-diagnostics.png"),
            &diagnostics(&weights, beta, n, exact),
        )?;
    }
    for w in &warnings {
        if !common.quiet {
            eprintln!("nis-estimate: warning: {w}");
        }
    }
    Ok(NisSummary {
        rows,
        warnings,
        samples_per_s: cfg.samples as f64 / sampled_s.max(1e-9),
        seconds,
        on_host: proposal.on_host(),
    })
}

fn prefix_model(e: anyhow::Error, path: &Path) -> anyhow::Error {
    if crate::error::is_input_error(&e) {
        e
    } else {
        input_error!("--model {}: {e}", path.display())
    }
}

fn row(method: &str, quantity: &str, e: Estimate, n: usize) -> EstimateRow {
    EstimateRow::new(method, quantity, e.value, Some(e.sigma), n)
}

/// The NIS estimates, the bootstrap σ and the variational bound.
fn estimators(
    w: &Weights,
    d: &Draws,
    obs: &Observables,
    beta: f64,
    n: usize,
    bootstrap: usize,
    seed: u64,
) -> Vec<EstimateRow> {
    let m = w.len();
    let nf = n as f64;
    let bn = beta * nf;
    let ln_z = w.ln_z();
    let per_site = |e: Estimate, scale: f64| Estimate {
        value: e.value * scale,
        sigma: e.sigma * scale.abs(),
    };
    let Observables { u, abs_m, m2 } = obs;
    let (u_mean, u_phi) = w.mean_influence(u);
    // S/N = β U/N + ln Z / N: the two share samples, so σ from the summed influences
    let s_phi: Vec<f64> = u_phi
        .iter()
        .zip(w.ln_z_influence())
        .map(|(a, b)| beta * a + b / nf)
        .collect();
    let mut rows = vec![
        row("nis", "ln_z", ln_z, m),
        row("nis", "free_energy", per_site(ln_z, -1.0 / bn), m),
        EstimateRow::new("nis", "free_energy_bias", -w.ln_z_bias() / bn, None, m),
        row("nis", "energy", w.mean(u), m),
        row("nis", "abs_magnetization", w.mean(abs_m), m),
        row("nis", "magnetization_sq", w.mean(m2), m),
        row(
            "nis",
            "specific_heat",
            per_site(w.variance(u), beta * beta * nf),
            m,
        ),
        row("nis", "susceptibility", per_site(w.variance(abs_m), bn), m),
        row(
            "nis",
            "entropy",
            Estimate {
                value: beta * u_mean + ln_z.value / nf,
                sigma: sigma_of(&s_phi),
            },
            m,
        ),
        EstimateRow::new("nis", "ess_fraction", w.ess_fraction(), None, m),
    ];
    if bootstrap > 0 {
        let sigma = w.bootstrap_ln_z(bootstrap, seed ^ BOOT_STREAM);
        let boot = Estimate {
            value: ln_z.value,
            sigma,
        };
        rows.push(row("nis-bootstrap", "ln_z", boot, m));
        rows.push(row(
            "nis-bootstrap",
            "free_energy",
            per_site(boot, -1.0 / bn),
            m,
        ));
    }
    let lw = w.mean_log_w();
    rows.push(row(
        "variational",
        "free_energy",
        per_site(lw, -1.0 / bn),
        m,
    ));
    rows.push(row("variational", "kl_divergence", w.kl(), m));
    // the sampler's own entropy −⟨ln q⟩_q/N (the DCL paper's eq. 10)
    let mean = d.log_q.iter().sum::<f64>() / m as f64;
    let var = d.log_q.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (m as f64 - 1.0).max(1.0);
    rows.push(EstimateRow::new(
        "variational",
        "entropy",
        -mean / nf,
        Some((var / m as f64).sqrt() / nf),
        m,
    ));
    rows
}

/// The p-estimator on MCMC samples and ŵ = Ẑ_q / Ẑ_p; a warning when q
/// drops part of p's mass.
fn p_estimator(
    proposal: &Proposal,
    energy: &Energy,
    states: &[i8],
    beta: f64,
    n: usize,
    w: &Weights,
) -> Result<(Vec<EstimateRow>, Option<String>)> {
    let mp = states.len() / n;
    let log_q = proposal.log_q(states)?;
    if let Some(k) = log_q.iter().position(|v| !v.is_finite()) {
        bail_input!("--mcmc: log q of MCMC configuration {k} is {}", log_q[k]);
    }
    let e = energy.energies(states)?;
    let log_w: Vec<f64> = e.iter().zip(&log_q).map(|(e, q)| -beta * e - q).collect();
    let (ln_z_p, tau) = nis::ln_z_from_p(&log_w).map_err(|e| input_error!("--mcmc: {e}"))?;
    let bn = beta * n as f64;
    let w_hat = nis::mode_dropping(w.ln_z(), ln_z_p);
    let rows = vec![
        row("p-estimator", "ln_z", ln_z_p, mp),
        row(
            "p-estimator",
            "free_energy",
            Estimate {
                value: -ln_z_p.value / bn,
                sigma: ln_z_p.sigma / bn,
            },
            mp,
        ),
        EstimateRow::new("p-estimator", "tau_inverse_weight", tau, None, mp),
        row("mode-dropping", "w_hat", w_hat, w.len()),
    ];
    let warning = (w_hat.value < 1.0 - 3.0 * w_hat.sigma).then(|| {
        format!(
            "ŵ = Ẑ_q/Ẑ_p = {:.4} ± {:.4} is below 1 by {:.1}σ: the sampler misses part of p (mode dropping), so its estimates may be biased",
            w_hat.value,
            w_hat.sigma,
            (1.0 - w_hat.value) / w_hat.sigma
        )
    });
    Ok((rows, warning))
}

/// The independence Metropolis chain on the same draws.
fn nmcmc_rows(w: &Weights, obs: &Observables, seed: u64) -> Vec<EstimateRow> {
    let chain = Chain::run(w.log_w(), seed, CHAIN_STREAM);
    let m = w.len();
    let Observables { u, abs_m, m2 } = obs;
    let mut rows = vec![EstimateRow::new(
        "nmcmc",
        "acceptance",
        chain.acceptance(),
        None,
        m,
    )];
    for (name, o, tau_name) in [
        ("energy", &u, Some("tau_energy")),
        ("abs_magnetization", &abs_m, Some("tau_abs_magnetization")),
        ("magnetization_sq", &m2, None),
    ] {
        let (mean, sigma, ac) = chain.mean(o);
        rows.push(EstimateRow::new("nmcmc", name, mean, Some(sigma), m));
        if let Some(t) = tau_name {
            rows.push(EstimateRow::new("nmcmc", t, ac.tau, Some(ac.tau_sigma), m));
        }
    }
    rows
}

/// The MCMC configurations of `--mcmc`, checked to be at the target's point.
fn load_mcmc(path: &Path, target: &TargetSpec, l: usize) -> Result<Vec<i8>> {
    let ds = crate::contract::open(path, Kind::Microstates)?;
    let p = path.display();
    let shape: Vec<usize> = ds.meta.get(path, "state_shape")?;
    if shape != [l, l] {
        bail_input!("--mcmc {p}: configurations of shape {shape:?}, the sampler's are [{l}, {l}]");
    }
    if ds.meta.model["system"] != "ising" {
        bail_input!("--mcmc {p}: not Ising configurations");
    }
    let mut want = vec![("T", target.t())];
    if let TargetSpec::Ising { h, j, .. } = target {
        let file_j = ds.meta.model["J"].as_f64().unwrap_or(f64::NAN);
        if (file_j - j).abs() > 1e-9 {
            bail_input!("--mcmc {p}: generated at J = {file_j}, the target has J = {j}");
        }
        want.push(("h", *h));
    }
    let mut states = Vec::new();
    for batch in ds.batches(None, 8192)? {
        let batch = batch?;
        for (name, v) in &want {
            if let Some(bad) = col_f64(&batch, name)?
                .iter()
                .find(|x| (*x - v).abs() > 1e-9)
            {
                bail_input!("--mcmc {p}: holds a configuration at {name} = {bad}, the target is at {name} = {v}");
            }
        }
        states.extend_from_slice(list_i8(&batch, "state")?.0);
    }
    if states.len() < 2 * l * l {
        bail_input!("--mcmc {p}: at least 2 configurations needed");
    }
    Ok(states)
}

/// Kaufman's F/N where it applies (Ising, h = 0, J > 0).
pub fn exact_free_energy(target: &TargetSpec) -> Option<f64> {
    match target {
        TargetSpec::Ising { l, t, h, j } if *h == 0.0 && *j > 0.0 => {
            Some(crate::exact::ising::kaufman(*l, *l, *t, *j).free_energy)
        }
        _ => None,
    }
}

/// The data of the diagnostic figure: normalised log-weights, the running
/// F/N with σ, the running ESS/M.
fn diagnostics(
    w: &Weights,
    beta: f64,
    n: usize,
    exact: Option<f64>,
) -> crate::plot::figures::NisDiagnostics {
    let ln_z = w.ln_z().value;
    let normalised: Vec<f64> = w.log_w().iter().map(|v| v - ln_z).collect();
    let m = w.len();
    let bn = beta * n as f64;
    let mut running = Vec::new();
    let mut ess = Vec::new();
    // log-spaced prefixes of the sample
    let mut last = 0;
    for k in 1..=RUNNING_POINTS {
        let size = ((m as f64).powf(k as f64 / RUNNING_POINTS as f64)).round() as usize;
        if size < 10.min(m) || size == last {
            continue;
        }
        last = size;
        let part = Weights::new(w.log_w()[..size].to_vec()).expect("finite weights");
        let lz = part.ln_z();
        running.push((size as f64, -lz.value / bn, lz.sigma / bn));
        ess.push((size as f64, part.ess_fraction()));
    }
    crate::plot::figures::NisDiagnostics {
        normalised_log_w: normalised,
        running_f: running,
        running_ess: ess,
        exact_f: exact,
    }
}

/// `--samples-out`: the draws as a microstates file with log q and log w.
struct SamplesOut {
    writer: TableWriter,
    cols: Vec<usize>,
    at: Vec<f64>,
    n: usize,
}

impl SamplesOut {
    fn create(
        path: &Path,
        params: &[String],
        at: &[f64],
        l: usize,
        model: &Path,
        seed: u64,
    ) -> Result<SamplesOut> {
        let mut bounds = Bounds::new();
        for (p, v) in params.iter().zip(at) {
            bounds.insert(p.clone(), [*v; 2]);
        }
        let meta = FileMeta::new(
            Kind::Microstates,
            params.to_vec(),
            bounds,
            json!({"system": "ising", "L": l, "algorithm": "sampler", "sampler": model.display().to_string()}),
            Provenance::from_env("nis-estimate", Some(seed)),
        )
        .with("state_shape", [l, l]);
        let writer = TableWriter::create(
            path,
            &meta,
            &["energy", "magnetization", "log_q", "log_w"],
            &SinkOptions::default(),
        )?;
        let mut names = vec!["id".to_string()];
        names.extend(params.iter().cloned());
        names.extend(["state", "energy", "magnetization", "log_q", "log_w"].map(String::from));
        let cols = names
            .iter()
            .map(|c| writer.col(c))
            .collect::<Result<Vec<_>>>()?;
        Ok(SamplesOut {
            writer,
            cols,
            at: at.to_vec(),
            n: l * l,
        })
    }

    fn write(
        &mut self,
        states: &[i8],
        e: &[f64],
        log_q: &[f64],
        beta: f64,
        first: u64,
    ) -> Result<()> {
        let (n, np) = (self.n, self.at.len());
        let c = &self.cols;
        for (k, s) in states.chunks(n).enumerate() {
            self.writer.u64(c[0], first + k as u64);
            for (i, v) in self.at.iter().enumerate() {
                self.writer.f64(c[1 + i], *v);
            }
            self.writer.list_i8(c[1 + np], s);
            self.writer.f64(c[2 + np], e[k] / n as f64);
            let m = s.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
            self.writer.f64(c[3 + np], m);
            self.writer.f64(c[4 + np], log_q[k]);
            self.writer.f64(c[5 + np], -beta * e[k] - log_q[k]);
            self.writer.end_row()?;
        }
        Ok(())
    }

    fn finish(self) -> Result<()> {
        self.writer.finish()?;
        Ok(())
    }
}
