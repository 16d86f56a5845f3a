//! Spins in checkerboard layout: the two sublattices (colour (i + j) mod 2)
//! each stored row by row, L/2 spins per row, so a half-sweep reads one array
//! and writes the other with unit-stride loads. Site (i, j) is entry
//! i·L/2 + j/2 of sublattice (i + j) mod 2.

use super::super::rng::LANES;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lattice {
    pub l: usize,
    /// sublattice 0 and 1, each L·L/2 spins (±1) plus padding to whole SIMD chunks
    pub sub: [Vec<i8>; 2],
}

impl Lattice {
    /// Padded length of one sublattice array.
    pub fn padded_len(l: usize) -> usize {
        (l * l / 2).div_ceil(LANES) * LANES
    }

    pub fn new(l: usize, fill: i8) -> Lattice {
        assert!(
            l >= 2 && l.is_multiple_of(2),
            "checkerboard layout needs an even L"
        );
        let n = Self::padded_len(l);
        Lattice {
            l,
            sub: [vec![fill; n], vec![fill; n]],
        }
    }

    #[inline]
    pub fn get(&self, i: usize, j: usize) -> i8 {
        self.sub[(i + j) & 1][i * (self.l / 2) + j / 2]
    }

    #[inline]
    pub fn set(&mut self, i: usize, j: usize, s: i8) {
        let half = self.l / 2;
        self.sub[(i + j) & 1][i * half + j / 2] = s;
    }

    /// Spins in row-major order.
    pub fn to_row_major(&self, out: &mut [i8]) {
        let l = self.l;
        for i in 0..l {
            for j in 0..l {
                out[i * l + j] = self.get(i, j);
            }
        }
    }

    pub fn from_row_major(l: usize, spins: &[i8]) -> Lattice {
        let mut lat = Lattice::new(l, 1);
        for i in 0..l {
            for j in 0..l {
                lat.set(i, j, spins[i * l + j]);
            }
        }
        lat
    }

    /// (Σ⟨ij⟩ s_i s_j, Σ s_i) over the periodic lattice.
    pub fn bond_and_spin_sums(&self) -> (i64, i64) {
        let l = self.l;
        let (mut bonds, mut m) = (0i64, 0i64);
        for i in 0..l {
            for j in 0..l {
                let s = self.get(i, j) as i64;
                bonds += s * (self.get(i, (j + 1) % l) as i64 + self.get((i + 1) % l, j) as i64);
                m += s;
            }
        }
        (bonds, m)
    }

    /// Energy per site and magnetization per site.
    pub fn observables(&self, j: f64, h: f64) -> (f64, f64) {
        let (bonds, m) = self.bond_and_spin_sums();
        let n = (self.l * self.l) as f64;
        ((-j * bonds as f64 - h * m as f64) / n, m as f64 / n)
    }
}

/// The 2N bonds of a periodic L×L lattice, as (site, neighbour): bond 2i
/// joins site i to its right neighbour, bond 2i + 1 to the one below.
pub fn bonds(l: usize) -> Vec<(usize, usize)> {
    (0..l * l)
        .flat_map(|i| {
            let (r, c) = (i / l, i % l);
            [(i, r * l + (c + 1) % l), (i, ((r + 1) % l) * l + c)]
        })
        .collect()
}

/// E = −J Σ⟨ij⟩ s_i s_j − h Σ s_i of a row-major L×L periodic configuration
/// (each site's right and lower bond, as the samplers and `exact` count them).
pub fn energy(spins: &[i8], l: usize, j: f64, h: f64) -> f64 {
    let (mut bonds, mut sum) = (0i64, 0i64);
    for y in 0..l {
        for x in 0..l {
            let s = spins[y * l + x] as i64;
            bonds += s * (spins[y * l + (x + 1) % l] as i64 + spins[((y + 1) % l) * l + x] as i64);
            sum += s;
        }
    }
    -j * bonds as f64 - h * sum as f64
}

/// The number of symmetries of the periodic L×L Ising model at h = 0:
/// L² translations × 8 rotations and reflections × the global flip.
pub fn symmetries(l: usize) -> u64 {
    (16 * l * l) as u64
}

/// The image of an L×L configuration under symmetry `op` of the periodic
/// square lattice: a translation, one of the 8 rotations and reflections,
/// and the global flip; `op` in 0..[`symmetries`]`(l)`, 0 the identity.
pub fn symmetry_image(s: &[i8], l: usize, op: u64) -> Vec<i8> {
    let (dx, dy) = (
        (op % l as u64) as usize,
        ((op / l as u64) % l as u64) as usize,
    );
    let d8 = (op / (l * l) as u64) % 8;
    let flip = if (op / (8 * l * l) as u64) % 2 == 1 {
        -1
    } else {
        1
    };
    let mut out = vec![0i8; l * l];
    for r in 0..l {
        for c in 0..l {
            let (mut a, mut b) = (r, c);
            if d8 & 4 != 0 {
                std::mem::swap(&mut a, &mut b);
            }
            if d8 & 1 != 0 {
                a = l - 1 - a;
            }
            if d8 & 2 != 0 {
                b = l - 1 - b;
            }
            out[((a + dy) % l) * l + (b + dx) % l] = flip * s[r * l + c];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_major_round_trip_and_energy() {
        let l = 6;
        let spins: Vec<i8> = (0..l * l)
            .map(|x| if (x * 7 + x / 5) % 3 == 0 { 1 } else { -1 })
            .collect();
        let lat = Lattice::from_row_major(l, &spins);
        let mut back = vec![0; l * l];
        lat.to_row_major(&mut back);
        assert_eq!(back, spins);
        // direct energy
        let s = |i: usize, j: usize| spins[(i % l) * l + (j % l)] as i64;
        let mut bonds = 0;
        for i in 0..l {
            for j in 0..l {
                bonds += s(i, j) * (s(i, j + 1) + s(i + 1, j));
            }
        }
        assert_eq!(lat.bond_and_spin_sums().0, bonds);
        let (e_site, _) = lat.observables(1.3, 0.2);
        assert!((energy(&spins, l, 1.3, 0.2) - e_site * (l * l) as f64).abs() < 1e-9);
        // all up: energy −2J − h per site
        let up = Lattice::new(4, 1);
        assert_eq!(up.observables(1.0, 0.5), (-2.5, 1.0));
    }
}
