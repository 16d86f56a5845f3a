//! The β-VAE report: fit-vae's figures (stored in each latents file's
//! `phasekit.report`) as a β-sweep table, and the paper's story graded as
//! numbers: at β = 100 one axis per order parameter, uncorrelated with the
//! other, orthogonal clusters and every phase among generated samples; at
//! β = 1 too little PM, at β = 2000 collapsed latents and PM only; β²-VAE's
//! β_k larger on FM data than on PM data.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::Check;
use crate::fit::vae_report::VaeReport;

/// One fit-vae run as the report sees it.
pub struct Run {
    pub path: PathBuf,
    pub report: VaeReport,
    pub decoder: String,
    /// the phases present in its data: fm, afm, pm counts
    pub rows: [usize; 3],
}

pub fn load(path: &Path) -> Result<Run> {
    let ds = crate::contract::open(path, crate::meta::Kind::Latents)?;
    let report: VaeReport = ds.meta.get(path, "report")?;
    let decoder = ds.meta.model["network"]["decoder"]
        .as_str()
        .unwrap_or("bernoulli")
        .to_string();
    Ok(Run {
        path: path.to_path_buf(),
        rows: report.rows,
        report,
        decoder,
    })
}

fn f(v: Option<f64>) -> String {
    v.map_or("–".into(), |x| format!("{x:.3}"))
}

fn pct(v: f64) -> String {
    format!("{:.1}%", 100.0 * v)
}

/// The sweep table, one row per run.
pub fn table(runs: &[Run]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| run | decoder | β | FM axis \\|corr(μ, m)\\| | AFM axis \\|corr(μ, m_s)\\| | cross FM / AFM | tilt FM / AFM | FM–AFM \\|cos\\| | generated FM / AFM / PM | KL per dim | isometry | mean β_k |"
    );
    let _ = writeln!(
        s,
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    for r in runs {
        let p = &r.report;
        let name = r
            .path
            .parent()
            .and_then(|d| d.file_name())
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| r.path.display().to_string());
        let kl = p
            .kl_per_dim
            .iter()
            .map(|k| format!("{k:.3}"))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {} | {} | {} / {} | {} / {} | {} | {} / {} / {} | {kl} | {} | {} |",
            r.decoder,
            p.beta,
            f(p.fm_axis_corr),
            f(p.afm_axis_corr),
            f(p.cross_fm),
            f(p.cross_afm),
            f(p.fm_tilt),
            f(p.afm_tilt),
            f(p.cluster_cosine),
            pct(p.generated[0]),
            pct(p.generated[1]),
            pct(p.generated[2]),
            f(p.isometry),
            f(p.mean_beta_k),
        );
    }
    s
}

fn bernoulli_at(runs: &[Run], beta: f64) -> Option<&Run> {
    runs.iter().find(|r| {
        r.decoder == "bernoulli" && r.report.beta == beta && r.rows.iter().all(|&n| n > 0)
    })
}

/// The graded checks, for the runs that exist.
pub fn checks(runs: &[Run]) -> Vec<Check> {
    let mut out = Vec::new();
    let grade = |v: Option<f64>, ok: &dyn Fn(f64) -> bool| v.map(ok);
    if let Some(r) = bernoulli_at(runs, 100.0) {
        let p = &r.report;
        let how = "fit-vae's latents of every configuration; FM rows: J > 0, T < 2.269";
        out.push(Check::new(
            "β = 100: FM axis follows m",
            f(p.fm_axis_corr),
            "≥ 0.9".into(),
            grade(p.fm_axis_corr, &|v| v >= 0.9),
            how,
        ));
        out.push(Check::new(
            "β = 100: AFM axis follows m_s",
            f(p.afm_axis_corr),
            "≥ 0.9".into(),
            grade(p.afm_axis_corr, &|v| v >= 0.9),
            "the other latent axis; AFM rows: J < 0, T < 2.269",
        ));
        let tilt = match (p.fm_tilt, p.afm_tilt) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
        out.push(Check::new(
            "β = 100: each split on its own axis",
            format!("{} / {}", f(p.fm_tilt), f(p.afm_tilt)),
            "≤ 0.2 (11.5°)".into(),
            grade(tilt, &|v| v <= 0.2),
            "sine of the angle between ⟨sign(m)(μ − μ̄_PM)⟩ on FM rows and the FM axis, and the same for AFM",
        ));
        out.push(Check::new(
            "β = 100: cross-correlations (Pearson)",
            format!("{} / {}", f(p.cross_fm), f(p.cross_afm)),
            "≤ 0.2 asked".into(),
            None,
            "|corr(μ_AFM, m)| on FM rows, |corr(μ_FM, m_s)| on AFM rows: two tight clusters make any offset ≈ 1, so this is shown, and the tilt graded",
        ));
        out.push(Check::new(
            "β = 100: FM and AFM cluster directions",
            f(p.cluster_cosine),
            "|cos| ≤ 0.1".into(),
            grade(p.cluster_cosine, &|v| v <= 0.1),
            "⟨sign(m)(μ − μ̄_PM)⟩ on FM rows against ⟨sign(m_s)(μ − μ̄_PM)⟩ on AFM rows",
        ));
        let least = p.generated.iter().copied().fold(f64::INFINITY, f64::min);
        out.push(Check::new(
            "β = 100: every phase generated",
            format!(
                "FM {}, AFM {}, PM {}",
                pct(p.generated[0]),
                pct(p.generated[1]),
                pct(p.generated[2])
            ),
            "each ≥ 10%".into(),
            Some(least >= 0.1),
            "decoded z ~ N(0, I); |m| or |m_s| ≥ 0.5 of 2p − 1",
        ));
        out.push(Check::new(
            "β = 100: isometry |P₊ − PM| / |P₋ − PM|",
            f(p.isometry),
            "≈ 1 (the paper)".into(),
            None,
            "latent cluster means of FM rows with m > 0, m < 0 and of PM rows",
        ));
    }
    if let Some(r) = bernoulli_at(runs, 1.0) {
        let pm = r.report.generated[2];
        out.push(Check::new(
            "β = 1: PM under-represented",
            pct(pm),
            "< 5% (the paper's figure 2a)".into(),
            Some(pm < 0.05),
            "share of PM among generated samples",
        ));
    }
    if let Some(r) = bernoulli_at(runs, 2000.0) {
        let p = &r.report;
        let kl = p.kl_per_dim.iter().copied().fold(0.0, f64::max);
        out.push(Check::new(
            "β = 2000: latents collapse",
            format!("{kl:.4}"),
            "KL per dimension < 0.01".into(),
            Some(kl < 0.01),
            "largest mean KL(q(z_i|x) ‖ N(0, 1)) over dimensions",
        ));
        out.push(Check::new(
            "β = 2000: PM only",
            pct(p.generated[2]),
            "> 95%".into(),
            Some(p.generated[2] > 0.95),
            "share of PM among generated samples",
        ));
    }
    let one_phase = |phase: usize| {
        runs.iter().find(|r| {
            r.decoder == "beta2"
                && r.rows[phase] > 0
                && (0..3).all(|k| k == phase || r.rows[k] == 0)
        })
    };
    if let (Some(fm), Some(pm)) = (one_phase(0), one_phase(2)) {
        let (a, b) = (fm.report.mean_beta_k, pm.report.mean_beta_k);
        out.push(Check::new(
            "β²-VAE one-phase learning: mean β_k, FM against PM",
            format!("{} against {}", f(a), f(b)),
            "FM > PM".into(),
            match (a, b) {
                (Some(a), Some(b)) => Some(a > b),
                _ => None,
            },
            "β_k of samples decoded from the prior, trained on FM alone and on PM alone",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(decoder: &str, beta: f64, rows: [usize; 3], generated: [f64; 3], kl: f64) -> Run {
        Run {
            path: PathBuf::from(format!("x/beta-{beta}/latents.parquet")),
            decoder: decoder.into(),
            rows,
            report: VaeReport {
                beta,
                latent: 2,
                rows,
                reconstruction: 10.0,
                kl: 1.0,
                kl_per_dim: vec![kl, kl],
                corr_m_fm: vec![Some(0.95), Some(0.1)],
                corr_ms_afm: vec![Some(0.05), Some(-0.97)],
                fm_axis: Some(0),
                afm_axis: Some(1),
                fm_axis_corr: Some(0.95),
                afm_axis_corr: Some(0.97),
                cross_fm: Some(0.1),
                cross_afm: Some(0.05),
                fm_tilt: Some(0.05),
                afm_tilt: Some(0.1),
                cluster_cosine: Some(0.02),
                isometry: Some(1.02),
                generated,
                samples: 1000,
                mean_beta_k: Some(0.5),
                mean_beta_k_by_phase: None,
            },
        }
    }

    #[test]
    fn checks_grade_the_sweep() {
        let runs = vec![
            run("bernoulli", 1.0, [1, 1, 1], [0.6, 0.38, 0.02], 2.0),
            run("bernoulli", 100.0, [1, 1, 1], [0.3, 0.3, 0.4], 0.5),
            run("bernoulli", 2000.0, [1, 1, 1], [0.0, 0.02, 0.98], 0.02),
        ];
        let c = checks(&runs);
        let verdict = |name: &str| c.iter().find(|c| c.name.starts_with(name)).unwrap().pass;
        assert_eq!(verdict("β = 100: FM axis"), Some(true));
        assert_eq!(verdict("β = 100: every phase"), Some(true));
        assert_eq!(verdict("β = 1: PM"), Some(true));
        // KL 0.02 per dimension is not collapsed
        assert_eq!(verdict("β = 2000: latents"), Some(false));
        assert_eq!(verdict("β = 2000: PM only"), Some(true));
        let t = table(&runs);
        assert!(t.contains("| beta-100 | bernoulli | 100 |"));
        // header, separator and rows have the same number of cells
        let cells = |l: &str| l.replace("\\|", "").matches('|').count();
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines.iter().all(|l| cells(l) == cells(lines[0])), "{t}");
    }
}
