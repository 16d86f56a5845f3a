//! Random-sequential TASEP dynamics.
//!
//! The lattice is padded with a reservoir site 0 (always occupied) and a sink
//! site M+1 (always empty), so entry, hop and exit are one move "particle at
//! k jumps to k+1" with rate α, 1 or β. Each attempt takes one 64-bit draw u:
//! the bond k = ⌊u(M+1)/2⁶⁴⌋ comes from the high half of the 128-bit product
//! and the acceptance from its low half (uniform given k), so an attempt is a
//! multiply, two loads, a compare and branch-free stores.

use crate::sim::rng::{threshold64, Xoshiro256};

/// Bytes of padding on each side of the sites: the reservoir and sink cells
/// are written on every attempt, and must not share a cache line with another
/// thread's lattice.
const PAD: usize = 64;

pub struct Simulation {
    /// PAD bytes, then sites 0..=M+1 (1..=M are the lattice), then PAD bytes
    sites: Vec<u8>,
    m: usize,
    thresholds: [u64; 3],
    pub moves: u64,
}

impl Simulation {
    pub fn new(initial: &[i8], alpha: f64, beta: f64) -> Simulation {
        let m = initial.len();
        let mut sites = vec![0u8; m + 2 + 2 * PAD];
        sites[PAD] = 1;
        for (s, &t) in sites[PAD + 1..=PAD + m].iter_mut().zip(initial) {
            *s = t as u8;
        }
        Simulation {
            sites,
            m,
            thresholds: [threshold64(alpha), u64::MAX, threshold64(beta)],
            moves: 0,
        }
    }

    /// `attempts` move attempts; returns the number of moves made.
    pub fn run(&mut self, attempts: u64, rng: &mut Xoshiro256) -> u64 {
        let m = self.m;
        let bonds = (m + 1) as u128;
        let s = &mut self.sites[PAD..PAD + m + 2];
        let mut moved = 0u64;
        // a local copy keeps the generator in registers (and off any cache
        // line another thread writes)
        let mut local = rng.clone();
        for _ in 0..attempts {
            let prod = local.next_u64() as u128 * bonds;
            let k = (prod >> 64) as usize; // 0..=M
            let frac = prod as u64;
            // rate α at k = 0, β at k = M, 1 in between
            let which = (k == m) as usize * 2 + (k != 0 && k != m) as usize;
            let accept = (frac <= self.thresholds[which]) as u8;
            let mv = s[k] & (1 ^ s[k + 1]) & accept;
            s[k] -= mv;
            s[k + 1] += mv;
            s[0] = 1;
            s[m + 1] = 0;
            moved += mv as u64;
        }
        *rng = local;
        self.moves += moved;
        moved
    }

    pub fn state(&self) -> Vec<i8> {
        self.sites[PAD + 1..=PAD + self.m]
            .iter()
            .map(|&t| t as i8)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exact::tasep::Tasep;
    use crate::sim::rng::chain_rng;

    #[test]
    fn single_site_occupation_is_alpha_over_alpha_plus_beta() {
        // M = 1: a two-state chain, stationary P(τ = 1) = α/(α + β)
        let (a, b) = (0.3, 0.6);
        let mut sim = Simulation::new(&[0], a, b);
        let mut rng = Xoshiro256::from_rng(&mut chain_rng(1, 0));
        let (mut occ, n) = (0u64, 400_000u64);
        for _ in 0..n {
            sim.run(7, &mut rng);
            occ += sim.state()[0] as u64;
        }
        let p = occ as f64 / n as f64;
        let exact = Tasep::new(a, b, 1).density_at(1, 1);
        // successive records 7 attempts apart are correlated; allow 4σ of an effective n/4
        let se = (exact * (1.0 - exact) / (n as f64 / 4.0)).sqrt();
        assert!((p - exact).abs() < 4.0 * se, "{p} vs {exact}");
    }
}
