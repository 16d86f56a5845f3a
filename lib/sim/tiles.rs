//! Metropolis chains for energies that are sums over periodic tiles: the
//! lattice is cut into f×f focus regions, each seen with a c-wide context,
//! and E(s) = Σ_tiles T[index of the tile's (f+2c)² spins] for a table T
//! (an EDNN tabulated once, or the exact Ising bonds). A flip changes only
//! the tiles that contain the spin, so ΔE is a few table lookups.

use anyhow::Result;

use super::replicas::{accepts, Replicas};
use super::rng::{Lanes, LANES};

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

    /// The (tile, bit) pairs that hold `site`.
    pub fn covering(&self, site: usize) -> &[(u32, u32)] {
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

/// A tile table twice: in f64 for measured energies, in f32 (256 KiB for
/// 16-spin tiles, so it stays in cache) for the energy changes of flips.
pub struct TileTable {
    pub exact: Vec<f64>,
    fast: Vec<f32>,
}

impl TileTable {
    pub fn new(exact: Vec<f64>) -> TileTable {
        assert!(
            exact.len().is_power_of_two(),
            "a tile table has 2^bits entries"
        );
        let fast = exact.iter().map(|&v| v as f32).collect();
        TileTable { exact, fast }
    }
}

/// Sixteen Metropolis chains (one per lane, `sim::replicas`) on a tiled
/// lattice, each at its own β. A tile's state is its table index, so the
/// spins live in the indices: a flip XORs one bit into each tile that holds
/// the site, and ΔE is two lookups per such tile.
pub struct TileReplicas<'a> {
    tiling: &'a Tiling,
    table: &'a TileTable,
    beta: [f32; LANES],
    /// per tile, its index in every lane
    idx: Vec<[u32; LANES]>,
    lanes: Lanes,
    /// per tile, the bits of its focus region (each site is the focus of one tile)
    focus: u32,
}

impl<'a> TileReplicas<'a> {
    /// Lane l at inverse temperature `beta[l]`, started from `spins[l]`.
    pub fn new(
        tiling: &'a Tiling,
        table: &'a TileTable,
        beta: [f64; LANES],
        spins: &[Vec<i8>],
        lanes: Lanes,
    ) -> TileReplicas<'a> {
        let t = tiling.f + 2 * tiling.c;
        assert_eq!(
            table.exact.len(),
            1 << (t * t),
            "table of another tile size"
        );
        let mut idx = vec![[0u32; LANES]; tiling.tiles()];
        for (lane, s) in spins.iter().enumerate() {
            for (tile, k) in tiling.indices(s).into_iter().enumerate() {
                idx[tile][lane] = k;
            }
        }
        let mut focus = 0;
        for a in tiling.c..tiling.c + tiling.f {
            for b in tiling.c..tiling.c + tiling.f {
                focus |= 1 << (a * t + b);
            }
        }
        TileReplicas {
            tiling,
            table,
            beta: beta.map(|b| b as f32),
            idx,
            lanes,
            focus,
        }
    }

    /// Lane `lane`'s spins (row-major ±1), read off the focus regions.
    pub fn spins(&self, lane: usize) -> Vec<i8> {
        let l = self.tiling.l;
        (0..l * l)
            .map(|site| {
                let &(tile, bit) = self
                    .tiling
                    .covering(site)
                    .iter()
                    .find(|&&(_, bit)| self.focus >> bit & 1 == 1)
                    .expect("every site is the focus of one tile");
                if self.idx[tile as usize][lane] >> bit & 1 == 1 {
                    1
                } else {
                    -1
                }
            })
            .collect()
    }
}

impl TileReplicas<'_> {
    /// One sweep; the same source serves every instruction set, and IEEE
    /// arithmetic without fused operations gives the same spins on each.
    #[inline(always)]
    fn sweep_lanes(&mut self) -> [u32; LANES] {
        let fast = &self.table.fast[..];
        let mut accepted = [0u32; LANES];
        for site in 0..self.tiling.l * self.tiling.l {
            let cover = self.tiling.covering(site);
            let mut delta = [0f32; LANES];
            for &(tile, bit) in cover {
                debug_assert!((tile as usize) < self.idx.len());
                // SAFETY: the tiling only names tiles of this lattice
                let row = unsafe { self.idx.get_unchecked(tile as usize) };
                for lane in 0..LANES {
                    let k = row[lane] as usize;
                    // indices only ever hold bits of the tile, so both are < len
                    debug_assert!(k < fast.len());
                    let (before, after) =
                        unsafe { (*fast.get_unchecked(k), *fast.get_unchecked(k ^ (1 << bit))) };
                    delta[lane] += after - before;
                }
            }
            let u = self.lanes.next16();
            let mut flip = [0u32; LANES];
            for lane in 0..LANES {
                let yes = accepts(self.beta[lane], delta[lane], u[lane]) as u32;
                flip[lane] = yes.wrapping_neg();
                accepted[lane] += yes;
            }
            for &(tile, bit) in cover {
                // SAFETY: as above
                let row = unsafe { self.idx.get_unchecked_mut(tile as usize) };
                for lane in 0..LANES {
                    row[lane] ^= flip[lane] & (1 << bit);
                }
            }
        }
        accepted
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn sweep_avx2(&mut self) -> [u32; LANES] {
        self.sweep_lanes()
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    unsafe fn sweep_avx512(&mut self) -> [u32; LANES] {
        self.sweep_lanes()
    }

    /// One sweep with the widest vectors this CPU has (`PHASEKIT_SIMD=scalar`
    /// asks for the baseline build, for comparisons).
    fn sweep_best(&mut self) -> [u32; LANES] {
        #[cfg(target_arch = "x86_64")]
        {
            use crate::sim::ising::Isa;
            // SAFETY: detect() only reports instruction sets the CPU has
            match Isa::detect() {
                Isa::Avx512 => return unsafe { self.sweep_avx512() },
                Isa::Avx2 => return unsafe { self.sweep_avx2() },
                Isa::Scalar => {}
            }
        }
        self.sweep_lanes()
    }
}

impl Replicas for TileReplicas<'_> {
    fn sweep(&mut self) -> Result<[u32; LANES]> {
        Ok(self.sweep_best())
    }

    fn observe(&self) -> ([f64; LANES], [f64; LANES]) {
        let n = (self.tiling.l * self.tiling.l) as f64;
        let mut e = [0f64; LANES];
        let mut up = [0u32; LANES];
        for row in &self.idx {
            for lane in 0..LANES {
                e[lane] += self.table.exact[row[lane] as usize];
                up[lane] += (row[lane] & self.focus).count_ones();
            }
        }
        (e.map(|v| v / n), up.map(|u| (2.0 * u as f64 - n) / n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::ising::lattice::energy;
    use crate::sim::replicas::lane_start;

    fn streams(order: impl Fn(usize) -> u64) -> [u64; LANES] {
        std::array::from_fn(order)
    }

    #[test]
    fn the_ising_table_gives_the_ising_energy_and_its_flips() {
        let (l, f, c) = (8, 2, 1);
        let tiling = Tiling::new(l, f, c);
        let table = TileTable::new(ising_table(f, c, 1.0));
        let (spins, lanes) = lane_start(3, &streams(|k| k as u64), l * l);
        let betas = std::array::from_fn(|k| 0.1 + 0.05 * k as f64);
        let mut chains = TileReplicas::new(&tiling, &table, betas, &spins, lanes);
        let check = |chains: &TileReplicas| {
            let (e, m) = chains.observe();
            for lane in 0..LANES {
                let s = chains.spins(lane);
                assert_eq!(e[lane], energy(&s, l, 1.0, 0.0) / 64.0);
                let mm: f64 = s.iter().map(|&v| v as f64).sum::<f64>() / 64.0;
                assert_eq!(m[lane], mm);
            }
        };
        assert_eq!(chains.spins(5), spins[5]);
        check(&chains);
        for _ in 0..3 {
            let acc = chains.sweep().unwrap();
            // hotter lanes accept more
            assert!(acc[0] > acc[LANES - 1], "{acc:?}");
        }
        check(&chains);
        // every site lies in ((f + 2c)/f)² = 4 tiles
        assert!((0..l * l).all(|k| tiling.covering(k).len() == 4));
    }

    #[test]
    fn every_instruction_set_gives_the_same_chains() {
        let (l, f, c) = (12, 2, 1);
        let tiling = Tiling::new(l, f, c);
        // a table with irregular values, so rounding would show
        let table = TileTable::new(
            (0..1 << 16)
                .map(|k: u32| (k.wrapping_mul(2654435761) >> 8) as f64 * 1e-7 - 0.8)
                .collect(),
        );
        let (spins, lanes) = lane_start(5, &streams(|k| k as u64), l * l);
        let betas = std::array::from_fn(|k| 0.2 + 0.1 * k as f64);
        let mut plain = TileReplicas::new(&tiling, &table, betas, &spins, lanes.clone());
        let mut best = TileReplicas::new(&tiling, &table, betas, &spins, lanes);
        for _ in 0..10 {
            assert_eq!(plain.sweep_lanes(), best.sweep_best());
        }
        assert_eq!(plain.idx, best.idx);
    }

    #[test]
    fn a_lane_evolves_the_same_whatever_its_neighbours() {
        let (l, f, c) = (8, 2, 1);
        let tiling = Tiling::new(l, f, c);
        let table = TileTable::new(ising_table(f, c, 1.0));
        let run = |order: [u64; LANES]| {
            let (spins, lanes) = lane_start(11, &order, l * l);
            let betas = order.map(|k| 0.3 + 0.01 * k as f64);
            let mut chains = TileReplicas::new(&tiling, &table, betas, &spins, lanes);
            for _ in 0..20 {
                chains.sweep().unwrap();
            }
            (0..LANES).map(|k| chains.spins(k)).collect::<Vec<_>>()
        };
        let a = run(streams(|k| k as u64));
        let b = run(streams(|k| (LANES - 1 - k) as u64));
        for k in 0..LANES {
            assert_eq!(a[k], b[LANES - 1 - k]);
        }
    }
}
