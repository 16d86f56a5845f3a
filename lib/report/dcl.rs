//! The report of a DCL pipeline: the learned Hamiltonian against the truth.
//! RMSE of E_RNN and E_EDNN and the couplings (from the energy model's
//! `phasekit.evaluation`), the sampler's entropy at β_O against Kaufman, and
//! U, |M|, C at every (β, L) of eval-dcl's learned run beside the
//! true-Hamiltonian run and Kaufman's exact U.

use std::path::Path;

use anyhow::Result;

use super::Check;
use crate::contract::estimates::{self, EstimateRow};
use crate::exact::ising::kaufman;
use crate::plot::chart::{Line, LineChart, Stroke};
use crate::plot::figures::chart_row;
use crate::plot::style::CYCLE;
use crate::runtime::{Device, Model};
use plotters::prelude::SeriesLabelPosition;

/// The report's inputs.
pub struct DclInputs<'a> {
    pub energy: &'a Path,
    pub learned: &'a Path,
    pub truth: &'a Path,
    /// nis-estimate's run of the sampler with the learned energy at β_O
    pub entropy: Option<&'a Path>,
}

type Point = ([f64; 2], EstimateRow);

fn points(path: &Path) -> Result<Vec<Point>> {
    let ds = crate::contract::open(path, crate::meta::Kind::Estimates)?;
    let mut at = Vec::new();
    for b in ds.batches(Some(&["beta", "L"]), 65536)? {
        let b = b?;
        let beta = crate::contract::col_f64(&b, "beta")?.to_vec();
        let l = crate::contract::col_f64(&b, "L")?.to_vec();
        at.extend(beta.into_iter().zip(l).map(|(a, b)| [a, b]));
    }
    Ok(at.into_iter().zip(estimates::load(path)?.1).collect())
}

fn find<'a>(p: &'a [Point], at: [f64; 2], q: &str) -> Option<&'a EstimateRow> {
    p.iter()
        .find(|(x, r)| *x == at && r.quantity == q)
        .map(|(_, r)| r)
}

pub fn checks(inputs: &DclInputs) -> Result<(Vec<Check>, Vec<String>)> {
    let mut out = Vec::new();
    let notes = Vec::new();
    let model = Model::load(inputs.energy, Device::Cpu, 1)?;
    let eval: serde_json::Value = model
        .metadata
        .get("phasekit.evaluation")
        .and_then(|v| serde_json::from_str(v).ok())
        .unwrap_or_default();
    let (ednn, rnn) = (eval["rmse_ednn"].as_f64(), eval["rmse_rnn"].as_f64());
    if let (Some(e), Some(r)) = (ednn, rnn) {
        out.push(Check::new(
            "RMSE of E_EDNN and E_RNN against the true energy (Table 2)",
            format!(
                "EDNN {e:.3}, RNN {r:.3} ({} configurations)",
                eval["n_test"]
            ),
            "EDNN < RNN and EDNN ≤ 1.6 J (paper: 1.585 / 4.472)".into(),
            Some(e < r && e <= 1.6),
            "fit-ednn --test: configurations over a range of T; evaluation only",
        ));
    }
    let k = &eval["couplings"];
    if let Some(j) = k["j_nn"][0].as_f64() {
        out.push(Check::new(
            "learned nearest-neighbour coupling J_nn",
            format!(
                "{j:.4} (bonds {:.4} … {:.4})",
                k["j_nn"][1].as_f64().unwrap_or(f64::NAN),
                k["j_nn"][2].as_f64().unwrap_or(f64::NAN)
            ),
            "1 within 2%".into(),
            Some((j - 1.0).abs() <= 0.02),
            "Walsh–Hadamard transform of the tile table, summed over tiles",
        ));
        let other = [
            k["max_other_pair"].as_f64(),
            k["max_field"].as_f64(),
            k["max_higher"].as_f64(),
        ];
        let worst = other.iter().flatten().fold(0.0f64, |m, v| m.max(*v));
        out.push(Check::new(
            "every other coupling (pairs, fields, higher orders)",
            format!("largest {worst:.4}"),
            "< 0.02 J".into(),
            Some(worst < 0.02),
            "the same transform",
        ));
    }
    if let Some(p) = inputs.entropy {
        let (meta, rows) = estimates::load(p)?;
        let l = meta.model["L"].as_u64().unwrap_or(0) as usize;
        let t = meta.bounds.get("T").map(|b| b[0]).unwrap_or(f64::NAN);
        if let Some(s) = estimates::find(&rows, "variational", "entropy") {
            let exact = kaufman(l, l, t, 1.0).entropy;
            out.push(Check::new(
                &format!("S/L² of the sampler at L = {l}, T_O = {t:.4} (Table A1)"),
                format!("{:.5} ± {:.1e}", s.value, s.std_error.unwrap_or(f64::NAN)),
                format!("{exact:.5} (Kaufman), within 0.01"),
                Some((s.value - exact).abs() <= 0.01),
                "−⟨ln q⟩/N over the sampler's draws (eq. 10)",
            ));
        }
    }
    let learned = points(inputs.learned)?;
    let truth = points(inputs.truth)?;
    let mut ats: Vec<[f64; 2]> = learned.iter().map(|(a, _)| *a).collect();
    ats.dedup();
    for at in &ats {
        let (beta, l) = (at[0], at[1] as usize);
        let exact = kaufman(l, l, 1.0 / beta, 1.0);
        if let Some(u) = find(&learned, *at, "energy") {
            out.push(Check::new(
                &format!("U/L² learned, β = {beta}, L = {l}"),
                format!("{:.5} ± {:.1e}", u.value, u.std_error.unwrap_or(f64::NAN)),
                format!("{:.5} (Kaufman), within 0.01", exact.energy),
                Some((u.value - exact.energy).abs() <= 0.01),
                "eval-dcl with the learned Hamiltonian",
            ));
        }
        if let Some(u) = find(&truth, *at, "energy") {
            let z = (u.value - exact.energy) / u.std_error.unwrap_or(f64::NAN);
            out.push(Check::new(
                &format!("U/L² true Hamiltonian, β = {beta}, L = {l}"),
                format!(
                    "{:.5} ± {:.1e} (pull {z:+.2})",
                    u.value,
                    u.std_error.unwrap_or(f64::NAN)
                ),
                format!("{:.5} (Kaufman)", exact.energy),
                Some(z.abs() < 4.0),
                "eval-dcl --ising: the same chains on the exact table",
            ));
        }
        if let (Some(a), Some(b)) = (
            find(&learned, *at, "abs_magnetization"),
            find(&truth, *at, "abs_magnetization"),
        ) {
            let s =
                (a.std_error.unwrap_or(0.0).powi(2) + b.std_error.unwrap_or(0.0).powi(2)).sqrt();
            out.push(Check::new(
                &format!("|M|/L² learned, β = {beta}, L = {l}"),
                format!("{:.4} ± {:.1e}", a.value, a.std_error.unwrap_or(f64::NAN)),
                format!(
                    "{:.4} ± {:.1e} (true Hamiltonian), within max(0.01, 2σ)",
                    b.value,
                    b.std_error.unwrap_or(f64::NAN)
                ),
                Some((a.value - b.value).abs() <= 0.01f64.max(2.0 * s)),
                "eval-dcl, learned beside true",
            ));
        }
    }
    // ΔU between the largest and smallest β at each L
    let mut sizes: Vec<usize> = ats.iter().map(|a| a[1] as usize).collect();
    sizes.sort();
    sizes.dedup();
    for l in sizes {
        let betas: Vec<f64> = ats
            .iter()
            .filter(|a| a[1] as usize == l)
            .map(|a| a[0])
            .collect();
        let (lo, hi) = (
            betas.iter().copied().fold(f64::INFINITY, f64::min),
            betas.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        );
        if lo >= hi {
            continue;
        }
        let lf = l as f64;
        if let (Some(a), Some(b)) = (
            find(&learned, [hi, lf], "energy"),
            find(&learned, [lo, lf], "energy"),
        ) {
            let exact = kaufman(l, l, 1.0 / hi, 1.0).energy - kaufman(l, l, 1.0 / lo, 1.0).energy;
            let d = a.value - b.value;
            out.push(Check::new(
                &format!("ΔU/L² between β = {hi} and {lo}, L = {l}"),
                format!("{d:.5}"),
                format!("{exact:.5} (Kaufman), within 0.02"),
                Some((d - exact).abs() <= 0.02),
                "learned Hamiltonian",
            ));
        }
    }
    Ok((out, notes))
}

/// The paper's figures 3–4: U/L², ⟨|M|⟩/L² and C/L² against β at every L,
/// the learned Hamiltonian's chains as marks, the true one's as lines, and
/// Kaufman's exact U and C dashed.
pub fn thermo_figure(inputs: &DclInputs, path: &Path) -> Result<()> {
    let learned = points(inputs.learned)?;
    let truth = points(inputs.truth)?;
    let mut sizes: Vec<usize> = learned.iter().map(|(a, _)| a[1] as usize).collect();
    sizes.sort();
    sizes.dedup();
    let betas: Vec<f64> = learned.iter().map(|(a, _)| a[0]).collect();
    let (lo, hi) = (
        betas.iter().copied().fold(f64::INFINITY, f64::min),
        betas.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    );
    let series = |p: &[Point], l: usize, q: &str| -> Vec<(f64, f64)> {
        let mut v: Vec<(f64, f64)> = p
            .iter()
            .filter(|(a, r)| a[1] as usize == l && r.quantity == q)
            .map(|(a, r)| (a[0], r.value))
            .collect();
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        v
    };
    let names: Vec<[String; 3]> = sizes
        .iter()
        .map(|l| {
            [
                format!("learned, L = {l}"),
                format!("true, L = {l}"),
                format!("Kaufman, L = {l}"),
            ]
        })
        .collect();
    // the legend where each quantity leaves room: U falls, |M| rises, C peaks in the middle
    let panels = [
        (
            "energy",
            "internal energy",
            "U / L²",
            SeriesLabelPosition::UpperRight,
        ),
        (
            "abs_magnetization",
            "magnetisation",
            "⟨|M|⟩ / L²",
            SeriesLabelPosition::UpperLeft,
        ),
        (
            "specific_heat",
            "specific heat",
            "C / L²",
            SeriesLabelPosition::LowerMiddle,
        ),
    ];
    let charts: Vec<LineChart> = panels
        .iter()
        .map(|(q, title, y_label, legend_at)| {
            let (q, legend_at) = (*q, legend_at.clone());
            let mut lines = Vec::new();
            for (k, &l) in sizes.iter().enumerate() {
                let colour = CYCLE[k % CYCLE.len()];
                lines.push(Line {
                    name: &names[k][0],
                    colour,
                    points: series(&learned, l, q),
                    style: Stroke::Dots,
                });
                lines.push(Line {
                    name: &names[k][1],
                    colour,
                    points: series(&truth, l, q),
                    style: Stroke::Solid,
                });
                if q != "abs_magnetization" && hi > lo {
                    let exact = (0..=40)
                        .map(|i| {
                            let beta = lo + (hi - lo) * i as f64 / 40.0;
                            let k = kaufman(l, l, 1.0 / beta, 1.0);
                            let v = if q == "energy" {
                                k.energy
                            } else {
                                k.heat_capacity
                            };
                            (beta, v)
                        })
                        .collect();
                    lines.push(Line {
                        name: &names[k][2],
                        colour,
                        points: exact,
                        style: Stroke::Dashed,
                    });
                }
            }
            LineChart {
                title,
                x_label: "β",
                y_label,
                legend: legend_at,
                lines,
            }
        })
        .collect();
    chart_row(
        path,
        "learned Hamiltonian (marks) beside the true one (lines)",
        &charts,
        (1500, 500),
    )
}
