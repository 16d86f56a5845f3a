//! A closed-form two-parameter exponential family, for checking fit-icnn
//! against a known convex log Z: n independent pairs of spins s1, s2 = ±1
//! with P(s | t) ∝ exp[t1 (s1 + s2) + t2 s1 s2], so
//! log Z(t) = n · ln(2 e^{t2} cosh 2t1 + 2 e^{−t2}).

use crate::meta::Grid;

#[derive(Clone, Copy, Debug)]
pub struct SpinPairs {
    /// number of independent pairs (sharpens the posteriors)
    pub n: f64,
}

impl SpinPairs {
    /// (log Z, ∇log Z, Hessian) at t, in closed form (stable for large |t|).
    pub fn jet(&self, t: [f64; 2]) -> (f64, [f64; 2], [[f64; 2]; 2]) {
        // the four states' exponents: ++ 2t1+t2, −− −2t1+t2, +− and −+ −t2
        let e = [2.0 * t[0] + t[1], -2.0 * t[0] + t[1], -t[1], -t[1]];
        // sufficient statistics (s1 + s2, s1 s2) of each state
        let f = [[2.0, 1.0], [-2.0, 1.0], [0.0, -1.0], [0.0, -1.0]];
        let mx = e.iter().cloned().fold(f64::MIN, f64::max);
        let w: Vec<f64> = e.iter().map(|v| (v - mx).exp()).collect();
        let z: f64 = w.iter().sum();
        let p: Vec<f64> = w.iter().map(|v| v / z).collect();
        let mut mean = [0.0; 2];
        let mut second = [[0.0; 2]; 2];
        for k in 0..4 {
            for a in 0..2 {
                mean[a] += p[k] * f[k][a];
                for b in 0..2 {
                    second[a][b] += p[k] * f[k][a] * f[k][b];
                }
            }
        }
        let n = self.n;
        let cov = [0, 1].map(|a| [0, 1].map(|b| n * (second[a][b] - mean[a] * mean[b])));
        (n * (mx + z.ln()), mean.map(|m| n * m), cov)
    }

    pub fn log_z(&self, t: [f64; 2]) -> f64 {
        self.jet(t).0
    }

    /// The posterior of eq. 19 on `grid` for a bundle at `centre`:
    /// ∝ exp[∇log Z(centre)·t − log Z(t)], row-major, summing to 1.
    pub fn posterior(&self, grid: &Grid, centre: [f64; 2]) -> Vec<f64> {
        let g = self.jet(centre).1;
        let [gh, gw] = grid.shape;
        let logits: Vec<f64> = (0..gh)
            .flat_map(|r| (0..gw).map(move |c| (r, c)))
            .map(|(r, c)| {
                let t = [grid.coord(0, r), grid.coord(1, c)];
                g[0] * t[0] + g[1] * t[1] - self.log_z(t)
            })
            .collect();
        let mx = logits.iter().cloned().fold(f64::MIN, f64::max);
        let w: Vec<f64> = logits.iter().map(|l| (l - mx).exp()).collect();
        let z: f64 = w.iter().sum();
        w.into_iter().map(|v| v / z).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jet_matches_finite_differences_of_log_z() {
        let f = SpinPairs { n: 3.0 };
        let h = 1e-5;
        for t in [[0.3, -0.2], [-1.1, 0.7], [2.0, 1.5]] {
            let (_, g, hess) = f.jet(t);
            for a in 0..2 {
                let mut tp = t;
                let mut tm = t;
                tp[a] += h;
                tm[a] -= h;
                let fd = (f.log_z(tp) - f.log_z(tm)) / (2.0 * h);
                assert!(
                    (fd - g[a]).abs() < 1e-6,
                    "grad {a} at {t:?}: {fd} vs {}",
                    g[a]
                );
                let (gp, gm) = (f.jet(tp).1, f.jet(tm).1);
                for b in 0..2 {
                    let fd2 = (gp[b] - gm[b]) / (2.0 * h);
                    assert!((fd2 - hess[a][b]).abs() < 1e-6);
                }
            }
            // closed form
            let direct = 3.0 * (2.0 * t[1].exp() * (2.0 * t[0]).cosh() + 2.0 * (-t[1]).exp()).ln();
            assert!((f.log_z(t) - direct).abs() < 1e-12);
        }
    }
}
