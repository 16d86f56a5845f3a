//! Sixteen independent Metropolis chains side by side, one per lane.
//!
//! Every lane updates the same site at the same moment, so the bookkeeping
//! (which tiles a site lies in, which bit it is there) is shared and the
//! per-lane work is plain arithmetic over arrays of 16: the compiler keeps it
//! in vector registers, and the lanes' independent table lookups overlap in
//! the memory pipeline. Each lane is its own chain — its initial state and
//! its random numbers come from its own ChaCha stream — so a chain's output
//! never depends on which other chains share its lanes, on the grouping, or
//! on the thread count.
//!
//! The acceptance test is one function for every energy (a tile table or an
//! ONNX model), written with IEEE additions and multiplications only, so it
//! decides the same way on every instruction set.

use anyhow::Result;
use rand::Rng;

use super::rng::{chain_rng, Lanes, LANES};

/// e^x for x ≤ 0, to about 3e-7 relative, with a fixed sequence of IEEE
/// operations (no libm, no fused multiply-add): identical on every CPU.
#[inline(always)]
pub fn exp_nonpositive(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const ROUND: f32 = 12_582_912.0; // 1.5·2²³: adding it rounds to an integer
                                     // Cody–Waite: n·LN2_HI is exact (n has 7 bits, LN2_HI 9), so y keeps
                                     // its precision even where x is large
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.max(-87.0);
    let shifted = x * LOG2E + ROUND;
    let n = shifted - ROUND;
    let y = (x - n * LN2_HI) - n * LN2_LO; // |y| ≤ ln2 / 2
                                           // e^y by its Taylor series to y⁶ (error below 1.3e-7 on |y| ≤ 0.35)
    let p = 1.0
        + y * (1.0
            + y * (0.5
                + y * (1.0 / 6.0 + y * (1.0 / 24.0 + y * (1.0 / 120.0 + y * (1.0 / 720.0))))));
    // 2ⁿ from the integer n in the low mantissa bits of `shifted` (1.5·2²³ + n):
    // integer arithmetic the compiler vectorises, unlike a float-to-int cast
    let scale = f32::from_bits(
        shifted
            .to_bits()
            .wrapping_sub(0x4B40_0000)
            .wrapping_add(127)
            << 23,
    );
    p * scale
}

/// Metropolis: accept a change of energy `delta` at inverse temperature
/// `beta` with probability min(1, e^{−β·delta}), `u` a uniform 32-bit number
/// (its top 24 bits are the uniform in [0, 1)).
#[inline(always)]
pub fn accepts(beta: f32, delta: f32, u: u32) -> bool {
    let p = exp_nonpositive((-beta * delta).min(0.0));
    ((u >> 8) as f32) * (1.0 / 16_777_216.0) < p
}

/// Sixteen chains on one lattice, advanced together.
pub trait Replicas {
    /// One sweep (every site once, in raster order) of every lane; the
    /// accepted flips of each lane.
    fn sweep(&mut self) -> Result<[u32; LANES]>;
    /// Energy per site and magnetisation per site of every lane.
    fn observe(&self) -> ([f64; LANES], [f64; LANES]);
}

/// Where each lane starts: random ±1 spins and its xoshiro state, both from
/// the ChaCha stream `streams[lane]` under `seed`.
pub fn lane_start(seed: u64, streams: &[u64; LANES], sites: usize) -> (Vec<Vec<i8>>, Lanes) {
    let mut s = [[0u32; LANES]; 4];
    let spins = streams
        .iter()
        .enumerate()
        .map(|(lane, &stream)| {
            let mut rng = chain_rng(seed, stream);
            let spins: Vec<i8> = (0..sites)
                .map(|_| if rng.random() { 1 } else { -1 })
                .collect();
            loop {
                for w in s.iter_mut() {
                    w[lane] = rng.random();
                }
                // the all-zero state is the one xoshiro cannot leave
                if (0..4).any(|k| s[k][lane] != 0) {
                    break;
                }
            }
            spins
        })
        .collect();
    (spins, Lanes { s })
}

/// Per-sweep measurements of one chain.
#[derive(Clone, Debug, Default)]
pub struct Series {
    /// energy per site
    pub e: Vec<f64>,
    pub abs_m: Vec<f64>,
    pub m2: Vec<f64>,
    pub accepted: u64,
}

/// `burn_in` sweeps, then `sweeps` measured ones (one measurement after each):
/// every lane's series.
pub fn run(
    chains: &mut impl Replicas,
    burn_in: usize,
    sweeps: usize,
    mut tick: impl FnMut(),
) -> Result<Vec<Series>> {
    for _ in 0..burn_in {
        chains.sweep()?;
        tick();
    }
    let mut out: Vec<Series> = (0..LANES)
        .map(|_| Series {
            e: Vec::with_capacity(sweeps),
            abs_m: Vec::with_capacity(sweeps),
            m2: Vec::with_capacity(sweeps),
            accepted: 0,
        })
        .collect();
    for _ in 0..sweeps {
        let acc = chains.sweep()?;
        let (e, m) = chains.observe();
        for (lane, s) in out.iter_mut().enumerate() {
            s.accepted += acc[lane] as u64;
            s.e.push(e[lane]);
            s.abs_m.push(m[lane].abs());
            s.m2.push(m[lane] * m[lane]);
        }
        tick();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_nonpositive_is_accurate_and_monotone() {
        let mut worst = 0.0f64;
        let mut last = 0.0f32;
        for k in 0..=200_000 {
            let x = -(k as f32) * 1e-4 * 4.0; // 0 … −80
            let got = exp_nonpositive(x);
            let want = (x as f64).exp();
            worst = worst.max(((got as f64) - want).abs() / want);
            if k > 0 {
                assert!(got <= last * (1.0 + 1e-6), "not monotone at {x}");
            }
            last = got;
        }
        assert!(worst < 3e-7, "relative error {worst}");
        assert_eq!(exp_nonpositive(0.0), 1.0);
        assert!(exp_nonpositive(-1000.0) < 1e-37);
    }

    #[test]
    fn acceptance_has_the_metropolis_probability() {
        // over a grid of u, the accepted share is min(1, e^{−βΔ}) to 2^-24
        for (beta, d) in [(0.44f32, 4.0f32), (1.0, 0.5), (0.3, -2.0), (2.0, 8.0)] {
            let n = 1u64 << 16;
            let acc = (0..n)
                .filter(|&k| accepts(beta, d, ((k << 16) | 0x8000) as u32))
                .count() as f64
                / n as f64;
            let want = (-(beta * d) as f64).exp().min(1.0);
            assert!(
                (acc - want).abs() < 2.0 / n as f64,
                "{beta} {d}: {acc} vs {want}"
            );
        }
    }

    #[test]
    fn a_lane_start_depends_only_on_its_stream() {
        let mut a = [0u64; LANES];
        let mut b = [0u64; LANES];
        for l in 0..LANES {
            a[l] = l as u64;
            b[l] = (LANES - 1 - l) as u64;
        }
        let (sa, la) = lane_start(7, &a, 20);
        let (sb, lb) = lane_start(7, &b, 20);
        for l in 0..LANES {
            assert_eq!(sa[l], sb[LANES - 1 - l]);
            for w in 0..4 {
                assert_eq!(la.s[w][l], lb.s[w][LANES - 1 - l]);
            }
        }
    }
}
