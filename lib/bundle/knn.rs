//! Exact k nearest neighbours of 2-D points in [0, 1]², ordered by
//! (distance, id) so that ties break deterministically by id.
//!
//! Points are bucketed into a uniform grid of cells (about two per cell, a
//! counting sort); a query scans rings of cells around its own until the
//! nearest unscanned cell is farther than its current k-th neighbour. For
//! the parameter boxes of phasekit (two parameters, points spread over the
//! box or clustered along lines) this is simpler and faster than a k-d tree
//! and gives exact answers, tested against brute force.

use rayon::prelude::*;

/// Unit-box coordinates and ids of the points to search.
pub struct Points<'a> {
    pub xy: &'a [[f64; 2]],
    pub ids: &'a [u64],
}

pub struct CellIndex {
    g: usize,
    /// points sorted by cell; cell c holds order[start[c]..start[c + 1]]
    start: Vec<u32>,
    order: Vec<u32>,
}

#[inline]
fn cell_of(v: f64, g: usize) -> usize {
    ((v * g as f64) as usize).min(g - 1)
}

#[inline]
fn d2(a: [f64; 2], b: [f64; 2]) -> f64 {
    let (dx, dy) = (a[0] - b[0], a[1] - b[1]);
    dx * dx + dy * dy
}

impl CellIndex {
    pub fn new(xy: &[[f64; 2]]) -> CellIndex {
        let g = ((xy.len() as f64 / 2.0).sqrt().ceil() as usize).clamp(1, 4096);
        let cell = |p: &[f64; 2]| cell_of(p[1], g) * g + cell_of(p[0], g);
        let mut start = vec![0u32; g * g + 1];
        for p in xy {
            start[cell(p) + 1] += 1;
        }
        for c in 0..g * g {
            start[c + 1] += start[c];
        }
        let mut fill = start.clone();
        let mut order = vec![0u32; xy.len()];
        for (i, p) in xy.iter().enumerate() {
            let c = cell(p);
            order[fill[c] as usize] = i as u32;
            fill[c] += 1;
        }
        CellIndex { g, start, order }
    }

    /// The k nearest points to point `q` (itself first, then by distance and
    /// id), as indices into `pts`.
    pub fn query(&self, pts: &Points, q: usize, k: usize, out: &mut Vec<u32>) {
        let g = self.g;
        let p = pts.xy[q];
        let (cx, cy) = (cell_of(p[0], g) as i64, cell_of(p[1], g) as i64);
        // best: sorted ascending by (d², id), at most k − 1 entries besides q
        let want = k - 1;
        out.clear();
        out.push(q as u32);
        if want == 0 {
            return;
        }
        let mut best: Vec<(f64, u64, u32)> = Vec::with_capacity(want + 1);
        let mut r = 0i64;
        loop {
            for y in (cy - r).max(0)..=(cy + r).min(g as i64 - 1) {
                let on_edge_row = y == cy - r || y == cy + r;
                let xs: Box<dyn Iterator<Item = i64>> = if on_edge_row {
                    Box::new((cx - r).max(0)..=(cx + r).min(g as i64 - 1))
                } else {
                    Box::new(
                        [cx - r, cx + r]
                            .into_iter()
                            .filter(|&x| x >= 0 && x < g as i64),
                    )
                };
                for x in xs {
                    let c = y as usize * g + x as usize;
                    for &j in &self.order[self.start[c] as usize..self.start[c + 1] as usize] {
                        if j as usize == q {
                            continue;
                        }
                        let key = (d2(p, pts.xy[j as usize]), pts.ids[j as usize], j);
                        if best.len() == want {
                            let worst = best[want - 1];
                            if (key.0, key.1) >= (worst.0, worst.1) {
                                continue;
                            }
                            best.pop();
                        }
                        let at = best.partition_point(|b| (b.0, b.1) < (key.0, key.1));
                        best.insert(at, key);
                    }
                }
            }
            // Stop once every unscanned cell lies strictly farther than the
            // current k-th neighbour (equal distances may still win on id).
            let covered =
                cx - r <= 0 && cy - r <= 0 && cx + r >= g as i64 - 1 && cy + r >= g as i64 - 1;
            if covered {
                break;
            }
            if best.len() == want {
                let gf = g as f64;
                let gap = [
                    p[0] - (cx - r) as f64 / gf,
                    (cx + r + 1) as f64 / gf - p[0],
                    p[1] - (cy - r) as f64 / gf,
                    (cy + r + 1) as f64 / gf - p[1],
                ];
                // sides of the scanned block that touch the box edge have nothing beyond
                let open = [
                    cx - r > 0,
                    cx + r < g as i64 - 1,
                    cy - r > 0,
                    cy + r < g as i64 - 1,
                ];
                let reach = gap
                    .iter()
                    .zip(open)
                    .filter(|(_, o)| *o)
                    .map(|(d, _)| d.max(0.0))
                    .fold(f64::INFINITY, f64::min);
                if reach * reach > best[want - 1].0 {
                    break;
                }
            }
            r += 1;
        }
        out.extend(best.iter().map(|b| b.2));
    }
}

/// k nearest neighbours of every point (itself first), as indices, in
/// parallel; `k` must not exceed the number of points.
pub fn knn_all(pts: &Points, k: usize) -> Vec<u32> {
    assert!(k >= 1 && k <= pts.xy.len());
    let index = CellIndex::new(pts.xy);
    let mut out = vec![0u32; pts.xy.len() * k];
    out.par_chunks_mut(k)
        .enumerate()
        .for_each_init(Vec::new, |buf, (q, row)| {
            index.query(pts, q, k, buf);
            row.copy_from_slice(buf);
        });
    out
}

/// Brute force, the reference in tests.
pub fn knn_brute(pts: &Points, k: usize) -> Vec<u32> {
    let n = pts.xy.len();
    let mut out = Vec::with_capacity(n * k);
    for q in 0..n {
        let mut all: Vec<(f64, u64, u32)> = (0..n)
            .filter(|&j| j != q)
            .map(|j| (d2(pts.xy[q], pts.xy[j]), pts.ids[j], j as u32))
            .collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        out.push(q as u32);
        out.extend(all.iter().take(k - 1).map(|a| a.2));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::rng::{chain_rng, Xoshiro256};

    fn check(xy: Vec<[f64; 2]>, k: usize, what: &str) {
        // ids deliberately not in index order
        let ids: Vec<u64> = (0..xy.len() as u64).map(|i| (i * 7919) % 10007).collect();
        let pts = Points { xy: &xy, ids: &ids };
        assert_eq!(knn_all(&pts, k), knn_brute(&pts, k), "{what}");
    }

    fn rng() -> Xoshiro256 {
        Xoshiro256::from_rng(&mut chain_rng(11, 0))
    }

    #[test]
    fn matches_brute_force_on_uniform_points() {
        let mut r = rng();
        for &(n, k) in &[
            (1usize, 1usize),
            (2, 2),
            (50, 8),
            (1500, 8),
            (1500, 1),
            (700, 40),
        ] {
            let xy: Vec<[f64; 2]> = (0..n).map(|_| [r.unit(), r.unit()]).collect();
            check(xy, k, &format!("uniform n={n} k={k}"));
        }
    }

    #[test]
    fn matches_brute_force_on_clustered_points() {
        let mut r = rng();
        // tight clusters, a line and the box corners
        let mut xy: Vec<[f64; 2]> = (0..600)
            .map(|i| {
                let c = [[0.1, 0.1], [0.8, 0.3], [0.5, 0.95]][i % 3];
                [c[0] + 1e-3 * r.unit(), c[1] + 1e-3 * r.unit()]
            })
            .collect();
        xy.extend((0..300).map(|_| [r.unit(), 0.5]));
        xy.extend([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]]);
        check(xy, 8, "clustered");
    }

    #[test]
    fn matches_brute_force_on_duplicated_points() {
        let mut r = rng();
        // many exact duplicates: ties must break by id
        let base: Vec<[f64; 2]> = (0..40).map(|_| [r.unit(), r.unit()]).collect();
        let xy: Vec<[f64; 2]> = (0..800).map(|i| base[i % 40]).collect();
        check(xy.clone(), 8, "duplicated");
        check(xy, 30, "duplicated, k above the duplicate count");
        // a lattice: equal distances everywhere
        let lattice: Vec<[f64; 2]> = (0..900)
            .map(|i| [(i % 30) as f64 / 29.0, (i / 30) as f64 / 29.0])
            .collect();
        check(lattice, 9, "lattice");
    }
}
