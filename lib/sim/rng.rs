//! Random streams.
//!
//! Every chain (a sample, or a run of samples from one chain) owns a ChaCha8
//! stream keyed by (seed, chain id): it draws the chain's parameters, its
//! initial state, and the seeds of 16 xoshiro128++ lanes that feed the spin
//! updates. The lanes give one independent 32-bit uniform per attempted flip at
//! SIMD speed; lane l's n-th number is the same whichever instruction set
//! computes it, so outputs never depend on the CPU or the thread count.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Number of xoshiro lanes (one AVX-512 vector of u32).
pub const LANES: usize = 16;

/// The ChaCha8 stream of chain `stream` under `seed`.
pub fn chain_rng(seed: u64, stream: u64) -> ChaCha8Rng {
    // Spread the 64-bit seed over the 256-bit key with SplitMix64 so nearby
    // seeds give unrelated keys.
    let mut key = [0u8; 32];
    let mut x = seed;
    for chunk in key.chunks_mut(8) {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    let mut rng = ChaCha8Rng::from_seed(key);
    rng.set_stream(stream);
    rng
}

/// Sixteen xoshiro128++ generators, stored lane-wise: `s[k][l]` is word k of lane l.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lanes {
    pub s: [[u32; LANES]; 4],
}

impl Lanes {
    pub fn from_rng(rng: &mut impl Rng) -> Lanes {
        let mut s = [[0u32; LANES]; 4];
        for l in 0..LANES {
            loop {
                for w in s.iter_mut() {
                    w[l] = rng.random();
                }
                // the all-zero state is the one xoshiro cannot leave
                if (0..4).any(|k| s[k][l] != 0) {
                    break;
                }
            }
        }
        Lanes { s }
    }

    /// The next 16 outputs (portable reference implementation).
    #[inline(always)]
    pub fn next16(&mut self) -> [u32; LANES] {
        let mut out = [0u32; LANES];
        let [s0, s1, s2, s3] = &mut self.s;
        for l in 0..LANES {
            out[l] = s0[l].wrapping_add(s3[l]).rotate_left(7).wrapping_add(s0[l]);
            let t = s1[l] << 9;
            s2[l] ^= s0[l];
            s3[l] ^= s1[l];
            s1[l] ^= s2[l];
            s0[l] ^= s3[l];
            s2[l] ^= t;
            s3[l] = s3[l].rotate_left(11);
        }
        out
    }
}

/// Uniform 32-bit numbers one at a time, taken in lane order from [`Lanes`]
/// (for the cluster algorithm, which consumes numbers irregularly).
pub struct LaneStream {
    lanes: Lanes,
    buf: [u32; LANES],
    pos: usize,
}

impl LaneStream {
    pub fn new(lanes: Lanes) -> Self {
        LaneStream {
            lanes,
            buf: [0; LANES],
            pos: LANES,
        }
    }

    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        if self.pos == LANES {
            self.buf = self.lanes.next16();
            self.pos = 0;
        }
        let v = self.buf[self.pos];
        self.pos += 1;
        v
    }
}

/// Threshold t with P(u ≤ t) = ⌈p·2³²⌉/2³² for a uniform 32-bit u: exact to
/// the resolution of a 32-bit uniform, and p ≥ 1 always accepts.
pub fn threshold(p: f64) -> u32 {
    if p >= 1.0 {
        u32::MAX
    } else if p <= 0.0 {
        0
    } else {
        let scaled = (p * 4_294_967_296.0).ceil();
        (scaled as u64).saturating_sub(1).min(u32::MAX as u64) as u32
    }
}

/// `n` standard normal draws (Box–Muller, one per pair of uniforms).
pub fn standard_normals(rng: &mut ChaCha8Rng, n: usize) -> Vec<f32> {
    (0..n)
        .map(|_| {
            let (u, v): (f64, f64) = (rng.random(), rng.random());
            ((-2.0 * (1.0 - u).ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xoshiro128pp_reference_values() {
        // Reference: xoshiro128++ from state (1, 2, 3, 4) (Blackman & Vigna's C code).
        let mut lanes = Lanes {
            s: [[1; LANES], [2; LANES], [3; LANES], [4; LANES]],
        };
        let first: Vec<u32> = (0..3).map(|_| lanes.next16()[5]).collect();
        assert_eq!(first, vec![641, 1573767, 3222811527]);
    }

    #[test]
    fn chain_streams_differ_and_repeat() {
        let a: u64 = chain_rng(7, 1).random();
        let b: u64 = chain_rng(7, 2).random();
        let c: u64 = chain_rng(8, 1).random();
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(a, chain_rng(7, 1).random::<u64>());
    }

    #[test]
    fn thresholds() {
        assert_eq!(threshold(1.0), u32::MAX);
        assert_eq!(threshold(2.0), u32::MAX);
        assert_eq!(threshold(0.5), (1u32 << 31) - 1);
        assert_eq!(threshold(1e-30), 0);
    }

    #[test]
    fn lane_uniforms_have_the_right_mean() {
        let mut lanes = Lanes::from_rng(&mut chain_rng(1, 0));
        let n = 100_000;
        let mut sum = 0.0;
        for _ in 0..n {
            sum += lanes
                .next16()
                .iter()
                .map(|&u| u as f64 / 4294967296.0)
                .sum::<f64>();
        }
        let mean = sum / (n * LANES) as f64;
        // standard error of the mean of 1.6M uniforms: 0.2887/sqrt(1.6e6) = 2.3e-4
        assert!((mean - 0.5).abs() < 4.0 * 2.3e-4, "{mean}");
    }
}

/// xoshiro256++: a fast scalar 64-bit generator for sequential processes
/// (the TASEP simulation), seeded from a chain's ChaCha8 stream.
#[derive(Clone, Debug)]
pub struct Xoshiro256 {
    s: [u64; 4],
}

impl Xoshiro256 {
    pub fn from_rng(rng: &mut impl Rng) -> Self {
        loop {
            let s: [u64; 4] = [rng.random(), rng.random(), rng.random(), rng.random()];
            if s.iter().any(|&x| x != 0) {
                return Xoshiro256 { s };
            }
        }
    }

    #[inline(always)]
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    #[inline]
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// Threshold t with P(u ≤ t) = ⌈p·2⁶⁴⌉/2⁶⁴ for a uniform 64-bit u.
pub fn threshold64(p: f64) -> u64 {
    if p >= 1.0 {
        u64::MAX
    } else if p <= 0.0 {
        0
    } else {
        let scaled = (p * 18_446_744_073_709_551_616.0).ceil();
        (scaled as u128).saturating_sub(1).min(u64::MAX as u128) as u64
    }
}

#[cfg(test)]
mod tests256 {
    use super::*;

    #[test]
    fn xoshiro256pp_reference_values() {
        // state (1, 2, 3, 4): reference outputs of Blackman & Vigna's C code
        let mut x = Xoshiro256 { s: [1, 2, 3, 4] };
        assert_eq!(x.next_u64(), 41943041);
        assert_eq!(x.next_u64(), 58720359);
    }
}
