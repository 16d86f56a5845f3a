//! Checks of a TASEP BTI run: the generated data against the exact
//! matrix-product solution, the reconstructed free energy against eq. 26
//! after alignment, where the Fisher metric concentrates, convexity.

use anyhow::Result;

use super::{convexity_check, mean_se, posterior_check, within_4se, Check, Inputs};
use crate::analysis::align_affine_scaled;
use crate::contract::thermo;
use crate::contract::{self, col_f64};
use crate::exact::tasep::{current_limit, ln_z_single, Tasep};
use crate::meta::Kind;

/// Distance from (α, β) to the phase boundaries of the open TASEP:
/// α = β < 1/2, α = 1/2 (β > 1/2) and β = 1/2 (α > 1/2).
pub fn distance_to_transitions(a: f64, b: f64) -> f64 {
    let corner = (a - 0.5).hypot(b - 0.5);
    let shock = if a.max(b) <= 0.5 {
        (a - b).abs() / 2f64.sqrt()
    } else {
        corner
    };
    let alpha_half = if b >= 0.5 { (a - 0.5).abs() } else { corner };
    let beta_half = if a >= 0.5 { (b - 0.5).abs() } else { corner };
    shock.min(alpha_half).min(beta_half)
}

/// Share of Σ √det G within `band` of the transitions divided by the share of
/// grid points there (1 = no concentration), away from the α, β → 0 edges.
pub fn fisher_enrichment(points: &[[f64; 2]], hessian: &[[[f64; 2]; 2]], band: f64) -> f64 {
    let (mut mass_in, mut mass, mut n_in, mut n) = (0.0, 0.0, 0usize, 0usize);
    for (t, h) in points.iter().zip(hessian) {
        if t[0] < 0.05 || t[1] < 0.05 {
            continue;
        }
        let vol = (h[0][0] * h[1][1] - h[0][1] * h[1][0]).max(0.0).sqrt();
        mass += vol;
        n += 1;
        if distance_to_transitions(t[0], t[1]) < band {
            mass_in += vol;
            n_in += 1;
        }
    }
    (mass_in / mass) / (n_in as f64 / n as f64)
}

pub fn checks(inputs: &Inputs) -> Result<(Vec<Check>, Vec<String>)> {
    let mut out = Vec::new();
    let data = contract::open(&inputs.data, Kind::Microstates)?;
    let m: usize = data.meta.model["M"].as_u64().unwrap_or(0) as usize;
    let (mut al, mut be, mut rho) = (vec![], vec![], vec![]);
    for b in data.batches(Some(&["alpha", "beta", "density"]), 65536)? {
        let b = b?;
        al.extend_from_slice(col_f64(&b, "alpha")?);
        be.extend_from_slice(col_f64(&b, "beta")?);
        rho.extend_from_slice(col_f64(&b, "density")?);
    }
    // density of some samples away from the shock line, where simulation
    // is known to be slow, against the exact finite-M density (O(M²) each)
    let take = if m <= 1024 { 300 } else { 12 };
    let picked: Vec<usize> = (0..al.len())
        .filter(|&i| (al[i] - be[i]).abs() > 0.1 || al[i].min(be[i]) > 0.5)
        .take(take)
        .collect();
    let resid: Vec<f64> = picked
        .iter()
        .map(|&i| rho[i] - Tasep::new(al[i], be[i], m).mean_density(m))
        .collect();
    let (mean, se, n) = mean_se(&resid);
    out.push(Check::new(
        "data: density per sample vs exact ⟨ρ⟩_M",
        format!(
            "mean residual {mean:+.4} ± {se:.4} (z = {:+.2}, {n} samples)",
            mean / se
        ),
        format!("matrix-product solution, M = {m}"),
        within_4se(mean, se, n),
        "the first samples (300; 12 for M > 1024) with |α − β| > 0.1 or both rates > 1/2; 4 SE",
    ));

    out.push(posterior_check(&inputs.posteriors)?);

    let (_, thermo) = thermo::load(&inputs.thermo)?;
    out.push(convexity_check(&thermo));
    let exact: Vec<f64> = thermo
        .points
        .iter()
        .map(|t| current_limit(t[0], t[1]))
        .collect();
    let scaled = align_affine_scaled(&thermo.points, &thermo.log_z, &exact);
    out.push(Check::new(
        "free energy vs eq. 26 after affine alignment and a fitted scale",
        format!(
            "RMSE {:.4} ({:.1}% of range {:.3}), scale {:.3e}",
            scaled.rmse,
            100.0 * scaled.rmse / scaled.range,
            scaled.range,
            scaled.scale
        ),
        "eq. 26; ≤ 20% of range".into(),
        Some(scaled.rmse <= 0.2 * scaled.range),
        "c·log Z + a + b·t by least squares: the learned log Z carries an unknown normalisation (c < 0 is expected: (1/M) ln Z_M → −ln J)",
    ));
    let finite: Vec<f64> = thermo
        .points
        .iter()
        .map(|t| ln_z_single(t[0], t[1], m))
        .collect();
    let fm = align_affine_scaled(&thermo.points, &thermo.log_z, &finite);
    out.push(Check::new(
        "free energy vs exact ln Z_M after affine alignment and a fitted scale",
        format!(
            "RMSE {:.3} ({:.1}% of range {:.3}), scale {:.3e}",
            fm.rmse,
            100.0 * fm.rmse / fm.range,
            fm.range,
            fm.scale
        ),
        format!("matrix-product ln Z_M, M = {m}"),
        None,
        "as above, against the finite-size log partition function of the sampled system",
    ));
    let enrich = fisher_enrichment(&thermo.points, &thermo.hessian, 0.1);
    out.push(Check::new(
        "Fisher metric concentrated on the phase boundaries",
        format!("√det G {enrich:.2}× denser within 0.1 of them than on average"),
        "> 1 (α = β < 1/2, α = 1/2 for β > 1/2, β = 1/2 for α > 1/2)".into(),
        Some(enrich > 1.0),
        "share of Σ √det G in the band over the band's share of grid points; α, β ≥ 0.05",
    ));
    Ok((out, Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_to_the_phase_boundaries() {
        assert!(distance_to_transitions(0.3, 0.3) < 1e-12);
        assert!(distance_to_transitions(0.5, 0.9) < 1e-12);
        assert!(distance_to_transitions(0.8, 0.5) < 1e-12);
        assert!((distance_to_transitions(0.8, 0.9) - 0.3).abs() < 1e-12);
        assert!((distance_to_transitions(0.1, 0.3) - 0.2 / 2f64.sqrt()).abs() < 1e-12);
    }
}
