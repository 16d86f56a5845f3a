//! Posterior networks: a bundle of K states [N, K, H, W] -> logits over the
//! parameter grid [N, gh, gw] (softmax over the grid is the posterior).
//!
//! * `unet` (default): a compact U-Net. Encoder levels of two 3×3 convs
//!   (stride-2 conv between levels), a global-average bottleneck mapped back
//!   onto the coarsest level (so every output cell sees the whole bundle),
//!   a decoder of 2×2 transposed convs with skip connections, a 1×1 head,
//!   and a fixed linear resampling from the image to the grid when they differ.
//! * `pool`: convolutions, global average pooling, an MLP onto the grid.
//! * `members`: each bundle member through one shared 3×3 convolution,
//!   pooled over the lattice and averaged over the members, then an MLP.
//! * `extensive`: as `members`, but a linear map from the pooled features to
//!   the logits, times the bundle's number of sites: the log posterior as a
//!   sum of local terms over every site of every member, smooth in θ (a
//!   cubic spline with eight intervals along each grid axis) except for
//!   kinks it may take at the knots (hat functions on the same knots).
//! * `small-cnn`: the fixed comparison network of the benchmarks: conv 4→32,
//!   conv 32→64 stride 2, conv 64→64 stride 2 (3×3, pad 1, ReLU), linear to gh·gw.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::program::{resample_matrix, Layer, ParamData, Program};

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Arch {
    Unet,
    SmallCnn,
    /// convolutions, global average pooling, then an MLP onto the grid:
    /// translation-invariant summaries, no image positions on the grid
    Pool,
    /// each member on its own through one shared 3×3 convolution, global
    /// average pooling, the mean over the bundle's members, an MLP onto the
    /// grid: averages of local spin and bond patterns, as the Ising model's
    /// sufficient statistics are, independent of the members' order
    Members,
    /// as `members`, but the logits are K·H·W times a linear map of the
    /// pooled features: log p(θ | bundle) = Σ over sites and members of a
    /// local term, the form an exponential family with local statistics
    /// (any lattice Gibbs distribution) has, so sharp posteriors of large
    /// bundles need only O(1) parameters; the map is a cubic spline in θ with
    /// eight intervals per grid axis plus hats on its knots, so it may kink
    /// on a knot as on a first-order line (the demo's network)
    Extensive,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PosteriorSpec {
    pub arch: Arch,
    /// input channels (K_bundle)
    pub k: usize,
    pub h: usize,
    pub w: usize,
    pub gh: usize,
    pub gw: usize,
    /// channels of the first level (unet)
    pub width: usize,
    /// number of stride-2 levels (unet)
    pub depth: usize,
}

struct Builder<'a> {
    program: Program,
    params: Vec<ParamData>,
    rng: &'a mut ChaCha8Rng,
}

impl Builder<'_> {
    /// He (Kaiming) uniform initialisation, ±√(6/fan_in), keeps the signal's
    /// variance through ReLU layers; biases start at zero.
    fn param(&mut self, name: String, shape: Vec<usize>, fan_in: usize) -> usize {
        let bound = if name.ends_with(".bias") {
            0.0
        } else {
            (6.0 / fan_in as f64).sqrt()
        };
        let n: usize = shape.iter().product();
        let data = (0..n)
            .map(|_| ((2.0 * self.rng.random::<f64>() - 1.0) * bound) as f32)
            .collect();
        self.params.push(ParamData { name, shape, data });
        self.params.len() - 1
    }

    fn conv(
        &mut self,
        x: usize,
        cin: usize,
        cout: usize,
        k: usize,
        stride: usize,
        name: &str,
    ) -> usize {
        let fan = cin * k * k;
        let w = self.param(format!("{name}.weight"), vec![cout, cin, k, k], fan);
        let b = self.param(format!("{name}.bias"), vec![cout], fan);
        self.program.push(
            Layer::Conv {
                w,
                b,
                stride,
                pad: k / 2,
            },
            x,
        )
    }

    fn conv_relu(&mut self, x: usize, cin: usize, cout: usize, stride: usize, name: &str) -> usize {
        let c = self.conv(x, cin, cout, 3, stride, name);
        self.program.push(Layer::Relu, c)
    }

    /// Each member of the input bundle through one shared 3×3 convolution,
    /// pooled over the lattice and averaged over the members: [N, width].
    fn member_features(&mut self, spec: &PosteriorSpec) -> usize {
        let members = Layer::Members {
            h: spec.h,
            w: spec.w,
        };
        let x = self.program.push(members, 0);
        let x = self.conv_relu(x, 1, spec.width, 1, "conv1");
        let p = self.program.push(Layer::Pool, x);
        let mean = Layer::MemberMean {
            k: spec.k,
            c: spec.width,
        };
        self.program.push(mean, p)
    }

    /// A linear layer that starts at zero (a uniform posterior), for a head
    /// behind a large gain.
    fn zero_linear(&mut self, x: usize, i: usize, o: usize, name: &str) -> usize {
        let out = self.linear(x, i, o, name);
        let weight = format!("{name}.weight");
        let w = self.params.iter_mut().find(|p| p.name == weight);
        w.expect("linear names its weight").data.fill(0.0);
        out
    }

    fn linear(&mut self, x: usize, i: usize, o: usize, name: &str) -> usize {
        let w = self.param(format!("{name}.weight"), vec![i, o], i);
        let b = self.param(format!("{name}.bias"), vec![o], i);
        self.program.push(Layer::Linear { w, b }, x)
    }
}

/// Output size of a 3×3, pad 1, stride 2 convolution.
fn half(n: usize) -> usize {
    n.div_ceil(2)
}

impl PosteriorSpec {
    /// Why this spec cannot be built, if it cannot.
    pub fn check(&self) -> Result<(), String> {
        if self.arch != Arch::SmallCnn && self.width == 0 {
            return Err("--width must be at least 1".into());
        }
        if self.arch == Arch::Unet {
            let f = 1usize << self.depth;
            if !self.h.is_multiple_of(f) || !self.w.is_multiple_of(f) {
                return Err(format!(
                    "the {}x{} state does not halve {} times (--depth); use --depth {} or --arch small-cnn",
                    self.h,
                    self.w,
                    self.depth,
                    (self.h.trailing_zeros().min(self.w.trailing_zeros())).min(4)
                ));
            }
            if self.width == 0 {
                return Err("--width must be at least 1".into());
            }
        }
        Ok(())
    }

    pub fn build(&self, rng: &mut ChaCha8Rng) -> (Program, Vec<ParamData>) {
        let mut b = Builder {
            program: Program::default(),
            params: Vec::new(),
            rng,
        };
        let out = match self.arch {
            Arch::SmallCnn => {
                let x = b.conv_relu(0, self.k, 32, 1, "conv1");
                let x = b.conv_relu(x, 32, 64, 2, "conv2");
                let x = b.conv_relu(x, 64, 64, 2, "conv3");
                let f = b.program.push(Layer::Flatten, x);
                let n_in = 64 * half(half(self.h)) * half(half(self.w));
                let l = b.linear(f, n_in, self.gh * self.gw, "fc");
                b.program.push(grid_reshape(self.gh, self.gw), l)
            }
            Arch::Pool => {
                let w0 = self.width;
                let x = b.conv_relu(0, self.k, w0, 1, "conv1");
                let x = b.conv_relu(x, w0, w0, 1, "conv2");
                let x = b.conv_relu(x, w0, 2 * w0, 2, "conv3");
                let x = b.conv_relu(x, 2 * w0, 2 * w0, 1, "conv4");
                let p = b.program.push(Layer::Pool, x);
                let hdn = b.linear(p, 2 * w0, 256, "mlp1");
                let hdn = b.program.push(Layer::Relu, hdn);
                let l = b.linear(hdn, 256, self.gh * self.gw, "mlp2");
                b.program.push(grid_reshape(self.gh, self.gw), l)
            }
            Arch::Members => {
                let w0 = self.width;
                let m = b.member_features(self);
                let hdn = b.linear(m, w0, 256, "mlp1");
                let hdn = b.program.push(Layer::Relu, hdn);
                let hdn = b.linear(hdn, 256, 256, "mlp2");
                let hdn = b.program.push(Layer::Relu, hdn);
                let l = b.linear(hdn, 256, self.gh * self.gw, "mlp3");
                b.program.push(grid_reshape(self.gh, self.gw), l)
            }
            Arch::Extensive => {
                let w0 = self.width;
                let m = b.member_features(self);
                // the head writes the control points of a cubic B-spline a
                // few cells apart: neighbouring cells share parameters (cells
                // the training targets rarely visit still get a smooth log
                // posterior), and a spline reproduces quadratics, so the log
                // posterior can peak between control points
                let (kh, kw) = (extensive_knot(self.gh), extensive_knot(self.gw));
                let (ch, cw) = (head_controls(self.gh, kh), head_controls(self.gw, kw));
                let l = b.zero_linear(m, w0, ch * cw, "head");
                let sites = (self.k * self.h * self.w) as f32;
                let l = b.program.push(Layer::Scale(sites), l);
                b.program.push(
                    Layer::ToGrid {
                        h: ch,
                        w: cw,
                        rows: head_basis(self.gh, kh),
                        cols: transpose(&head_basis(self.gw, kw), self.gw, cw),
                        gh: self.gh,
                        gw: self.gw,
                    },
                    l,
                )
            }
            Arch::Unet => {
                let w0 = self.width;
                let mut skips = Vec::new();
                let x = b.conv_relu(0, self.k, w0, 1, "enc0.a");
                let mut x = b.conv_relu(x, w0, w0, 1, "enc0.b");
                skips.push((x, w0));
                let mut c = w0;
                for l in 1..=self.depth {
                    let y = b.conv_relu(x, c, 2 * c, 2, &format!("enc{l}.down"));
                    c *= 2;
                    x = b.conv_relu(y, c, c, 1, &format!("enc{l}.b"));
                    skips.push((x, c));
                }
                // global context mapped back onto the coarsest level
                let (ch, cw) = (self.h >> self.depth, self.w >> self.depth);
                let p = b.program.push(Layer::Pool, x);
                let g = b.linear(p, c, c * ch * cw, "context");
                let g = b.program.push(Layer::Relu, g);
                let g = b.program.push(Layer::Unflatten { c, h: ch, w: cw }, g);
                let cat = b.program.push(Layer::Concat(g), x);
                x = b.conv_relu(cat, 2 * c, c, 1, "bottleneck");
                for l in (1..=self.depth).rev() {
                    let (skip, sc) = skips[l - 1];
                    let wu = b.param(format!("dec{l}.up.weight"), vec![c, sc, 2, 2], c * 4);
                    let bu = b.param(format!("dec{l}.up.bias"), vec![sc], c * 4);
                    let u = b.program.push(Layer::Up { w: wu, b: bu }, x);
                    let cat = b.program.push(Layer::Concat(skip), u);
                    x = b.conv_relu(cat, 2 * sc, sc, 1, &format!("dec{l}.conv"));
                    c = sc;
                }
                let head = b.conv(x, c, 1, 1, 1, "head");
                b.program.push(
                    Layer::ToGrid {
                        h: self.h,
                        w: self.w,
                        rows: resample_matrix(self.h, self.gh),
                        cols: transpose(&resample_matrix(self.w, self.gw), self.gw, self.w),
                        gh: self.gh,
                        gw: self.gw,
                    },
                    head,
                )
            }
        };
        debug_assert_eq!(out, b.program.output());
        (b.program, b.params)
    }
}

/// Posterior cells between the `extensive` head's spline knots: eight
/// intervals along each axis of the grid (measured: at 32×32, knots every 4
/// cells fit better than every 2 and as well as every 8; at 64×64, every 8
/// better than every 4).
fn extensive_knot(cells: usize) -> usize {
    cells.div_ceil(8)
}

/// Control points of a uniform cubic B-spline with knots every `knot` cells
/// that covers `n` cells: one before the first cell, two past the last.
fn spline_controls(n: usize, knot: usize) -> usize {
    n.div_ceil(knot) + 3
}

/// `kernel(|u − (j − shift)|)` at the centres of `n` cells (u in knot
/// units) for controls j = 0..p: an n × p matrix, row-major.
fn knot_basis(n: usize, knot: usize, p: usize, shift: f64, kernel: fn(f64) -> f64) -> Vec<f32> {
    let mut m = vec![0f32; n * p];
    for o in 0..n {
        let u = (o as f64 + 0.5) / knot as f64;
        for j in 0..p {
            m[o * p + j] = kernel((u - (j as f64 - shift)).abs()) as f32;
        }
    }
    m
}

/// The cubic B-spline basis at the centres of `n` cells: an
/// n × spline_controls(n, knot) matrix, row-major, whose rows sum to 1.
fn spline_basis(n: usize, knot: usize) -> Vec<f32> {
    let cubic = |t: f64| {
        if t < 1.0 {
            (4.0 - 6.0 * t * t + 3.0 * t * t * t) / 6.0
        } else if t < 2.0 {
            (2.0 - t).powi(3) / 6.0
        } else {
            0.0
        }
    };
    knot_basis(n, knot, spline_controls(n, knot), 1.0, cubic)
}

/// Hat functions (linear B-splines) on the same knots: one per knot.
fn hat_controls(n: usize, knot: usize) -> usize {
    n.div_ceil(knot) + 1
}

/// The hats at the centres of `n` cells: n × hat_controls(n, knot), row-major.
fn hat_basis(n: usize, knot: usize) -> Vec<f32> {
    knot_basis(n, knot, hat_controls(n, knot), 0.0, |t| (1.0 - t).max(0.0))
}

fn head_controls(n: usize, knot: usize) -> usize {
    spline_controls(n, knot) + hat_controls(n, knot)
}

/// The `extensive` head's basis along one axis: the cubic B-splines beside
/// the hats, so the log posterior is smooth between knots but may kink at
/// one (a first-order line on a knot, as h = 0 in the Ising box).
fn head_basis(n: usize, knot: usize) -> Vec<f32> {
    let (p, q) = (spline_controls(n, knot), hat_controls(n, knot));
    let (cubic, hats) = (spline_basis(n, knot), hat_basis(n, knot));
    let mut m = Vec::with_capacity(n * (p + q));
    for o in 0..n {
        m.extend_from_slice(&cubic[o * p..(o + 1) * p]);
        m.extend_from_slice(&hats[o * q..(o + 1) * q]);
    }
    m
}

/// Flat logits [N, gh·gw] viewed as the grid (identity resampling).
fn grid_reshape(gh: usize, gw: usize) -> Layer {
    Layer::ToGrid {
        h: gh,
        w: gw,
        rows: resample_matrix(gh, gh),
        cols: resample_matrix(gw, gw),
        gh,
        gw,
    }
}

/// (rows × cols) -> (cols × rows)
fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0f32; m.len()];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = m[r * cols + c];
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The head's basis along an axis is the cubic splines, then the hats;
    /// the hats reproduce a kink |u − j₀| at any knot j₀ from its values at
    /// the knots, which no combination of the C² cubics can.
    #[test]
    fn head_basis_adds_hats_that_kink_at_a_knot() {
        for (n, knot) in [(64, 8), (32, 4), (5, 4)] {
            let (p, q) = (spline_controls(n, knot), hat_controls(n, knot));
            assert_eq!(head_controls(n, knot), p + q);
            let m = head_basis(n, knot);
            let (cubic, hats) = (spline_basis(n, knot), hat_basis(n, knot));
            for o in 0..n {
                let row = &m[o * (p + q)..(o + 1) * (p + q)];
                assert_eq!(&row[..p], &cubic[o * p..(o + 1) * p]);
                assert_eq!(&row[p..], &hats[o * q..(o + 1) * q]);
                let u = (o as f64 + 0.5) / knot as f64;
                let sum: f64 = row[p..].iter().map(|&b| b as f64).sum();
                assert!((sum - 1.0).abs() < 1e-6, "n {n} knot {knot} row {o}");
                let kink = n.div_ceil(knot) / 2;
                let v: f64 = row[p..]
                    .iter()
                    .enumerate()
                    .map(|(j, &b)| b as f64 * (j as f64 - kink as f64).abs())
                    .sum();
                assert!((v - (u - kink as f64).abs()).abs() < 1e-6, "n {n} row {o}");
            }
        }
    }

    /// The basis sums to one and reproduces u and u² (in knot units) from
    /// their B-spline control values j − 1 and (j − 1)² − 1/3: a log
    /// posterior quadratic in θ is representable wherever its peak lies.
    #[test]
    fn spline_basis_reproduces_quadratics() {
        for (n, knot) in [(32, 4), (64, 4), (5, 4), (7, 2), (3, 8)] {
            let p = spline_controls(n, knot);
            let m = spline_basis(n, knot);
            for o in 0..n {
                let row = &m[o * p..(o + 1) * p];
                let u = (o as f64 + 0.5) / knot as f64;
                let dot = |c: &dyn Fn(f64) -> f64| -> f64 {
                    row.iter()
                        .enumerate()
                        .map(|(j, &b)| b as f64 * c(j as f64 - 1.0))
                        .sum()
                };
                assert!(
                    (dot(&|_| 1.0) - 1.0).abs() < 1e-6,
                    "n {n} knot {knot} row {o}"
                );
                assert!((dot(&|x| x) - u).abs() < 1e-5, "n {n} knot {knot} row {o}");
                assert!(
                    (dot(&|x| x * x - 1.0 / 3.0) - u * u).abs() < 1e-4,
                    "n {n} row {o}"
                );
            }
        }
    }
}
