//! MADE, the masked dense autoregressive network of VAN (Wu, Wang & Zhang,
//! PRL 122, 080602; `src_ising/made.py`), for configurations of N = L² spins
//! in raster order.
//!
//! Layer k maps N·d_{k−1} units to N·d_k (d_0 = d_D = 1, d_k = width in
//! between); unit (c, i) — channel c of site i — sits at index c·N + i. The
//! first layer's mask is exclusive (site i sees sites j < i), the others
//! inclusive (j ≤ i), so the output at site i, the logit of s_i = +1, depends
//! only on s_<i. PReLU (one slope per unit, VAN's init 0.5) between layers.
//!
//! Three executions of one network: burn trains it (`nn::objectives`), the
//! ONNX writer exports it with the masks multiplied in, and [`HostMade`]
//! evaluates and samples it on the CPU. Sampling keeps each layer's running
//! pre-activations, so drawing site i costs only the units it needs: about
//! half of one full pass per configuration, where VAN's `sample()` runs N.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::onnx::{encode, Dim, GraphBuilder};
use super::program::ParamData;

/// Shape of a MADE over an L×L lattice.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MadeSpec {
    pub l: usize,
    /// masked linear layers (≥ 1)
    pub depth: usize,
    /// channels per site in the hidden layers
    pub width: usize,
}

impl MadeSpec {
    pub fn sites(&self) -> usize {
        self.l * self.l
    }

    /// Channels per site of each layer's input and output: d_0..d_D.
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
        if self.depth == 0 {
            return Err("--depth: must be at least 1".into());
        }
        if self.depth > 1 && self.width == 0 {
            return Err("--width: must be at least 1".into());
        }
        let n = self.sites();
        if (n * self.width.max(1)).pow(2) > 1 << 28 {
            return Err(format!(
                "--L {} --width {}: a dense MADE layer would hold more than 2^28 weights",
                self.l, self.width
            ));
        }
        Ok(())
    }

    /// Mask of layer k (1-based) as [in, out], row-major: 1 where input unit
    /// (c', j) may feed output unit (c, i).
    pub fn mask(&self, k: usize) -> Vec<f32> {
        let n = self.sites();
        let d = self.channels();
        let (din, dout) = (d[k - 1], d[k]);
        let exclusive = k == 1;
        let mut m = vec![0f32; din * n * dout * n];
        for ci in 0..din {
            for j in 0..n {
                let row = (ci * n + j) * dout * n;
                for co in 0..dout {
                    for i in 0..n {
                        if (exclusive && j < i) || (!exclusive && j <= i) {
                            m[row + co * n + i] = 1.0;
                        }
                    }
                }
            }
        }
        m
    }

    /// Parameters: per layer k, `w{k}` [in, out] (masked entries zero),
    /// `b{k}` [out] (zero) and, between layers, `a{k}` [out] PReLU slopes
    /// (0.5). Weights uniform in ±1/√fan-in over the unmasked inputs.
    pub fn init(&self, rng: &mut ChaCha8Rng) -> Vec<ParamData> {
        let n = self.sites();
        let d = self.channels();
        let mut out = Vec::new();
        for k in 1..=self.depth {
            let (fin, fout) = (d[k - 1] * n, d[k] * n);
            let mask = self.mask(k);
            // inputs an output unit actually sees, on average
            let seen = (mask.iter().sum::<f32>() / fout as f32).max(1.0);
            let bound = 1.0 / seen.sqrt();
            let w: Vec<f32> = mask
                .iter()
                .map(|&m| m * rng.random_range(-bound..bound))
                .collect();
            out.push(ParamData {
                name: format!("w{k}"),
                shape: vec![fin, fout],
                data: w,
            });
            out.push(ParamData {
                name: format!("b{k}"),
                shape: vec![fout],
                data: vec![0.0; fout],
            });
            if k < self.depth {
                out.push(ParamData {
                    name: format!("a{k}"),
                    shape: vec![fout],
                    data: vec![0.5; fout],
                });
            }
        }
        out
    }
}

/// One layer on the host: masked weights [in, out], bias, PReLU slopes
/// (none on the last layer).
#[derive(Clone, Debug)]
pub struct HostLayer {
    pub w: Vec<f32>,
    pub b: Vec<f32>,
    pub slope: Option<Vec<f32>>,
    pub fan_in: usize,
    pub fan_out: usize,
}

/// A MADE's weights on the host, masks multiplied in.
#[derive(Clone, Debug)]
pub struct HostMade {
    pub spec: MadeSpec,
    pub layers: Vec<HostLayer>,
}

fn param<'a>(params: &'a [ParamData], name: &str) -> &'a ParamData {
    params
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("MADE parameter {name} missing"))
}

fn prelu(v: f32, a: f32) -> f32 {
    if v >= 0.0 {
        v
    } else {
        a * v
    }
}

/// log σ(x) in f64, stable for large |x|.
pub fn log_sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        -(-x).exp().ln_1p()
    } else {
        x - x.exp().ln_1p()
    }
}

impl HostMade {
    pub fn new(spec: &MadeSpec, params: &[ParamData]) -> HostMade {
        let layers = (1..=spec.depth)
            .map(|k| {
                let w = param(params, &format!("w{k}"));
                let mask = spec.mask(k);
                HostLayer {
                    w: w.data.iter().zip(&mask).map(|(a, m)| a * m).collect(),
                    b: param(params, &format!("b{k}")).data.clone(),
                    slope: (k < spec.depth).then(|| param(params, &format!("a{k}")).data.clone()),
                    fan_in: w.shape[0],
                    fan_out: w.shape[1],
                }
            })
            .collect();
        HostMade {
            spec: spec.clone(),
            layers,
        }
    }

    /// The logits of one configuration (±1, raster order): one full pass.
    pub fn logits(&self, s: &[i8]) -> Vec<f32> {
        let mut x: Vec<f32> = s.iter().map(|&v| v as f32).collect();
        for layer in &self.layers {
            let mut y = layer.b.clone();
            for (i, &xi) in x.iter().enumerate() {
                if xi != 0.0 {
                    let row = &layer.w[i * layer.fan_out..(i + 1) * layer.fan_out];
                    for (yo, &wo) in y.iter_mut().zip(row) {
                        *yo += xi * wo;
                    }
                }
            }
            if let Some(a) = &layer.slope {
                for (v, &ai) in y.iter_mut().zip(a) {
                    *v = prelu(*v, ai);
                }
            }
            x = y;
        }
        x
    }

    /// log q̃(s) = Σ_i log σ(s_i · logit_i), in f64.
    pub fn log_q_raw(&self, s: &[i8]) -> f64 {
        self.logits(s)
            .iter()
            .zip(s)
            .map(|(&l, &v)| log_sigmoid(v as f64 * l as f64))
            .sum()
    }

    /// Draw one configuration into `s` (±1) with uniforms from `rng`;
    /// returns log q̃(s). See [`HostMade::sample_block`].
    pub fn sample_into(&self, rng: &mut ChaCha8Rng, s: &mut [i8], work: &mut Vec<Vec<f32>>) -> f64 {
        let mut lq = [0.0];
        self.sample_block(std::slice::from_mut(rng), s, &mut lq, work);
        lq[0]
    }

    /// Draw `rngs.len()` configurations at once, configuration b from
    /// `rngs[b]`, into `s` (b-major, ±1) and their log q̃ into `log_q`. Each
    /// layer keeps its running pre-activations, laid out [unit][b] so every
    /// weight loaded serves the whole block: once site i is known, its
    /// contributions are added to every later unit, and only the units of
    /// site i itself are read out. Each configuration's arithmetic is the
    /// same whatever the block it is drawn in.
    pub fn sample_block(
        &self,
        rngs: &mut [ChaCha8Rng],
        s: &mut [i8],
        log_q: &mut [f64],
        work: &mut Vec<Vec<f32>>,
    ) {
        let (n, nb) = (self.spec.sites(), rngs.len());
        work.clear();
        for layer in &self.layers {
            let mut acc = vec![0f32; layer.fan_out * nb];
            for (u, &bias) in layer.b.iter().enumerate() {
                acc[u * nb..(u + 1) * nb].fill(bias);
            }
            work.push(acc);
        }
        let max_d = self.layers.iter().map(|l| l.fan_out / n).max().unwrap_or(1);
        let (mut z, mut z_next) = (vec![0f32; max_d * nb], vec![0f32; max_d * nb]);
        log_q.iter_mut().for_each(|v| *v = 0.0);
        for i in 0..n {
            for (k, (layer, acc)) in self.layers.iter().zip(work.iter_mut()).enumerate() {
                let d_out = layer.fan_out / n;
                if k > 0 {
                    // the (now final) units of layer k−1 at site i feed layer k's units at sites ≥ i
                    let d_in = layer.fan_in / n;
                    for c_in in 0..d_in {
                        let zc = &z[c_in * nb..(c_in + 1) * nb];
                        let row = &layer.w
                            [(c_in * n + i) * layer.fan_out..(c_in * n + i + 1) * layer.fan_out];
                        for c_out in 0..d_out {
                            for unit in c_out * n + i..(c_out + 1) * n {
                                let w = row[unit];
                                for (a, &zb) in acc[unit * nb..(unit + 1) * nb].iter_mut().zip(zc) {
                                    *a += zb * w;
                                }
                            }
                        }
                    }
                }
                for c in 0..d_out {
                    let unit = c * n + i;
                    let src = &acc[unit * nb..(unit + 1) * nb];
                    let dst = &mut z_next[c * nb..(c + 1) * nb];
                    match &layer.slope {
                        Some(a) => dst
                            .iter_mut()
                            .zip(src)
                            .for_each(|(d, &v)| *d = prelu(v, a[unit])),
                        None => dst.copy_from_slice(src),
                    }
                }
                std::mem::swap(&mut z, &mut z_next);
            }
            for (b, rng) in rngs.iter_mut().enumerate() {
                let logit = z[b] as f64;
                let p_up = 1.0 / (1.0 + (-logit).exp());
                let v: i8 = if rng.random::<f64>() < p_up { 1 } else { -1 };
                s[b * n + i] = v;
                log_q[b] += log_sigmoid(v as f64 * logit);
                z_next[b] = v as f32;
            }
            // the first layer's units at later sites see s_i
            let first = &self.layers[0];
            let row = &first.w[i * first.fan_out..(i + 1) * first.fan_out];
            let sv = &z_next[..nb];
            for c in 0..first.fan_out / n {
                for unit in c * n + i + 1..(c + 1) * n {
                    let w = row[unit];
                    for (a, &vb) in work[0][unit * nb..(unit + 1) * nb].iter_mut().zip(sv) {
                        *a += vb * w;
                    }
                }
            }
        }
    }
}

/// Export the one-pass graph: `x` f32[N, 1, L, L] (±1) → `logits`
/// f32[N, 1, L, L], the logit of s_i = +1 given s_<i at every site.
pub fn to_onnx(spec: &MadeSpec, params: &[ParamData], metadata: &[(String, String)]) -> Vec<u8> {
    let host = HostMade::new(spec, params);
    let (l, n) = (spec.l, spec.sites());
    let mut g = GraphBuilder::new("phasekit_sampler");
    let x = g.input_f32("x", &Dim::lattice(l));
    let flat = g.const_i64("flat", &[-1, n as i64]);
    let mut h = g.op("Reshape", &[&x, &flat], &[]);
    for (k, layer) in host.layers.iter().enumerate() {
        let w = g.weight(
            &format!("w{}", k + 1),
            &[layer.fan_in, layer.fan_out],
            &layer.w,
        );
        let b = g.weight(&format!("b{}", k + 1), &[layer.fan_out], &layer.b);
        let mm = g.op("MatMul", &[&h, &w], &[]);
        h = g.op("Add", &[&mm, &b], &[]);
        if let Some(a) = &layer.slope {
            let slope = g.weight(&format!("a{}", k + 1), &[layer.fan_out], a);
            h = g.op("PRelu", &[&h, &slope], &[]);
        }
    }
    let image = g.const_i64("image", &[-1, 1, l as i64, l as i64]);
    g.op_into("Reshape", &[&h, &image], &["logits"], &[]);
    g.output_f32("logits", &Dim::lattice(l));
    encode(&g.finish(
        "phasekit autoregressive sampler (MADE): logit of s_i = +1 given s_<i, raster order",
        metadata,
    ))
}

/// Export the step graph for sequential sampling with explicit state
/// (schemas/models.md). Inputs: `site` i64[1] (i), `s_prev` f32[N, 1] (the
/// spin drawn at site i − 1; 0 at i = 0) and `acc1..accD` f32[N, F_k], the
/// running pre-activations of each layer without biases (zeros at i = 0).
/// Outputs: `logit` f32[N, 1] for site i and `acc1_out..accD_out`. Each step
/// adds the newly final units of the layer below to every unit of the layer
/// above and reads out only site i, so drawing a whole configuration costs
/// about one full pass.
pub fn step_to_onnx(
    spec: &MadeSpec,
    params: &[ParamData],
    metadata: &[(String, String)],
) -> Vec<u8> {
    let host = HostMade::new(spec, params);
    let n = spec.sites();
    let d = spec.channels();
    let mut g = GraphBuilder::new("phasekit_sampler_step");
    let site = g.input_i64("site", &[Dim::Fixed(1)]);
    let s_prev = g.input_f32("s_prev", &[Dim::batch(), Dim::Fixed(1)]);
    let accs: Vec<String> = host
        .layers
        .iter()
        .enumerate()
        .map(|(k, l)| {
            g.input_f32(
                &format!("acc{}", k + 1),
                &[Dim::batch(), Dim::Fixed(l.fan_out)],
            )
        })
        .collect();
    // units (c, i) of a layer with c channels per site sit at c·N + i
    let units = |g: &mut GraphBuilder, channels: usize| {
        let offsets: Vec<i64> = (0..channels as i64).map(|c| c * n as i64).collect();
        let off = g.const_i64("offsets", &offsets);
        g.op("Add", &[&site, &off], &[])
    };
    let one = g.const_i64("one", &[1]);
    let zero = g.const_i64("zero", &[0]);
    let before = g.op("Sub", &[&site, &one], &[]);
    let prev = g.op("Max", &[&before, &zero], &[]);
    let mut z = s_prev.clone();
    let mut rows = prev;
    for (k, layer) in host.layers.iter().enumerate() {
        let w = g.weight(
            &format!("w{}", k + 1),
            &[layer.fan_in, layer.fan_out],
            &layer.w,
        );
        let b = g.weight(&format!("b{}", k + 1), &[layer.fan_out], &layer.b);
        // the rows of the inputs that just became final, times their values
        let w_rows = g.op(
            "Gather",
            &[&w, &rows],
            &[("axis", super::onnx::Attr::Int(0))],
        );
        let add = g.op("MatMul", &[&z, &w_rows], &[]);
        let out = format!("acc{}_out", k + 1);
        g.op_into("Add", &[&accs[k], &add], &[&out], &[]);
        g.output_f32(&out, &[Dim::batch(), Dim::Fixed(layer.fan_out)]);
        // read out this layer's units at site i
        let idx = units(&mut g, d[k + 1]);
        let picked = g.op(
            "Gather",
            &[&out, &idx],
            &[("axis", super::onnx::Attr::Int(1))],
        );
        let bias = g.op(
            "Gather",
            &[&b, &idx],
            &[("axis", super::onnx::Attr::Int(0))],
        );
        let mut v = g.op("Add", &[&picked, &bias], &[]);
        if let Some(a) = &layer.slope {
            let slope = g.weight(&format!("a{}", k + 1), &[layer.fan_out], a);
            let sl = g.op(
                "Gather",
                &[&slope, &idx],
                &[("axis", super::onnx::Attr::Int(0))],
            );
            v = g.op("PRelu", &[&v, &sl], &[]);
        }
        z = v;
        rows = idx;
    }
    g.op_into("Identity", &[&z], &["logit"], &[]);
    g.output_f32("logit", &[Dim::batch(), Dim::Fixed(1)]);
    encode(&g.finish(
        "phasekit autoregressive sampler (MADE), step graph: the logit of site `site` from the running pre-activations",
        metadata,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::rng::chain_rng;

    #[test]
    fn outputs_depend_only_on_earlier_sites() {
        let spec = MadeSpec {
            l: 3,
            depth: 3,
            width: 2,
        };
        let made = HostMade::new(&spec, &spec.init(&mut chain_rng(1, 1)));
        let s: Vec<i8> = (0..9).map(|i| if i % 3 == 0 { 1 } else { -1 }).collect();
        let base = made.logits(&s);
        for j in 0..9 {
            let mut t = s.clone();
            t[j] = -t[j];
            let moved = made.logits(&t);
            for i in 0..=j {
                assert_eq!(moved[i], base[i], "site {i} changed with site {j}");
            }
        }
    }

    #[test]
    fn cached_sampling_gives_the_one_pass_log_q() {
        let spec = MadeSpec {
            l: 4,
            depth: 3,
            width: 3,
        };
        let made = HostMade::new(&spec, &spec.init(&mut chain_rng(2, 1)));
        let mut work = Vec::new();
        for k in 0..20 {
            let mut s = vec![0i8; 16];
            let lq = made.sample_into(&mut chain_rng(3, k), &mut s, &mut work);
            let direct = made.log_q_raw(&s);
            assert!((lq - direct).abs() < 1e-5 * 16.0, "{lq} vs {direct}");
        }
    }
}
