//! Swendsen–Wang cluster updates with a ghost spin for the field.
//!
//! Bonds join neighbouring spins whose bond is satisfied (equal spins for
//! J > 0, opposite for J < 0) with probability 1 − e^{−2β|J|}; for h ≠ 0 a
//! ghost spin fixed at sign(h) joins each spin aligned with it with
//! probability 1 − e^{−2β|h|}. Every cluster then flips with probability
//! ½ as a whole, except the ghost's cluster, which keeps its orientation
//! (for J > 0 a cluster's spins are equal, so this is a fresh random value
//! per cluster, drawn in order of each cluster's first site). This is the
//! Fortuin–Kasteleyn construction, exact for either sign of J, and does not
//! slow down near T_c or get stuck in stripes below it. For J < 0 it is the
//! gauge image s → (−1)^(x+y) s of the ferromagnet on a bipartite (even L)
//! lattice; an odd periodic L is frustrated, still exact but slower. Works on
//! row-major spins of any L ≥ 2.

use crate::sim::rng::{threshold, LaneStream};

pub struct SwendsenWang {
    l: usize,
    parent: Vec<u32>,
    value: Vec<i8>,
    /// per cluster root: the old spin its new `value` refers to
    reference: Vec<i8>,
}

impl SwendsenWang {
    pub fn new(l: usize) -> Self {
        let n = l * l + 1;
        SwendsenWang {
            l,
            parent: vec![0; n],
            value: vec![0; n],
            reference: vec![0; n],
        }
    }

    #[inline]
    fn find(&mut self, mut x: u32) -> u32 {
        // path halving
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            self.parent[x as usize] = self.parent[p as usize];
            x = self.parent[x as usize];
        }
        x
    }

    #[inline]
    fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            // the larger index points to the smaller: the ghost (index N) never
            // becomes a root unless alone, which keeps roots deterministic
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.parent[hi as usize] = lo;
        }
    }

    /// `n` Swendsen–Wang updates of the row-major spins.
    pub fn sweeps(
        &mut self,
        spins: &mut [i8],
        beta: f64,
        j: f64,
        h: f64,
        rng: &mut LaneStream,
        n: usize,
    ) {
        let l = self.l;
        let sites = l * l;
        let ghost = sites as u32;
        let bond = threshold(1.0 - (-2.0 * beta * j.abs()).exp());
        let ferro = j > 0.0;
        let field = threshold(1.0 - (-2.0 * beta * h.abs()).exp());
        let g: i8 = if h > 0.0 { 1 } else { -1 };
        for _ in 0..n {
            for (i, p) in self.parent.iter_mut().enumerate() {
                *p = i as u32;
            }
            for i in 0..l {
                for jj in 0..l {
                    let a = i * l + jj;
                    let right = i * l + (jj + 1) % l;
                    let down = ((i + 1) % l) * l + jj;
                    for b in [right, down] {
                        if (spins[a] == spins[b]) == ferro && rng.next_u32() <= bond {
                            self.union(a as u32, b as u32);
                        }
                    }
                }
            }
            if h != 0.0 {
                for (a, &s) in spins.iter().enumerate() {
                    if s == g && rng.next_u32() <= field {
                        self.union(a as u32, ghost);
                    }
                }
            }
            // new cluster values, drawn in order of each cluster's first site
            self.value.iter_mut().for_each(|v| *v = 0);
            let ghost_root = if h != 0.0 {
                Some(self.find(ghost))
            } else {
                None
            };
            for (a, spin) in spins.iter_mut().enumerate() {
                let r = self.find(a as u32) as usize;
                if self.value[r] == 0 {
                    // the ghost's cluster keeps its spins: value and reference both g
                    let ghost = Some(r as u32) == ghost_root;
                    self.reference[r] = if ghost { g } else { *spin };
                    self.value[r] = if ghost {
                        g
                    } else if rng.next_u32() >> 31 == 1 {
                        1
                    } else {
                        -1
                    };
                }
                // a spin keeps its sign relative to its cluster's reference
                // (all equal for J > 0, alternating along bonds for J < 0)
                *spin = self.value[r] * *spin * self.reference[r];
            }
        }
    }
}
