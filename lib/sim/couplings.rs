//! Heat-bath chains over an arbitrary coupling table: P(s) ∝ exp(Σ_{i<j}
//! K_ij s_i s_j + Σ H_i s_i) with each site's couplings listed beside it (a
//! disordered lattice, a fitted max-ent model, any pair couplings). Each
//! chain draws from its own ChaCha stream (seed, chain), so a set of chains
//! gives the same spins whatever the thread count.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::rng::chain_rng;

/// Per site: its couplings (neighbour, K) and its field H.
#[derive(Clone, Debug)]
pub struct CouplingTable {
    pub neighbours: Vec<Vec<(u32, f64)>>,
    pub field: Vec<f64>,
}

impl CouplingTable {
    pub fn n(&self) -> usize {
        self.field.len()
    }

    /// The local field Σ_j K_ij s_j + H_i.
    #[inline]
    pub fn local_field(&self, s: &[i8], i: usize) -> f64 {
        self.neighbours[i]
            .iter()
            .fold(self.field[i], |f, &(j, k)| f + k * s[j as usize] as f64)
    }

    /// A periodic L×L lattice whose right and down bonds of site i have
    /// couplings `bonds[2i]` and `bonds[2i + 1]`, in a uniform field `h`.
    pub fn lattice(l: usize, bonds: &[f64], h: f64) -> CouplingTable {
        let mut neighbours = vec![Vec::with_capacity(4); l * l];
        for ((i, j), &k) in super::ising::lattice::bonds(l).into_iter().zip(bonds) {
            neighbours[i].push((j as u32, k));
            neighbours[j].push((i as u32, k));
        }
        CouplingTable {
            neighbours,
            field: vec![h; l * l],
        }
    }
}

/// One chain: its spins and random stream.
pub struct Chain {
    pub spins: Vec<i8>,
    rng: ChaCha8Rng,
}

impl Chain {
    /// Random ±1 spins from stream (seed, chain).
    pub fn new(n: usize, seed: u64, chain: u64) -> Chain {
        Chain::from_rng(n, chain_rng(seed, chain))
    }

    /// Random ±1 spins, then sweeps, from `rng`.
    pub fn from_rng(n: usize, mut rng: ChaCha8Rng) -> Chain {
        let spins = (0..n)
            .map(|_| if rng.random::<bool>() { 1 } else { -1 })
            .collect();
        Chain { spins, rng }
    }

    /// `sweeps` heat-bath sweeps in site order: s_i = +1 with probability
    /// 1/(1 + e^{−2 f_i}).
    pub fn sweep(&mut self, table: &CouplingTable, sweeps: usize) {
        for _ in 0..sweeps {
            for i in 0..table.n() {
                let f = table.local_field(&self.spins, i);
                let up = 1.0 / (1.0 + (-2.0 * f).exp());
                self.spins[i] = if self.rng.random::<f64>() < up { 1 } else { -1 };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heat_bath_reaches_the_exact_energy() {
        // uniform bonds K = 0.3, h = 0.2 on 4×4 against the transfer matrix
        let l = 4;
        let table = CouplingTable::lattice(l, &vec![0.3; 2 * l * l], 0.2);
        let x = crate::exact::ising::transfer(l, 1.0 / 0.3, 0.2 / 0.3, 1.0);
        let mut chains: Vec<Chain> = (0..8).map(|c| Chain::new(16, 5, c)).collect();
        let (mut sum, mut n) = (0.0, 0usize);
        let mut per_chain = [0.0; 8];
        for step in 0..6000 {
            for (c, ch) in chains.iter_mut().enumerate() {
                ch.sweep(&table, 1);
                if step >= 500 {
                    let m = ch.spins.iter().map(|&s| s as f64).sum::<f64>() / 16.0;
                    sum += m;
                    per_chain[c] += m / 5500.0;
                    n += 1;
                }
            }
        }
        let mean = sum / n as f64;
        let spread = per_chain.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 7.0;
        let se = (spread / 8.0).sqrt();
        assert!(
            (mean - x.magnetization).abs() < 4.0 * se,
            "⟨m⟩ {mean:.4} ± {se:.4} vs exact {:.4}",
            x.magnetization
        );
    }
}
