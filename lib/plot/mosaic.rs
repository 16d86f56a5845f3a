//! A mosaic of configurations (spins or occupations) as one grayscale PNG.

use std::path::Path;

use anyhow::{Context, Result};

use crate::io::atomic::AtomicFile;

/// One tile: `h`×`w` values in row-major order, drawn black for values > 0
/// when `dark_positive`, white otherwise; an empty tile is a grey cell.
pub struct Tile<'a> {
    pub values: &'a [i8],
    pub h: usize,
    pub w: usize,
}

/// Write tiles in a grid of `cols` columns, each scaled up to at least 64
/// pixels on its longer side, with 2-pixel gaps.
pub fn write_mosaic(
    path: &Path,
    tiles: &[Tile<'_>],
    cols: usize,
    dark_positive: bool,
) -> Result<()> {
    anyhow::ensure!(
        !tiles.is_empty(),
        "{}: no configurations to draw",
        path.display()
    );
    let (th, tw) = (tiles[0].h, tiles[0].w);
    let scale = (64 / th.max(tw)).max(1);
    let (ph, pw) = (th * scale, tw * scale);
    let gap = 2;
    let cols = cols.clamp(1, tiles.len());
    let rows = tiles.len().div_ceil(cols);
    let width = cols * pw + (cols + 1) * gap;
    let height = rows * ph + (rows + 1) * gap;
    let mut img = vec![128u8; width * height];
    for (t, tile) in tiles.iter().enumerate() {
        let (r, c) = (t / cols, t % cols);
        let (y0, x0) = (gap + r * (ph + gap), gap + c * (pw + gap));
        if tile.values.is_empty() {
            continue; // an empty cell stays grey
        }
        for y in 0..ph {
            for x in 0..pw {
                let v = tile.values[(y / scale) * tw + x / scale];
                let dark = (v > 0) == dark_positive;
                img[(y0 + y) * width + x0 + x] = if dark { 0 } else { 255 };
            }
        }
    }
    let mut file = AtomicFile::create(path)?;
    {
        let mut enc = png::Encoder::new(
            std::io::BufWriter::new(file.file()),
            width as u32,
            height as u32,
        );
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc
            .write_header()
            .with_context(|| format!("{}: writing PNG", path.display()))?;
        w.write_image_data(&img)
            .with_context(|| format!("{}: writing PNG", path.display()))?;
    }
    file.commit()
}

/// Configurations laid out as a phase diagram: an n×n grid over a 2-D
/// parameter box, the vertical parameter growing upwards and the horizontal
/// one to the right; each cell shows the first sample that falls into it.
pub struct PreviewGrid {
    n: usize,
    vertical: [f64; 2],
    horizontal: [f64; 2],
    cells: Vec<Option<Vec<i8>>>,
}

impl PreviewGrid {
    pub fn new(n: usize, vertical: [f64; 2], horizontal: [f64; 2]) -> Self {
        PreviewGrid {
            n,
            vertical,
            horizontal,
            cells: vec![None; n * n],
        }
    }

    fn index(&self, v: f64, range: [f64; 2]) -> usize {
        let w = range[1] - range[0];
        if w <= 0.0 {
            return 0;
        }
        (((v - range[0]) / w * self.n as f64).floor().max(0.0) as usize).min(self.n - 1)
    }

    /// Offer a sample at (vertical value, horizontal value).
    pub fn offer(&mut self, v: f64, h: f64, state: &[i8]) {
        let row = self.n - 1 - self.index(v, self.vertical);
        let col = self.index(h, self.horizontal);
        let cell = &mut self.cells[row * self.n + col];
        if cell.is_none() {
            *cell = Some(state.to_vec());
        }
    }

    pub fn write(&self, path: &Path, h: usize, w: usize, dark_positive: bool) -> Result<()> {
        let tiles: Vec<Tile> = self
            .cells
            .iter()
            .map(|c| Tile {
                values: c.as_deref().unwrap_or(&[]),
                h,
                w,
            })
            .collect();
        write_mosaic(path, &tiles, self.n, dark_positive)
    }
}
