//! The generators' previews: configurations laid out as a phase diagram over
//! the prior box, both parameter axes with their ticks.

use std::path::Path;

use anyhow::Result;
use plotters::prelude::*;

use super::heat::Axis;
use super::render::{drawing, render};
use super::style::{tick_label, FONT};

/// Pixel size of a preview.
pub const PREVIEW_SIZE: (u32, u32) = (760, 760);

/// An n×n grid of cells over the box (x, y); each cell shows the first
/// configuration whose parameters fall into it. Along an axis that is a
/// single value (a fixed T, say) configurations fill the cells in the order
/// they come.
pub struct PreviewGrid {
    n: usize,
    x: (String, [f64; 2]),
    y: (String, [f64; 2]),
    /// cell (col along x, row along y from the bottom) at `row * n + col`
    cells: Vec<Option<Vec<i8>>>,
}

fn degenerate(range: [f64; 2]) -> bool {
    range[1] <= range[0]
}

impl PreviewGrid {
    pub fn new(n: usize, x: (&str, [f64; 2]), y: (&str, [f64; 2])) -> Self {
        PreviewGrid {
            n,
            x: (x.0.to_string(), x.1),
            y: (y.0.to_string(), y.1),
            cells: vec![None; n * n],
        }
    }

    fn index(&self, v: f64, range: [f64; 2]) -> Option<usize> {
        if degenerate(range) {
            return None;
        }
        let w = range[1] - range[0];
        Some((((v - range[0]) / w * self.n as f64).floor().max(0.0) as usize).min(self.n - 1))
    }

    /// Offer a configuration drawn at parameters (x, y).
    pub fn offer(&mut self, x: f64, y: f64, state: &[i8]) {
        let (col, row) = (self.index(x, self.x.1), self.index(y, self.y.1));
        let n = self.n;
        // top row first where an axis is free, so a fixed point reads like a page
        let free = (0..n * n).map(|k| (k % n, n - 1 - k / n));
        let slot = free
            .filter(|&(c, r)| col.is_none_or(|cc| cc == c) && row.is_none_or(|rr| rr == r))
            .map(|(c, r)| r * n + c)
            .find(|&k| self.cells[k].is_none());
        if let Some(k) = slot {
            self.cells[k] = Some(state.to_vec());
        }
    }

    /// Draw the grid, each configuration `h`×`w` (row-major), as PNG;
    /// values > 0 dark when `dark_positive`, light otherwise.
    pub fn write(
        &self,
        path: &Path,
        h: usize,
        w: usize,
        dark_positive: bool,
        title: &str,
    ) -> Result<()> {
        let axis = |(name, range): &(String, [f64; 2])| {
            if degenerate(*range) {
                (
                    Axis::new(format!("{name} = {}", tick_label(range[0])), *range),
                    true,
                )
            } else {
                (Axis::new(name.clone(), *range), false)
            }
        };
        let ((xa, x_fixed), (ya, y_fixed)) = (axis(&self.x), axis(&self.y));
        render(path, PREVIEW_SIZE, |root| {
            let ([x0, x1], [y0, y1]) = (xa.range, ya.range);
            let mut chart = ChartBuilder::on(root)
                .caption(title, (FONT, 20))
                .margin(14)
                .x_label_area_size(50)
                .y_label_area_size(64)
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(drawing)?;
            chart
                .configure_mesh()
                .disable_mesh()
                .x_desc(xa.label.as_str())
                .y_desc(ya.label.as_str())
                .x_labels(if x_fixed { 0 } else { 9 })
                .y_labels(if y_fixed { 0 } else { 9 })
                .x_label_formatter(&|v| tick_label(*v))
                .y_label_formatter(&|v| tick_label(*v))
                .label_style((FONT, 15))
                .axis_desc_style((FONT, 18))
                .draw()
                .map_err(drawing)?;
            // grey gaps between the tiles
            chart
                .plotting_area()
                .fill(&RGBColor(150, 150, 150))
                .map_err(drawing)?;
            let n = self.n;
            let (dx, dy) = ((x1 - x0) / n as f64, (y1 - y0) / n as f64);
            for (k, cell) in self.cells.iter().enumerate() {
                let (col, row) = (k % n, k / n);
                let (a, b) = (x0 + col as f64 * dx, y0 + row as f64 * dy);
                let (px0, py0) = chart.backend_coord(&(a, b + dy));
                let (px1, py1) = chart.backend_coord(&(a + dx, b));
                let (px0, py0, px1, py1) = (px0 + 2, py0 + 2, px1 - 2, py1 - 2);
                let (cw, ch) = ((px1 - px0).max(1) as usize, (py1 - py0).max(1) as usize);
                for py in 0..ch {
                    for px in 0..cw {
                        let colour = match cell {
                            None => RGBColor(205, 205, 205),
                            Some(s) => {
                                let v = s[(py * h / ch).min(h - 1) * w + (px * w / cw).min(w - 1)];
                                if (v > 0) == dark_positive {
                                    RGBColor(25, 25, 25)
                                } else {
                                    RGBColor(245, 245, 245)
                                }
                            }
                        };
                        root.draw_pixel((px0 + px as i32, py0 + py as i32), &colour)
                            .map_err(drawing)?;
                    }
                }
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_follow_the_parameters() {
        let mut g = PreviewGrid::new(2, ("T", [0.0, 2.0]), ("h", [0.0, 2.0]));
        g.offer(1.5, 0.5, &[1]);
        g.offer(1.6, 0.4, &[-1]); // same cell: the first stays
        assert_eq!(g.cells[1].as_deref(), Some(&[1i8][..]));
        assert_eq!(g.cells.iter().filter(|c| c.is_some()).count(), 1);
        // a fixed point fills the cells in order, from the top row
        let mut p = PreviewGrid::new(2, ("T", [2.0, 2.0]), ("h", [0.0, 0.0]));
        for k in 0..5 {
            p.offer(2.0, 0.0, &[k]);
        }
        assert_eq!(p.cells[2].as_deref(), Some(&[0i8][..]));
        assert_eq!(p.cells[3].as_deref(), Some(&[1i8][..]));
        assert_eq!(p.cells[0].as_deref(), Some(&[2i8][..]));
        assert_eq!(p.cells[1].as_deref(), Some(&[3i8][..]));
    }
}
