//! Drawing a figure into memory and writing it as PNG, atomically (or to
//! standard output for `-`).

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::style::register_fonts;
use crate::io::atomic::AtomicFile;

/// The drawing surface a figure is composed on.
pub type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// plotters' errors as anyhow errors.
pub fn drawing<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("drawing a figure: {e:?}")
}

/// Draw a `w`×`h` figure with `draw` on a white background and write it to `path`.
pub fn render(
    path: &Path,
    (w, h): (u32, u32),
    draw: impl FnOnce(&Area) -> Result<()>,
) -> Result<()> {
    register_fonts();
    let mut rgb = vec![255u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(drawing)?;
        draw(&root)?;
        root.present().map_err(drawing)?;
    }
    write_png(path, w, h, &rgb)
}

/// Write an 8-bit RGB image.
pub fn write_png(path: &Path, w: u32, h: u32, rgb: &[u8]) -> Result<()> {
    let mut file = AtomicFile::create(path)?;
    {
        let mut enc = png::Encoder::new(std::io::BufWriter::new(file.writer()), w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc
            .write_header()
            .with_context(|| format!("{}: writing PNG", path.display()))?;
        writer
            .write_image_data(rgb)
            .with_context(|| format!("{}: writing PNG", path.display()))?;
    }
    file.commit()
}
