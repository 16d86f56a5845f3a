//! Figures of fit-posterior: loss curves and example posteriors beside
//! their microstates and true parameters (the BTI paper's Figures 10–12).

use std::path::Path;

use anyhow::Result;

use super::data::{Bundles, States};
use super::icnn::Thermo;
use super::trainlog::LogRow;
use crate::meta::Grid;
use crate::plot::canvas::{fmt_tick, Canvas, LineChart, BLACK, BLUE, GREY, ORANGE, RED};

/// Train loss (smoothed), test loss, and an optional horizontal reference line.
pub fn loss_curve(
    path: &Path,
    log: &[LogRow],
    title: &str,
    y_label: &str,
    reference: Option<(&str, f64)>,
) -> Result<()> {
    let train: Vec<(f64, f64)> = log
        .iter()
        .filter(|r| !r.test)
        .map(|r| (r.step as f64, r.loss))
        .collect();
    // average the noisy per-step losses over ~200 windows
    let win = (train.len() / 200).max(1);
    let smooth: Vec<(f64, f64)> = train
        .chunks(win)
        .map(|c| {
            (
                c.last().unwrap().0,
                c.iter().map(|p| p.1).sum::<f64>() / c.len() as f64,
            )
        })
        .collect();
    let test: Vec<(f64, f64)> = log
        .iter()
        .filter(|r| r.test)
        .map(|r| (r.step as f64, r.loss))
        .collect();
    let (first, last) = (
        smooth.first().map(|p| p.0).unwrap_or(0.0),
        smooth.last().map(|p| p.0).unwrap_or(1.0),
    );
    let mut series = vec![("train", BLUE, smooth), ("test", ORANGE, test)];
    if let Some((name, v)) = reference {
        series.push((name, GREY, vec![(first, v), (last, v)]));
    }
    LineChart {
        title,
        x_label: "step",
        y_label,
        series,
        log_y: false,
    }
    .draw(path)
}

/// Rows of (first member's state | posterior with the true parameters marked).
pub fn posterior_panels(
    path: &Path,
    examples: &[(usize, Vec<f32>)],
    bundles: &Bundles,
    states: &States,
) -> Result<()> {
    let (cell, pad, label) = (180i64, 14i64, 18i64);
    let rows = examples.len().max(1) as i64;
    let mut c = Canvas::new(
        (2 * cell + 3 * pad) as usize,
        (rows * (cell + pad + label) + pad + 24) as usize,
    );
    let p = &bundles.meta.params;
    c.text(
        pad,
        6,
        "first bundle member | posterior (x = truth)",
        BLACK,
        1,
    );
    let [gh, gw] = bundles.grid.shape;
    for (r, (idx, post)) in examples.iter().enumerate() {
        let y = 24 + r as i64 * (cell + pad + label);
        let pos = states
            .position(bundles.members_of(*idx)[0])
            .expect("covered");
        let st: Vec<f64> = states.state(pos).iter().map(|&v| v as f64).collect();
        let (lo, hi) = (
            st.iter().cloned().fold(f64::MAX, f64::min),
            st.iter().cloned().fold(f64::MIN, f64::max),
        );
        c.heatmap(
            pad,
            y + label,
            cell,
            cell,
            &st,
            states.shape[0],
            states.shape[1],
            lo,
            hi.max(lo + 1e-9),
        );
        let pv: Vec<f64> = post.iter().map(|&v| v as f64).collect();
        let mx = pv.iter().cloned().fold(0.0, f64::max);
        let x0 = 2 * pad + cell;
        c.heatmap(x0, y + label, cell, cell, &pv, gh, gw, 0.0, mx.max(1e-12));
        // truth marker: first parameter along rows (down), second along columns
        let t = bundles.params[*idx];
        let unit = |a: usize| {
            let [lo, hi] = bundles.grid.bounds[&bundles.grid.params[a]];
            if hi > lo {
                (t[a] - lo) / (hi - lo)
            } else {
                0.5
            }
        };
        let (mx_px, my_px) = (
            x0 + (unit(1) * cell as f64) as i64,
            y + label + (unit(0) * cell as f64) as i64,
        );
        c.line(mx_px - 6, my_px - 6, mx_px + 6, my_px + 6, RED);
        c.line(mx_px - 6, my_px + 6, mx_px + 6, my_px - 6, RED);
        c.text(
            pad,
            y + 4,
            &format!(
                "id {}: {}={:.3} {}={:.3}",
                bundles.ids[*idx], p[0], t[0], p[1], t[1]
            ),
            BLACK,
            1,
        );
    }
    c.save(path)
}

/// Maps of log Z, its two partial derivatives, the three Fisher components
/// and det G over the grid (the BTI paper's Figures 3, 5, 7, 14): first
/// parameter down the rows, second along the columns.
pub fn thermo_maps(path: &Path, thermo: &Thermo, grid: &Grid) -> Result<()> {
    let p = &grid.params;
    let det = thermo.det();
    let panels: Vec<(String, Vec<f64>)> = vec![
        ("log Z".into(), thermo.log_z.clone()),
        (
            format!("dlogZ/d{}", p[0]),
            thermo.grad.iter().map(|g| g[0]).collect(),
        ),
        (
            format!("dlogZ/d{}", p[1]),
            thermo.grad.iter().map(|g| g[1]).collect(),
        ),
        (
            format!("G {}{}", p[0], p[0]),
            thermo.hessian.iter().map(|h| h[0][0]).collect(),
        ),
        (
            format!("G {}{}", p[0], p[1]),
            thermo.hessian.iter().map(|h| h[0][1]).collect(),
        ),
        (
            format!("G {}{}", p[1], p[1]),
            thermo.hessian.iter().map(|h| h[1][1]).collect(),
        ),
        ("det G".into(), det),
    ];
    heat_panels(
        path,
        "fit-icnn: free energy and Fisher metric",
        &panels,
        grid,
    )
}

/// A row-wrapped set of labelled heatmaps over `grid`, each with its range
/// and the axes' bounds.
pub fn heat_panels(
    path: &Path,
    title: &str,
    panels: &[(String, Vec<f64>)],
    grid: &Grid,
) -> Result<()> {
    let (cell, pad, label) = (200i64, 30i64, 30i64);
    let per_row = 4i64;
    let rows = panels.len().div_ceil(per_row as usize) as i64;
    let mut c = Canvas::new(
        (per_row * (cell + pad) + pad) as usize,
        (rows * (cell + pad + 2 * label) + 30) as usize,
    );
    c.text(
        pad,
        8,
        &format!("{title}  (colours: 1st..99th percentile of each map)"),
        BLACK,
        1,
    );
    let [gh, gw] = grid.shape;
    let b = |a: usize| grid.bounds[&grid.params[a]];
    for (k, (name, values)) in panels.iter().enumerate() {
        let (col, row) = (k as i64 % per_row, k as i64 / per_row);
        let x = pad + col * (cell + pad);
        let y = 30 + row * (cell + pad + 2 * label);
        let mut sorted: Vec<f64> = values.iter().cloned().filter(|v| v.is_finite()).collect();
        sorted.sort_by(f64::total_cmp);
        let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
        // colours span the 1st..99th percentiles, so a few extreme cells at
        // the prior's edge do not wash out the rest
        let (lo, hi) = (at(0.01), at(0.99));
        // positive maps spanning decades (Fisher components, det G) in log colour
        let log = lo > 0.0 && hi / lo > 100.0;
        let shown: Vec<f64> = if log {
            values.iter().map(|v| v.max(lo).log10()).collect()
        } else {
            values.to_vec()
        };
        let (lo, hi) = if log {
            (lo.log10(), hi.log10())
        } else {
            (lo, hi)
        };
        c.text(x, y, name, BLACK, 1);
        c.text(
            x,
            y + 12,
            &format!(
                "{} .. {}{}",
                fmt_tick(at(0.0)),
                fmt_tick(at(1.0)),
                if log { " (log colour)" } else { "" }
            ),
            GREY,
            1,
        );
        c.heatmap(
            x,
            y + label,
            cell,
            cell,
            &shown,
            gh,
            gw,
            lo,
            hi.max(lo + 1e-12),
        );
        let [r0, r1] = b(0);
        let [c0, c1] = b(1);
        let (p0, p1) = (&grid.params[0], &grid.params[1]);
        c.text(
            x,
            y + label + cell + 4,
            &format!("down: {p0} {}..{}", fmt_tick(r0), fmt_tick(r1)),
            GREY,
            1,
        );
        c.text(
            x,
            y + label + cell + 14,
            &format!("across: {p1} {}..{}", fmt_tick(c0), fmt_tick(c1)),
            GREY,
            1,
        );
    }
    c.save(path)
}
