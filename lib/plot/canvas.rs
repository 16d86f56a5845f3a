//! A small RGB canvas for figures: lines, rectangles, heatmaps and text in
//! an 8×8 bitmap font (font8x8 crate: no font files or system libraries),
//! saved as PNG. Enough for loss curves, posterior panels and thermodynamic
//! maps with readable labels.

use std::path::Path;

use anyhow::{Context, Result};
use font8x8::UnicodeFonts;

use crate::io::atomic::AtomicFile;

pub type Rgb = [u8; 3];
pub const WHITE: Rgb = [255, 255, 255];
pub const BLACK: Rgb = [0, 0, 0];
pub const GREY: Rgb = [150, 150, 150];
pub const LIGHT: Rgb = [225, 225, 225];
pub const BLUE: Rgb = [31, 119, 180];
pub const ORANGE: Rgb = [255, 127, 14];
pub const RED: Rgb = [214, 39, 40];
pub const GREEN: Rgb = [44, 160, 44];

pub struct Canvas {
    pub w: usize,
    pub h: usize,
    px: Vec<u8>,
}

/// Viridis-like colour for t in [0, 1] (5-stop piecewise-linear).
pub fn colormap(t: f64) -> Rgb {
    const STOPS: [[f64; 3]; 5] = [
        [68.0, 1.0, 84.0],
        [59.0, 82.0, 139.0],
        [33.0, 145.0, 140.0],
        [94.0, 201.0, 98.0],
        [253.0, 231.0, 37.0],
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    } * 4.0;
    let i = (t.floor() as usize).min(3);
    let f = t - i as f64;
    let c = |k: usize| (STOPS[i][k] + (STOPS[i + 1][k] - STOPS[i][k]) * f).round() as u8;
    [c(0), c(1), c(2)]
}

impl Canvas {
    pub fn new(w: usize, h: usize) -> Canvas {
        Canvas {
            w,
            h,
            px: vec![255; w * h * 3],
        }
    }

    #[inline]
    pub fn put(&mut self, x: i64, y: i64, c: Rgb) {
        if x >= 0 && y >= 0 && (x as usize) < self.w && (y as usize) < self.h {
            let i = (y as usize * self.w + x as usize) * 3;
            self.px[i..i + 3].copy_from_slice(&c);
        }
    }

    pub fn rect(&mut self, x: i64, y: i64, w: i64, h: i64, c: Rgb) {
        for yy in y..y + h {
            for xx in x..x + w {
                self.put(xx, yy, c);
            }
        }
    }

    pub fn frame(&mut self, x: i64, y: i64, w: i64, h: i64, c: Rgb) {
        self.line(x, y, x + w - 1, y, c);
        self.line(x, y + h - 1, x + w - 1, y + h - 1, c);
        self.line(x, y, x, y + h - 1, c);
        self.line(x + w - 1, y, x + w - 1, y + h - 1, c);
    }

    /// Bresenham line.
    pub fn line(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, c: Rgb) {
        let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
        let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
        let (mut x, mut y, mut err) = (x0, y0, dx + dy);
        loop {
            self.put(x, y, c);
            if x == x1 && y == y1 {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }

    /// Text at (x, y) (top-left), 8·scale pixels per character.
    pub fn text(&mut self, x: i64, y: i64, s: &str, c: Rgb, scale: i64) {
        for (k, ch) in s.chars().enumerate() {
            let glyph = font8x8::BASIC_FONTS
                .get(ch)
                .or_else(|| font8x8::BASIC_FONTS.get('?'))
                .unwrap_or([0; 8]);
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..8 {
                    if bits >> col & 1 == 1 {
                        let (px, py) = (x + (k as i64 * 8 + col) * scale, y + row as i64 * scale);
                        self.rect(px, py, scale, scale, c);
                    }
                }
            }
        }
    }

    pub fn text_width(s: &str, scale: i64) -> i64 {
        s.chars().count() as i64 * 8 * scale
    }

    /// Draw `values` (rows × cols, row-major, row 0 at the top) into a
    /// rectangle, coloured between `lo` and `hi`.
    #[allow(clippy::too_many_arguments)]
    pub fn heatmap(
        &mut self,
        x: i64,
        y: i64,
        w: i64,
        h: i64,
        values: &[f64],
        rows: usize,
        cols: usize,
        lo: f64,
        hi: f64,
    ) {
        let span = if hi > lo { hi - lo } else { 1.0 };
        for py in 0..h {
            let r = ((py as f64 / h as f64) * rows as f64) as usize;
            for px in 0..w {
                let col = ((px as f64 / w as f64) * cols as f64) as usize;
                let v = values[r.min(rows - 1) * cols + col.min(cols - 1)];
                self.put(x + px, y + py, colormap((v - lo) / span));
            }
        }
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let mut file = AtomicFile::create(path)?;
        {
            let mut enc = png::Encoder::new(
                std::io::BufWriter::new(file.file()),
                self.w as u32,
                self.h as u32,
            );
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            let mut w = enc
                .write_header()
                .with_context(|| format!("{}: writing PNG", path.display()))?;
            w.write_image_data(&self.px)
                .with_context(|| format!("{}: writing PNG", path.display()))?;
        }
        file.commit()
    }
}

/// Short tick label.
pub fn fmt_tick(v: f64) -> String {
    let a = v.abs();
    if a < 1e-12 {
        // an open bound such as TASEP's smallest positive rate reads as 0
        "0".into()
    } else if a != 0.0 && !(1e-2..1e4).contains(&a) {
        format!("{v:.1e}")
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// A named, coloured line of (x, y) points.
pub type Series<'a> = (&'a str, Rgb, Vec<(f64, f64)>);

/// A line chart with axes, ticks, title and legend.
pub struct LineChart<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub series: Vec<Series<'a>>,
    pub log_y: bool,
}

impl LineChart<'_> {
    pub fn draw(&self, path: &Path) -> Result<()> {
        let (w, h) = (720i64, 440i64);
        let (l, r, t, b) = (80i64, 20i64, 40i64, 50i64);
        let mut c = Canvas::new(w as usize, h as usize);
        let ty = |v: f64| if self.log_y { v.max(1e-300).log10() } else { v };
        let pts: Vec<(f64, f64)> = self
            .series
            .iter()
            .flat_map(|s| s.2.iter().map(|&(x, y)| (x, ty(y))))
            .collect();
        let finite = pts.iter().filter(|p| p.0.is_finite() && p.1.is_finite());
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(x, y) in finite {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        if x0 > x1 {
            (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
        }
        if x1 == x0 {
            x1 = x0 + 1.0;
        }
        if y1 == y0 {
            y1 = y0 + 1.0;
        }
        let pad = 0.05 * (y1 - y0);
        let (y0, y1) = (y0 - pad, y1 + pad);
        let (pw, ph) = (w - l - r, h - t - b);
        let sx = |x: f64| l + ((x - x0) / (x1 - x0) * (pw - 1) as f64).round() as i64;
        let sy = |y: f64| t + ph - 1 - ((y - y0) / (y1 - y0) * (ph - 1) as f64).round() as i64;
        for k in 0..=4 {
            let fy = y0 + (y1 - y0) * k as f64 / 4.0;
            let yy = sy(fy);
            c.line(l, yy, l + pw - 1, yy, LIGHT);
            let label = if self.log_y {
                fmt_tick(10f64.powf(fy))
            } else {
                fmt_tick(fy)
            };
            c.text(
                l - 8 - Canvas::text_width(&label, 1),
                yy - 4,
                &label,
                BLACK,
                1,
            );
            let fx = x0 + (x1 - x0) * k as f64 / 4.0;
            let xx = sx(fx);
            c.line(xx, t + ph, xx, t + ph + 4, BLACK);
            let label = fmt_tick(fx);
            c.text(
                xx - Canvas::text_width(&label, 1) / 2,
                t + ph + 8,
                &label,
                BLACK,
                1,
            );
        }
        c.frame(l, t, pw, ph, BLACK);
        for (_, color, s) in &self.series {
            for win in s.windows(2) {
                let (a, b) = (win[0], win[1]);
                if [a.0, a.1, b.0, b.1].iter().all(|v| v.is_finite()) {
                    c.line(sx(a.0), sy(ty(a.1)), sx(b.0), sy(ty(b.1)), *color);
                }
            }
            if s.len() == 1 {
                c.rect(sx(s[0].0) - 2, sy(ty(s[0].1)) - 2, 5, 5, *color);
            }
        }
        c.text(l, 12, self.title, BLACK, 2);
        c.text(
            l + pw / 2 - Canvas::text_width(self.x_label, 1) / 2,
            h - 18,
            self.x_label,
            BLACK,
            1,
        );
        c.text(4, t - 14, self.y_label, BLACK, 1);
        for (k, (name, color, _)) in self.series.iter().enumerate() {
            let (lx, ly) = (l + pw - 150, t + 10 + 14 * k as i64);
            c.rect(lx, ly + 2, 16, 4, *color);
            c.text(lx + 22, ly, name, BLACK, 1);
        }
        c.save(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_text_lines_and_heatmaps() {
        let mut c = Canvas::new(64, 32);
        c.text(0, 0, "A1", BLACK, 1);
        let dark = c.px.chunks(3).filter(|p| p == &[0, 0, 0]).count();
        assert!(dark > 10 && dark < 128, "{dark} dark pixels for two glyphs");
        c.heatmap(0, 16, 64, 16, &[0.0, 1.0], 1, 2, 0.0, 1.0);
        assert_eq!(
            &c.px[(20 * 64 + 1) * 3..(20 * 64 + 1) * 3 + 3],
            &colormap(0.0)
        );
        assert_eq!(
            &c.px[(20 * 64 + 60) * 3..(20 * 64 + 60) * 3 + 3],
            &colormap(1.0)
        );
        assert_eq!(colormap(0.5), [33, 145, 140]);
    }
}
