//! Exact stationary TASEP samples for α + β > 1.
//!
//! In the representation D = 1 + d, E = 1 + e (d, e: shifts up and down on
//! heights h ≥ 0) with ⟨W| = Σ aʰ⟨h|, |V⟩ = Σ bʰ|h⟩, a = (1−α)/α,
//! b = (1−β)/β, the stationary weight of τ is a sum over height paths
//! h_0..h_M with non-negative weights a^{h_0} b^{h_M}: a particle (D) keeps the
//! height or raises it by one, a hole (E) keeps it or lowers it by one (not
//! below 0). ⟨W|V⟩ = 1/(1 − ab) is finite exactly when α + β > 1.
//!
//! Backward messages B_i(h) (the weight of all completions from site i at
//! height h) are computed once per (α, β, M) on heights 0..=H; a sample is
//! then drawn site by site from left to right. The cap H is raised until the
//! probability that a path of the capped measure touches H is below 1e-13;
//! that estimate of the neglected mass is reported.

use crate::sim::rng::Xoshiro256;

/// Largest message table (cells of f64) a sampler may allocate.
pub const MAX_CELLS: usize = 1 << 25;
/// Target bound on the mass of paths cut off by the height cap.
pub const TRUNCATION: f64 = 1e-13;

pub struct PathSampler {
    m: usize,
    cap: usize,
    /// B_i(h) for i = 0..=M, h = 0..=cap, each row scaled to max 1
    msgs: Vec<f64>,
    /// cumulative distribution of the initial height
    h0_cdf: Vec<f64>,
    /// estimated mass of paths cut off by the cap
    pub neglected: f64,
}

/// ln of the geometric weight r^h, with r = 0 giving 0^0 = 1.
fn ln_pow(ln_r: f64, h: usize) -> f64 {
    if h == 0 {
        0.0
    } else {
        h as f64 * ln_r
    }
}

/// out(h) = 2 x(h) + x(h+1) + x(h−1) on 0..=cap (zero outside), scaled to
/// max 1. The same stencil serves the backward messages and the forward
/// marginals (the step rule is symmetric). Written on slices so it vectorises.
fn stencil(x: &[f64], out: &mut [f64]) {
    let w = x.len();
    if w == 1 {
        out[0] = 2.0 * x[0];
    } else {
        out[0] = 2.0 * x[0] + x[1];
        out[w - 1] = 2.0 * x[w - 1] + x[w - 2];
        for ((o, c), (lo, hi)) in out[1..w - 1]
            .iter_mut()
            .zip(&x[1..w - 1])
            .zip(x[..w - 2].iter().zip(&x[2..]))
        {
            *o = 2.0 * c + lo + hi;
        }
    }
    let mx = out.iter().cloned().fold(0.0, f64::max);
    let inv = 1.0 / mx;
    for v in out.iter_mut() {
        *v *= inv;
    }
}

impl PathSampler {
    /// The cap a first attempt uses: the end heights' geometric tails plus
    /// eight standard deviations of the path's wandering.
    fn initial_cap(m: usize, a: f64, b: f64) -> usize {
        let tail = |r: f64| {
            if r < 1.0 {
                (1e-16f64.ln() / r.ln()).ceil().max(0.0)
            } else {
                m as f64
            }
        };
        (tail(a).min(m as f64 * 2.0) + tail(b).min(m as f64 * 2.0) + 8.0 * (m as f64).sqrt()).ceil()
            as usize
            + 4
    }

    /// A sampler for (α, β, M), or `None` when no such representation exists
    /// (α + β ≤ 1) or the message table would exceed `max_cells`.
    pub fn new(m: usize, alpha: f64, beta: f64, max_cells: usize) -> Option<PathSampler> {
        if alpha + beta <= 1.0 || m == 0 {
            return None;
        }
        let (a, b) = ((1.0 - alpha) / alpha, (1.0 - beta) / beta);
        let mut cap = Self::initial_cap(m, a, b);
        loop {
            if (m + 1) * (cap + 1) > max_cells {
                return None;
            }
            let s = Self::build(m, a, b, cap);
            if s.neglected <= TRUNCATION {
                return Some(s);
            }
            cap *= 2;
        }
    }

    fn build(m: usize, a: f64, b: f64, cap: usize) -> PathSampler {
        let w = cap + 1;
        let (ln_a, ln_b) = (a.ln(), b.ln());
        let mut msgs = vec![0.0f64; (m + 1) * w];
        // B_M(h) = b^h, scaled to max 1
        {
            let last = &mut msgs[m * w..];
            let lw: Vec<f64> = (0..w).map(|h| ln_pow(ln_b, h)).collect();
            let mx = lw.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            for (v, l) in last.iter_mut().zip(&lw) {
                *v = (l - mx).exp();
            }
        }
        for i in (0..m).rev() {
            let (head, tail) = msgs.split_at_mut((i + 1) * w);
            let next = &tail[..w];
            let cur = &mut head[i * w..];
            // B_i(h) = 2 B_{i+1}(h) + B_{i+1}(h+1) + B_{i+1}(h−1)
            stencil(next, &mut cur[..w]);
        }
        // initial heights ∝ a^h B_0(h)
        let lw: Vec<f64> = (0..w).map(|h| ln_pow(ln_a, h) + msgs[h].ln()).collect();
        let mx = lw.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let mut h0_cdf: Vec<f64> = lw.iter().map(|l| (l - mx).exp()).collect();
        let total: f64 = h0_cdf.iter().sum();
        let mut acc = 0.0;
        for v in h0_cdf.iter_mut() {
            acc += *v / total;
            *v = acc;
        }
        // forward marginals: probability mass at the cap, summed over sites
        let mut f: Vec<f64> = (0..w).map(|h| if h == 0 { 1.0 } else { 0.0 }).collect();
        for (h, v) in f.iter_mut().enumerate() {
            *v = (lw[h] - mx).exp() / msgs[h].max(f64::MIN_POSITIVE);
        }
        let mut touch = 0.0;
        let mut g = vec![0.0; w];
        for i in 0..=m {
            let row = &msgs[i * w..(i + 1) * w];
            let z: f64 = f.iter().zip(row).map(|(x, y)| x * y).sum();
            touch += f[cap] * row[cap] / z;
            if i == m {
                break;
            }
            stencil(&f, &mut g);
            std::mem::swap(&mut f, &mut g);
        }
        PathSampler {
            m,
            cap,
            msgs,
            h0_cdf,
            neglected: touch,
        }
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    /// One exact stationary configuration (occupations 0/1).
    pub fn sample(&self, rng: &mut Xoshiro256) -> Vec<i8> {
        let w = self.cap + 1;
        let u = rng.unit();
        let mut h = self.h0_cdf.partition_point(|&c| c < u).min(self.cap);
        let mut out = vec![0i8; self.m];
        for (i, tau) in out.iter_mut().enumerate() {
            let row = &self.msgs[(i + 1) * w..(i + 2) * w];
            let stay = row[h];
            let up = if h < self.cap { row[h + 1] } else { 0.0 };
            let down = if h > 0 { row[h - 1] } else { 0.0 };
            // particle: stay or up; hole: stay or down
            let total = 2.0 * stay + up + down;
            let x = rng.unit() * total;
            // cumulative: [stay, D] [up, D] [stay, E] [down, E]; rounding can
            // put x at the very end, so the last branch needs down > 0
            if x < stay {
                *tau = 1;
            } else if x < stay + up {
                *tau = 1;
                h += 1;
            } else if x < 2.0 * stay + up || down == 0.0 {
                *tau = 0;
            } else {
                *tau = 0;
                h -= 1;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exact::tasep::{stationary_by_generator, Tasep};
    use crate::sim::rng::chain_rng;

    #[test]
    fn configuration_frequencies_match_the_generator() {
        for &(a, b, m) in &[
            (0.8, 0.7, 4usize),
            (0.4, 0.9, 5),
            (0.95, 0.3, 4),
            (1.0, 1.0, 3),
        ] {
            let pi = stationary_by_generator(a, b, m);
            let s = PathSampler::new(m, a, b, MAX_CELLS).unwrap();
            let mut rng = Xoshiro256::from_rng(&mut chain_rng(3, m as u64));
            let n = 200_000;
            let mut counts = vec![0u64; 1 << m];
            for _ in 0..n {
                let c = s.sample(&mut rng);
                let idx = c
                    .iter()
                    .enumerate()
                    .map(|(i, &t)| (t as usize) << i)
                    .sum::<usize>();
                counts[idx] += 1;
            }
            for (k, &c) in counts.iter().enumerate() {
                let p = pi[k];
                let se = (p * (1.0 - p) / n as f64).sqrt().max(1e-9);
                let got = c as f64 / n as f64;
                assert!(
                    (got - p).abs() < 4.5 * se,
                    "α={a} β={b} M={m} state {k}: {got} vs {p} ({se})"
                );
            }
        }
    }

    #[test]
    fn truncation_is_negligible_and_current_is_right() {
        let (a, b, m) = (0.75, 0.8, 1024);
        let s = PathSampler::new(m, a, b, MAX_CELLS).unwrap();
        assert!(s.neglected <= TRUNCATION);
        let exact = Tasep::new(a, b, m);
        let mut rng = Xoshiro256::from_rng(&mut chain_rng(4, 0));
        let n = 400;
        let vals: Vec<f64> = (0..n)
            .map(|_| super::super::bond_current(&s.sample(&mut rng)))
            .collect();
        let mean = vals.iter().sum::<f64>() / n as f64;
        let sd = (vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
        let j = exact.current(m);
        assert!(
            (mean - j).abs() < 4.0 * sd / (n as f64).sqrt(),
            "{mean} vs {j}"
        );
    }

    #[test]
    fn no_representation_below_the_line() {
        assert!(PathSampler::new(10, 0.3, 0.6, MAX_CELLS).is_none());
        assert!(PathSampler::new(10, 0.5, 0.5, MAX_CELLS).is_none());
    }
}
