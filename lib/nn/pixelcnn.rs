//! VAN's PixelCNN (`src_ising/pixelcnn.py`, simple blocks): masked
//! (2k+1)×(2k+1) convolutions with zero padding over the L×L lattice, the
//! first exclusive (site (r, c) sees rows above r and row r left of c), the
//! others inclusive, PReLU per channel between them, one output channel of
//! logits. Meant for GPUs: on the CPU phasekit samples it by a full pass per
//! site, as VAN does, and ships no step graph.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::made::log_sigmoid;
use super::onnx::{encode, Attr, Dim, GraphBuilder};
use super::program::ParamData;

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PixelSpec {
    pub l: usize,
    /// masked convolutions (≥ 1)
    pub depth: usize,
    /// channels of the hidden layers
    pub width: usize,
    /// k: kernels are (2k+1)×(2k+1)
    pub half_kernel: usize,
}

impl PixelSpec {
    pub fn sites(&self) -> usize {
        self.l * self.l
    }

    pub fn kernel(&self) -> usize {
        2 * self.half_kernel + 1
    }

    /// Channels of each layer's input and output.
    pub fn channels(&self) -> Vec<usize> {
        (0..=self.depth)
            .map(|k| {
                if k == 0 || k == self.depth {
                    1
                } else {
                    self.width
                }
            })
            .collect()
    }

    pub fn check(&self) -> Result<(), String> {
        if self.l < 2 {
            return Err(format!("--L: must be at least 2, got {}", self.l));
        }
        if self.depth == 0 || (self.depth > 1 && self.width == 0) {
            return Err("--depth and --width: must be at least 1".into());
        }
        if self.kernel() > self.l {
            return Err(format!(
                "--kernel {}: a {}×{} kernel is wider than the {}×{} lattice",
                self.half_kernel,
                self.kernel(),
                self.kernel(),
                self.l,
                self.l
            ));
        }
        Ok(())
    }

    /// The kernel mask, row-major [kh, kw]: 1 where an input may feed the centre.
    pub fn mask(&self, exclusive: bool) -> Vec<f32> {
        let (k, c) = (self.kernel(), self.half_kernel);
        (0..k * k)
            .map(|p| {
                let (r, q) = (p / k, p % k);
                let keep = r < c || (r == c && (q < c || (!exclusive && q == c)));
                keep as u8 as f32
            })
            .collect()
    }

    /// `w{k}` [out, in, kh, kw] (masked), `b{k}` [out], PReLU `a{k}` [out]
    /// between layers (0.5); weights uniform ±1/√(unmasked fan-in).
    pub fn init(&self, rng: &mut ChaCha8Rng) -> Vec<ParamData> {
        let d = self.channels();
        let kk = self.kernel() * self.kernel();
        let mut out = Vec::new();
        for k in 1..=self.depth {
            let mask = self.mask(k == 1);
            let seen = (d[k - 1] as f32 * mask.iter().sum::<f32>()).max(1.0);
            let bound = 1.0 / seen.sqrt();
            let w: Vec<f32> = (0..d[k] * d[k - 1] * kk)
                .map(|i| mask[i % kk] * rng.random_range(-bound..bound))
                .collect();
            out.push(ParamData {
                name: format!("w{k}"),
                shape: vec![d[k], d[k - 1], self.kernel(), self.kernel()],
                data: w,
            });
            out.push(ParamData {
                name: format!("b{k}"),
                shape: vec![d[k]],
                data: vec![0.0; d[k]],
            });
            if k < self.depth {
                out.push(ParamData {
                    name: format!("a{k}"),
                    shape: vec![d[k]],
                    data: vec![0.5; d[k]],
                });
            }
        }
        out
    }
}

/// One masked convolution on the host: weights [out, in, kh, kw] (mask
/// multiplied in), bias, PReLU slopes (none on the last layer).
#[derive(Clone, Debug)]
struct ConvLayer {
    w: Vec<f32>,
    b: Vec<f32>,
    slope: Option<Vec<f32>>,
}

/// A PixelCNN on the host.
#[derive(Clone, Debug)]
pub struct HostPixel {
    pub spec: PixelSpec,
    layers: Vec<ConvLayer>,
}

impl HostPixel {
    pub fn new(spec: &PixelSpec, params: &[ParamData]) -> Result<HostPixel, String> {
        let get = |name: &str| -> Result<Vec<f32>, String> {
            params
                .iter()
                .find(|p| p.name == name)
                .map(|p| p.data.clone())
                .ok_or_else(|| format!("PixelCNN parameter {name} missing"))
        };
        let kk = spec.kernel() * spec.kernel();
        let layers = (1..=spec.depth)
            .map(|k| {
                let mask = spec.mask(k == 1);
                let w: Vec<f32> = get(&format!("w{k}"))?
                    .iter()
                    .enumerate()
                    .map(|(i, v)| v * mask[i % kk])
                    .collect();
                let slope = if k < spec.depth {
                    Some(get(&format!("a{k}"))?)
                } else {
                    None
                };
                Ok(ConvLayer {
                    w,
                    b: get(&format!("b{k}"))?,
                    slope,
                })
            })
            .collect::<Result<Vec<ConvLayer>, String>>()?;
        Ok(HostPixel {
            spec: spec.clone(),
            layers,
        })
    }

    /// The logits of one configuration: one full pass.
    pub fn logits(&self, s: &[i8]) -> Vec<f32> {
        let (l, kh, c) = (self.spec.l, self.spec.kernel(), self.spec.half_kernel);
        let d = self.spec.channels();
        let mut x: Vec<f32> = s.iter().map(|&v| v as f32).collect();
        for (k, ConvLayer { w, b, slope }) in self.layers.iter().enumerate() {
            let (din, dout) = (d[k], d[k + 1]);
            let mut y = vec![0f32; dout * l * l];
            for o in 0..dout {
                for r in 0..l {
                    for q in 0..l {
                        let mut acc = b[o];
                        for i in 0..din {
                            for dr in 0..kh {
                                let rr = r as isize + dr as isize - c as isize;
                                if rr < 0 || rr >= l as isize {
                                    continue;
                                }
                                for dq in 0..kh {
                                    let qq = q as isize + dq as isize - c as isize;
                                    if qq < 0 || qq >= l as isize {
                                        continue;
                                    }
                                    acc += w[((o * din + i) * kh + dr) * kh + dq]
                                        * x[(i * l + rr as usize) * l + qq as usize];
                                }
                            }
                        }
                        y[(o * l + r) * l + q] = match slope {
                            Some(a) if acc < 0.0 => a[o] * acc,
                            _ => acc,
                        };
                    }
                }
            }
            x = y;
        }
        x
    }

    pub fn log_q_raw(&self, s: &[i8]) -> f64 {
        self.logits(s)
            .iter()
            .zip(s)
            .map(|(&g, &v)| log_sigmoid(v as f64 * g as f64))
            .sum()
    }

    /// One configuration per rng, by a full pass per site (sites not yet
    /// drawn are 0, which the masks never read).
    pub fn sample_block(&self, rngs: &mut [ChaCha8Rng], s: &mut [i8], log_q: &mut [f64]) {
        let n = self.spec.sites();
        for (b, rng) in rngs.iter_mut().enumerate() {
            let conf = &mut s[b * n..(b + 1) * n];
            conf.fill(0);
            log_q[b] = 0.0;
            for i in 0..n {
                let logit = self.logits(conf)[i] as f64;
                let v: i8 = if rng.random::<f64>() < 1.0 / (1.0 + (-logit).exp()) {
                    1
                } else {
                    -1
                };
                conf[i] = v;
                log_q[b] += log_sigmoid(v as f64 * logit);
            }
        }
    }
}

/// The one-pass graph: masked Conv nodes (masks multiplied in), PRelu.
pub fn to_onnx(spec: &PixelSpec, params: &[ParamData], metadata: &[(String, String)]) -> Vec<u8> {
    let host = HostPixel::new(spec, params).expect("PixelCNN parameters");
    let (l, kh, c) = (spec.l, spec.kernel(), spec.half_kernel as i64);
    let d = spec.channels();
    let mut g = GraphBuilder::new("phasekit_sampler_pixelcnn");
    let x = g.input_f32("x", &Dim::lattice(l));
    let mut h = x;
    for (k, ConvLayer { w, b, slope }) in host.layers.iter().enumerate() {
        let wn = g.weight(&format!("w{}", k + 1), &[d[k + 1], d[k], kh, kh], w);
        let bn = g.weight(&format!("b{}", k + 1), &[d[k + 1]], b);
        let last = k + 1 == host.layers.len();
        let conv_attrs = [
            ("kernel_shape", Attr::Ints(vec![kh as i64, kh as i64])),
            ("pads", Attr::Ints(vec![c; 4])),
        ];
        if last {
            g.op_into("Conv", &[&h, &wn, &bn], &["logits"], &conv_attrs);
        } else {
            h = g.op("Conv", &[&h, &wn, &bn], &conv_attrs);
        }
        if let Some(a) = slope {
            let an = g.weight(&format!("a{}", k + 1), &[d[k + 1], 1, 1], a);
            h = g.op("PRelu", &[&h, &an], &[]);
        }
    }
    g.output_f32("logits", &Dim::lattice(l));
    encode(&g.finish(
        "phasekit autoregressive sampler (PixelCNN): logit of s_i = +1 given s_<i, raster order",
        metadata,
    ))
}
