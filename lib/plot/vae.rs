//! fit-vae's figures, after the paper's 2–4 and 7: samples generated from
//! the prior (Bernoulli means, grey levels), the latent means of the data
//! coloured by phase, decoded means over the latent plane, and β²-VAE's
//! learned β_k and h_k.

use std::path::Path;

use anyhow::Result;
use plotters::prelude::*;

use super::chart::{padded_range, Line, LineChart, Stroke};
use super::figures::{chart_row, loss_curve};
use super::render::{drawing, render, Area};
use super::style::{viridis, BLUE, FONT, GREEN, ORANGE, RED};
use crate::contract::latents::LatentRow;
use crate::contract::trainlog::LogRow;

/// How tile values become colours.
#[derive(Clone, Copy)]
pub enum TileScale {
    /// p ∈ [0, 1] as grey, p = 1 (spin +1) white
    Probability,
    /// viridis over [lo, hi]
    Viridis(f64, f64),
}

/// A labelled square image of side² values.
pub struct Tile<'a> {
    pub label: String,
    pub values: &'a [f32],
    pub scale: TileScale,
}

fn colour(v: f64, scale: TileScale) -> RGBColor {
    match scale {
        TileScale::Probability => {
            let g = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
            RGBColor(g, g, g)
        }
        TileScale::Viridis(lo, hi) => viridis((v - lo) / (hi - lo).max(1e-12)),
    }
}

fn draw_tile(area: &Area, tile: &Tile, side: usize) -> Result<()> {
    let (w, h) = area.dim_in_pixel();
    let label_h = if tile.label.is_empty() { 0 } else { 20 };
    if label_h > 0 {
        area.draw(&Text::new(tile.label.as_str(), (4, 2), (FONT, 14)))
            .map_err(drawing)?;
    }
    let size = (w.saturating_sub(8))
        .min(h.saturating_sub(label_h + 6))
        .max(1) as usize;
    let (x0, y0) = (4i32, label_h as i32 + 2);
    for py in 0..size {
        let r = (py * side / size).min(side - 1);
        for px in 0..size {
            let c = (px * side / size).min(side - 1);
            let v = tile.values[r * side + c] as f64;
            area.draw_pixel((x0 + px as i32, y0 + py as i32), &colour(v, tile.scale))
                .map_err(drawing)?;
        }
    }
    Ok(())
}

/// Tiles in a grid of `cols` columns under a title.
pub fn tile_grid(
    path: &Path,
    title: &str,
    tiles: &[Tile],
    cols: usize,
    side: usize,
    cell: u32,
) -> Result<()> {
    let rows = tiles.len().div_ceil(cols);
    let size = (cols as u32 * cell + 20, rows as u32 * (cell + 20) + 50);
    render(path, size, |root| {
        let (head, body) = root.split_vertically(44);
        head.titled(title, (FONT, 18)).map_err(drawing)?;
        let body = body.margin(0, 0, 10, 10);
        for (tile, area) in tiles.iter().zip(body.split_evenly((rows, cols))) {
            draw_tile(&area, tile, side)?;
        }
        Ok(())
    })
}

/// What fit-vae's figures show.
pub struct VaeFigures<'a> {
    pub l: usize,
    pub latent: usize,
    /// "β-VAE" or "β²-VAE"
    pub decoder: &'a str,
    pub beta: f64,
    pub log: &'a [LogRow],
    pub latents: &'a [LatentRow],
    /// the FM and AFM axes of the latent scatter
    pub axes: (usize, usize),
    pub generated: Generated<'a>,
    /// decoded means over the latent plane: (n, r, n² rows of L²)
    pub grid: Option<(usize, f64, &'a [f32])>,
}

/// Samples from the prior: Bernoulli means (rows of L²), each one's phase
/// label, and β²-VAE's β_k and h_k.
pub struct Generated<'a> {
    pub n: usize,
    pub mean: &'a [f32],
    pub label: Vec<&'a str>,
    pub beta: Option<&'a [f32]>,
    pub field: Option<&'a [f32]>,
}

/// Every fit-vae figure into `dir`.
pub fn figures(dir: &Path, t: &VaeFigures) -> Result<()> {
    let (l, beta, decoder) = (t.l, t.beta, t.decoder);
    let sites = l * l;
    loss_curve(
        &dir.join("vae-loss.png"),
        t.log,
        &format!("fit-vae: {decoder} loss, β = {beta}"),
        "reconstruction + β KL (nats per configuration)",
        None,
    )?;
    // 16 samples from the prior: the paper's figure 2
    let shown = t.generated.n.min(16);
    let tiles: Vec<Tile> = (0..shown)
        .map(|k| Tile {
            label: t.generated.label[k].to_uppercase(),
            values: &t.generated.mean[k * sites..(k + 1) * sites],
            scale: TileScale::Probability,
        })
        .collect();
    tile_grid(
        &dir.join("vae-samples.png"),
        &format!("{decoder}, β = {beta}: samples from the prior (p(s = +1), white = 1)"),
        &tiles,
        4,
        l,
        150,
    )?;
    latent_scatter(&dir.join("vae-latents.png"), t)?;
    if let Some((n, r, means)) = t.grid {
        let tiles: Vec<Tile> = (0..n * n)
            .map(|k| Tile {
                label: String::new(),
                values: &means[k * sites..(k + 1) * sites],
                scale: TileScale::Probability,
            })
            .collect();
        tile_grid(
            &dir.join("vae-latent-grid.png"),
            &format!("decoded p(s = +1) over μ_0 (left to right) and μ_1 (bottom to top), both in [−{r}, {r}]"),
            &tiles,
            n,
            l,
            100,
        )?;
    }
    if let (Some(b), Some(h)) = (t.generated.beta, t.generated.field) {
        // figure 7(b): a sample's means, local fields h_k and inverse temperatures β_k
        let k = t.generated.n.min(4);
        let (hlo, hhi) = padded_range(h[..k * sites].iter().map(|&v| v as f64));
        let mut tiles = Vec::new();
        for s in 0..k {
            tiles.push(Tile {
                label: format!("p(s = +1), {}", t.generated.label[s].to_uppercase()),
                values: &t.generated.mean[s * sites..(s + 1) * sites],
                scale: TileScale::Probability,
            });
        }
        for s in 0..k {
            tiles.push(Tile {
                label: format!("h_k in [{hlo:.1}, {hhi:.1}]"),
                values: &h[s * sites..(s + 1) * sites],
                scale: TileScale::Viridis(hlo, hhi),
            });
        }
        for s in 0..k {
            tiles.push(Tile {
                label: "β_k in [0, 1]".into(),
                values: &b[s * sites..(s + 1) * sites],
                scale: TileScale::Viridis(0.0, 1.0),
            });
        }
        tile_grid(
            &dir.join("vae-beta2.png"),
            &format!("β²-VAE, β = {beta}: generated means, local fields h_k and β_k (viridis)"),
            &tiles,
            k,
            l,
            190,
        )?;
    }
    Ok(())
}

/// Latent means of the data coloured by phase (FM split by the sign of m):
/// the paper's figure 3. One latent dimension: μ_0 against T.
fn latent_scatter(path: &Path, t: &VaeFigures) -> Result<()> {
    let (a, b) = t.axes;
    let xy = |r: &LatentRow| -> (f64, f64) {
        if t.latent >= 2 {
            (r.mu[a], r.mu[b])
        } else {
            (r.t, r.mu[0])
        }
    };
    // at most 3000 points, evenly spaced, so the figure stays readable
    let stride = (t.latents.len() / 3000).max(1);
    let pick = |f: &dyn Fn(&LatentRow) -> bool| -> Vec<(f64, f64)> {
        t.latents
            .iter()
            .step_by(stride)
            .filter(|r| f(r))
            .map(xy)
            .collect()
    };
    let lines = vec![
        Line {
            name: "FM, m > 0",
            colour: BLUE,
            points: pick(&|r| r.phase == "fm" && r.magnetization > 0.0),
            style: Stroke::Dots,
        },
        Line {
            name: "FM, m < 0",
            colour: GREEN,
            points: pick(&|r| r.phase == "fm" && r.magnetization <= 0.0),
            style: Stroke::Dots,
        },
        Line {
            name: "AFM",
            colour: RED,
            points: pick(&|r| r.phase == "afm"),
            style: Stroke::Dots,
        },
        Line {
            name: "PM",
            colour: ORANGE,
            points: pick(&|r| r.phase == "pm"),
            style: Stroke::Dots,
        },
    ];
    let (xl, yl) = if t.latent >= 2 {
        (format!("μ_{a} (FM axis)"), format!("μ_{b} (AFM axis)"))
    } else {
        ("T".to_string(), "μ_0".to_string())
    };
    let chart = LineChart {
        title: "latent means of the data",
        x_label: &xl,
        y_label: &yl,
        legend: SeriesLabelPosition::UpperRight,
        lines,
    };
    chart_row(
        path,
        &format!("fit-vae, β = {}", t.beta),
        &[chart],
        (760, 700),
    )
}
