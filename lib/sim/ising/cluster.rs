//! Swendsen–Wang cluster updates with a ghost spin for the field.
//!
//! Bonds join equal neighbouring spins with probability 1 − e^{−2βJ}; for
//! h ≠ 0 a ghost spin fixed at sign(h) joins each spin aligned with it with
//! probability 1 − e^{−2β|h|}. Every cluster then takes a fresh random value,
//! except the ghost's cluster, which keeps sign(h). This is exact for J > 0
//! and does not slow down near T_c or get stuck in stripes below it. Works on
//! row-major spins of any L ≥ 2 (odd L included).

use crate::sim::rng::{threshold, LaneStream};

pub struct SwendsenWang {
    l: usize,
    parent: Vec<u32>,
    value: Vec<i8>,
}

impl SwendsenWang {
    pub fn new(l: usize) -> Self {
        let n = l * l + 1;
        SwendsenWang {
            l,
            parent: vec![0; n],
            value: vec![0; n],
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
        let bond = threshold(1.0 - (-2.0 * beta * j).exp());
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
                        if spins[a] == spins[b] && rng.next_u32() <= bond {
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
                    self.value[r] = if Some(r as u32) == ghost_root {
                        g
                    } else if rng.next_u32() >> 31 == 1 {
                        1
                    } else {
                        -1
                    };
                }
                *spin = self.value[r];
            }
        }
    }
}
