//! Metropolis chains for energies that are sums over periodic tiles: the
//! lattice is cut into f×f focus regions, each seen with a c-wide context,
//! and E(s) = Σ_tiles T[index of the tile's (f+2c)² spins] for a table T
//! (an EDNN tabulated once, or the exact Ising bonds). A flip changes only
//! the tiles that contain the spin, so ΔE is a few table lookups.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// The tiling's geometry: which tiles, at which bit, hold each site.
#[derive(Clone, Debug)]
pub struct Tiling {
    pub l: usize,
    pub f: usize,
    pub c: usize,
    /// per site: (tile, bit) pairs, `cover_start[site]..cover_start[site + 1]`
    cover: Vec<(u32, u32)>,
    cover_start: Vec<usize>,
}

impl Tiling {
    /// The tiling of an L×L periodic lattice (L a multiple of f, f + 2c ≤ L).
    pub fn new(l: usize, f: usize, c: usize) -> Tiling {
        assert!(
            l.is_multiple_of(f) && f + 2 * c <= l,
            "tiling does not cover L = {l}"
        );
        let (t, per) = (f + 2 * c, l / f);
        let mut lists = vec![Vec::new(); l * l];
        for ti in 0..per {
            for tj in 0..per {
                let tile = (ti * per + tj) as u32;
                for a in 0..t {
                    let r = (ti * f + a + l - c) % l;
                    for b in 0..t {
                        let col = (tj * f + b + l - c) % l;
                        lists[r * l + col].push((tile, (a * t + b) as u32));
                    }
                }
            }
        }
        let mut cover = Vec::new();
        let mut cover_start = vec![0];
        for list in lists {
            cover.extend(list);
            cover_start.push(cover.len());
        }
        Tiling {
            l,
            f,
            c,
            cover,
            cover_start,
        }
    }

    pub fn tiles(&self) -> usize {
        (self.l / self.f).pow(2)
    }

    fn covering(&self, site: usize) -> &[(u32, u32)] {
        &self.cover[self.cover_start[site]..self.cover_start[site + 1]]
    }

    /// The table index of every tile of configuration `s` (bit k: spin k of the tile is +1).
    pub fn indices(&self, s: &[i8]) -> Vec<u32> {
        let mut idx = vec![0u32; self.tiles()];
        for (site, &v) in s.iter().enumerate() {
            if v > 0 {
                for &(tile, bit) in self.covering(site) {
                    idx[tile as usize] |= 1 << bit;
                }
            }
        }
        idx
    }
}

/// The exact Ising energy −J Σ⟨ij⟩ s_i s_j as a tile table: each focus spin
/// owns its bonds to the right and below (inside the tile, as c ≥ 1), so the
/// tiles' sum counts every bond once.
pub fn ising_table(f: usize, c: usize, j: f64) -> Vec<f64> {
    assert!(c >= 1, "the Ising table needs a context of at least 1");
    let t = f + 2 * c;
    let n = t * t;
    assert!(n <= 24, "tile too large to tabulate");
    (0..1usize << n)
        .map(|k| {
            let spin = |a: usize, b: usize| if k >> (a * t + b) & 1 == 1 { 1.0 } else { -1.0 };
            let mut e = 0.0;
            for a in c..c + f {
                for b in c..c + f {
                    e -= j * spin(a, b) * (spin(a, b + 1) + spin(a + 1, b));
                }
            }
            e
        })
        .collect()
}

/// One Markov chain on a tiled lattice.
pub struct TileChain<'a> {
    tiling: &'a Tiling,
    table: &'a [f64],
    pub spins: Vec<i8>,
    idx: Vec<u32>,
}

impl<'a> TileChain<'a> {
    pub fn new(tiling: &'a Tiling, table: &'a [f64], spins: Vec<i8>) -> TileChain<'a> {
        let idx = tiling.indices(&spins);
        TileChain {
            tiling,
            table,
            spins,
            idx,
        }
    }

    /// E(s) = Σ_tiles T[index].
    pub fn energy(&self) -> f64 {
        self.idx.iter().map(|&k| self.table[k as usize]).sum()
    }

    pub fn magnetization(&self) -> f64 {
        self.spins.iter().map(|&v| v as f64).sum::<f64>() / self.spins.len() as f64
    }

    /// ΔE of flipping `site`.
    fn delta(&self, site: usize) -> f64 {
        self.tiling
            .covering(site)
            .iter()
            .map(|&(tile, bit)| {
                let k = self.idx[tile as usize] as usize;
                self.table[k ^ (1 << bit)] - self.table[k]
            })
            .sum()
    }

    /// `n` sweeps of sequential Metropolis updates at inverse temperature
    /// `beta`; returns the accepted flips.
    pub fn sweeps(&mut self, beta: f64, n: usize, rng: &mut ChaCha8Rng) -> u64 {
        let mut accepted = 0;
        let sites = self.spins.len();
        for _ in 0..n {
            for site in 0..sites {
                let d = self.delta(site);
                // one uniform per attempt, so the stream does not depend on outcomes
                let u: f64 = rng.random();
                if d <= 0.0 || u < (-beta * d).exp() {
                    self.spins[site] = -self.spins[site];
                    for &(tile, bit) in self.tiling.covering(site) {
                        self.idx[tile as usize] ^= 1 << bit;
                    }
                    accepted += 1;
                }
            }
        }
        accepted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::ising::lattice::energy;
    use crate::sim::rng::chain_rng;

    #[test]
    fn the_ising_table_gives_the_ising_energy_and_its_flips() {
        let (l, f, c) = (8, 2, 1);
        let tiling = Tiling::new(l, f, c);
        let table = ising_table(f, c, 1.0);
        let mut rng = chain_rng(3, 0);
        let s: Vec<i8> = (0..l * l)
            .map(|_| if rng.random() { 1 } else { -1 })
            .collect();
        let mut chain = TileChain::new(&tiling, &table, s.clone());
        assert_eq!(chain.energy(), energy(&s, l, 1.0, 0.0));
        chain.sweeps(0.3, 3, &mut rng);
        assert_eq!(chain.energy(), energy(&chain.spins, l, 1.0, 0.0));
        // every site lies in ((f + 2c)/f)² = 4 tiles
        assert!((0..l * l).all(|k| tiling.covering(k).len() == 4));
    }
}
