//! The report of a NIS pipeline: every estimate of nis-estimate against the
//! exact value where phasekit has one (Kaufman at h = 0, the transfer
//! matrix with a field for L ≤ 10), with its pull.

use std::path::Path;

use anyhow::Result;

use super::Check;
use crate::contract::estimates::{self, EstimateRow};
use crate::exact::ising::{kaufman, transfer};

/// A pull within this many σ passes.
const PULL_LIMIT: f64 = 3.0;

/// Exact values per quantity name (schemas/estimates.md), as far as known.
fn exact_values(
    l: usize,
    t: f64,
    h: f64,
    j: f64,
) -> Option<(&'static str, Vec<(&'static str, f64)>)> {
    let n = (l * l) as f64;
    let beta = 1.0 / t;
    if h == 0.0 && j > 0.0 {
        let k = kaufman(l, l, t, j);
        let mut v = vec![
            ("ln_z", -k.free_energy * n / t),
            ("free_energy", k.free_energy),
            ("energy", k.energy),
            ("entropy", k.entropy),
            ("specific_heat", k.heat_capacity),
        ];
        if l <= 10 {
            let tm = transfer(l, t, h, j);
            v.push(("abs_magnetization", tm.abs_magnetization));
            v.push(("magnetization_sq", tm.magnetization_sq));
            v.push((
                "susceptibility",
                beta * n * (tm.magnetization_sq - tm.abs_magnetization.powi(2)),
            ));
        }
        return Some(("Kaufman", v));
    }
    if (2..=10).contains(&l) {
        let tm = transfer(l, t, h, j);
        let f = -tm.ln_z / (beta * n);
        return Some((
            "transfer matrix",
            vec![
                ("ln_z", tm.ln_z),
                ("free_energy", f),
                ("energy", tm.energy),
                ("entropy", beta * (tm.energy - f)),
                ("specific_heat", tm.heat_capacity),
                ("abs_magnetization", tm.abs_magnetization),
                ("magnetization_sq", tm.magnetization_sq),
                (
                    "susceptibility",
                    beta * n * (tm.magnetization_sq - tm.abs_magnetization.powi(2)),
                ),
            ],
        ));
    }
    None
}

fn fmt_row(r: &EstimateRow) -> String {
    match r.std_error {
        Some(s) => format!("{:.8} ± {:.1e}", r.value, s),
        None if r.value != 0.0 && r.value.abs() < 1e-3 => format!("{:.3e}", r.value),
        None => format!("{:.6}", r.value),
    }
}

/// The checks and notes of an estimates file.
pub fn checks(path: &Path) -> Result<(Vec<Check>, Vec<String>)> {
    let (meta, rows) = estimates::load(path)?;
    let p = path.display();
    let energy = &meta.model["energy"];
    let l = meta.model["L"].as_u64().unwrap_or(0) as usize;
    let t = meta.bounds.get("T").map(|b| b[0]).unwrap_or(f64::NAN);
    let mut out = Vec::new();
    let mut notes = Vec::new();
    let exact = if energy["kind"] == "ising" {
        let h = energy["h"].as_f64().unwrap_or(f64::NAN);
        let j = energy["J"].as_f64().unwrap_or(f64::NAN);
        exact_values(l, t, h, j)
    } else {
        notes.push(format!(
            "{p}: the energy is a model ({}), so there are no exact values to compare with.",
            energy["file"]
        ));
        None
    };
    if let Some((source, values)) = &exact {
        for r in rows.iter().filter(|r| r.std_error.is_some()) {
            let Some((_, v)) = values.iter().find(|(q, _)| *q == r.quantity) else {
                continue;
            };
            let s = r.std_error.unwrap_or(f64::NAN);
            let z = (r.value - v) / s;
            let (pass, how) = if r.method == "variational" && r.quantity != "free_energy" {
                // the sampler's own entropy is not a bound on S: shown, not graded
                out.push(Check::new(
                    &format!("{} {}", r.method, r.quantity),
                    format!("{} (pull {z:+.2})", fmt_row(r)),
                    format!("{v:.8} ({source})"),
                    None,
                    "the sampler's own value; not an estimate of p's",
                ));
                continue;
            } else if r.method == "variational" {
                // an upper bound, not an estimate of F
                (
                    r.value > v - PULL_LIMIT * s,
                    "upper bound: must not be below the exact value",
                )
            } else {
                (z.abs() < PULL_LIMIT, "pull (value − exact)/σ within ±3")
            };
            out.push(Check::new(
                &format!("{} {}", r.method, r.quantity),
                format!("{} (pull {z:+.2})", fmt_row(r)),
                format!("{v:.8} ({source})"),
                Some(pass),
                how,
            ));
        }
    }
    if let Some(w) = estimates::find(&rows, "mode-dropping", "w_hat") {
        let s = w.std_error.unwrap_or(f64::NAN);
        out.push(Check::new(
            "mode-dropping ŵ = Ẑ_q/Ẑ_p",
            fmt_row(w),
            "1 (q covers p)".into(),
            Some(((w.value - 1.0) / s).abs() < PULL_LIMIT),
            "within 3σ of 1; below means q misses part of p",
        ));
    }
    for (method, q, what) in [
        ("nis", "ess_fraction", "ESS/M of the sampler's draws"),
        (
            "nis",
            "free_energy_bias",
            "leading bias of F/N (already tiny against σ when ESS is high)",
        ),
        ("variational", "kl_divergence", "KL(q‖p) = ln Z − ⟨log w⟩_q"),
        ("nmcmc", "acceptance", "NMCMC acceptance rate"),
        ("nmcmc", "tau_energy", "NMCMC τ_int of E"),
    ] {
        if let Some(r) = estimates::find(&rows, method, q) {
            out.push(Check::new(
                what,
                fmt_row(r),
                "—".into(),
                None,
                "informational",
            ));
        }
    }
    if let Some(w) = meta.extra.get("warnings").and_then(|w| w.as_array()) {
        for w in w {
            notes.push(format!(
                "**Warning from nis-estimate:** {}",
                w.as_str().unwrap_or("")
            ));
        }
    }
    if out.is_empty() {
        crate::bail_input!("{p}: no estimates to report");
    }
    Ok((out, notes))
}
