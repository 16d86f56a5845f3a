//! Line charts: axes with titles and round-number ticks, a grid, a legend
//! when there is more than one line.

use anyhow::Result;
use plotters::prelude::*;

use super::render::{drawing, Area};
use super::style::{tick_label, FONT, LIGHT};

/// One line of a chart.
pub struct Line<'a> {
    pub name: &'a str,
    pub colour: RGBColor,
    pub points: Vec<(f64, f64)>,
    pub style: Stroke,
}

impl<'a> Line<'a> {
    /// The dashed grey y = x over `range`: the reference of a predicted-
    /// against-true scatter.
    pub fn diagonal(name: &'a str, (lo, hi): (f64, f64)) -> Line<'a> {
        Line {
            name,
            colour: super::style::GREY,
            points: vec![(lo, lo), (hi, hi)],
            style: Stroke::Dashed,
        }
    }
}

/// How a line is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stroke {
    Solid,
    /// reference values
    Dashed,
    /// a mark at every point, unjoined (measurements, scatter plots)
    Dots,
}

pub struct LineChart<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub lines: Vec<Line<'a>>,
    /// the corner for the legend, where the lines leave room
    pub legend: SeriesLabelPosition,
}

/// The range of the finite values, padded by 5% (a unit range when empty or flat).
pub fn padded_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 * (1.0 + lo.abs()) {
        return (lo - 0.5, hi + 0.5);
    }
    let pad = 0.05 * (hi - lo);
    (lo - pad, hi + pad)
}

impl LineChart<'_> {
    pub fn draw(&self, area: &Area) -> Result<()> {
        let all = || self.lines.iter().flat_map(|l| l.points.iter());
        let (x0, x1) = {
            let (lo, hi) = padded_range(all().map(|p| p.0));
            // steps start at 0: no padding below it
            (
                if lo < 0.0 && all().all(|p| p.0 >= 0.0) {
                    0.0
                } else {
                    lo
                },
                hi,
            )
        };
        let (y0, y1) = padded_range(all().map(|p| p.1));
        let mut chart = ChartBuilder::on(area)
            .caption(self.title, (FONT, 22))
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(drawing)?;
        chart
            .configure_mesh()
            .x_desc(self.x_label)
            .y_desc(self.y_label)
            .x_label_formatter(&|v| tick_label(*v))
            .y_label_formatter(&|v| tick_label(*v))
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .light_line_style(LIGHT.mix(0.5))
            .bold_line_style(LIGHT)
            .draw()
            .map_err(drawing)?;
        for line in &self.lines {
            let style = ShapeStyle::from(&line.colour).stroke_width(2);
            let points: Vec<(f64, f64)> = line
                .points
                .iter()
                .copied()
                .filter(|p| p.0.is_finite() && p.1.is_finite())
                .collect();
            // many marks stay readable when small
            let radius = if points.len() > 100 { 2 } else { 4 };
            let drawn = if line.style == Stroke::Dashed {
                chart
                    .draw_series(DashedLineSeries::new(points, 8, 6, style))
                    .map_err(drawing)?
            } else if line.style == Stroke::Dots || points.len() == 1 {
                chart
                    .draw_series(
                        points
                            .iter()
                            .map(|&p| Circle::new(p, radius, style.filled())),
                    )
                    .map_err(drawing)?
            } else {
                chart
                    .draw_series(LineSeries::new(points, style))
                    .map_err(drawing)?
            };
            let (c, kind) = (line.colour, line.style);
            drawn.label(line.name).legend(move |(x, y)| {
                let style = ShapeStyle::from(&c).stroke_width(2);
                // a mark for marks, a stroke for lines, two dashes for dashed ones
                let (radius, first, second) = match kind {
                    Stroke::Dots => (4, vec![], vec![]),
                    Stroke::Solid => (0, vec![(0, 0), (24, 0)], vec![]),
                    Stroke::Dashed => (0, vec![(0, 0), (9, 0)], vec![(15, 0), (24, 0)]),
                };
                EmptyElement::at((x, y))
                    + Circle::new((12, 0), radius, style.filled())
                    + PathElement::new(first, style)
                    + PathElement::new(second, style)
            });
        }
        if self.lines.len() > 1 {
            chart
                .configure_series_labels()
                .position(self.legend.clone())
                .label_font((FONT, 15))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()
                .map_err(drawing)?;
        }
        Ok(())
    }
}
