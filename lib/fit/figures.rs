//! Figures of fit-posterior: loss curves and example posteriors beside
//! their microstates and true parameters (the BTI paper's Figures 10–12).

use std::path::Path;

use anyhow::Result;

use super::data::{Bundles, States};
use super::posterior::LogRow;
use crate::plot::canvas::{Canvas, LineChart, BLACK, BLUE, GREY, ORANGE, RED};

pub fn loss_curve(path: &Path, log: &[LogRow], uniform: f64) -> Result<()> {
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
    LineChart {
        title: "fit-posterior: soft cross-entropy",
        x_label: "step",
        y_label: "loss (nats)",
        series: vec![
            ("train", BLUE, smooth),
            ("test", ORANGE, test),
            (
                "uniform prior",
                GREY,
                vec![(first, uniform), (last, uniform)],
            ),
        ],
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
