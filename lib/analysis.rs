//! Comparisons of reconstructed thermodynamic functions with references.
//! log Z from fit-icnn is fixed only up to an affine function of t, so every
//! comparison first aligns it by least squares over that affine term.

/// The result of aligning a function to a reference.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Alignment {
    /// the aligned values: scale·f + offset + slope·t
    pub aligned: Vec<f64>,
    pub offset: f64,
    pub slope: [f64; 2],
    /// 1 unless a scale was fitted too
    pub scale: f64,
    /// root mean square of aligned − reference
    pub rmse: f64,
    /// max − min of the reference
    pub range: f64,
}

/// Align `f` to `reference` at `points` by adding the least-squares affine
/// function a + b·t.
pub fn align_affine(points: &[[f64; 2]], f: &[f64], reference: &[f64]) -> Alignment {
    align(points, f, reference, false)
}

/// As [`align_affine`], also fitting a scale c (c·f + a + b·t): for
/// references known only up to normalisation, such as the TASEP free
/// energy per site of eq. 26 against a finite-size log Z.
pub fn align_affine_scaled(points: &[[f64; 2]], f: &[f64], reference: &[f64]) -> Alignment {
    align(points, f, reference, true)
}

fn align(points: &[[f64; 2]], f: &[f64], reference: &[f64], with_scale: bool) -> Alignment {
    assert_eq!(points.len(), f.len());
    assert_eq!(points.len(), reference.len());
    let n = points.len();
    // design columns, centred for conditioning: 1, t1, t2 (, f)
    let mean = |v: &dyn Fn(usize) -> f64| (0..n).map(v).sum::<f64>() / n as f64;
    let m1 = mean(&|i| points[i][0]);
    let m2 = mean(&|i| points[i][1]);
    let mf = mean(&|i| f[i]);
    let cols = if with_scale { 4 } else { 3 };
    let row = |i: usize| -> [f64; 4] { [1.0, points[i][0] - m1, points[i][1] - m2, f[i] - mf] };
    // without a fitted scale the target is reference − f
    let y = |i: usize| {
        if with_scale {
            reference[i]
        } else {
            reference[i] - f[i]
        }
    };
    let mut a = [[0.0f64; 4]; 4];
    let mut b = [0.0f64; 4];
    for i in 0..n {
        let r = row(i);
        for j in 0..cols {
            b[j] += r[j] * y(i);
            for k in 0..cols {
                a[j][k] += r[j] * r[k];
            }
        }
    }
    let x = solve(&mut a, &mut b, cols);
    let scale = if with_scale { x[3] } else { 1.0 };
    let aligned: Vec<f64> = (0..n)
        .map(|i| {
            let r = row(i);
            let fit: f64 = (0..cols).map(|j| r[j] * x[j]).sum();
            if with_scale {
                fit
            } else {
                f[i] + fit
            }
        })
        .collect();
    let rmse = (aligned
        .iter()
        .zip(reference)
        .map(|(a, r)| (a - r).powi(2))
        .sum::<f64>()
        / n.max(1) as f64)
        .sqrt();
    let (lo, hi) = reference
        .iter()
        .fold((f64::MAX, f64::MIN), |(l, h), &v| (l.min(v), h.max(v)));
    // back from centred columns: c·(f − mf) + x0 + x1 (t1 − m1) + x2 (t2 − m2)
    let offset = x[0] - x[1] * m1 - x[2] * m2 - if with_scale { scale * mf } else { 0.0 };
    Alignment {
        aligned,
        offset,
        slope: [x[1], x[2]],
        scale,
        rmse,
        range: hi - lo,
    }
}

/// Solve the symmetric system a·x = b of size `n` (Gaussian elimination with
/// partial pivoting); a singular direction gets 0.
fn solve(a: &mut [[f64; 4]; 4], b: &mut [f64; 4], n: usize) -> [f64; 4] {
    for c in 0..n {
        let p = (c..n)
            .max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))
            .unwrap();
        a.swap(c, p);
        b.swap(c, p);
        if a[c][c].abs() < 1e-300 {
            continue;
        }
        for r in c + 1..n {
            let k = a[r][c] / a[c][c];
            let pivot = a[c];
            for (x, p) in a[r][c..n].iter_mut().zip(&pivot[c..n]) {
                *x -= k * p;
            }
            b[r] -= k * b[c];
        }
    }
    let mut x = [0.0; 4];
    for c in (0..n).rev() {
        if a[c][c].abs() < 1e-300 {
            continue;
        }
        let s: f64 = (c + 1..n).map(|j| a[c][j] * x[j]).sum();
        x[c] = (b[c] - s) / a[c][c];
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points() -> Vec<[f64; 2]> {
        (0..10)
            .flat_map(|i| (0..7).map(move |j| [1.0 + 0.3 * i as f64, -2.0 + 0.5 * j as f64]))
            .collect()
    }

    #[test]
    fn an_affine_difference_aligns_to_zero_error() {
        let p = points();
        let reference: Vec<f64> = p
            .iter()
            .map(|t| (t[0] * t[1]).sin() + t[0] * t[0])
            .collect();
        let f: Vec<f64> = p
            .iter()
            .zip(&reference)
            .map(|(t, r)| r + 3.0 - 1.5 * t[0] + 0.25 * t[1])
            .collect();
        let a = align_affine(&p, &f, &reference);
        assert!(a.rmse < 1e-10, "rmse {}", a.rmse);
        assert!((a.offset + 3.0).abs() < 1e-9 && (a.slope[0] - 1.5).abs() < 1e-9);
        assert!((a.slope[1] + 0.25).abs() < 1e-9);
        // a non-affine difference is left over
        let g: Vec<f64> = f.iter().zip(&p).map(|(v, t)| v + t[0] * t[1]).collect();
        assert!(align_affine(&p, &g, &reference).rmse > 0.1);
    }

    #[test]
    fn a_scaled_copy_aligns_with_its_scale() {
        let p = points();
        let reference: Vec<f64> = p
            .iter()
            .map(|t| (t[0] - 2.0).abs().min(1.0) + t[1] * t[1])
            .collect();
        let f: Vec<f64> = p
            .iter()
            .zip(&reference)
            .map(|(t, r)| 40.0 * r + 7.0 + 2.0 * t[0])
            .collect();
        let a = align_affine_scaled(&p, &f, &reference);
        assert!(a.rmse < 1e-10, "rmse {}", a.rmse);
        assert!((a.scale - 1.0 / 40.0).abs() < 1e-12);
        for (x, r) in a.aligned.iter().zip(&reference) {
            assert!((x - r).abs() < 1e-9);
        }
    }
}
