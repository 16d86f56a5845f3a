//! The extensive deep neural network of Mills et al. (Chem. Sci. 10, 4129;
//! `millskyle/extensive_deep_neural_networks`): an L×L lattice is cut into
//! non-overlapping f×f focus regions, each seen with a c-wide periodic
//! context, so tile (i, j) covers rows and columns [i·f − c, i·f + f + c)
//! with wrap-around; one shared MLP maps each (f+2c)² tile to a number, and
//! the energy is their sum. The same weights serve every L that f divides.
//!
//! [`HostEdnn`] evaluates it on the CPU and tabulates all 2^{(f+2c)²} tile
//! energies when that is small (f = 2, c = 1: 65,536), so Markov chains run by
//! table lookup. [`to_onnx`] writes the `energy` contract with a symbolic L:
//! periodic padding by Slice + Concat, the first layer as a (f+2c)² kernel of
//! stride f, the rest as 1×1 convolutions, ReduceSum.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use super::onnx::{encode, Attr, Dim, GraphBuilder};
use super::program::ParamData;

/// Tiles with at most this many spins are tabulated.
pub const MAX_TABLE_BITS: usize = 20;

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EdnnSpec {
    /// focus region side
    pub f: usize,
    /// context width around it
    pub c: usize,
    /// hidden layer widths (the paper: 32, 64)
    pub hidden: Vec<usize>,
}

impl EdnnSpec {
    /// Side of a tile, f + 2c.
    pub fn tile(&self) -> usize {
        self.f + 2 * self.c
    }

    /// Spins per tile.
    pub fn inputs(&self) -> usize {
        self.tile() * self.tile()
    }

    pub fn check(&self) -> Result<(), String> {
        if self.f == 0 {
            return Err("--focus: must be at least 1".into());
        }
        if self.hidden.is_empty() || self.hidden.iter().any(|&h| h == 0 || h > 4096) {
            return Err(format!(
                "--hidden: one or more widths in 1..4096, got {:?}",
                self.hidden
            ));
        }
        Ok(())
    }

    /// Whether the tiling covers an L×L lattice (the reference code's rules:
    /// L a multiple of f, f ≤ L/2, f + 2c ≤ L).
    pub fn check_l(&self, l: usize) -> Result<(), String> {
        if l == 0 || !l.is_multiple_of(self.f) || 2 * self.f > l || self.tile() > l {
            return Err(format!(
                "L = {l}: the tiling needs L a multiple of f = {}, f ≤ L/2 and f + 2c = {} ≤ L",
                self.f,
                self.tile()
            ));
        }
        Ok(())
    }

    /// Tiles per L×L lattice.
    pub fn tiles_per(&self, l: usize) -> usize {
        (l / self.f).pow(2)
    }

    /// `phasekit.network` of an exported file.
    pub fn network(&self) -> serde_json::Value {
        json!({"arch": "ednn", "f": self.f, "c": self.c, "hidden": self.hidden})
    }

    fn widths(&self) -> Vec<usize> {
        let mut w = vec![self.inputs()];
        w.extend(&self.hidden);
        w.push(1);
        w
    }

    /// `w{k}` [in, out] and `b{k}` [out], k = 1 … depth + 1; He-uniform weights.
    pub fn init(&self, rng: &mut ChaCha8Rng) -> Vec<ParamData> {
        let w = self.widths();
        let mut out = Vec::new();
        for k in 1..w.len() {
            let (i, o) = (w[k - 1], w[k]);
            let bound = (6.0 / i as f32).sqrt() * if k + 1 == w.len() { 0.1 } else { 1.0 };
            out.push(ParamData {
                name: format!("w{k}"),
                shape: vec![i, o],
                data: (0..i * o)
                    .map(|_| rng.random_range(-bound..bound))
                    .collect(),
            });
            out.push(ParamData {
                name: format!("b{k}"),
                shape: vec![o],
                data: vec![0.0; o],
            });
        }
        out
    }
}

/// The tiles of ±1 configurations (row-major L×L each) as f32 rows of
/// (f+2c)² spins, tile-major within a configuration: tile (i, j) is row
/// i·(L/f) + j, its spins in raster order.
pub fn tiles(spec: &EdnnSpec, l: usize, states: &[i8], out: &mut Vec<f32>) {
    let (f, c, t) = (spec.f, spec.c as isize, spec.tile());
    let per = l / f;
    let li = l as isize;
    for s in states.chunks(l * l) {
        for ti in 0..per {
            for tj in 0..per {
                for a in 0..t {
                    let r = ((ti * f) as isize - c + a as isize).rem_euclid(li) as usize;
                    for b in 0..t {
                        let col = ((tj * f) as isize - c + b as isize).rem_euclid(li) as usize;
                        out.push(s[r * l + col] as f32);
                    }
                }
            }
        }
    }
}

/// The index of a tile in the table: bit k set where spin k is +1.
pub fn tile_index(tile: &[f32]) -> usize {
    tile.iter()
        .enumerate()
        .filter(|(_, v)| **v > 0.0)
        .fold(0, |acc, (k, _)| acc | 1 << k)
}

/// The EDNN's weights on the host.
#[derive(Clone, Debug)]
pub struct HostEdnn {
    pub spec: EdnnSpec,
    /// (w [in][out] row-major, b, in, out) per layer
    layers: Vec<(Vec<f32>, Vec<f32>, usize, usize)>,
}

impl HostEdnn {
    pub fn new(spec: &EdnnSpec, params: &[ParamData]) -> Result<HostEdnn, String> {
        let w = spec.widths();
        let find = |name: &str, len: usize| -> Result<Vec<f32>, String> {
            let p = params
                .iter()
                .find(|p| p.name == name)
                .ok_or_else(|| format!("no parameter {name}"))?;
            if p.data.len() != len {
                return Err(format!(
                    "{name} holds {} values, expected {len}",
                    p.data.len()
                ));
            }
            Ok(p.data.clone())
        };
        let mut layers = Vec::new();
        for k in 1..w.len() {
            let (i, o) = (w[k - 1], w[k]);
            layers.push((
                find(&format!("w{k}"), i * o)?,
                find(&format!("b{k}"), o)?,
                i,
                o,
            ));
        }
        Ok(HostEdnn {
            spec: spec.clone(),
            layers,
        })
    }

    /// The MLP's output for one tile of ±1 spins.
    pub fn tile_energy(&self, tile: &[f32]) -> f64 {
        let mut h: Vec<f32> = tile.to_vec();
        let last = self.layers.len() - 1;
        for (k, (w, b, i, o)) in self.layers.iter().enumerate() {
            let mut next = b.clone();
            for (a, &x) in h.iter().enumerate().take(*i) {
                if x != 0.0 {
                    let row = &w[a * o..(a + 1) * o];
                    next.iter_mut().zip(row).for_each(|(y, wv)| *y += x * wv);
                }
            }
            if k < last {
                next.iter_mut().for_each(|v| *v = v.max(0.0));
            }
            h = next;
        }
        h[0] as f64
    }

    /// E(s) of one L×L configuration: the sum over its tiles.
    pub fn energy(&self, s: &[i8], l: usize) -> f64 {
        let mut t = Vec::new();
        tiles(&self.spec, l, s, &mut t);
        t.chunks(self.spec.inputs())
            .map(|x| self.tile_energy(x))
            .sum()
    }

    /// Every tile's energy, indexed by [`tile_index`], when the tile has at
    /// most [`MAX_TABLE_BITS`] spins.
    pub fn table(&self) -> Option<Vec<f64>> {
        let n = self.spec.inputs();
        if n > MAX_TABLE_BITS {
            return None;
        }
        use rayon::prelude::*;
        Some(
            (0..1usize << n)
                .into_par_iter()
                .map(|k| {
                    let tile: Vec<f32> = (0..n)
                        .map(|b| if k >> b & 1 == 1 { 1.0 } else { -1.0 })
                        .collect();
                    self.tile_energy(&tile)
                })
                .collect(),
        )
    }
}

/// The Walsh–Hadamard coefficients of a tile table: T(x) = Σ_S a_S Π_{k∈S}
/// x_k over subsets S of the tile's spins (index S: bit k set for k ∈ S).
/// The Hamiltonian's couplings, read off exactly.
pub fn walsh_hadamard(table: &[f64]) -> Vec<f64> {
    let mut a = table.to_vec();
    let n = a.len();
    let mut h = 1;
    while h < n {
        for block in (0..n).step_by(2 * h) {
            for k in block..block + h {
                // bit clear: spin −1, bit set: spin +1
                let (lo, hi) = (a[k], a[k + h]);
                a[k] = hi + lo;
                a[k + h] = hi - lo;
            }
        }
        h *= 2;
    }
    a.iter_mut().for_each(|v| *v /= n as f64);
    a
}

/// The learned Hamiltonian on an L×L lattice as couplings: E = Σ_i h_i s_i
/// + Σ_{i<j} K_ij s_i s_j + (higher orders).
#[derive(Clone, Debug, serde::Serialize)]
pub struct Couplings {
    /// −K of nearest-neighbour bonds: mean, min, max (the Ising J)
    pub j_nn: [f64; 3],
    /// the largest |K| of any other pair
    pub max_other_pair: f64,
    /// the largest |h_i|
    pub max_field: f64,
    /// the largest |coupling| of three or more spins (summed over the tiles that hold it)
    pub max_higher: f64,
}

/// Sum the tile coefficients over the tiles of an L×L lattice.
pub fn couplings(spec: &EdnnSpec, table: &[f64], l: usize) -> Couplings {
    let a = walsh_hadamard(table);
    let (t, f, c, per) = (spec.tile(), spec.f, spec.c, l / spec.f);
    let n = l * l;
    let site = |ti: usize, tj: usize, p: usize| {
        let (r, col) = (p / t, p % t);
        ((ti * f + r + l - c) % l) * l + (tj * f + col + l - c) % l
    };
    let mut k = vec![0.0; n * n];
    let mut field = vec![0.0; n];
    // a term of three or more spins can sit in several tiles: sum it per site set
    let mut higher: std::collections::HashMap<Vec<u32>, f64> = Default::default();
    for (set, &coef) in a.iter().enumerate() {
        match set.count_ones() {
            0 => {}
            1 | 2 => {
                let p = set.trailing_zeros() as usize;
                for ti in 0..per {
                    for tj in 0..per {
                        let u = site(ti, tj, p);
                        if set.count_ones() == 1 {
                            field[u] += coef;
                        } else {
                            let q = (usize::BITS - 1 - set.leading_zeros()) as usize;
                            let v = site(ti, tj, q);
                            let (i, j) = (u.min(v), u.max(v));
                            k[i * n + j] += coef;
                        }
                    }
                }
            }
            _ => {
                for ti in 0..per {
                    for tj in 0..per {
                        let mut sites: Vec<u32> = (0..t * t)
                            .filter(|p| set >> p & 1 == 1)
                            .map(|p| site(ti, tj, p) as u32)
                            .collect();
                        sites.sort_unstable();
                        *higher.entry(sites).or_insert(0.0) += coef;
                    }
                }
            }
        }
    }
    let max_higher = higher.values().fold(0.0f64, |m, v| m.max(v.abs()));
    let mut nn = Vec::new();
    let mut other = 0.0f64;
    for i in 0..n {
        for j in i + 1..n {
            let (ri, ci, rj, cj) = (i / l, i % l, j / l, j % l);
            let dr = (ri + l - rj) % l;
            let dc = (ci + l - cj) % l;
            let neighbour =
                (dr == 0 && (dc == 1 || dc == l - 1)) || (dc == 0 && (dr == 1 || dr == l - 1));
            if neighbour {
                nn.push(-k[i * n + j]);
            } else {
                other = other.max(k[i * n + j].abs());
            }
        }
    }
    let mean = nn.iter().sum::<f64>() / nn.len().max(1) as f64;
    Couplings {
        j_nn: [
            mean,
            nn.iter().copied().fold(f64::INFINITY, f64::min),
            nn.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        ],
        max_other_pair: other,
        max_field: field.iter().fold(0.0f64, |m, v| m.max(v.abs())),
        max_higher,
    }
}

/// Export as an `energy` model: `states` f32[N, L, L] (symbolic L) →
/// `energy` f32[N].
pub fn to_onnx(spec: &EdnnSpec, params: &[ParamData], metadata: &[(String, String)]) -> Vec<u8> {
    let host = HostEdnn::new(spec, params).expect("parameters of this spec");
    let (t, c, f) = (spec.tile(), spec.c as i64, spec.f);
    let mut g = GraphBuilder::new("phasekit_ednn");
    let l = Dim::Sym("L".into());
    let s = g.input_f32("states", &[Dim::batch(), l.clone(), l]);
    let axis1 = g.const_i64("axis", &[1]);
    let mut x = g.op("Unsqueeze", &[&s, &axis1], &[]);
    if c > 0 {
        // periodic padding: the last c rows above, the first c below; then columns
        for axis in [2i64, 3] {
            let ax = g.const_i64("pad_axis", &[axis]);
            let (neg, zero, cc, big) = (
                g.const_i64("start", &[-c]),
                g.const_i64("start", &[0]),
                g.const_i64("end", &[c]),
                g.const_i64("end", &[i64::MAX]),
            );
            let tail = g.op("Slice", &[&x, &neg, &big, &ax], &[]);
            let head = g.op("Slice", &[&x, &zero, &cc, &ax], &[]);
            x = g.op("Concat", &[&tail, &x, &head], &[("axis", Attr::Int(axis))]);
        }
    }
    let n_layers = host.layers.len();
    for (k, (w, b, i, o)) in host.layers.iter().enumerate() {
        // conv weights [out, in, kh, kw] from the [in, out] matrix
        let kernel = if k == 0 { t } else { 1 };
        let in_ch = if k == 0 { 1 } else { *i };
        let mut wc = vec![0f32; i * o];
        for a in 0..*i {
            for z in 0..*o {
                wc[z * i + a] = w[a * o + z];
            }
        }
        let wt = g.weight(&format!("w{}", k + 1), &[*o, in_ch, kernel, kernel], &wc);
        let bt = g.weight(&format!("b{}", k + 1), &[*o], b);
        let stride = if k == 0 { f as i64 } else { 1 };
        x = g.op(
            "Conv",
            &[&x, &wt, &bt],
            &[
                ("kernel_shape", Attr::Ints(vec![kernel as i64; 2])),
                ("strides", Attr::Ints(vec![stride; 2])),
            ],
        );
        if k + 1 < n_layers {
            x = g.op("Relu", &[&x], &[]);
        }
    }
    let axes = g.const_i64("axes", &[1, 2, 3]);
    g.op_into(
        "ReduceSum",
        &[&x, &axes],
        &["energy"],
        &[("keepdims", Attr::Int(0))],
    );
    g.output_f32("energy", &[Dim::batch()]);
    encode(&g.finish(
        "phasekit EDNN energy: shared MLP over periodic (f+2c)² tiles, summed",
        metadata,
    ))
}

/// The EDNN weights stored in an exported file, back as [in, out] matrices.
pub fn params_from_onnx(bytes: &[u8], spec: &EdnnSpec) -> Result<Vec<ParamData>, String> {
    use super::onnx::{decode, initializer_f32};
    let model = decode(bytes).map_err(|e| format!("not an ONNX model ({e})"))?;
    let widths = spec.widths();
    let mut out = Vec::new();
    for k in 1..widths.len() {
        let (i, o) = (widths[k - 1], widths[k]);
        let (_, wc) =
            initializer_f32(&model, &format!("w{k}")).ok_or(format!("no initializer w{k}"))?;
        let (_, b) =
            initializer_f32(&model, &format!("b{k}")).ok_or(format!("no initializer b{k}"))?;
        if wc.len() != i * o || b.len() != o {
            return Err(format!(
                "w{k}/b{k} do not have the shapes of {}",
                spec.network()
            ));
        }
        let mut w = vec![0f32; i * o];
        for a in 0..i {
            for z in 0..o {
                w[a * o + z] = wc[z * i + a];
            }
        }
        out.push(ParamData {
            name: format!("w{k}"),
            shape: vec![i, o],
            data: w,
        });
        out.push(ParamData {
            name: format!("b{k}"),
            shape: vec![o],
            data: b,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::rng::chain_rng;

    #[test]
    fn tiles_wrap_around_and_cover_each_focus_region_once() {
        let spec = EdnnSpec {
            f: 2,
            c: 1,
            hidden: vec![4],
        };
        let l = 4;
        // spin k of the lattice is +1 only at k = 0
        let mut s = vec![-1i8; 16];
        s[0] = 1;
        let mut t = Vec::new();
        tiles(&spec, l, &s, &mut t);
        assert_eq!(t.len(), 4 * 16);
        // tile (0, 0) starts at row −1, column −1: site (0, 0) is its spin (1, 1)
        assert_eq!(t[5], 1.0);
        // tile (1, 1) covers rows 1..5 → row 4 ≡ 0 at its a = 3, b = 3
        assert_eq!(t[3 * 16 + 15], 1.0);
        // the focus regions (a, b ∈ {1, 2}) partition the lattice
        let focus: f32 = (0..4)
            .map(|tile| {
                [5, 6, 9, 10]
                    .iter()
                    .map(|k| (t[tile * 16 + k] + 1.0) / 2.0)
                    .sum::<f32>()
            })
            .sum();
        assert_eq!(focus, 1.0);
        assert!(spec.check_l(6).is_ok() && spec.check_l(5).is_err() && spec.check_l(2).is_err());
    }

    #[test]
    fn walsh_hadamard_reads_the_ising_couplings_off_the_exact_table() {
        let spec = EdnnSpec {
            f: 2,
            c: 1,
            hidden: vec![1],
        };
        let table = crate::sim::tiles::ising_table(2, 1, 0.7);
        let k = couplings(&spec, &table, 8);
        assert!(k.j_nn.iter().all(|j| (j - 0.7).abs() < 1e-12), "{k:?}");
        assert!(k.max_other_pair < 1e-12 && k.max_field < 1e-12 && k.max_higher < 1e-12);
    }

    #[test]
    fn the_table_reproduces_the_mlp() {
        let spec = EdnnSpec {
            f: 2,
            c: 1,
            hidden: vec![8, 4],
        };
        let host = HostEdnn::new(&spec, &spec.init(&mut chain_rng(1, 0))).unwrap();
        let table = host.table().unwrap();
        let mut rng = chain_rng(2, 0);
        let s: Vec<i8> = (0..64).map(|_| if rng.random() { 1 } else { -1 }).collect();
        let mut t = Vec::new();
        tiles(&spec, 8, &s, &mut t);
        let by_table: f64 = t.chunks(16).map(|x| table[tile_index(x)]).sum();
        assert!((by_table - host.energy(&s, 8)).abs() < 1e-9);
    }
}
