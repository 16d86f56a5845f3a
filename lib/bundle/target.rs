//! Target posteriors on the parameter grid (the BTI paper's eqs. 10–11):
//! the average over a bundle's members of Gaussians of width σ centred at
//! each member's parameters, each normalised over the grid points. Distances
//! are measured where every parameter spans [0, 1], so σ is in those units.
//! A 2-D Gaussian factorises, so each member costs gh + gw exponentials.

use crate::meta::Grid;

pub struct TargetBuilder {
    grid: Grid,
    /// unit-box coordinates of the grid points along each axis
    axes: [Vec<f64>; 2],
    scratch: [Vec<f64>; 2],
}

impl TargetBuilder {
    pub fn new(grid: &Grid) -> TargetBuilder {
        let axes = [0, 1].map(|a| {
            (0..grid.shape[a])
                .map(|i| grid.unit_coord(a, i))
                .collect::<Vec<_>>()
        });
        let scratch = [vec![0.0; grid.shape[0]], vec![0.0; grid.shape[1]]];
        TargetBuilder {
            grid: grid.clone(),
            axes,
            scratch,
        }
    }

    /// Unit-box coordinates of a point given in physical units.
    pub fn to_unit(&self, t: [f64; 2]) -> [f64; 2] {
        let mut u = [0.0; 2];
        for a in 0..2 {
            let [lo, hi] = self.grid.bounds[&self.grid.params[a]];
            u[a] = if hi > lo {
                (t[a] - lo) / (hi - lo)
            } else {
                0.0
            };
        }
        u
    }

    /// Write the target of `members` (physical parameters) into `out`
    /// (row-major, gh × gw); it sums to 1.
    pub fn build(&mut self, members: &[[f64; 2]], out: &mut [f32]) {
        let [gh, gw] = self.grid.shape;
        assert_eq!(out.len(), gh * gw);
        let inv = 1.0 / (2.0 * self.grid.sigma * self.grid.sigma);
        let mut acc = vec![0.0f64; gh * gw];
        for m in members {
            let u = self.to_unit(*m);
            for ((w, axis), c) in self.scratch.iter_mut().zip(&self.axes).zip(u) {
                // subtract the largest exponent so a far-off centre cannot underflow to 0/0
                let nearest = axis
                    .iter()
                    .map(|x| (x - c).powi(2))
                    .fold(f64::INFINITY, f64::min);
                for (v, x) in w.iter_mut().zip(axis) {
                    *v = (-((x - c).powi(2) - nearest) * inv).exp();
                }
                let s: f64 = w.iter().sum();
                w.iter_mut().for_each(|v| *v /= s);
            }
            for i in 0..gh {
                let wi = self.scratch[0][i];
                for (o, wj) in acc[i * gw..(i + 1) * gw].iter_mut().zip(&self.scratch[1]) {
                    *o += wi * wj;
                }
            }
        }
        let k = members.len() as f64;
        for (o, a) in out.iter_mut().zip(&acc) {
            *o = (a / k) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(gh: usize, gw: usize, sigma: f64) -> Grid {
        Grid::ising_box([gh, gw], sigma)
    }

    #[test]
    fn targets_sum_to_one_and_are_symmetric() {
        let g = grid(16, 12, 0.05);
        let mut tb = TargetBuilder::new(&g);
        let mut out = vec![0f32; 16 * 12];
        // a member at the box centre: symmetric under both reflections
        tb.build(&[[3.0, 0.0]], &mut out);
        assert!((out.iter().map(|&v| v as f64).sum::<f64>() - 1.0).abs() < 1e-6);
        for i in 0..16 {
            for j in 0..12 {
                let v = out[i * 12 + j];
                assert!((v - out[(15 - i) * 12 + j]).abs() < 1e-7);
                assert!((v - out[i * 12 + 11 - j]).abs() < 1e-7);
            }
        }
        // two members mirrored through the centre: the average is symmetric too
        tb.build(&[[2.0, -1.5], [4.0, 1.5]], &mut out);
        assert!((out.iter().map(|&v| v as f64).sum::<f64>() - 1.0).abs() < 1e-6);
        for i in 0..16 {
            for j in 0..12 {
                assert!((out[i * 12 + j] - out[(15 - i) * 12 + 11 - j]).abs() < 1e-7);
            }
        }
    }

    #[test]
    fn a_target_is_the_mean_of_single_member_targets() {
        let g = grid(8, 8, 0.1);
        let mut tb = TargetBuilder::new(&g);
        let ms = [[1.2, 1.9], [4.9, -2.0], [3.3, 0.4]];
        let mut all = vec![0f32; 64];
        tb.build(&ms, &mut all);
        let mut mean = vec![0f64; 64];
        for m in &ms {
            let mut one = vec![0f32; 64];
            tb.build(&[*m], &mut one);
            for (a, b) in mean.iter_mut().zip(&one) {
                *a += *b as f64 / 3.0;
            }
        }
        for (a, b) in all.iter().zip(&mean) {
            assert!((*a as f64 - b).abs() < 1e-7);
        }
        // each single target peaks at the grid point nearest to its member
        let mut one = vec![0f32; 64];
        tb.build(&[[1.2, 1.9]], &mut one);
        let argmax = one
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        // unit coordinates (0.05, 0.975): nearest cell centres are row 0, column 7
        assert_eq!(argmax, 7);
    }

    #[test]
    fn tiny_sigma_is_a_delta_at_the_nearest_grid_point() {
        let g = grid(10, 10, 1e-4);
        let mut tb = TargetBuilder::new(&g);
        let mut out = vec![0f32; 100];
        tb.build(&[[1.0 + 4.0 * 0.72, -2.0 + 4.0 * 0.31]], &mut out);
        // unit coordinates (0.72, 0.31) -> cells (7, 3)
        assert!((out[7 * 10 + 3] - 1.0).abs() < 1e-6, "{:?}", out);
    }
}
