//! The look every figure shares: an embedded anti-aliased font (DejaVu Sans,
//! so no system font is needed), colours, a perceptual colour map and tick
//! labels that read like a person wrote them.

use std::sync::Once;

use plotters::style::{FontStyle, RGBColor};

/// The font family name every figure uses.
pub const FONT: &str = "sans-serif";

pub const BLUE: RGBColor = RGBColor(31, 119, 180);
pub const ORANGE: RGBColor = RGBColor(255, 127, 14);
pub const GREEN: RGBColor = RGBColor(44, 160, 44);
pub const RED: RGBColor = RGBColor(214, 39, 40);
pub const GREY: RGBColor = RGBColor(120, 120, 120);
pub const LIGHT: RGBColor = RGBColor(225, 225, 225);

/// Line colours, in the order series are drawn.
pub const CYCLE: [RGBColor; 4] = [BLUE, ORANGE, GREEN, RED];

static FONTS: Once = Once::new();

/// Register the embedded font (once per process).
pub fn register_fonts() {
    FONTS.call_once(|| {
        // the bytes are DejaVu's own TTF files, so registration cannot fail
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
        let _ = plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold());
    });
}

/// Viridis for t in [0, 1] (matplotlib's map, 9 stops, linear between them).
pub fn viridis(t: f64) -> RGBColor {
    const STOPS: [[f64; 3]; 9] = [
        [68.0, 1.0, 84.0],
        [71.0, 45.0, 123.0],
        [59.0, 82.0, 139.0],
        [44.0, 114.0, 142.0],
        [33.0, 145.0, 140.0],
        [39.0, 173.0, 129.0],
        [94.0, 201.0, 98.0],
        [170.0, 220.0, 50.0],
        [253.0, 231.0, 37.0],
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    } * 8.0;
    let i = (t.floor() as usize).min(7);
    let f = t - i as f64;
    let c = |k: usize| (STOPS[i][k] + (STOPS[i + 1][k] - STOPS[i][k]) * f).round() as u8;
    RGBColor(c(0), c(1), c(2))
}

/// A tick label: at most six significant digits, no trailing zeros, an
/// exponent only for very large or very small numbers.
pub fn tick_label(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if a < 1e-12 {
        return "0".into();
    }
    if !(1e-3..1e6).contains(&a) {
        let s = format!("{v:.3e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        return format!("{}e{exp}", trim_zeros(mantissa));
    }
    trim_zeros(&format!("{v:.6}"))
}

fn trim_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

/// Short number for tables and captions: three or four significant digits.
pub fn fmt_tick(v: f64) -> String {
    let a = v.abs();
    if a < 1e-12 {
        // an open bound such as TASEP's smallest positive rate reads as 0
        "0".into()
    } else if !(1e-2..1e4).contains(&a) {
        format!("{v:.1e}")
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_are_round() {
        assert_eq!(tick_label(0.30000000000000004), "0.3");
        assert_eq!(tick_label(1500.0), "1500");
        assert_eq!(tick_label(-2.0), "-2");
        assert_eq!(tick_label(2.5e-5), "2.5e-5");
        assert_eq!(tick_label(1.0e7), "1e7");
        assert_eq!(tick_label(0.0), "0");
    }

    #[test]
    fn viridis_ends() {
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(1.0), RGBColor(253, 231, 37));
        assert_eq!(viridis(0.5), RGBColor(33, 145, 140));
    }
}
