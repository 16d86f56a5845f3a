//! What the free-energy stage gives for perfect posteriors, along one axis.
//!
//! BTI's eq. 19 family, P_w(t | t') ∝ exp[∇log Z(t')·t − log Z(t)], is
//! centred on the bundle's centre t' by construction, and fit-icnn fits it
//! in Jensen–Shannon divergence to each bundle's posterior. A perfect
//! posterior network does not centre its posteriors on t': trained on
//! targets blurred by s² (the grid's floor, σ_T² = (σ·ΔT)² + cell²/12), it
//! gives the Bayes posterior blurred by s², of variance a + s² (a = 1/G, G
//! the Fisher information of a bundle), about a mean that scatters about t'
//! with variance a. Locally Gaussian, the fitted family's variance v then
//! minimises E_δ JSD(N(δ, a + s²) ‖ N(0, v)) over δ ~ N(0, a), and the
//! fitted metric is 1/v: the fraction f(a/s²) of the resolved 1/(a + s²)
//! computed here. f → 1 where posteriors are narrower than the floor
//! (a ≪ s²: the peak of G near T_c) and falls to about 0.66 where they are
//! wider (a ≫ s²), so even exact posteriors give the fitted G_TT a
//! T-dependent shape against 1/(1/G + s²) alone. Along the other axis the
//! fraction barely moves (checked in two dimensions: at a_T = 7 s_T²,
//! f_T is 0.666 with a_h = 0 and 0.661 with a_h = s_h²/2), so each axis is
//! treated on its own.

use std::sync::OnceLock;

/// ln(a/s²) at the table's ends; beyond them f is held at the end values
/// (f(e^−8) = 1 to 2e-4, and f changes by 0.15% between e^5 and e^6, where
/// it levels off near 0.655).
const LOG_R_MIN: f64 = -8.0;
const LOG_R_MAX: f64 = 6.0;
const TABLE: usize = 113;

/// The fraction f(a/s²) of the resolved metric 1/(a + s²) that eq. 19's
/// family recovers from perfect posteriors (see the module doc), for
/// posterior variance `a` and blur `s2`.
pub fn fraction(a: f64, s2: f64) -> f64 {
    let r = a / s2;
    if r.is_nan() || r <= 0.0 {
        // posteriors no wider than the floor (an infinite metric)
        return 1.0;
    }
    let table = TABLE_VALUES.get_or_init(|| {
        (0..TABLE)
            .map(|i| fit_fraction(log_r_at(i).exp(), Divergence::JensenShannon))
            .collect()
    });
    let x = (r.ln() - LOG_R_MIN) / (LOG_R_MAX - LOG_R_MIN) * (TABLE - 1) as f64;
    let x = x.clamp(0.0, (TABLE - 1) as f64);
    let (i, w) = (x.floor() as usize, x - x.floor());
    let j = (i + 1).min(TABLE - 1);
    (1.0 - w) * table[i] + w * table[j]
}

static TABLE_VALUES: OnceLock<Vec<f64>> = OnceLock::new();

fn log_r_at(i: usize) -> f64 {
    LOG_R_MIN + (LOG_R_MAX - LOG_R_MIN) * i as f64 / (TABLE - 1) as f64
}

#[derive(Clone, Copy)]
enum Divergence {
    JensenShannon,
    /// KL(q ‖ p), whose optimum has a closed form (v = 2a + s²): the test
    /// of the numerics
    #[cfg(test)]
    Kl,
}

/// In units of s² = 1: minimise the mean divergence over ln v by golden
/// section and return (a + 1)/v.
fn fit_fraction(r: f64, div: Divergence) -> f64 {
    let (lo, hi) = ((r + 1.0).ln() - 2.0, (2.0 * r + 1.0).ln() + 2.0);
    let f = |lv: f64| mean_divergence(r, lv.exp(), div);
    let g = 0.5 * (5f64.sqrt() - 1.0);
    let (mut a, mut b) = (lo, hi);
    let (mut c, mut d) = (b - g * (b - a), a + g * (b - a));
    let (mut fc, mut fd) = (f(c), f(d));
    while b - a > 1e-5 {
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - g * (b - a);
            fc = f(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + g * (b - a);
            fd = f(d);
        }
    }
    (r + 1.0) / (0.5 * (a + b)).exp()
}

/// E over δ ~ N(0, r) of D(N(δ, r + 1), N(0, v)), by quadrature on a grid
/// wide enough for the widest of them.
fn mean_divergence(r: f64, v: f64, div: Divergence) -> f64 {
    const X: usize = 801;
    const D: usize = 41;
    let q_var = r + 1.0;
    let half = 9.0 * (q_var.max(v)).sqrt() + 6.0 * r.sqrt();
    let dx = 2.0 * half / (X - 1) as f64;
    let xs: Vec<f64> = (0..X).map(|i| -half + dx * i as f64).collect();
    // the family's density, the same for every δ
    let p: Vec<(f64, f64)> = xs
        .iter()
        .map(|x| {
            let lp = log_normal(*x, 0.0, v);
            (lp, lp.exp())
        })
        .collect();
    // δ on ±6 standard deviations, Gaussian weights normalised to 1
    let deltas: Vec<(f64, f64)> = (0..D)
        .map(|k| {
            let z = -6.0 + 12.0 * k as f64 / (D - 1) as f64;
            (z * r.sqrt(), (-0.5 * z * z).exp())
        })
        .collect();
    let norm: f64 = deltas.iter().map(|(_, w)| w).sum();
    let mut total = 0.0;
    for &(delta, w) in &deltas {
        let mut sum = 0.0;
        for (x, &(lp, p)) in xs.iter().zip(&p) {
            let lq = log_normal(*x, delta, q_var);
            let q = lq.exp();
            sum += match div {
                Divergence::JensenShannon => {
                    let lm = (0.5 * (p + q)).ln();
                    let kq = if q > 0.0 { q * (lq - lm) } else { 0.0 };
                    let kp = if p > 0.0 { p * (lp - lm) } else { 0.0 };
                    0.5 * (kq + kp)
                }
                #[cfg(test)]
                Divergence::Kl => q * (lq - lp),
            };
        }
        total += w * sum * dx;
    }
    total / norm
}

fn log_normal(x: f64, mean: f64, var: f64) -> f64 {
    -0.5 * (x - mean).powi(2) / var - 0.5 * (2.0 * std::f64::consts::PI * var).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The quadrature and the search, on the divergence whose optimum is
    /// known: KL(q ‖ p) averaged over the scatter is minimised at
    /// v = E[(x)²] under q = 2a + s², so the fraction is (a + 1)/(2a + 1).
    #[test]
    fn the_search_finds_the_kl_optimum_in_closed_form() {
        for r in [0.01, 0.3, 1.0, 7.0, 50.0] {
            let got = fit_fraction(r, Divergence::Kl);
            let want = (r + 1.0) / (2.0 * r + 1.0);
            assert!((got - want).abs() < 1e-4, "r {r}: {got} vs {want}");
        }
    }

    /// JSD's optimum, against an independent computation (scipy's bounded
    /// scalar minimiser over the same divergence, Gauss–Hermite over δ, on
    /// a uniform grid of 4801 points): f(0.1) 0.956, f(1) 0.793, f(7) 0.682.
    /// It lies above KL's (JSD forgives a shifted tail), tends to 1 as
    /// a/s² → 0 and falls monotonically as posteriors widen past the floor.
    #[test]
    fn the_jsd_fraction_matches_an_independent_computation() {
        for (r, want) in [(0.1, 0.956), (1.0, 0.793), (7.0, 0.682)] {
            let got = fraction(r, 1.0);
            assert!((got - want).abs() < 0.004, "r {r}: {got} vs {want}");
            assert!(got > (r + 1.0) / (2.0 * r + 1.0));
        }
        assert!((fraction(1e-6, 1.0) - 1.0).abs() < 1e-3);
        // the table's ends: f has levelled off by a = e^5 s²
        let (f5, f6) = (fraction(5f64.exp(), 1.0), fraction(6f64.exp(), 1.0));
        assert!((f5 - f6).abs() < 0.002 && f6 > 0.6, "{f5} {f6}");
        // scale-free: only a/s² matters
        assert!((fraction(0.02, 0.01) - fraction(2.0, 1.0)).abs() < 1e-12);
        let f: Vec<f64> = (0..TABLE)
            .map(|i| fraction(log_r_at(i).exp(), 1.0))
            .collect();
        assert!(f.windows(2).all(|w| w[1] <= w[0] + 1e-9), "{f:?}");
    }
}
