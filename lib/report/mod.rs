//! pk-report: the end of a BTI pipeline. Reads the pipeline's files,
//! checks them against exact results, and writes a Markdown report with the
//! figures and a table of checks.

pub mod dcl;
pub mod ising;
pub mod nis;
pub mod perfect_fit;
pub mod tasep;
pub mod vae;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::contract;
use crate::contract::thermo::Thermo;
use crate::meta::Kind;

/// One row of the check table.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Check {
    pub name: String,
    pub value: String,
    pub reference: String,
    /// Some(true) pass, Some(false) fail, None informational
    pub pass: Option<bool>,
    pub how: String,
}

impl Check {
    pub fn new(
        name: &str,
        value: String,
        reference: String,
        pass: Option<bool>,
        how: &str,
    ) -> Check {
        Check {
            name: name.into(),
            value,
            reference,
            pass,
            how: how.into(),
        }
    }
}

/// What a report is made of.
pub struct Inputs {
    pub data: PathBuf,
    pub posteriors: PathBuf,
    pub thermo: PathBuf,
    /// (caption, path) of figures to embed
    pub figures: Vec<(String, PathBuf)>,
    pub title: String,
}

/// Smallest eigenvalue of a symmetric 2×2 matrix.
pub fn min_eigenvalue(h: &[[f64; 2]; 2]) -> f64 {
    let (a, b, c) = (h[0][0], h[0][1], h[1][1]);
    0.5 * (a + c) - (0.25 * (a - c).powi(2) + b * b).sqrt()
}

/// The convexity check every report carries.
pub fn convexity_check(t: &Thermo) -> Check {
    let scale = t
        .hessian
        .iter()
        .flat_map(|h| h.iter().flatten())
        .fold(0.0f64, |m, v| m.max(v.abs()));
    let worst = t
        .hessian
        .iter()
        .map(min_eigenvalue)
        .fold(f64::INFINITY, f64::min);
    Check::new(
        "Fisher metric positive semi-definite on the grid",
        format!("smallest eigenvalue {worst:.3e} (largest entry {scale:.3e})"),
        "≥ 0 (up to 1e-6 of the largest entry)".into(),
        Some(worst >= -1e-6 * scale),
        "eigenvalues of the exported Hessian at every grid point",
    )
}

/// Posterior-mean RMSE on test bundles, per parameter.
pub fn posterior_rmse(path: &Path) -> Result<(Vec<String>, [f64; 2], usize)> {
    let set = crate::fit::posteriors::PosteriorSet::load(path)?;
    let coords = crate::fit::posteriors::axes(&set.grid);
    let (mut se, mut n) = ([0.0f64; 2], 0usize);
    for i in (0..set.len()).filter(|&i| set.is_test[i]) {
        let (mean, _) = crate::fit::posteriors::moments(set.posterior(i), &coords);
        for a in 0..2 {
            se[a] += (mean[a] - set.centres[i][a]).powi(2);
        }
        n += 1;
    }
    let rmse = se.map(|s| (s / n.max(1) as f64).sqrt());
    Ok((set.meta.params.clone(), rmse, n))
}

/// The informational row of posterior-mean RMSE on test bundles.
pub fn posterior_check(path: &Path) -> Result<Check> {
    let (params, rmse, n_test) = posterior_rmse(path)?;
    Ok(Check::new(
        "posteriors: posterior-mean RMSE on test bundles",
        format!(
            "{} {:.3}, {} {:.3} ({n_test} bundles)",
            params[0], rmse[0], params[1], rmse[1]
        ),
        "the prior box of the grid".into(),
        None,
        "Σ_grid P(t|bundle)·t against the bundle centre",
    ))
}

/// A statistical verdict: |mean| within 4 standard errors of 0, given at
/// least 5 samples (else no verdict).
pub fn within_4se(mean: f64, se: f64, n: usize) -> Option<bool> {
    if n >= 5 {
        Some((mean / se).abs() < 4.0)
    } else {
        None
    }
}

/// Mean, standard error and count of `v`.
pub fn mean_se(v: &[f64]) -> (f64, f64, usize) {
    let n = v.len();
    if n < 2 {
        return (v.first().copied().unwrap_or(f64::NAN), f64::NAN, n);
    }
    let m = v.iter().sum::<f64>() / n as f64;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1) as f64;
    (m, (var / n as f64).sqrt(), n)
}

/// Path of `p` relative to the folder of `report` when it lies below it.
fn relative(p: &Path, report: &Path) -> String {
    let base = report.parent().unwrap_or(Path::new("."));
    let (pa, ba) = (
        std::path::absolute(p).unwrap_or(p.to_path_buf()),
        std::path::absolute(base).unwrap_or(base.to_path_buf()),
    );
    pa.strip_prefix(&ba)
        .map(|r| r.display().to_string())
        .unwrap_or_else(|_| pa.display().to_string())
}

/// The report as Markdown: title, the files it was written from, the check
/// table, notes and figures.
pub fn markdown(
    title: &str,
    sources: &[&Path],
    checks: &[Check],
    out: &Path,
    notes: &[String],
    figures: &[(String, PathBuf)],
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {title}\n");
    let names: Vec<String> = sources
        .iter()
        .map(|p| format!("`{}`", relative(p, out)))
        .collect();
    let listed = match names.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    };
    let _ = writeln!(s, "Written by `pk-report` from {listed}.\n");
    let passed = checks.iter().filter(|c| c.pass == Some(true)).count();
    let graded = checks.iter().filter(|c| c.pass.is_some()).count();
    let _ = writeln!(
        s,
        "## Checks against exact results ({passed} of {graded} pass)\n"
    );
    let _ = writeln!(s, "| check | value | reference | verdict | how |");
    let _ = writeln!(s, "| --- | --- | --- | --- | --- |");
    for c in checks {
        let verdict = match c.pass {
            Some(true) => "pass",
            Some(false) => "**fail**",
            None => "info",
        };
        // a literal | would end a table cell
        let cell = |v: &str| v.replace('|', "\\|");
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            cell(&c.name),
            cell(&c.value),
            cell(&c.reference),
            verdict,
            cell(&c.how)
        );
    }
    for n in notes {
        let _ = writeln!(s, "\n{n}");
    }
    if !figures.is_empty() {
        let _ = writeln!(s, "\n## Figures\n");
        for (caption, p) in figures {
            let _ = writeln!(s, "### {caption}\n\n![{caption}]({})\n", relative(p, out));
        }
    }
    s
}

/// Run the checks for the dataset's system and write the report; returns
/// (checks passed, checks graded).
pub fn write(mut inputs: Inputs, out: &Path) -> Result<(usize, usize)> {
    let data = contract::open(&inputs.data, Kind::Microstates)?;
    let system = data.meta.model["system"].as_str().unwrap_or("").to_string();
    let (checks, notes) = match system.as_str() {
        "ising" => ising::checks(&inputs)?,
        "tasep" => tasep::checks(&inputs)?,
        other => crate::bail_input!(
            "{}: no report for system {other:?} (ising or tasep)",
            inputs.data.display()
        ),
    };
    if inputs.title.is_empty() {
        inputs.title = format!("phasekit: Bayesian thermodynamic integration, {system}");
    }
    let sources = [
        inputs.data.as_path(),
        inputs.posteriors.as_path(),
        inputs.thermo.as_path(),
    ];
    finish(&inputs.title, &sources, &checks, notes, inputs.figures, out)
}

/// The report of a NIS run (nis-estimate's estimates file) against exact
/// results; returns (checks passed, checks graded).
pub fn write_nis(
    estimates: &Path,
    figures: Vec<(String, PathBuf)>,
    title: &str,
    out: &Path,
) -> Result<(usize, usize)> {
    let (checks, notes) = nis::checks(estimates)?;
    let title = if title.is_empty() {
        "phasekit: neural importance sampling, Ising"
    } else {
        title
    };
    finish(title, &[estimates], &checks, notes, figures, out)
}

/// The report of a DCL run: the learned Hamiltonian against the truth.
pub fn write_dcl(
    inputs: &dcl::DclInputs,
    figures: Vec<(String, PathBuf)>,
    title: &str,
    out: &Path,
) -> Result<(usize, usize)> {
    let (checks, notes) = dcl::checks(inputs)?;
    let title = if title.is_empty() {
        "phasekit: distribution-consistent learning, Ising"
    } else {
        title
    };
    let mut sources = vec![inputs.energy, inputs.learned, inputs.truth];
    sources.extend(inputs.entropy);
    let mut figures = figures;
    if out != Path::new("-") {
        let p = out.with_file_name("dcl-thermo.png");
        dcl::thermo_figure(inputs, &p)?;
        figures.insert(0, ("U, ⟨|M|⟩ and C against β".into(), p));
    }
    finish(title, &sources, &checks, notes, figures, out)
}

/// The report of fit-vae runs (their latents files): the β-sweep table and
/// the paper's story graded as numbers.
pub fn write_vae(
    latents: &[PathBuf],
    figures: Vec<(String, PathBuf)>,
    title: &str,
    out: &Path,
) -> Result<(usize, usize)> {
    let runs = latents
        .iter()
        .map(|p| vae::load(p))
        .collect::<Result<Vec<_>>>()?;
    let checks = vae::checks(&runs);
    let notes = vec![format!(
        "## β sweep\n\nOne row per fit-vae run: the latent axis that follows m best on FM rows and the other that follows m_s best on AFM rows, their Pearson cross-correlations, the tilt of each split off its axis (sine of the angle), the cosine of the FM and AFM cluster directions, the phases of 1000 samples decoded from the prior, the KL per latent dimension, |P₊ − PM| / |P₋ − PM| and (β²-VAE) the mean β_k of generated samples.\n\n{}",
        vae::table(&runs)
    )];
    let title = if title.is_empty() {
        "phasekit: β-VAE order parameters, Ising"
    } else {
        title
    };
    let sources: Vec<&Path> = latents.iter().map(|p| p.as_path()).collect();
    finish(title, &sources, &checks, notes, figures, out)
}

/// Note missing figures, write the Markdown, count the verdicts.
fn finish(
    title: &str,
    sources: &[&Path],
    checks: &[Check],
    mut notes: Vec<String>,
    mut figures: Vec<(String, PathBuf)>,
    out: &Path,
) -> Result<(usize, usize)> {
    let missing: Vec<String> = figures
        .iter()
        .filter(|(_, p)| !p.exists())
        .map(|(c, p)| format!("{c} ({})", p.display()))
        .collect();
    if !missing.is_empty() {
        notes.push(format!("Figures not found: {}.", missing.join(", ")));
    }
    figures.retain(|(_, p)| p.exists());
    let md = markdown(title, sources, checks, out, &notes, &figures);
    crate::io::atomic::write_text(out, &md)?;
    let passed = checks.iter().filter(|c| c.pass == Some(true)).count();
    let graded = checks.iter().filter(|c| c.pass.is_some()).count();
    Ok((passed, graded))
}
