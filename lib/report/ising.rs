//! Checks of an Ising BTI run: the generated data against Kaufman's exact
//! solution, the critical temperature read off the Fisher metric, the jump
//! of ∂log Z/∂h across h = 0, convexity and posterior quality.

use anyhow::Result;

use super::{convexity_check, load_thermo, mean_se, posterior_check, within_4se, Check, Inputs};
use crate::contract::{self, col_f64};
use crate::exact::ising::{critical_temperature, kaufman};
use crate::fit::icnn::Thermo;
use crate::meta::{Grid, Kind};

/// Samples with |h| below this count as zero-field samples.
const ZERO_FIELD: f64 = 0.02;

/// Values along the zero-field line h = 0 (interpolated linearly between
/// the two grid columns around it), one per grid row (temperature).
pub fn along_zero_field(grid: &Grid, values: &[f64]) -> Vec<f64> {
    let [gh, gw] = grid.shape;
    let [lo, hi] = grid.bounds[&grid.params[1]];
    // fractional column of h = 0 among cell centres
    let x = ((0.0 - lo) / (hi - lo) * gw as f64 - 0.5).clamp(0.0, (gw - 1) as f64);
    let (c0, f) = (x.floor() as usize, x - x.floor());
    let c1 = (c0 + 1).min(gw - 1);
    (0..gh)
        .map(|r| (1.0 - f) * values[r * gw + c0] + f * values[r * gw + c1])
        .collect()
}

/// Position of the maximum of `v` over `xs`, refined by a parabola through
/// the largest value and its neighbours.
pub fn peak(xs: &[f64], v: &[f64]) -> f64 {
    let i = (0..v.len())
        .max_by(|&a, &b| v[a].total_cmp(&v[b]))
        .unwrap_or(0);
    if i == 0 || i + 1 == v.len() {
        return xs[i];
    }
    let (a, b, c) = (v[i - 1], v[i], v[i + 1]);
    let d = a - 2.0 * b + c;
    let off = if d < 0.0 { 0.5 * (a - c) / d } else { 0.0 };
    xs[i] + off.clamp(-0.5, 0.5) * (xs[i + 1] - xs[i - 1]) / 2.0
}

/// The Ising checks.
pub fn checks(inputs: &Inputs) -> Result<(Vec<Check>, Vec<String>)> {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    let data = contract::open(&inputs.data, Kind::Microstates)?;
    let l: usize = data.meta.model["L"].as_u64().unwrap_or(0) as usize;
    let j = data.meta.model["J"].as_f64().unwrap_or(1.0);
    let tc = critical_temperature(j);
    let (mut t, mut h, mut e, mut m) = (vec![], vec![], vec![], vec![]);
    for b in data.batches(Some(&["T", "h", "energy", "magnetization"]), 65536)? {
        let b = b?;
        t.extend_from_slice(col_f64(&b, "T")?);
        h.extend_from_slice(col_f64(&b, "h")?);
        e.extend_from_slice(col_f64(&b, "energy")?);
        m.extend_from_slice(col_f64(&b, "magnetization")?);
    }
    // energy per site at h ≈ 0 against Kaufman at each sample's own T
    for (name, keep) in [
        (
            "T < T_c",
            Box::new(move |x: f64| x < tc) as Box<dyn Fn(f64) -> bool>,
        ),
        ("T > T_c", Box::new(move |x: f64| x >= tc)),
    ] {
        let resid: Vec<f64> = (0..t.len())
            .filter(|&i| h[i].abs() < ZERO_FIELD && keep(t[i]))
            .map(|i| {
                // the bond energy: the stored energy includes −h·m
                (e[i] + h[i] * m[i]) - kaufman(l, l, t[i], j).energy
            })
            .collect();
        let (mean, se, n) = mean_se(&resid);
        let z = mean / se;
        out.push(Check::new(
            &format!("data: energy per site at h≈0, {name}"),
            format!("mean residual {mean:+.4} ± {se:.4} (z = {z:+.2}, {n} samples)"),
            format!("Kaufman, {l}×{l} periodic"),
            within_4se(mean, se, n),
            &format!("samples with |h| < {ZERO_FIELD}; bond energy minus the exact ⟨E⟩/N at the sample's T; 4 SE"),
        ));
    }
    let above: Vec<f64> = (0..t.len())
        .filter(|&i| h[i].abs() < ZERO_FIELD && t[i] > 1.2 * tc)
        .map(|i| m[i])
        .collect();
    let (mean, se, n) = mean_se(&above);
    out.push(Check::new(
        "data: magnetization at h≈0, T > 1.2 T_c",
        format!("{mean:+.4} ± {se:.4} ({n} samples)"),
        "0 (symmetry)".into(),
        within_4se(mean, se, n),
        "mean over samples with |h| < 0.02; 4 SE",
    ));

    out.push(posterior_check(&inputs.posteriors)?);

    let (grid, thermo) = load_thermo(&inputs.thermo)?;
    out.push(convexity_check(&thermo));
    let temps: Vec<f64> = (0..grid.shape[0]).map(|r| grid.coord(0, r)).collect();
    let (tc_fisher, profile) = fisher_tc(&grid, &thermo);
    let rel = (tc_fisher - tc) / tc;
    out.push(Check::new(
        "T_c from the Fisher metric along h = 0",
        format!("{tc_fisher:.3} ({:+.1}%)", 100.0 * rel),
        format!("{tc:.4} (Onsager); within 10%"),
        Some(rel.abs() <= 0.10),
        "peak over T of G_TT(T, h=0), parabola-refined",
    ));
    let (below, above) = grad_h_jump(&grid, &thermo, tc);
    out.push(Check::new(
        "∂log Z/∂h jumps across h = 0 below T_c",
        format!(
            "mean jump {below:.3} below T_c, {above:.3} above (ratio {:.2})",
            below / above
        ),
        "a jump below T_c (first-order line), none above: ratio > 1".into(),
        Some(below > above && below > 0.0),
        "∂log Z/∂h at the grid columns either side of h = 0, mean over grid rows",
    ));
    notes.push(format!(
        "G_TT along h = 0, by T: {}",
        temps
            .iter()
            .zip(&profile)
            .map(|(t, g)| format!("{t:.2}: {}", crate::plot::canvas::fmt_tick(*g)))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    Ok((out, notes))
}

/// T_c estimate: the peak of G_TT along h = 0 (and the profile).
pub fn fisher_tc(grid: &Grid, thermo: &Thermo) -> (f64, Vec<f64>) {
    let gtt: Vec<f64> = thermo.hessian.iter().map(|h| h[0][0]).collect();
    let profile = along_zero_field(grid, &gtt);
    let temps: Vec<f64> = (0..grid.shape[0]).map(|r| grid.coord(0, r)).collect();
    (peak(&temps, &profile), profile)
}

/// Mean jump of ∂log Z/∂h between the grid columns around h = 0, below and above T_c.
pub fn grad_h_jump(grid: &Grid, thermo: &Thermo, tc: f64) -> (f64, f64) {
    let [gh, gw] = grid.shape;
    let [lo, hi] = grid.bounds[&grid.params[1]];
    let x = ((0.0 - lo) / (hi - lo) * gw as f64 - 0.5).clamp(0.0, (gw - 1) as f64);
    let c0 = x.floor() as usize;
    let c1 = (c0 + 1).min(gw - 1);
    let (mut below, mut above) = (vec![], vec![]);
    for r in 0..gh {
        let jump = thermo.grad[r * gw + c1][1] - thermo.grad[r * gw + c0][1];
        if grid.coord(0, r) < tc {
            below.push(jump.abs());
        } else {
            above.push(jump.abs());
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    (mean(&below), mean(&above))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_refines_a_parabola_exactly() {
        let xs: Vec<f64> = (0..10).map(|i| i as f64 * 0.5).collect();
        let v: Vec<f64> = xs.iter().map(|x| -(x - 2.3f64).powi(2)).collect();
        assert!((peak(&xs, &v) - 2.3).abs() < 1e-12);
    }

    #[test]
    fn zero_field_line_interpolates_between_columns() {
        let mut b = crate::meta::Bounds::new();
        b.insert("T".into(), [1.0, 5.0]);
        b.insert("h".into(), [-2.0, 2.0]);
        let grid = Grid {
            params: vec!["T".into(), "h".into()],
            bounds: b,
            shape: [2, 4],
            sigma: 0.1,
        };
        // value = h at cell centres −1.5, −0.5, 0.5, 1.5: zero at h = 0
        let v = vec![-1.5, -0.5, 0.5, 1.5, -1.5, -0.5, 0.5, 1.5];
        assert_eq!(along_zero_field(&grid, &v), vec![0.0, 0.0]);
    }
}
