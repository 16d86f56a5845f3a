//! A binary image as one Ising configuration: a PNG of any colour type,
//! its luminance averaged over the pixels of each lattice cell and
//! thresholded (bright ≥ threshold → +1, else −1).

use std::path::Path;

use anyhow::Result;

use super::stdio::read_input;

/// The image at `path` as ±1 spins on a `rows`×`cols` lattice (None: the
/// image's own size), row-major.
pub fn binary_lattice(
    path: &Path,
    threshold: f64,
    size: Option<(usize, usize)>,
) -> Result<(Vec<i8>, usize, usize)> {
    let bytes = read_input(path, "image")?;
    let not_png =
        |why: String| crate::input_error!("{}: not a readable PNG image ({why})", path.display());
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| not_png(e.to_string()))?;
    let mut buf = vec![
        0;
        reader
            .output_buffer_size()
            .ok_or_else(|| not_png("too large".into()))?
    ];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| not_png(e.to_string()))?;
    let (w, h) = (info.width as usize, info.height as usize);
    let channels = info.color_type.samples();
    let lum: Vec<f64> = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|px| {
            let v = match px.len() {
                1 | 2 => px[0] as f64,
                _ => 0.299 * px[0] as f64 + 0.587 * px[1] as f64 + 0.114 * px[2] as f64,
            };
            v / 255.0
        })
        .collect();
    let (rows, cols) = size.unwrap_or((h, w));
    if rows == 0 || cols == 0 || rows > h || cols > w {
        crate::bail_input!(
            "--size {rows}x{cols}: must be at least 1×1 and at most the image's {h}×{w} pixels"
        );
    }
    let mut spins = Vec::with_capacity(rows * cols);
    for r in 0..rows {
        let (y0, y1) = (r * h / rows, ((r + 1) * h / rows).max(r * h / rows + 1));
        for c in 0..cols {
            let (x0, x1) = (c * w / cols, ((c + 1) * w / cols).max(c * w / cols + 1));
            let mut sum = 0.0;
            for y in y0..y1 {
                sum += lum[y * w + x0..y * w + x1].iter().sum::<f64>();
            }
            let mean = sum / ((y1 - y0) * (x1 - x0)) as f64;
            spins.push(if mean >= threshold { 1 } else { -1 });
        }
    }
    Ok((spins, rows, cols))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkerboard_image_becomes_a_checkerboard_lattice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("board.png");
        // 8×8 pixels of 2×2 blocks: a 4×4 checkerboard of white and black
        let rgb: Vec<u8> = (0..64)
            .flat_map(|p| {
                let (y, x) = (p / 8, p % 8);
                let v = if (y / 2 + x / 2) % 2 == 0 { 255 } else { 0 };
                [v, v, v]
            })
            .collect();
        let file = std::fs::File::create(&path).unwrap();
        let mut enc = png::Encoder::new(file, 8, 8);
        enc.set_color(png::ColorType::Rgb);
        enc.write_header().unwrap().write_image_data(&rgb).unwrap();
        let (s, r, c) = binary_lattice(&path, 0.5, Some((4, 4))).unwrap();
        assert_eq!((r, c), (4, 4));
        for (k, v) in s.iter().enumerate() {
            assert_eq!(*v, if (k / 4 + k % 4) % 2 == 0 { 1 } else { -1 });
        }
        let bad = dir.path().join("x.png");
        std::fs::write(&bad, b"not an image").unwrap();
        let e = binary_lattice(&bad, 0.5, None).unwrap_err().to_string();
        assert!(e.contains("not a readable PNG"), "{e}");
    }
}
