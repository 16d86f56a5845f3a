//! What a trained VAE has learned, as numbers (the paper shows figures
//! only): how each latent mean follows the magnetisation m on FM data and
//! the staggered magnetisation m_s on AFM data, the angle between the FM and
//! AFM cluster directions, the phases of samples generated from the prior,
//! the KL per latent dimension and the isometry ratio |P₊ − PM| / |P₋ − PM|.

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::contract::latents::LatentRow;
use crate::nn::vae::{Inference, VaeSpec};
use crate::sim::rng::{chain_rng, standard_normals};

/// The stream of z ~ N(0, I) for the generated samples (report and figures).
const PRIOR_STREAM: u64 = 0x5641_4500_0000_0006;
/// Onsager's T_c / |J|.
pub const T_C: f64 = 2.269_185_314_213_022;
/// A generated sample is FM when |m| of its Bernoulli means (as spins
/// 2p − 1) is at least this, AFM when |m_s| is, PM otherwise.
pub const ORDER_THRESHOLD: f64 = 0.5;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Fm,
    Afm,
    Pm,
}

impl Phase {
    pub const ALL: [Phase; 3] = [Phase::Fm, Phase::Afm, Phase::Pm];

    /// The equilibrium phase at (J, T), h = 0.
    pub fn of(j: f64, t: f64) -> Phase {
        if t >= T_C * j.abs() {
            Phase::Pm
        } else if j > 0.0 {
            Phase::Fm
        } else {
            Phase::Afm
        }
    }

    /// The phase a configuration (or its Bernoulli means as spins) looks like.
    pub fn classify(m: f64, ms: f64) -> Phase {
        if m.abs() >= ORDER_THRESHOLD && m.abs() >= ms.abs() {
            Phase::Fm
        } else if ms.abs() >= ORDER_THRESHOLD {
            Phase::Afm
        } else {
            Phase::Pm
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Fm => "fm",
            Phase::Afm => "afm",
            Phase::Pm => "pm",
        }
    }
}

/// Warnings for a dataset that lacks an ordered phase.
pub fn missing_phases(phases: &[Phase]) -> Vec<String> {
    let mut out = Vec::new();
    if !phases.contains(&Phase::Fm) {
        out.push(
            "--data has no FM samples (J > 0, T < 2.269 J): no latent axis can follow m".into(),
        );
    }
    if !phases.contains(&Phase::Afm) {
        out.push("--data has no AFM samples (J < 0, T < 2.269 |J|): no latent axis can follow the staggered m".into());
    }
    out
}

/// Samples decoded from z ~ N(0, I).
pub struct Generated {
    pub n: usize,
    /// Bernoulli means p(s_k = +1), rows of L²
    pub mean: Vec<f32>,
    pub beta: Option<Vec<f32>>,
    pub field: Option<Vec<f32>>,
    pub phase: Vec<Phase>,
}

/// Decode `n` draws from the prior and classify each by |m| and |m_s| of 2p − 1.
pub fn generate(inf: &Inference, spec: &VaeSpec, n: usize, seed: u64) -> Result<Generated> {
    let z = standard_normals(&mut chain_rng(seed, PRIOR_STREAM), n * spec.latent);
    let d = inf.decode(&z)?;
    let sites = spec.sites();
    let phase = d
        .mean
        .chunks(sites)
        .map(|p| {
            let spins: Vec<f64> = p.iter().map(|&v| 2.0 * v as f64 - 1.0).collect();
            let (m, ms) = order_parameters(&spins, spec.l);
            Phase::classify(m, ms)
        })
        .collect();
    Ok(Generated {
        n,
        mean: d.mean,
        beta: d.beta,
        field: d.field,
        phase,
    })
}

/// (m, m_s): the magnetisation Σ s / N and the staggered magnetisation
/// Σ (−1)^(x+y) s / N of spins in raster order, ±1 or real-valued (Bernoulli
/// means as 2p − 1).
pub fn order_parameters<T: Copy + Into<f64>>(s: &[T], l: usize) -> (f64, f64) {
    let (mut m, mut ms) = (0.0, 0.0);
    for (k, &v) in s.iter().enumerate() {
        let v: f64 = v.into();
        m += v;
        ms += if (k / l + k % l).is_multiple_of(2) {
            v
        } else {
            -v
        };
    }
    (m / s.len() as f64, ms / s.len() as f64)
}

/// Decoded means on an n×n grid over [−r, r]² of latent axes 0 and 1 (the
/// others 0), row 0 at the top (axis 1 = +r): (n, r, means).
pub fn latent_grid(
    inf: &Inference,
    spec: &VaeSpec,
    n: usize,
    r: f64,
) -> Result<(usize, f64, Vec<f32>)> {
    let mut z = vec![0f32; n * n * spec.latent];
    for row in 0..n {
        for col in 0..n {
            let at = |i: usize| -r + 2.0 * r * (i as f64 + 0.5) / n as f64;
            let k = (row * n + col) * spec.latent;
            z[k] = at(col) as f32;
            z[k + 1] = at(n - 1 - row) as f32;
        }
    }
    Ok((n, r, inf.decode(&z)?.mean))
}

/// The report's figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VaeReport {
    pub beta: f64,
    pub latent: usize,
    /// configurations per phase in the data: fm, afm, pm
    pub rows: [usize; 3],
    /// the last training step's mean reconstruction NLL and KL
    pub reconstruction: f64,
    pub kl: f64,
    /// mean KL(q(z_i|x) ‖ N(0, 1)) per latent dimension over the data
    pub kl_per_dim: Vec<f64>,
    /// corr(μ_i, m) over FM rows, per dimension
    pub corr_m_fm: Vec<Option<f64>>,
    /// corr(μ_i, m_s) over AFM rows, per dimension
    pub corr_ms_afm: Vec<Option<f64>>,
    /// the dimension that follows m best on FM rows, and the other that follows m_s best on AFM rows
    pub fm_axis: Option<usize>,
    pub afm_axis: Option<usize>,
    /// |corr| on the own axis, and the cross terms: corr(μ_afm, m) on FM rows, corr(μ_fm, m_s) on AFM rows
    pub fm_axis_corr: Option<f64>,
    pub afm_axis_corr: Option<f64>,
    pub cross_fm: Option<f64>,
    pub cross_afm: Option<f64>,
    /// sine of the angle between the FM direction ⟨sign(m)(μ − μ̄_PM)⟩ and
    /// the FM axis, and between the AFM direction and the AFM axis: the
    /// share of each split that leaks onto other axes (0 when axis-aligned)
    pub fm_tilt: Option<f64>,
    pub afm_tilt: Option<f64>,
    /// |cos| between the FM direction ⟨sign(m)(μ − μ̄_PM)⟩_FM and the AFM one ⟨sign(m_s)(μ − μ̄_PM)⟩_AFM
    pub cluster_cosine: Option<f64>,
    /// |P₊ − PM| / |P₋ − PM| of the latent cluster means (the paper's isometry, ≈ 1)
    pub isometry: Option<f64>,
    /// share of generated samples per phase: fm, afm, pm
    pub generated: [f64; 3],
    pub samples: usize,
    /// β²-VAE: mean β_k over generated samples, overall and per generated phase
    pub mean_beta_k: Option<f64>,
    pub mean_beta_k_by_phase: Option<[Option<f64>; 3]>,
}

/// Pearson correlation; None with fewer than 3 points or no spread.
pub fn correlation(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len() as f64;
    if x.len() < 3 {
        return None;
    }
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

fn mean_vec<'a>(rows: impl Iterator<Item = &'a LatentRow>, d: usize) -> Option<Vec<f64>> {
    let mut acc = vec![0.0; d];
    let mut n = 0usize;
    for r in rows {
        for (a, v) in acc.iter_mut().zip(&r.mu) {
            *a += v;
        }
        n += 1;
    }
    (n > 0).then(|| acc.into_iter().map(|a| a / n as f64).collect())
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

fn minus(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x - y).collect()
}

/// ⟨sign(o)(μ − centre)⟩ over `rows`, o the order parameter `order` picks.
fn direction(
    rows: &[&LatentRow],
    centre: &[f64],
    order: fn(&LatentRow) -> f64,
) -> Option<Vec<f64>> {
    if rows.is_empty() {
        return None;
    }
    let mut acc = vec![0.0; centre.len()];
    for r in rows {
        let s = order(r).signum();
        for (a, (m, c)) in acc.iter_mut().zip(r.mu.iter().zip(centre)) {
            *a += s * (m - c);
        }
    }
    Some(acc.into_iter().map(|a| a / rows.len() as f64).collect())
}

pub fn report(
    beta: f64,
    spec: &VaeSpec,
    latents: &[LatentRow],
    generated: &Generated,
    reconstruction: f64,
    kl: f64,
) -> VaeReport {
    let d = spec.latent;
    let of = |p: Phase| -> Vec<&LatentRow> {
        latents.iter().filter(|r| r.phase == p.as_str()).collect()
    };
    let (fm, afm, pm) = (of(Phase::Fm), of(Phase::Afm), of(Phase::Pm));
    let corr_on = |rows: &[&LatentRow], i: usize, order: fn(&LatentRow) -> f64| {
        let x: Vec<f64> = rows.iter().map(|r| r.mu[i]).collect();
        let y: Vec<f64> = rows.iter().map(|r| order(r)).collect();
        correlation(&x, &y)
    };
    let m_of: fn(&LatentRow) -> f64 = |r| r.magnetization;
    let ms_of: fn(&LatentRow) -> f64 = |r| r.staggered_magnetization;
    let corr_m_fm: Vec<Option<f64>> = (0..d).map(|i| corr_on(&fm, i, m_of)).collect();
    let corr_ms_afm: Vec<Option<f64>> = (0..d).map(|i| corr_on(&afm, i, ms_of)).collect();
    let best = |c: &[Option<f64>], skip: Option<usize>| {
        (0..d)
            .filter(|&i| Some(i) != skip)
            .filter_map(|i| c[i].map(|v| (i, v.abs())))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(i, _)| i)
    };
    let fm_axis = best(&corr_m_fm, None);
    let afm_axis = best(&corr_ms_afm, fm_axis);
    let abs = |v: Option<f64>| v.map(f64::abs);
    let kl_per_dim = (0..d)
        .map(|i| {
            latents
                .iter()
                .map(|r| {
                    let (m, s) = (r.mu[i], r.sigma[i]);
                    0.5 * (m * m + s * s - 1.0) - s.ln()
                })
                .sum::<f64>()
                / latents.len().max(1) as f64
        })
        .collect();
    let centre = mean_vec(pm.iter().copied(), d);
    // the FM and AFM splits as directions from the PM centre
    let fm_dir = centre.as_ref().and_then(|c| direction(&fm, c, m_of));
    let afm_dir = centre.as_ref().and_then(|c| direction(&afm, c, ms_of));
    let tilt = |dir: &Option<Vec<f64>>, axis: Option<usize>| -> Option<f64> {
        let (u, a) = (dir.as_ref()?, axis?);
        let n = norm(u);
        (n > 0.0).then(|| (1.0 - (u[a] / n).powi(2)).max(0.0).sqrt())
    };
    let (fm_tilt, afm_tilt) = (tilt(&fm_dir, fm_axis), tilt(&afm_dir, afm_axis));
    let (cluster_cosine, isometry) = match &centre {
        Some(c) => {
            let cos = match (&fm_dir, &afm_dir) {
                (Some(u), Some(v)) if norm(u) > 0.0 && norm(v) > 0.0 => Some(
                    (u.iter().zip(v).map(|(a, b)| a * b).sum::<f64>() / (norm(u) * norm(v))).abs(),
                ),
                _ => None,
            };
            let plus = mean_vec(fm.iter().copied().filter(|r| r.magnetization > 0.0), d);
            let minus_ = mean_vec(fm.iter().copied().filter(|r| r.magnetization < 0.0), d);
            let iso = match (plus, minus_) {
                (Some(p), Some(m)) if norm(&minus(&m, c)) > 0.0 => {
                    Some(norm(&minus(&p, c)) / norm(&minus(&m, c)))
                }
                _ => None,
            };
            (cos, iso)
        }
        None => (None, None),
    };
    let share = |p: Phase| {
        generated.phase.iter().filter(|&&q| q == p).count() as f64 / generated.n.max(1) as f64
    };
    let sites = spec.sites();
    let mean_beta = |rows: &mut dyn Iterator<Item = usize>| -> Option<f64> {
        let b = generated.beta.as_ref()?;
        let (mut s, mut n) = (0.0, 0usize);
        for r in rows {
            s += b[r * sites..(r + 1) * sites]
                .iter()
                .map(|&v| v as f64)
                .sum::<f64>();
            n += sites;
        }
        (n > 0).then(|| s / n as f64)
    };
    let mean_beta_k = mean_beta(&mut (0..generated.n));
    let mean_beta_k_by_phase = generated.beta.as_ref().map(|_| {
        Phase::ALL.map(|p| mean_beta(&mut (0..generated.n).filter(|&r| generated.phase[r] == p)))
    });
    VaeReport {
        beta,
        latent: d,
        rows: [fm.len(), afm.len(), pm.len()],
        reconstruction,
        kl,
        kl_per_dim,
        fm_axis_corr: fm_axis.and_then(|i| abs(corr_m_fm[i])),
        afm_axis_corr: afm_axis.and_then(|i| abs(corr_ms_afm[i])),
        cross_fm: afm_axis.and_then(|i| abs(corr_m_fm[i])),
        cross_afm: fm_axis.and_then(|i| abs(corr_ms_afm[i])),
        corr_m_fm,
        corr_ms_afm,
        fm_axis,
        afm_axis,
        fm_tilt,
        afm_tilt,
        cluster_cosine,
        isometry,
        generated: Phase::ALL.map(share),
        samples: generated.n,
        mean_beta_k,
        mean_beta_k_by_phase,
    }
}

fn fmt(v: Option<f64>) -> String {
    v.map_or("–".into(), |x| format!("{x:.3}"))
}

impl VaeReport {
    /// The report as a few lines of text (fit-vae prints them).
    pub fn lines(&self) -> Vec<String> {
        let axis = |a: Option<usize>| a.map_or("–".into(), |i| format!("μ_{i}"));
        let mut out = vec![
            format!(
                "data: {} FM, {} AFM, {} PM configurations; last step: reconstruction {:.2} nats, KL {:.3}",
                self.rows[0], self.rows[1], self.rows[2], self.reconstruction, self.kl
            ),
            format!(
                "FM axis {}: |corr(μ, m)| {} on FM; AFM axis {}: |corr(μ, m_s)| {} on AFM; cross {} / {}",
                axis(self.fm_axis),
                fmt(self.fm_axis_corr),
                axis(self.afm_axis),
                fmt(self.afm_axis_corr),
                fmt(self.cross_fm),
                fmt(self.cross_afm)
            ),
            format!(
                "tilt of the FM split off its axis {}, of the AFM split {} (sine of the angle)",
                fmt(self.fm_tilt),
                fmt(self.afm_tilt)
            ),
            format!(
                "FM/AFM cluster |cos| {}; isometry |P+ − PM|/|P− − PM| {}; KL per dimension {}",
                fmt(self.cluster_cosine),
                fmt(self.isometry),
                self.kl_per_dim.iter().map(|k| format!("{k:.3}")).collect::<Vec<_>>().join(", ")
            ),
            format!(
                "generated ({} from the prior): FM {:.1}%, AFM {:.1}%, PM {:.1}%",
                self.samples,
                100.0 * self.generated[0],
                100.0 * self.generated[1],
                100.0 * self.generated[2]
            ),
        ];
        if let Some(b) = self.mean_beta_k {
            out.push(format!("β²-VAE: mean β_k over generated samples {b:.3}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_by_temperature_and_sign() {
        assert_eq!(Phase::of(1.0, 1.5), Phase::Fm);
        assert_eq!(Phase::of(-1.0, 1.5), Phase::Afm);
        assert_eq!(Phase::of(-1.0, 3.0), Phase::Pm);
        assert_eq!(Phase::of(2.0, 3.0), Phase::Fm);
        assert_eq!(Phase::classify(0.9, 0.0), Phase::Fm);
        assert_eq!(Phase::classify(-0.1, -0.8), Phase::Afm);
        assert_eq!(Phase::classify(0.3, 0.3), Phase::Pm);
    }

    #[test]
    fn correlation_of_lines_and_noise() {
        let x: Vec<f64> = (0..10).map(|i| i as f64).collect();
        let y: Vec<f64> = x.iter().map(|v| -2.0 * v + 1.0).collect();
        assert!((correlation(&x, &y).unwrap() + 1.0).abs() < 1e-12);
        assert_eq!(correlation(&x, &[1.0; 10]), None);
        assert_eq!(correlation(&x[..2], &y[..2]), None);
    }
}
