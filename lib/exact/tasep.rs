//! Exact results for the open-boundary TASEP (Derrida, Evans, Hakim, Pasquier
//! 1993): particles enter site 1 at rate α, hop right at rate 1, leave site M
//! at rate β. The stationary weight of a configuration τ is
//! ⟨W| Π_i (τ_i D + (1 − τ_i) E) |V⟩ with DE = D + E, D|V⟩ = β⁻¹|V⟩,
//! ⟨W|E = α⁻¹⟨W|, ⟨W|V⟩ = 1. Everything is computed in log space, so large M
//! and small rates do not overflow.

/// ln k! for k = 0..n (cumulative sums of ln k).
fn ln_factorials(n: usize) -> Vec<f64> {
    let mut v = vec![0.0; n + 1];
    for k in 1..=n {
        v[k] = v[k - 1] + (k as f64).ln();
    }
    v
}

/// ln Σ exp(x_i) of finite terms (−∞ terms allowed).
fn log_sum_exp(terms: impl IntoIterator<Item = f64>) -> f64 {
    let v: Vec<f64> = terms.into_iter().collect();
    let m = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// ln Σ_{k=0}^{p} x^k y^{p−k}  (= ln[(x^{p+1} − y^{p+1})/(x − y)]), x, y > 0.
fn ln_complete_sum(ln_x: f64, ln_y: f64, p: usize) -> f64 {
    let (hi, lo) = if ln_x >= ln_y {
        (ln_x, ln_y)
    } else {
        (ln_y, ln_x)
    };
    let r = (lo - hi).exp(); // ≤ 1
    let n = (p + 1) as f64;
    let ln_series = if r > 1.0 - 1e-12 {
        n.ln() // r = 1: p + 1 equal terms
    } else {
        // (1 − r^{p+1})/(1 − r)
        (-(n * (lo - hi)).exp_m1()).ln() - (-(lo - hi).exp_m1()).ln()
    };
    p as f64 * hi + ln_series
}

/// The exact stationary state of one (α, β) for all sizes up to `m_max`.
pub struct Tasep {
    pub alpha: f64,
    pub beta: f64,
    ln_fact: Vec<f64>,
    /// ln Z_n for n = 0..=m_max
    pub ln_z: Vec<f64>,
}

impl Tasep {
    pub fn new(alpha: f64, beta: f64, m_max: usize) -> Tasep {
        assert!(alpha > 0.0 && beta > 0.0, "rates must be positive");
        let ln_fact = ln_factorials(2 * m_max + 2);
        let (ln_x, ln_y) = (-beta.ln(), -alpha.ln()); // x = 1/β, y = 1/α
                                                      // ln p + ln Σ_{k=0}^{p} x^k y^{p−k}, shared by every n
        let ln_p_part: Vec<f64> = (0..=m_max)
            .map(|p| {
                if p == 0 {
                    f64::NEG_INFINITY
                } else {
                    (p as f64).ln() + ln_complete_sum(ln_x, ln_y, p)
                }
            })
            .collect();
        let mut ln_z = vec![0.0; m_max + 1];
        let mut terms = vec![0.0; m_max + 1];
        for (n, slot) in ln_z.iter_mut().enumerate().skip(1) {
            // Z_n = Σ_{p=1}^{n} p (2n−1−p)! / (n! (n−p)!) · Σ_{k=0}^{p} x^k y^{p−k}
            let t = &mut terms[1..=n];
            for (k, v) in t.iter_mut().enumerate() {
                let p = k + 1;
                *v = ln_p_part[p] + ln_fact[2 * n - 1 - p] - ln_fact[n - p];
            }
            let max = t.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            // terms below e^-45 of the largest cannot change a double
            let sum: f64 = t
                .iter()
                .filter(|&&v| v > max - 45.0)
                .map(|v| (v - max).exp())
                .sum();
            *slot = max + sum.ln() - ln_fact[n];
        }
        Tasep {
            alpha,
            beta,
            ln_fact,
            ln_z,
        }
    }

    /// Stationary current J_M = Z_{M−1}/Z_M.
    pub fn current(&self, m: usize) -> f64 {
        (self.ln_z[m - 1] - self.ln_z[m]).exp()
    }

    fn ln_catalan(&self, k: usize) -> f64 {
        self.ln_fact[2 * k] - self.ln_fact[k] - self.ln_fact[k + 1]
    }

    /// ⟨τ_i⟩ for site i in 1..=M:
    /// Σ_{k=0}^{n−1} C_k Z_{M−1−k}/Z_M + (Z_{i−1}/Z_M) Σ_{k=2}^{n+1} (k−1)(2n−k)!/(n!(n+1−k)!) β^{−k},
    /// n = M − i; for i = M it is Z_{M−1}/(β Z_M).
    pub fn density_at(&self, m: usize, i: usize) -> f64 {
        assert!((1..=m).contains(&i));
        let n = m - i;
        let ln_x = -self.beta.ln();
        if n == 0 {
            return (self.ln_z[m - 1] - self.ln_z[m] + ln_x).exp();
        }
        let first =
            log_sum_exp((0..n).map(|k| self.ln_catalan(k) + self.ln_z[m - 1 - k] - self.ln_z[m]));
        let second = log_sum_exp((2..=n + 1).map(|k| {
            ((k - 1) as f64).ln() + self.ln_fact[2 * n - k]
                - self.ln_fact[n]
                - self.ln_fact[n + 1 - k]
                + k as f64 * ln_x
        })) + self.ln_z[i - 1]
            - self.ln_z[m];
        first.exp() + second.exp()
    }

    /// The whole density profile ⟨τ_1⟩..⟨τ_M⟩ (O(M²)).
    pub fn density_profile(&self, m: usize) -> Vec<f64> {
        (1..=m).map(|i| self.density_at(m, i)).collect()
    }

    /// Mean density (1/M) Σ_i ⟨τ_i⟩.
    pub fn mean_density(&self, m: usize) -> f64 {
        self.density_profile(m).iter().sum::<f64>() / m as f64
    }
}

/// ln Z_n for one n in O(n) (the same sum as [`Tasep::new`] without the table).
pub fn ln_z_single(alpha: f64, beta: f64, n: usize) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let (ln_x, ln_y) = (-beta.ln(), -alpha.ln());
    // ln[(2n−1−p)!/(n−p)!] updated incrementally as p grows
    let mut ln_ratio: f64 = (n..=2 * n - 2).map(|k| (k as f64).ln()).sum(); // p = 1: (2n−2)!/(n−1)!
    let mut terms = Vec::with_capacity(n);
    for p in 1..=n {
        if p > 1 {
            // (2n−1−p)!/(n−p)! from (2n−p)!/(n−p+1)!: divide by (2n−p), multiply by (n−p+1)
            ln_ratio += ((n - p + 1) as f64).ln() - ((2 * n - p) as f64).ln();
        }
        terms.push((p as f64).ln() + ln_ratio + ln_complete_sum(ln_x, ln_y, p));
    }
    let ln_n_fact: f64 = (1..=n).map(|k| (k as f64).ln()).sum();
    log_sum_exp(terms) - ln_n_fact
}

/// Exact current J_M = Z_{M−1}/Z_M in O(M).
pub fn current_single(alpha: f64, beta: f64, m: usize) -> f64 {
    (ln_z_single(alpha, beta, m - 1) - ln_z_single(alpha, beta, m)).exp()
}

/// The thermodynamic-limit current (the BTI paper's eq. 26 "free energy"):
/// 1/4 in the maximal-current phase, α(1 − α) in the low-density phase
/// (α < β, α < 1/2), β(1 − β) in the high-density phase.
pub fn current_limit(alpha: f64, beta: f64) -> f64 {
    if alpha >= 0.5 && beta >= 0.5 {
        0.25
    } else if alpha < beta {
        alpha * (1.0 - alpha)
    } else {
        beta * (1.0 - beta)
    }
}

/// A potential of the thermodynamic-limit Fisher metric per site, the
/// function a perfect BTI free energy approaches up to scale and affine
/// terms: φ(min(α, β, 1/2)) with φ(x) = x ln x + (1 − x) ln(1 − x). The bulk
/// is Bernoulli(α) in the low-density phase (Fisher information
/// 1/(α(1 − α)) = φ''(α)), Bernoulli(1 − β) in the high-density phase, and
/// density 1/2 whatever the rates in the maximal-current phase; the kink on
/// α = β < 1/2 is the first-order line. Convex: φ is convex and decreasing
/// on [0, 1/2], so this is the larger of two convex functions.
pub fn fisher_potential_limit(alpha: f64, beta: f64) -> f64 {
    let x = alpha.min(beta).min(0.5);
    if x <= 0.0 {
        return 0.0;
    }
    x * x.ln() + (1.0 - x) * (1.0 - x).ln()
}

/// The thermodynamic-limit bulk density: 1/2, α (low density) or 1 − β (high density).
pub fn density_limit(alpha: f64, beta: f64) -> f64 {
    if alpha >= 0.5 && beta >= 0.5 {
        0.5
    } else if alpha < beta {
        alpha
    } else {
        1.0 - beta
    }
}

/// Which phase (α, β) is in for M → ∞.
pub fn phase(alpha: f64, beta: f64) -> &'static str {
    if alpha >= 0.5 && beta >= 0.5 {
        "maximal current"
    } else if alpha < beta {
        "low density"
    } else if beta < alpha {
        "high density"
    } else {
        "coexistence (shock)"
    }
}

/// Brute force for tiny M: the stationary distribution of the full 2^M-state
/// generator, solved by Gaussian elimination. Index bit i−1 is τ_i.
pub fn stationary_by_generator(alpha: f64, beta: f64, m: usize) -> Vec<f64> {
    assert!(m <= 10);
    let n = 1usize << m;
    // Q[s][t] = rate s → t; solve π Q = 0, Σ π = 1 (replace one equation)
    let mut a = vec![vec![0.0f64; n + 1]; n];
    for s in 0..n {
        let mut out = 0.0;
        let mut add = |t: usize, r: f64, a: &mut Vec<Vec<f64>>| {
            a[t][s] += r; // column s of Qᵀ
            out += r;
        };
        if s & 1 == 0 {
            add(s | 1, alpha, &mut a);
        }
        for i in 0..m - 1 {
            if s >> i & 1 == 1 && s >> (i + 1) & 1 == 0 {
                add(s ^ (1 << i) ^ (1 << (i + 1)), 1.0, &mut a);
            }
        }
        if s >> (m - 1) & 1 == 1 {
            add(s ^ (1 << (m - 1)), beta, &mut a);
        }
        a[s][s] -= out;
    }
    // the last balance equation is implied by the others: use Σ π = 1 instead
    a[n - 1].iter_mut().for_each(|v| *v = 1.0);
    // Gaussian elimination with partial pivoting on the augmented system
    for col in 0..n {
        let piv = (col..n)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap();
        a.swap(col, piv);
        let p = a[col][col];
        a[col][col..].iter_mut().for_each(|v| *v /= p);
        let pivot_row = a[col].clone();
        for (r, row) in a.iter_mut().enumerate() {
            if r != col && row[col] != 0.0 {
                let f = row[col];
                for (v, pv) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                    *v -= f * pv;
                }
            }
        }
    }
    (0..n).map(|s| a[s][n]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ⟨W|word|V⟩ by normal ordering (DE → D + E) for tiny words; true = D.
    fn word_weight(word: &[bool], x: f64, y: f64) -> f64 {
        if let Some(p) = word.windows(2).position(|w| w[0] && !w[1]) {
            let mut d = word.to_vec();
            d.remove(p + 1); // DE → D
            let mut e = word.to_vec();
            e.remove(p); // DE → E
            return word_weight(&d, x, y) + word_weight(&e, x, y);
        }
        // E^a D^b
        let a = word.iter().filter(|&&c| !c).count() as i32;
        let b = word.len() as i32 - a;
        y.powi(a) * x.powi(b)
    }

    const RATES: [(f64, f64); 6] = [
        (0.3, 0.7),
        (0.7, 0.3),
        (0.8, 0.9),
        (0.2, 0.25),
        (0.4, 0.6),
        (0.5, 0.5),
    ];

    #[test]
    fn partition_function_matches_normal_ordering() {
        for &(a, b) in &RATES {
            let t = Tasep::new(a, b, 8);
            for m in 1..=8 {
                let z: f64 = (0..1u32 << m)
                    .map(|s| {
                        let w: Vec<bool> = (0..m).map(|i| s >> i & 1 == 1).collect();
                        word_weight(&w, 1.0 / b, 1.0 / a)
                    })
                    .sum();
                assert!((t.ln_z[m] - z.ln()).abs() < 1e-12, "α={a} β={b} M={m}");
            }
        }
    }

    #[test]
    fn matrix_product_is_the_generators_stationary_state() {
        for &(a, b) in &RATES {
            for m in 1..=8 {
                let pi = stationary_by_generator(a, b, m);
                let t = Tasep::new(a, b, m);
                let z = t.ln_z[m].exp();
                for (s, &p) in pi.iter().enumerate() {
                    let w: Vec<bool> = (0..m).map(|i| s >> i & 1 == 1).collect();
                    let mp = word_weight(&w, 1.0 / b, 1.0 / a) / z;
                    assert!(
                        (mp - p).abs() < 1e-10,
                        "α={a} β={b} M={m} state {s}: {mp} vs {p}"
                    );
                }
                // current and profile
                let j_gen: f64 = pi
                    .iter()
                    .enumerate()
                    .filter(|(s, _)| s & 1 == 0)
                    .map(|(_, p)| a * p)
                    .sum();
                assert!((t.current(m) - j_gen).abs() < 1e-10);
                for i in 1..=m {
                    let rho: f64 = pi
                        .iter()
                        .enumerate()
                        .filter(|(s, _)| s >> (i - 1) & 1 == 1)
                        .map(|(_, p)| p)
                        .sum();
                    assert!(
                        (t.density_at(m, i) - rho).abs() < 1e-10,
                        "α={a} β={b} M={m} i={i}"
                    );
                }
            }
        }
    }

    #[test]
    fn single_size_partition_function_agrees_with_the_table() {
        for &(a, b) in &RATES {
            let t = Tasep::new(a, b, 300);
            for n in [1usize, 2, 3, 17, 300] {
                assert!(
                    (ln_z_single(a, b, n) - t.ln_z[n]).abs() < 1e-10 * (1.0 + t.ln_z[n].abs()),
                    "α={a} β={b} n={n}"
                );
            }
            assert!((current_single(a, b, 300) - t.current(300)).abs() < 1e-12);
        }
    }

    #[test]
    fn product_measure_on_alpha_plus_beta_one() {
        let t = Tasep::new(0.35, 0.65, 500);
        for &i in &[1usize, 17, 250, 499, 500] {
            assert!((t.density_at(500, i) - 0.35).abs() < 1e-9);
        }
        assert!((t.current(500) - 0.35 * 0.65).abs() < 1e-12);
    }

    #[test]
    fn large_systems_approach_the_phase_diagram() {
        for &(a, b) in &[(0.2, 0.6), (0.7, 0.3), (0.8, 0.9), (0.05, 0.9)] {
            let m = 16384;
            let t = Tasep::new(a, b, m);
            let j = t.current(m);
            assert!(
                j.is_finite() && (j - current_limit(a, b)).abs() < 2e-3,
                "α={a} β={b}: J={j}"
            );
            let mid = t.density_at(m, m / 2);
            assert!(
                (mid - density_limit(a, b)).abs() < 2e-2,
                "α={a} β={b}: ρ={mid}"
            );
        }
    }
    /// The potential's gradient is the bulk's Bernoulli natural parameter,
    /// read here from the exact matrix-product density mid-lattice; its
    /// Hessian is the Bernoulli Fisher information 1/(ρ(1 − ρ)); the shock
    /// line is a convex kink.
    #[test]
    fn fisher_potential_is_the_bulk_bernoulli_one() {
        let (m, d) = (16384, 1e-5);
        let logit = |r: f64| (r / (1.0 - r)).ln();
        let f = fisher_potential_limit;
        for &(a, b) in &[(0.2, 0.6), (0.35, 0.9), (0.7, 0.3), (0.9, 0.15), (0.8, 0.7)] {
            let rho = Tasep::new(a, b, m).density_at(m, m / 2);
            let ga = (f(a + d, b) - f(a - d, b)) / (2.0 * d);
            let gb = (f(a, b + d) - f(a, b - d)) / (2.0 * d);
            // low density: ∂_α φ = logit ρ; high density: ∂_β φ = −logit ρ
            let natural = if a < b { ga - gb } else { gb - ga };
            let expected = if a < b { logit(rho) } else { -logit(rho) };
            assert!(
                (natural - expected).abs() < 0.05,
                "α={a} β={b}: {natural} vs {expected}"
            );
            let x = a.min(b).min(0.5);
            let haa = (f(a + 1e-3, b) - 2.0 * f(a, b) + f(a - 1e-3, b)) / 1e-6;
            let hbb = (f(a, b + 1e-3) - 2.0 * f(a, b) + f(a, b - 1e-3)) / 1e-6;
            let want = if x < 0.5 { 1.0 / (x * (1.0 - x)) } else { 0.0 };
            assert!(
                (haa + hbb - want).abs() < 1e-3 * want.max(1.0),
                "α={a} β={b}: {haa} + {hbb}"
            );
        }
        // across α = β < 1/2 the midpoint lies below the chord
        let (p, q) = ((0.2, 0.3), (0.3, 0.2));
        assert!(f(0.25, 0.25) < 0.5 * (f(p.0, p.1) + f(q.0, q.1)) - 1e-3);
    }
}
