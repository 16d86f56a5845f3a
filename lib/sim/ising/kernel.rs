//! Single-spin-flip sweeps (Metropolis, Glauber) on the checkerboard.
//!
//! A half-sweep updates every spin of one colour at once, which is exact
//! because same-coloured spins do not interact. It runs in two passes:
//!
//! 1. *index pass*: for each spin s with neighbour sum n, the table index
//!    (s·n + 4)/2 + 5·[s = +1] in 0..10, on bytes (compiler-vectorised);
//! 2. *flip pass*: per 16 spins, one 32-bit uniform each from the 16 xoshiro
//!    lanes, the flip threshold looked up from the 10-entry table, compare,
//!    negate the accepted spins. Written with AVX-512 or AVX2 intrinsics where
//!    the CPU has them (chosen at run time), with a portable fallback.
//!
//! All paths consume the same random numbers in the same order and make the
//! same decisions, so the spins are bit-identical whatever the CPU.

use super::lattice::Lattice;
use crate::sim::rng::{threshold, Lanes, LANES};

/// Instruction set of the flip pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    Scalar,
    Avx2,
    Avx512,
}

impl Isa {
    /// Every instruction set this CPU can run.
    pub fn available() -> Vec<Isa> {
        let mut v = vec![Isa::Scalar];
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") {
                v.push(Isa::Avx2);
            }
            if is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512bw")
                && is_x86_feature_detected!("avx512vl")
            {
                v.push(Isa::Avx512);
            }
        }
        v
    }

    /// The fastest available, unless `PHASEKIT_SIMD=scalar|avx2|avx512` asks for
    /// a slower one (for comparisons; a faster one than the CPU has is refused).
    pub fn detect() -> Isa {
        let avail = Self::available();
        let best = *avail.last().expect("scalar is always available");
        match std::env::var("PHASEKIT_SIMD").ok().as_deref() {
            Some("scalar") => Isa::Scalar,
            Some("avx2") if avail.contains(&Isa::Avx2) => Isa::Avx2,
            Some("avx512") if avail.contains(&Isa::Avx512) => Isa::Avx512,
            _ => best,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }
}

/// Flip thresholds indexed by (s·n + 4)/2 + 5·[s = +1]; entries 10..16 unused.
pub type Table = [u32; 16];

fn table(beta: f64, j: f64, h: f64, prob: impl Fn(f64) -> f64) -> Table {
    let mut t = [0u32; 16];
    for (idx, slot) in t.iter_mut().enumerate().take(10) {
        let s = if idx >= 5 { 1.0 } else { -1.0 };
        let a = 2.0 * (idx % 5) as f64 - 4.0; // s·n
        let de = 2.0 * (j * a + h * s); // energy change of flipping s
        *slot = threshold(prob(beta * de));
    }
    t
}

/// Metropolis: accept a flip with probability min(1, e^{−βΔE}).
pub fn metropolis_table(beta: f64, j: f64, h: f64) -> Table {
    table(beta, j, h, |x| (-x).exp().min(1.0))
}

/// Glauber (heat bath): flip with probability 1/(1 + e^{βΔE}).
pub fn glauber_table(beta: f64, j: f64, h: f64) -> Table {
    table(beta, j, h, |x| 1.0 / (1.0 + x.exp()))
}

/// Scratch space for sweeps of one lattice size.
pub struct Sweeper {
    pub isa: Isa,
    idx: Vec<u8>,
    side: Vec<i8>,
}

impl Sweeper {
    pub fn new(l: usize, isa: Isa) -> Sweeper {
        Sweeper {
            isa,
            idx: vec![0; Lattice::padded_len(l)],
            side: vec![0; l / 2],
        }
    }

    /// `n` full sweeps (both colours) with flip thresholds `table`.
    pub fn sweeps(&mut self, lat: &mut Lattice, table: &Table, lanes: &mut Lanes, n: usize) {
        match self.isa {
            Isa::Scalar => sweeps_scalar(self, lat, table, lanes, n),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { x86::sweeps_avx2(self, lat, table, lanes, n) },
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => unsafe { x86::sweeps_avx512(self, lat, table, lanes, n) },
            #[cfg(not(target_arch = "x86_64"))]
            _ => sweeps_scalar(self, lat, table, lanes, n),
        }
    }
}

/// Index pass for colour `c`: table indices of its spins from the other colour.
#[inline(always)]
fn index_pass(cur: &[i8], oth: &[i8], idx: &mut [u8], side: &mut [i8], l: usize, c: usize) {
    let half = l / 2;
    for i in 0..l {
        let row = i * half;
        let up = &oth[((i + l - 1) % l) * half..][..half];
        let down = &oth[((i + 1) % l) * half..][..half];
        let same = &oth[row..row + half];
        // In row i the spins of colour c sit at columns 2k + q; their left and
        // right neighbours are same[k−1], same[k] (q = 0) or same[k], same[k+1] (q = 1).
        if (i + c) & 1 == 0 {
            side[1..].copy_from_slice(&same[..half - 1]);
            side[0] = same[half - 1];
        } else {
            side[..half - 1].copy_from_slice(&same[1..]);
            side[half - 1] = same[0];
        }
        let spins = &cur[row..row + half];
        let out = &mut idx[row..row + half];
        // Branch-free byte arithmetic (x86 has no byte multiply, so s·n is
        // formed as (n ^ m) − m with m = −1 where s = −1): vectorises 64-wide.
        let neighbours = up.iter().zip(down).zip(same).zip(side.iter());
        for ((((&u, &d), &sm), &sd), (&s, o)) in neighbours.zip(spins.iter().zip(out.iter_mut())) {
            let n = u + d + sm + sd;
            let m = s >> 7; // 0 for s = +1, −1 for s = −1
            let a = (n ^ m) - m; // s·n in −4..4
            *o = (((a + 4) >> 1) + (5 & !m)) as u8;
        }
    }
}

#[inline(always)]
fn flip_pass_scalar(idx: &[u8], spins: &mut [i8], table: &Table, lanes: &mut Lanes) {
    for (ic, sc) in idx.chunks_exact(LANES).zip(spins.chunks_exact_mut(LANES)) {
        let r = lanes.next16();
        for l in 0..LANES {
            if r[l] <= table[ic[l] as usize] {
                sc[l] = -sc[l];
            }
        }
    }
}

#[inline(always)]
fn sweeps_generic(
    sw: &mut Sweeper,
    lat: &mut Lattice,
    table: &Table,
    lanes: &mut Lanes,
    n: usize,
    flip: impl Fn(&[u8], &mut [i8], &Table, &mut Lanes),
) {
    let l = lat.l;
    for _ in 0..n {
        for c in 0..2 {
            let [s0, s1] = &mut lat.sub;
            let (cur, oth) = if c == 0 { (s0, &*s1) } else { (s1, &*s0) };
            index_pass(cur, oth, &mut sw.idx, &mut sw.side, l, c);
            flip(&sw.idx, cur, table, lanes);
        }
    }
}

fn sweeps_scalar(sw: &mut Sweeper, lat: &mut Lattice, table: &Table, lanes: &mut Lanes, n: usize) {
    sweeps_generic(sw, lat, table, lanes, n, flip_pass_scalar)
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::*;

    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    pub(super) unsafe fn sweeps_avx512(
        sw: &mut Sweeper,
        lat: &mut Lattice,
        table: &Table,
        lanes: &mut Lanes,
        n: usize,
    ) {
        sweeps_generic(sw, lat, table, lanes, n, |i, s, t, r| unsafe {
            flip_pass_avx512(i, s, t, r)
        })
    }

    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn sweeps_avx2(
        sw: &mut Sweeper,
        lat: &mut Lattice,
        table: &Table,
        lanes: &mut Lanes,
        n: usize,
    ) {
        sweeps_generic(sw, lat, table, lanes, n, |i, s, t, r| unsafe {
            flip_pass_avx2(i, s, t, r)
        })
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    unsafe fn flip_pass_avx512(idx: &[u8], spins: &mut [i8], table: &Table, lanes: &mut Lanes) {
        debug_assert!(idx.len() >= spins.len() && spins.len().is_multiple_of(LANES));
        let tbl = _mm512_loadu_si512(table.as_ptr().cast());
        let ld = |w: &[u32; LANES]| _mm512_loadu_si512(w.as_ptr().cast());
        let (mut s0, mut s1, mut s2, mut s3) = (
            ld(&lanes.s[0]),
            ld(&lanes.s[1]),
            ld(&lanes.s[2]),
            ld(&lanes.s[3]),
        );
        let zero = _mm_setzero_si128();
        for c in 0..spins.len() / LANES {
            // xoshiro128++ on 16 lanes
            let r = _mm512_add_epi32(_mm512_rol_epi32::<7>(_mm512_add_epi32(s0, s3)), s0);
            let t = _mm512_slli_epi32::<9>(s1);
            s2 = _mm512_xor_si512(s2, s0);
            s3 = _mm512_xor_si512(s3, s1);
            s1 = _mm512_xor_si512(s1, s2);
            s0 = _mm512_xor_si512(s0, s3);
            s2 = _mm512_xor_si512(s2, t);
            s3 = _mm512_rol_epi32::<11>(s3);
            // threshold lookup, compare, negate accepted spins
            let ix = _mm512_cvtepu8_epi32(_mm_loadu_si128(idx.as_ptr().add(c * LANES).cast()));
            let thr = _mm512_permutexvar_epi32(ix, tbl);
            let accept = _mm512_cmple_epu32_mask(r, thr);
            let p = spins.as_mut_ptr().add(c * LANES).cast::<__m128i>();
            let sp = _mm_loadu_si128(p);
            _mm_storeu_si128(p, _mm_mask_sub_epi8(sp, accept, zero, sp));
        }
        let st = |w: &mut [u32; LANES], v: __m512i| _mm512_storeu_si512(w.as_mut_ptr().cast(), v);
        st(&mut lanes.s[0], s0);
        st(&mut lanes.s[1], s1);
        st(&mut lanes.s[2], s2);
        st(&mut lanes.s[3], s3);
    }

    #[inline(always)]
    unsafe fn rotl_avx2<const K: i32, const R: i32>(x: __m256i) -> __m256i {
        _mm256_or_si256(_mm256_slli_epi32::<K>(x), _mm256_srli_epi32::<R>(x))
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn flip_pass_avx2(idx: &[u8], spins: &mut [i8], table: &Table, lanes: &mut Lanes) {
        debug_assert!(idx.len() >= spins.len() && spins.len().is_multiple_of(LANES));
        let ld = |w: &[u32; LANES], h: usize| _mm256_loadu_si256(w.as_ptr().add(8 * h).cast());
        let t_lo = _mm256_loadu_si256(table.as_ptr().cast());
        let t_hi = _mm256_loadu_si256(table.as_ptr().add(8).cast());
        let seven = _mm256_set1_epi32(7);
        // bit l of the 16-bit accept mask selects byte l
        let spread = _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
        let bits = _mm_setr_epi8(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
        let mut st = [
            [
                ld(&lanes.s[0], 0),
                ld(&lanes.s[1], 0),
                ld(&lanes.s[2], 0),
                ld(&lanes.s[3], 0),
            ],
            [
                ld(&lanes.s[0], 1),
                ld(&lanes.s[1], 1),
                ld(&lanes.s[2], 1),
                ld(&lanes.s[3], 1),
            ],
        ];
        for c in 0..spins.len() / LANES {
            let bytes = _mm_loadu_si128(idx.as_ptr().add(c * LANES).cast());
            let mut mask = 0i32;
            for (h, s) in st.iter_mut().enumerate() {
                let [s0, s1, s2, s3] = s;
                let r = _mm256_add_epi32(rotl_avx2::<7, 25>(_mm256_add_epi32(*s0, *s3)), *s0);
                let t = _mm256_slli_epi32::<9>(*s1);
                *s2 = _mm256_xor_si256(*s2, *s0);
                *s3 = _mm256_xor_si256(*s3, *s1);
                *s1 = _mm256_xor_si256(*s1, *s2);
                *s0 = _mm256_xor_si256(*s0, *s3);
                *s2 = _mm256_xor_si256(*s2, t);
                *s3 = rotl_avx2::<11, 21>(*s3);
                let ix = _mm256_cvtepu8_epi32(if h == 0 {
                    bytes
                } else {
                    _mm_srli_si128::<8>(bytes)
                });
                let hi = _mm256_cmpgt_epi32(ix, seven);
                let thr = _mm256_blendv_epi8(
                    _mm256_permutevar8x32_epi32(t_lo, ix),
                    _mm256_permutevar8x32_epi32(t_hi, ix),
                    hi,
                );
                // r ≤ thr (unsigned)  ⇔  max(r, thr) = thr
                let acc = _mm256_cmpeq_epi32(_mm256_max_epu32(r, thr), thr);
                mask |= _mm256_movemask_ps(_mm256_castsi256_ps(acc)) << (8 * h);
            }
            let m = _mm_shuffle_epi8(_mm_cvtsi32_si128(mask), spread);
            let flip = _mm_cmpeq_epi8(_mm_and_si128(m, bits), bits);
            let p = spins.as_mut_ptr().add(c * LANES).cast::<__m128i>();
            let sp = _mm_loadu_si128(p);
            // (s ^ f) − f negates s where f = −1
            _mm_storeu_si128(p, _mm_sub_epi8(_mm_xor_si128(sp, flip), flip));
        }
        for (h, s) in st.iter().enumerate() {
            for (k, v) in s.iter().enumerate() {
                _mm256_storeu_si256(lanes.s[k].as_mut_ptr().add(8 * h).cast(), *v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::rng::chain_rng;

    fn random_lattice(l: usize, seed: u64) -> Lattice {
        use rand::Rng;
        let mut rng = chain_rng(seed, 0);
        let spins: Vec<i8> = (0..l * l)
            .map(|_| if rng.random::<bool>() { 1 } else { -1 })
            .collect();
        Lattice::from_row_major(l, &spins)
    }

    #[test]
    fn every_instruction_set_gives_identical_spins() {
        for &l in &[2usize, 4, 6, 10, 32, 34] {
            for table in [
                metropolis_table(1.0 / 2.3, 1.0, 0.3),
                glauber_table(1.0 / 1.7, 1.0, -0.2),
            ] {
                let mut results = Vec::new();
                for isa in Isa::available() {
                    let mut lat = random_lattice(l, 5);
                    let mut lanes = Lanes::from_rng(&mut chain_rng(9, 1));
                    Sweeper::new(l, isa).sweeps(&mut lat, &table, &mut lanes, 7);
                    results.push((isa, lat.sub.clone(), lanes));
                }
                for r in &results[1..] {
                    assert_eq!(r.1, results[0].1, "L={l}: {:?} differs from scalar", r.0);
                    assert_eq!(r.2, results[0].2, "L={l}: {:?} consumed other numbers", r.0);
                }
            }
        }
    }

    #[test]
    fn index_pass_matches_direct_neighbour_sums() {
        let l = 8;
        let lat = random_lattice(l, 3);
        let mut idx = vec![0u8; Lattice::padded_len(l)];
        let mut side = vec![0i8; l / 2];
        for c in 0..2 {
            index_pass(&lat.sub[c], &lat.sub[1 - c], &mut idx, &mut side, l, c);
            for i in 0..l {
                for j in 0..l {
                    if (i + j) & 1 != c {
                        continue;
                    }
                    let n = lat.get((i + l - 1) % l, j)
                        + lat.get((i + 1) % l, j)
                        + lat.get(i, (j + l - 1) % l)
                        + lat.get(i, (j + 1) % l);
                    let s = lat.get(i, j);
                    let want = ((s * n + 4) / 2) as u8 + if s > 0 { 5 } else { 0 };
                    assert_eq!(idx[i * l / 2 + j / 2], want, "site ({i},{j})");
                }
            }
        }
    }

    #[test]
    fn tables_encode_the_right_probabilities() {
        let (beta, j, h) = (0.5, 1.0, 0.3);
        let m = metropolis_table(beta, j, h);
        // s = +1 with all four neighbours +1 (a = 4): ΔE = 2(4 + 0.3)
        assert_eq!(m[9], threshold((-beta * 8.6f64).exp()));
        // s = −1 with all neighbours +1 (a = −4): ΔE = 2(−4 − 0.3) < 0, always flip
        assert_eq!(m[0], u32::MAX);
        let g = glauber_table(beta, j, h);
        assert_eq!(g[7], threshold(1.0 / (1.0 + (beta * 0.6f64).exp())));
    }
}
