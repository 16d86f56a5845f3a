//! Exact results for the 2D Ising model on periodic lattices,
//! E = −J Σ⟨ij⟩ s_i s_j − h Σ_i s_i.
//!
//! * [`kaufman`]: Kaufman's (1949) closed form of the finite m×n periodic
//!   lattice at h = 0, evaluated in log space with analytic derivatives in
//!   K = J/T, so it handles L = 256 and low T without overflow.
//! * [`transfer`]: a site-by-site transfer matrix with a field for L ≤ 10,
//!   tracking the magnetization distribution and energy moments exactly.
//! * [`brute_force`]: enumeration of all 2^N states, the reference for both.

use rayon::prelude::*;

use super::jet::Jet;

/// Thermodynamics per site at h = 0.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ZeroField {
    pub ln_z: f64,
    /// ⟨E⟩/N
    pub energy: f64,
    /// (⟨E²⟩ − ⟨E⟩²)/(N T²)
    pub heat_capacity: f64,
    /// −T ln Z / N
    pub free_energy: f64,
    /// (⟨E⟩ − F)/(N T)
    pub entropy: f64,
}

/// Kaufman's exact solution for an m×n periodic lattice (m rows, n columns) at h = 0.
pub fn kaufman(m: usize, n: usize, t: f64, j: f64) -> ZeroField {
    assert!(m >= 1 && n >= 1 && t > 0.0 && j > 0.0);
    let k = Jet::variable(j / t);
    let big_n = (m * n) as f64;
    let two_k = k.scale(2.0);
    // c_l = cosh 2K coth 2K − cos(lπ/n); γ_l = acosh c_l (l ≥ 1); γ_0 = 2K + ln tanh K
    let base = two_k.cosh() * two_k.cosh() / two_k.sinh();
    let gamma = |l: usize| -> Jet {
        if l == 0 {
            two_k + k.tanh().ln()
        } else {
            (base - (std::f64::consts::PI * l as f64 / n as f64).cos()).acosh()
        }
    };
    let half_m = m as f64 / 2.0;
    // Z1 = Π 2cosh(mγ_odd/2), Z2 = Π 2sinh(mγ_odd/2); Z3, Z4 likewise with even l.
    // Z2/Z1 and Z4/Z3 are products of tanh, finite and smooth even where γ_0 = 0.
    let (mut ln_z1, mut ln_z3) = (Jet::constant(0.0), Jet::constant(0.0));
    let (mut p1, mut p3) = (Jet::constant(1.0), Jet::constant(1.0));
    for r in 0..n {
        let g_odd = gamma(2 * r + 1).scale(half_m);
        let g_even = gamma(2 * r).scale(half_m);
        ln_z1 = ln_z1 + g_odd.ln_2cosh();
        ln_z3 = ln_z3 + g_even.ln_2cosh();
        p1 = p1 * g_odd.tanh();
        p3 = p3 * g_even.tanh();
    }
    let mx = ln_z1.v.max(ln_z3.v);
    let sum = (ln_z1 - mx).exp() * (p1 + 1.0) + (ln_z3 - mx).exp() * (p3 + 1.0);
    let ln_z = Jet::constant(0.5f64.ln())
        + two_k.sinh().scale(2.0).ln().scale(big_n / 2.0)
        + sum.ln()
        + mx;
    // K = J/T: ⟨E⟩ = −J d lnZ/dK; C = K² d² lnZ/dK² (per site after /N)
    let energy = -j * ln_z.d1 / big_n;
    let heat_capacity = k.v * k.v * ln_z.d2 / big_n;
    let free_energy = -t * ln_z.v / big_n;
    ZeroField {
        ln_z: ln_z.v,
        energy,
        heat_capacity,
        free_energy,
        entropy: (energy - free_energy) / t,
    }
}

/// Exact thermodynamics with a field.
#[derive(Clone, Debug, PartialEq)]
pub struct WithField {
    pub ln_z: f64,
    /// ⟨E⟩/N
    pub energy: f64,
    /// (⟨E²⟩ − ⟨E⟩²)/(N T²)
    pub heat_capacity: f64,
    /// ⟨M⟩/N
    pub magnetization: f64,
    /// ⟨|M|⟩/N
    pub abs_magnetization: f64,
    /// ⟨M²⟩/N²
    pub magnetization_sq: f64,
    /// (⟨E·M⟩ − ⟨E⟩⟨M⟩)/N, E the total energy (the Fisher metric's cross term)
    pub energy_magnetization_cov: f64,
}

fn summarise(
    n_sites: usize,
    t: f64,
    ln_scale: f64,
    w: &[f64],
    we: &[f64],
    we2: &[f64],
) -> WithField {
    // w, we, we2 indexed by (M + N)/2
    let n = n_sites as f64;
    let z: f64 = w.iter().sum();
    let e1: f64 = we.iter().sum::<f64>() / z;
    let e2: f64 = we2.iter().sum::<f64>() / z;
    let (mut m1, mut ma, mut m2, mut em) = (0.0, 0.0, 0.0, 0.0);
    for (i, &p) in w.iter().enumerate() {
        let mag = 2.0 * i as f64 - n;
        m1 += p * mag;
        ma += p * mag.abs();
        m2 += p * mag * mag;
        em += we[i] * mag;
    }
    WithField {
        ln_z: z.ln() + ln_scale,
        energy: e1 / n,
        heat_capacity: (e2 - e1 * e1) / (n * t * t),
        magnetization: m1 / z / n,
        abs_magnetization: ma / z / n,
        magnetization_sq: m2 / z / (n * n),
        energy_magnetization_cov: (em / z - e1 * m1 / z) / n,
    }
}

/// Exhaustive enumeration of an lx×ly periodic lattice (lx·ly ≤ 24).
pub fn brute_force(lx: usize, ly: usize, t: f64, h: f64, j: f64) -> WithField {
    let (ln_scale, [w, we, we2]) = by_magnetization(lx, ly, t, h, j);
    summarise(lx * ly, t, ln_scale, &w, &we, &we2)
}

/// Exact distribution of the magnetization M = 2i − N of an lx×ly periodic
/// lattice (lx·ly ≤ 24) by enumeration: P(M) at index i, the number of up
/// spins.
pub fn magnetization_distribution(lx: usize, ly: usize, t: f64, h: f64, j: f64) -> Vec<f64> {
    let (_, [w, _, _]) = by_magnetization(lx, ly, t, h, j);
    let z: f64 = w.iter().sum();
    w.iter().map(|x| x / z).collect()
}

/// Boltzmann weight, and weight times E and E², summed over states by
/// their number of up spins, each relative to exp(ln_scale) (returned
/// first), the weight of the lowest possible energy.
fn by_magnetization(lx: usize, ly: usize, t: f64, h: f64, j: f64) -> (f64, [Vec<f64>; 3]) {
    let n = lx * ly;
    assert!(n <= 24, "brute force is for tiny lattices");
    let beta = 1.0 / t;
    let energy_of = |c: u32| -> (f64, i64) {
        let s = |x: usize, y: usize| {
            if c >> (y * lx + x) & 1 == 1 {
                1.0
            } else {
                -1.0
            }
        };
        let mut e = 0.0;
        let mut m = 0i64;
        for y in 0..ly {
            for x in 0..lx {
                let si = s(x, y);
                e -= j * si * (s((x + 1) % lx, y) + s(x, (y + 1) % ly));
                e -= h * si;
                m += si as i64;
            }
        }
        (e, m)
    };
    // shift by the lowest possible energy so no weight overflows
    let e_min = -(2.0 * j + h.abs()) * n as f64;
    let mut w = vec![0.0; n + 1];
    let mut we = vec![0.0; n + 1];
    let mut we2 = vec![0.0; n + 1];
    for c in 0..(1u32 << n) {
        let (e, m) = energy_of(c);
        let wt = (-beta * (e - e_min)).exp();
        let i = ((m + n as i64) / 2) as usize;
        w[i] += wt;
        we[i] += wt * e;
        we2[i] += wt * e * e;
    }
    (-beta * e_min, [w, we, we2])
}

/// Exact results with a field for an L×L periodic lattice, L ≤ 10, by a
/// site-by-site transfer matrix: the first row is fixed (summed over rotation
/// classes), the rest of the lattice is added one spin at a time while the
/// weights of the last L spins, per total magnetization, carry E and E².
pub fn transfer(l: usize, t: f64, h: f64, j: f64) -> WithField {
    assert!((2..=10).contains(&l), "transfer matrix supports 2 ≤ L ≤ 10");
    let n = l * l;
    let beta = 1.0 / t;
    let states = 1usize << l;
    let mask = states - 1;
    // per-site scale: every factor exp(−βΔE − c) ≤ 1
    let c_site = beta * (4.0 * j + h.abs());
    let c_row0 = beta * (l as f64) * (j + h.abs());
    let ln_scale = c_row0 + c_site * (n - l) as f64;

    // first rows by rotation class: (representative, multiplicity)
    let rotate = |s: usize| ((s >> 1) | ((s & 1) << (l - 1))) & mask;
    let mut classes: Vec<(usize, f64)> = Vec::new();
    for s in 0..states {
        let mut r = s;
        let mut min = s;
        let mut period = 0;
        loop {
            r = rotate(r);
            period += 1;
            min = min.min(r);
            if r == s {
                break;
            }
        }
        if min == s {
            classes.push((s, period as f64));
        }
    }
    let spin = |bits: usize, k: usize| if bits >> k & 1 == 1 { 1.0 } else { -1.0 };

    let contributions: Vec<(Vec<f64>, Vec<f64>, Vec<f64>)> = classes
        .par_iter()
        .map(|&(row0, mult)| {
            let idx = |state: usize, mi: usize| state * (n + 1) + mi;
            let size = states * (n + 1);
            let (mut w, mut we, mut we2) = (vec![0.0; size], vec![0.0; size], vec![0.0; size]);
            let (mut w2, mut we_2, mut we2_2) = (vec![0.0; size], vec![0.0; size], vec![0.0; size]);
            let mut e0 = 0.0;
            let mut m0 = 0i64;
            for k in 0..l {
                let s = spin(row0, k);
                e0 -= j * s * spin(row0, (k + 1) % l) + h * s;
                m0 += s as i64;
            }
            // index by the number of up spins placed so far (M = 2·ups − N at the end)
            let ups0 = ((m0 + l as i64) / 2) as usize;
            let i0 = idx(row0, ups0);
            w[i0] = (-beta * e0 - c_row0).exp();
            we[i0] = w[i0] * e0;
            we2[i0] = w[i0] * e0 * e0;
            for site in l..n {
                let (row, col) = (site / l, site % l);
                w2.iter_mut().for_each(|x| *x = 0.0);
                we_2.iter_mut().for_each(|x| *x = 0.0);
                we2_2.iter_mut().for_each(|x| *x = 0.0);
                for state in 0..states {
                    let mut nb = spin(state, 0); // up: placed L sites ago
                    if col > 0 {
                        nb += spin(state, l - 1); // left: the last placed site
                    }
                    if col == l - 1 {
                        nb += spin(state, 1); // right: (row, 0), wrapping around
                    }
                    if row == l - 1 {
                        nb += spin(row0, col); // down: the first row, wrapping around
                    }
                    for (bit, s) in [(0usize, -1.0f64), (1, 1.0)] {
                        let e = -j * s * nb - h * s;
                        let f = (-beta * e - c_site).exp();
                        let next = (state >> 1) | (bit << (l - 1));
                        for mi in 0..=n - bit {
                            let src = idx(state, mi);
                            let wt = w[src];
                            if wt == 0.0 {
                                continue;
                            }
                            let mj = mi + bit;
                            let dst = idx(next, mj);
                            w2[dst] += wt * f;
                            we_2[dst] += (we[src] + wt * e) * f;
                            we2_2[dst] += (we2[src] + 2.0 * we[src] * e + wt * e * e) * f;
                        }
                    }
                }
                std::mem::swap(&mut w, &mut w2);
                std::mem::swap(&mut we, &mut we_2);
                std::mem::swap(&mut we2, &mut we2_2);
            }
            let mut pw = vec![0.0; n + 1];
            let mut pe = vec![0.0; n + 1];
            let mut pe2 = vec![0.0; n + 1];
            for state in 0..states {
                for mi in 0..=n {
                    pw[mi] += mult * w[idx(state, mi)];
                    pe[mi] += mult * we[idx(state, mi)];
                    pe2[mi] += mult * we2[idx(state, mi)];
                }
            }
            (pw, pe, pe2)
        })
        .collect();
    let mut w = vec![0.0; n + 1];
    let mut we = vec![0.0; n + 1];
    let mut we2 = vec![0.0; n + 1];
    for (a, b, c) in contributions {
        for i in 0..=n {
            w[i] += a[i];
            we[i] += b[i];
            we2[i] += c[i];
        }
    }
    summarise(n, t, ln_scale, &w, &we, &we2)
}

/// Onsager's critical temperature of the square lattice, T_c = 2J / ln(1 + √2).
pub fn critical_temperature(j: f64) -> f64 {
    2.0 * j / (1.0 + 2f64.sqrt()).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * (1.0 + b.abs())
    }

    #[test]
    fn kaufman_matches_enumeration() {
        for &(m, n) in &[
            (2usize, 2usize),
            (3, 3),
            (4, 4),
            (2, 4),
            (4, 2),
            (3, 4),
            (4, 5),
        ] {
            for &t in &[0.8, 1.5, 2.269, 3.0, 10.0] {
                let k = kaufman(m, n, t, 1.0);
                let b = brute_force(n, m, t, 0.0, 1.0);
                assert!(
                    close(k.ln_z, b.ln_z, 1e-12),
                    "{m}x{n} T={t}: lnZ {} vs {}",
                    k.ln_z,
                    b.ln_z
                );
                assert!(
                    close(k.energy, b.energy, 1e-10),
                    "{m}x{n} T={t}: u {} vs {}",
                    k.energy,
                    b.energy
                );
                assert!(
                    close(k.heat_capacity, b.heat_capacity, 1e-8),
                    "{m}x{n} T={t}: c {} vs {}",
                    k.heat_capacity,
                    b.heat_capacity
                );
            }
        }
    }

    #[test]
    fn kaufman_published_16x16_at_beta_c() {
        let t = 1.0 / 0.4406868;
        let k = kaufman(16, 16, t, 1.0);
        assert!((k.energy - -1.4530649).abs() < 5e-7, "u = {}", k.energy);
        assert!(
            (k.free_energy - -2.1153262).abs() < 5e-7,
            "f = {}",
            k.free_energy
        );
        assert!((k.entropy - 0.2918498).abs() < 5e-7, "s = {}", k.entropy);
    }

    #[test]
    fn kaufman_large_and_cold_is_finite_and_limits_are_right() {
        // L = 256 at low T: no overflow, ground-state energy −2, and the entropy
        // of the two ground states, ln 2 / N (excitations add ~20 e^−20 ≈ 4e−8).
        let cold = kaufman(256, 256, 0.4, 1.0);
        assert!(
            cold.ln_z.is_finite() && (cold.energy + 2.0).abs() < 1e-6,
            "{cold:?}"
        );
        assert!(
            (cold.entropy - 2f64.ln() / 65536.0).abs() < 1e-7,
            "{cold:?}"
        );
        // high T: free energy → −T ln 2 − J²/T... entropy → ln 2
        let hot = kaufman(256, 256, 1000.0, 1.0);
        assert!((hot.entropy - 2f64.ln()).abs() < 1e-5, "{hot:?}");
        // near T_c the heat capacity of a big lattice is large and finite
        let crit = kaufman(256, 256, critical_temperature(1.0), 1.0);
        assert!(
            crit.heat_capacity.is_finite() && crit.heat_capacity > 2.0,
            "{crit:?}"
        );
        // thermodynamic limit of u at T_c is −√2
        assert!((crit.energy + 2f64.sqrt()).abs() < 2e-2, "{crit:?}");
    }

    #[test]
    fn transfer_matches_enumeration_with_field() {
        for &l in &[2usize, 3, 4] {
            for &(t, h) in &[(1.5, 0.3), (2.269, -0.5), (3.0, 1.2), (0.7, 0.05)] {
                let a = transfer(l, t, h, 1.0);
                let b = brute_force(l, l, t, h, 1.0);
                for (x, y, what) in [
                    (a.ln_z, b.ln_z, "lnZ"),
                    (a.energy, b.energy, "u"),
                    (a.heat_capacity, b.heat_capacity, "c"),
                    (a.magnetization, b.magnetization, "m"),
                    (a.abs_magnetization, b.abs_magnetization, "|m|"),
                    (a.magnetization_sq, b.magnetization_sq, "m2"),
                ] {
                    assert!(close(x, y, 1e-10), "L={l} T={t} h={h}: {what} {x} vs {y}");
                }
            }
        }
    }

    #[test]
    fn transfer_at_zero_field_matches_kaufman() {
        for &l in &[6usize, 8] {
            for &t in &[1.5, 2.269, 3.0] {
                let a = transfer(l, t, 0.0, 1.0);
                let k = kaufman(l, l, t, 1.0);
                assert!(
                    close(a.ln_z, k.ln_z, 1e-11),
                    "L={l} T={t}: {} vs {}",
                    a.ln_z,
                    k.ln_z
                );
                assert!(close(a.energy, k.energy, 1e-10));
                assert!(close(a.heat_capacity, k.heat_capacity, 1e-8));
                assert!(a.magnetization.abs() < 1e-12);
            }
        }
    }
}
