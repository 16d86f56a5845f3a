//! Figures of the training tools: loss curves, example posteriors beside
//! their microstates and true parameters (the BTI paper's Figures 10–12),
//! and maps of the free energy and the Fisher metric over the grid.

use std::path::Path;

use anyhow::Result;
use plotters::prelude::SeriesLabelPosition;

use super::chart::{Line, LineChart, Stroke};
use super::heat::{draw_state, Axis, ColourScale, HeatMap};
use super::render::{drawing, render};
use super::style::{tick_label, BLUE, FONT, GREY, ORANGE};
use crate::contract::thermo::Thermo;
use crate::contract::trainlog::LogRow;
use crate::meta::Grid;

/// Pixel size of a loss curve.
pub const LOSS_SIZE: (u32, u32) = (800, 500);
/// Pixel size of the thermo maps.
pub const THERMO_SIZE: (u32, u32) = (1600, 790);
/// Pixel width of the posterior panels, and height per example (plus a title band).
pub const POSTERIOR_WIDTH: u32 = 860;
pub const POSTERIOR_ROW: u32 = 380;
pub const POSTERIOR_TITLE: u32 = 44;

/// Train loss (smoothed), test loss, and an optional dashed reference line.
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
    let steps = log.iter().map(|r| r.step as f64);
    let (first, last) = (
        steps.clone().fold(f64::INFINITY, f64::min),
        steps.fold(0.0, f64::max),
    );
    let smoothing = if win > 1 {
        format!("train (mean of {win} steps)")
    } else {
        "train".into()
    };
    let mut lines = vec![
        Line {
            name: &smoothing,
            colour: BLUE,
            points: smooth,
            style: Stroke::Solid,
        },
        Line {
            name: "test",
            colour: ORANGE,
            points: test,
            style: Stroke::Solid,
        },
    ];
    if let Some((name, v)) = reference {
        lines.push(Line {
            name,
            colour: GREY,
            points: vec![(first.min(last), v), (last, v)],
            style: Stroke::Dashed,
        });
    }
    lines.retain(|l| !l.points.is_empty());
    let chart = LineChart {
        title,
        x_label: "training step",
        y_label,
        legend: SeriesLabelPosition::UpperRight,
        lines,
    };
    render(path, LOSS_SIZE, |root| chart.draw(root))
}

/// One example of a posterior: a microstate of the bundle, the posterior
/// over the grid, and the parameters the bundle's centre was drawn at.
pub struct PosteriorExample {
    /// e.g. the bundle centre's id
    pub label: String,
    /// the first member's state, row-major, `shape` [rows, cols]
    pub state: Vec<f64>,
    pub shape: [usize; 2],
    /// positive values drawn dark (occupations) rather than light (spins)
    pub dark_positive: bool,
    /// the posterior on `grid`, row-major
    pub posterior: Vec<f32>,
    pub truth: [f64; 2],
}

/// The axes of a grid: the first parameter across, the second upwards.
fn grid_axes(grid: &Grid) -> (Axis, Axis) {
    let axis = |a: usize| Axis::new(grid.params[a].clone(), grid.bounds[&grid.params[a]]);
    (axis(0), axis(1))
}

/// One row per example: the first member's state, then the posterior over
/// the grid with the true parameters marked.
pub fn posterior_panels(path: &Path, examples: &[PosteriorExample], grid: &Grid) -> Result<()> {
    let rows = examples.len().max(1) as u32;
    let size = (POSTERIOR_WIDTH, POSTERIOR_TITLE + rows * POSTERIOR_ROW);
    let (x_axis, y_axis) = grid_axes(grid);
    let p = &grid.params;
    render(path, size, |root| {
        let (title, body) = root.split_vertically(POSTERIOR_TITLE);
        title
            .titled(
                "fit-posterior: a bundle's first microstate and its posterior (× truth)",
                (FONT, 20),
            )
            .map_err(drawing)?;
        for (ex, row) in examples.iter().zip(body.split_evenly((rows as usize, 1))) {
            let (left, right) = row.split_horizontally(POSTERIOR_ROW);
            let caption = format!(
                "{}: {} = {}, {} = {}",
                ex.label,
                p[0],
                tick_label((ex.truth[0] * 1e3).round() / 1e3),
                p[1],
                tick_label((ex.truth[1] * 1e3).round() / 1e3)
            );
            let left = left.titled(&caption, (FONT, 15)).map_err(drawing)?;
            let image = left.margin(6, 30, 30, 30);
            draw_state(&image, &ex.state, ex.shape, ex.dark_positive)?;
            let values: Vec<f64> = ex.posterior.iter().map(|&v| v as f64).collect();
            let peak = values.iter().copied().fold(0.0, f64::max);
            HeatMap {
                title: "posterior probability per grid cell",
                values: &values,
                nx: grid.shape[0],
                ny: grid.shape[1],
                x: x_axis.clone(),
                y: y_axis.clone(),
                colours: ColourScale::linear(0.0, peak.max(1e-12)),
                marker: Some((ex.truth[0], ex.truth[1])),
            }
            .draw(&right)?;
        }
        Ok(())
    })
}

/// Maps of log Z, its two partial derivatives, the three Fisher components
/// and det G over the grid (the BTI paper's Figures 3, 5, 7, 14): the first
/// parameter across, the second upwards; colours over each map's 1st..99th
/// percentile, in log colour where a positive map spans decades.
pub fn thermo_maps(path: &Path, thermo: &Thermo, grid: &Grid) -> Result<()> {
    let p = &grid.params;
    let det = thermo.det();
    let panels: Vec<(String, Vec<f64>)> = vec![
        ("log Z".into(), thermo.log_z.clone()),
        (
            format!("∂ log Z / ∂{}", p[0]),
            thermo.grad.iter().map(|g| g[0]).collect(),
        ),
        (
            format!("∂ log Z / ∂{}", p[1]),
            thermo.grad.iter().map(|g| g[1]).collect(),
        ),
        (
            format!("Fisher G_{}{}", p[0], p[0]),
            thermo.hessian.iter().map(|h| h[0][0]).collect(),
        ),
        (
            format!("Fisher G_{}{}", p[0], p[1]),
            thermo.hessian.iter().map(|h| h[0][1]).collect(),
        ),
        (
            format!("Fisher G_{}{}", p[1], p[1]),
            thermo.hessian.iter().map(|h| h[1][1]).collect(),
        ),
        ("det G".into(), det),
    ];
    let (x_axis, y_axis) = grid_axes(grid);
    render(path, THERMO_SIZE, |root| {
        let (title, body) = root.split_vertically(40);
        title
            .titled(
                "fit-icnn: free energy and Fisher metric (colours: 1st–99th percentile of each map)",
                (FONT, 20),
            )
            .map_err(drawing)?;
        for ((name, values), area) in panels.iter().zip(body.split_evenly((2, 4))) {
            HeatMap {
                title: name,
                values,
                nx: grid.shape[0],
                ny: grid.shape[1],
                x: x_axis.clone(),
                y: y_axis.clone(),
                colours: ColourScale::percentiles(values),
                marker: None,
            }
            .draw(&area)?;
        }
        Ok(())
    })
}

/// Pixel size of nis-estimate's diagnostics (three panels side by side).
pub const NIS_SIZE: (u32, u32) = (1500, 480);
/// Bins of the log-weight histogram.
const LOG_W_BINS: usize = 60;

/// What nis-estimate's figure shows.
pub struct NisDiagnostics {
    /// log w − ln Ẑ of every sample
    pub normalised_log_w: Vec<f64>,
    /// (samples, F/N, σ) over growing prefixes of the sample
    pub running_f: Vec<(f64, f64, f64)>,
    /// (samples, ESS/M)
    pub running_ess: Vec<(f64, f64)>,
    pub exact_f: Option<f64>,
}

/// The distribution of normalised log-weights (a point mass at 0 for a
/// perfect sampler), the running F/N with its ±σ band and the exact value,
/// and the running ESS/M.
pub fn nis_diagnostics(path: &Path, d: &NisDiagnostics) -> Result<()> {
    let v = &d.normalised_log_w;
    let mut sorted = v.clone();
    sorted.sort_by(f64::total_cmp);
    // the lowest 0.1% would stretch the axis over a tail that carries no weight
    let lo = sorted[(sorted.len() / 1000).min(sorted.len() - 1)];
    let hi = sorted[sorted.len() - 1];
    let width = ((hi - lo) / LOG_W_BINS as f64).max(1e-12);
    let mut counts = vec![0usize; LOG_W_BINS];
    for x in v.iter().filter(|x| **x >= lo) {
        counts[(((x - lo) / width) as usize).min(LOG_W_BINS - 1)] += 1;
    }
    let mut hist = Vec::new();
    for (b, c) in counts.iter().enumerate() {
        let y = *c as f64 / v.len() as f64;
        hist.push((lo + b as f64 * width, y));
        hist.push((lo + (b + 1) as f64 * width, y));
    }
    let pts = |f: fn(&(f64, f64, f64)) -> f64| -> Vec<(f64, f64)> {
        d.running_f.iter().map(|p| (p.0.log10(), f(p))).collect()
    };
    let mut f_lines = vec![
        Line {
            name: "NIS F/N",
            colour: BLUE,
            points: pts(|p| p.1),
            style: Stroke::Solid,
        },
        Line {
            name: "+ σ",
            colour: ORANGE,
            points: pts(|p| p.1 + p.2),
            style: Stroke::Solid,
        },
        Line {
            name: "− σ",
            colour: ORANGE,
            points: pts(|p| p.1 - p.2),
            style: Stroke::Solid,
        },
    ];
    if let (Some(f), Some(first), Some(last)) = (d.exact_f, d.running_f.first(), d.running_f.last())
    {
        f_lines.push(Line {
            name: "exact (Kaufman)",
            colour: GREY,
            points: vec![(first.0.log10(), f), (last.0.log10(), f)],
            style: Stroke::Dashed,
        });
    }
    let charts = [
        LineChart {
            title: "normalised log-weights",
            x_label: "log w − ln Ẑ",
            y_label: "fraction of samples",
            legend: SeriesLabelPosition::UpperRight,
            lines: vec![Line {
                name: "samples",
                colour: BLUE,
                points: hist,
                style: Stroke::Solid,
            }],
        },
        LineChart {
            title: "running F/N",
            x_label: "log10 samples",
            y_label: "F / N",
            legend: SeriesLabelPosition::UpperRight,
            lines: f_lines,
        },
        LineChart {
            title: "effective sample size",
            x_label: "log10 samples",
            y_label: "ESS / M",
            legend: SeriesLabelPosition::UpperRight,
            lines: vec![Line {
                name: "ESS/M",
                colour: BLUE,
                points: d.running_ess.iter().map(|p| (p.0.log10(), p.1)).collect(),
                style: Stroke::Solid,
            }],
        },
    ];
    chart_row(path, "nis-estimate: importance weights", &charts, NIS_SIZE)
}

/// Charts side by side under one title.
pub fn chart_row(path: &Path, title: &str, charts: &[LineChart], size: (u32, u32)) -> Result<()> {
    render(path, size, |root| {
        let (head, body) = root.split_vertically(40);
        head.titled(title, (FONT, 20)).map_err(drawing)?;
        for (chart, area) in charts.iter().zip(body.split_evenly((1, charts.len()))) {
            chart.draw(&area)?;
        }
        Ok(())
    })
}

/// The DCL paper's figure 2: predicted against true energy of test
/// configurations, for the EDNN and for E_RNN, with the diagonal.
pub fn predicted_energies(
    path: &Path,
    truth: &[f64],
    ednn: &[f64],
    rnn: Option<&[f64]>,
) -> Result<()> {
    let range = super::chart::padded_range(truth.iter().copied());
    let pairs = |pred: &[f64]| truth.iter().copied().zip(pred.iter().copied()).collect();
    let mut lines = Vec::new();
    if let Some(r) = rnn {
        lines.push(Line {
            name: "E_RNN = −T_O ln q + C",
            colour: ORANGE,
            points: pairs(r),
            style: Stroke::Dots,
        });
    }
    lines.push(Line {
        name: "E_EDNN",
        colour: BLUE,
        points: pairs(ednn),
        style: Stroke::Dots,
    });
    lines.push(Line::diagonal("exact", range));
    let chart = LineChart {
        title: "learned against true energy (test set)",
        x_label: "true energy E / J",
        y_label: "predicted energy / J",
        legend: SeriesLabelPosition::UpperLeft,
        lines,
    };
    chart_row(path, "fit-ednn", &[chart], (760, 680))
}
