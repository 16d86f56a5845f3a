//! Maps over a two-parameter box: cells coloured by value, both axes with
//! their titles and ticks, a colour bar with values, an optional marker;
//! and plain images of configurations.

use anyhow::Result;
use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::render::{drawing, Area};
use super::style::{tick_label, viridis, FONT, RED};

/// How values map onto colours.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ColourScale {
    pub lo: f64,
    pub hi: f64,
    /// log10 colours (positive maps spanning decades)
    pub log: bool,
}

impl ColourScale {
    /// Colours over the 1st..99th percentile of the finite values, so a few
    /// extreme cells at a prior's edge do not wash out the rest; in log
    /// colour when the map is positive and spans more than two decades.
    pub fn percentiles(values: &[f64]) -> ColourScale {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        if sorted.is_empty() {
            return ColourScale::linear(0.0, 1.0);
        }
        sorted.sort_by(f64::total_cmp);
        let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
        let (lo, hi) = (at(0.01), at(0.99));
        if lo > 0.0 && hi / lo > 100.0 {
            ColourScale { lo, hi, log: true }
        } else {
            ColourScale::linear(lo, hi)
        }
    }

    /// From `lo` to `hi` (widened when flat).
    pub fn linear(lo: f64, hi: f64) -> ColourScale {
        let hi = if hi > lo {
            hi
        } else {
            lo + 1e-12_f64.max(lo.abs() * 1e-9)
        };
        ColourScale { lo, hi, log: false }
    }

    /// Where `v` falls between lo (0) and hi (1), clamped.
    pub fn unit(&self, v: f64) -> f64 {
        if self.log {
            let (l, h) = (self.lo.log10(), self.hi.log10());
            (v.max(self.lo).log10() - l) / (h - l)
        } else {
            (v - self.lo) / (self.hi - self.lo)
        }
    }
}

/// A labelled axis over a parameter range.
#[derive(Clone, Debug)]
pub struct Axis {
    pub label: String,
    pub range: [f64; 2],
}

impl Axis {
    pub fn new(label: impl Into<String>, range: [f64; 2]) -> Axis {
        let [lo, hi] = range;
        let range = if hi > lo {
            [lo, hi]
        } else {
            [lo - 0.5, lo + 0.5]
        };
        Axis {
            label: label.into(),
            range,
        }
    }
}

/// Values on an nx × ny grid of cells over the box (x, y); `values[i * ny + j]`
/// is the cell i along x and j along y.
pub struct HeatMap<'a> {
    pub title: &'a str,
    pub values: &'a [f64],
    pub nx: usize,
    pub ny: usize,
    pub x: Axis,
    pub y: Axis,
    pub colours: ColourScale,
    /// a point to mark with a red cross (the truth)
    pub marker: Option<(f64, f64)>,
}

/// Width of the colour bar beside a map, labels included.
const BAR: u32 = 78;

impl HeatMap<'_> {
    pub fn draw(&self, area: &Area) -> Result<()> {
        let (w, _) = area.dim_in_pixel();
        let (main, bar) = area.split_horizontally(w.saturating_sub(BAR));
        let ([x0, x1], [y0, y1]) = (self.x.range, self.y.range);
        let mut chart = ChartBuilder::on(&main)
            .caption(self.title, (FONT, 17))
            .margin(8)
            .x_label_area_size(42)
            .y_label_area_size(56)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(drawing)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(self.x.label.as_str())
            .y_desc(self.y.label.as_str())
            .x_labels(6)
            .y_labels(6)
            .x_label_formatter(&|v| tick_label(*v))
            .y_label_formatter(&|v| tick_label(*v))
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 15))
            .draw()
            .map_err(drawing)?;
        let (dx, dy) = ((x1 - x0) / self.nx as f64, (y1 - y0) / self.ny as f64);
        chart
            .draw_series((0..self.nx).flat_map(|i| {
                (0..self.ny).map(move |j| {
                    let v = self.values[i * self.ny + j];
                    let c = viridis(self.colours.unit(v));
                    let (a, b) = (x0 + i as f64 * dx, y0 + j as f64 * dy);
                    Rectangle::new([(a, b), (a + dx, b + dy)], c.filled())
                })
            }))
            .map_err(drawing)?;
        if let Some(p) = self.marker {
            chart
                .draw_series(std::iter::once(Cross::new(p, 7, RED.stroke_width(3))))
                .map_err(drawing)?;
        }
        colour_bar(&bar, &self.colours)
    }
}

/// A vertical colour bar with ticks at round values, laid out to line up
/// with a map drawn beside it by [`HeatMap::draw`].
fn colour_bar(area: &Area, scale: &ColourScale) -> Result<()> {
    let mut builder = ChartBuilder::on(area);
    // a blank caption and the map's margins keep the bar level with the map
    builder
        .caption(" ", (FONT, 17))
        .margin(8)
        .margin_right(4)
        .x_label_area_size(42)
        .set_label_area_size(LabelAreaPosition::Right, 50);
    if scale.log {
        let (l, h) = (scale.lo.log10(), scale.hi.log10());
        let chart = builder
            .build_cartesian_2d(0f64..1f64, (scale.lo..scale.hi).log_scale())
            .map_err(drawing)?;
        fill_bar(chart, |u| 10f64.powf(l + (h - l) * u))
    } else {
        let chart = builder
            .build_cartesian_2d(0f64..1f64, scale.lo..scale.hi)
            .map_err(drawing)?;
        fill_bar(chart, |u| scale.lo + (scale.hi - scale.lo) * u)
    }
}

/// The bar's ticks and its colours, the value at height u ∈ [0, 1] being `at(u)`.
fn fill_bar<'a, Y>(
    mut chart: ChartContext<'a, BitMapBackend<'a>, Cartesian2d<RangedCoordf64, Y>>,
    at: impl Fn(f64) -> f64,
) -> Result<()>
where
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    const STEPS: usize = 128;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_labels(6)
        .y_label_formatter(&|v| tick_label(*v))
        .label_style((FONT, 12))
        .draw()
        .map_err(drawing)?;
    let cell = |k: usize| k as f64 / STEPS as f64;
    chart
        .draw_series((0..STEPS).map(|k| {
            Rectangle::new(
                [(0.0, at(cell(k))), (1.0, at(cell(k + 1)))],
                viridis(cell(k) + 0.5 / STEPS as f64).filled(),
            )
        }))
        .map_err(drawing)?;
    Ok(())
}

/// Draw a configuration (`rows` × `cols` values, row-major, row 0 at the
/// top) as an image filling `area`: values > 0 dark when `dark_positive`,
/// light otherwise (the generators' previews use the same convention).
pub fn draw_state(
    area: &Area,
    values: &[f64],
    [rows, cols]: [usize; 2],
    dark_positive: bool,
) -> Result<()> {
    let (w, h) = area.dim_in_pixel();
    for py in 0..h {
        let r = (py as usize * rows / h.max(1) as usize).min(rows - 1);
        for px in 0..w {
            let c = (px as usize * cols / w.max(1) as usize).min(cols - 1);
            let v = values[r * cols + c];
            let colour = if (v > 0.0) == dark_positive {
                RGBColor(25, 25, 25)
            } else {
                RGBColor(245, 245, 245)
            };
            area.draw_pixel((px as i32, py as i32), &colour)
                .map_err(drawing)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_scales() {
        let v: Vec<f64> = (0..=600).map(|k| 10f64.powf(k as f64 / 100.0)).collect();
        let s = ColourScale::percentiles(&v);
        assert!(s.log, "1..1e6 spans six decades");
        let v: Vec<f64> = (1..=1000).map(|k| k as f64).collect();
        assert!(!ColourScale::percentiles(&v).log, "11..990 spans under two");
        assert!((s.unit(s.hi) - 1.0).abs() < 1e-12 && s.unit(0.5) == 0.0);
        let s = ColourScale::percentiles(&[-1.0, 0.0, 1.0]);
        assert!(!s.log);
        assert_eq!(s.unit(0.0), 0.5);
        let flat = ColourScale::linear(2.0, 2.0);
        assert!(flat.hi > flat.lo);
    }
}
