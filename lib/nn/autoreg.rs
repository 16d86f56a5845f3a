//! The autoregressive sampler family behind one interface: the network's
//! spec, its export, reading an exported file back, and host sampling.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde_json::json;

use super::gru::{GruSpec, HostGru};
use super::made::{HostMade, MadeSpec};
use super::pixelcnn::{HostPixel, PixelSpec};
use super::program::ParamData;
use crate::sim::rng::chain_rng;

/// Configurations drawn together (each weight loaded once per block).
const SAMPLE_BLOCK: usize = 128;

#[derive(Clone, Debug, PartialEq)]
pub enum SamplerSpec {
    Made(MadeSpec),
    Gru(GruSpec),
    Pixel(PixelSpec),
}

impl SamplerSpec {
    pub fn l(&self) -> usize {
        match self {
            SamplerSpec::Made(s) => s.l,
            SamplerSpec::Gru(s) => s.l,
            SamplerSpec::Pixel(s) => s.l,
        }
    }

    pub fn sites(&self) -> usize {
        self.l() * self.l()
    }

    pub fn check(&self) -> Result<(), String> {
        match self {
            SamplerSpec::Made(s) => s.check(),
            SamplerSpec::Gru(s) => s.check(),
            SamplerSpec::Pixel(s) => s.check(),
        }
    }

    pub fn init(&self, rng: &mut ChaCha8Rng) -> Vec<ParamData> {
        match self {
            SamplerSpec::Made(s) => s.init(rng),
            SamplerSpec::Gru(s) => s.init(rng),
            SamplerSpec::Pixel(s) => s.init(rng),
        }
    }

    /// `phasekit.network` of the exported file.
    pub fn network(&self) -> serde_json::Value {
        match self {
            SamplerSpec::Made(s) => json!({"arch": "made", "depth": s.depth, "width": s.width}),
            SamplerSpec::Gru(s) => json!({"arch": "gru", "hidden": s.hidden}),
            SamplerSpec::Pixel(s) => {
                json!({"arch": "pixelcnn", "depth": s.depth, "width": s.width, "half_kernel": s.half_kernel})
            }
        }
    }

    pub fn to_onnx(&self, params: &[ParamData], meta: &[(String, String)]) -> Vec<u8> {
        match self {
            SamplerSpec::Made(s) => super::made::to_onnx(s, params, meta),
            SamplerSpec::Gru(s) => super::gru::to_onnx(s, params, meta),
            SamplerSpec::Pixel(s) => super::pixelcnn::to_onnx(s, params, meta),
        }
    }

    /// The step graph, for the networks that have one (not a PixelCNN).
    pub fn step_to_onnx(&self, params: &[ParamData], meta: &[(String, String)]) -> Option<Vec<u8>> {
        match self {
            SamplerSpec::Made(s) => Some(super::made::step_to_onnx(s, params, meta)),
            SamplerSpec::Gru(s) => Some(super::gru::step_to_onnx(s, params, meta)),
            SamplerSpec::Pixel(_) => None,
        }
    }
}

/// A sampler's weights on the host, ready to evaluate and sample.
pub enum HostSampler {
    Made(HostMade),
    Gru(HostGru),
    Pixel(HostPixel),
}

impl HostSampler {
    pub fn new(spec: &SamplerSpec, params: &[ParamData]) -> Result<HostSampler, String> {
        Ok(match spec {
            SamplerSpec::Made(s) => HostSampler::Made(HostMade::new(s, params)),
            SamplerSpec::Gru(s) => HostSampler::Gru(HostGru::new(s, params)?),
            SamplerSpec::Pixel(s) => HostSampler::Pixel(HostPixel::new(s, params)?),
        })
    }

    pub fn sites(&self) -> usize {
        match self {
            HostSampler::Made(m) => m.spec.sites(),
            HostSampler::Gru(g) => g.spec.sites(),
            HostSampler::Pixel(p) => p.spec.sites(),
        }
    }

    pub fn log_q_raw(&self, s: &[i8]) -> f64 {
        match self {
            HostSampler::Made(m) => m.log_q_raw(s),
            HostSampler::Gru(g) => g.log_q_raw(s),
            HostSampler::Pixel(p) => p.log_q_raw(s),
        }
    }

    /// One configuration per rng into `s` (b-major), log q̃ into `log_q`.
    pub fn sample_block(
        &self,
        rngs: &mut [ChaCha8Rng],
        s: &mut [i8],
        log_q: &mut [f64],
        work: &mut Vec<Vec<f32>>,
    ) {
        match self {
            HostSampler::Made(m) => m.sample_block(rngs, s, log_q, work),
            HostSampler::Gru(g) => g.sample_block(rngs, s, log_q),
            HostSampler::Pixel(p) => p.sample_block(rngs, s, log_q),
        }
    }
}

/// The spec, z2 flag and parameters of a sampler file fit-sampler wrote
/// (schemas/models.md); errors say what is missing or malformed.
pub fn from_onnx(bytes: &[u8]) -> Result<(SamplerSpec, bool, Vec<ParamData>), String> {
    use super::onnx::{initializer_f32, metadata};
    let model = super::onnx::decode(bytes).map_err(|e| format!("not an ONNX model ({e})"))?;
    let meta = |key: &str| metadata(&model, key).ok_or_else(|| format!("metadata lacks {key}"));
    let network: serde_json::Value = serde_json::from_str(&meta("phasekit.network")?)
        .map_err(|e| format!("phasekit.network: {e}"))?;
    let num = |k: &str| {
        network[k]
            .as_u64()
            .map(|v| v as usize)
            .ok_or(format!("phasekit.network lacks {k}"))
    };
    let l: usize = meta("phasekit.L")?
        .parse()
        .map_err(|_| "phasekit.L is not a number")?;
    let spec = match network["arch"].as_str() {
        Some("made") => SamplerSpec::Made(MadeSpec {
            l,
            depth: num("depth")?,
            width: num("width")?,
        }),
        Some("gru") => SamplerSpec::Gru(GruSpec {
            l,
            hidden: num("hidden")?,
        }),
        Some("pixelcnn") => SamplerSpec::Pixel(PixelSpec {
            l,
            depth: num("depth")?,
            width: num("width")?,
            half_kernel: num("half_kernel")?,
        }),
        _ => return Err(format!("network {network} is not a MADE, GRU or PixelCNN")),
    };
    spec.check()?;
    let z2 = meta("phasekit.z2")? == "true";
    let find = |name: &str| initializer_f32(&model, name).map(|(_, v)| v);
    let params = match &spec {
        SamplerSpec::Gru(g) => super::gru::params_from_initializers(g, &find)?,
        // MADE and PixelCNN: w{k}, b{k}, a{k} as trained (shapes from the fresh spec)
        _ => spec
            .init(&mut rand_chacha::rand_core::SeedableRng::seed_from_u64(0))
            .into_iter()
            .map(|p| {
                let data = find(&p.name).ok_or_else(|| format!("no initializer {}", p.name))?;
                if data.len() != p.data.len() {
                    return Err(format!(
                        "{} holds {} values, expected {}",
                        p.name,
                        data.len(),
                        p.data.len()
                    ));
                }
                Ok(ParamData { data, ..p })
            })
            .collect::<Result<Vec<_>, String>>()?,
    };
    HostSampler::new(&spec, &params)?;
    Ok((spec, z2, params))
}

/// Draw `count` configurations of `made` (z2: each flipped with probability
/// ½), configuration k from its own stream (`seed`, `base` + k), so the
/// result is the same whatever the thread count. Returns ±1 states, row-major.
pub fn sample_configurations(
    made: &HostSampler,
    z2: bool,
    seed: u64,
    base: u64,
    count: usize,
) -> Vec<i8> {
    draw(made, z2, seed, base, count, false).0
}

/// As [`sample_configurations`], with log q of every configuration (f64):
/// the sampling path's own log q̃, and for z2 log q = logsumexp(log q̃(s),
/// log q̃(−s)) − ln 2 with q̃(−s) from one more pass. Importance weights
/// need exactly the q the configurations were drawn from.
pub fn sample_with_log_q(
    made: &HostSampler,
    z2: bool,
    seed: u64,
    base: u64,
    count: usize,
) -> (Vec<i8>, Vec<f64>) {
    draw(made, z2, seed, base, count, true)
}

fn draw(
    made: &HostSampler,
    z2: bool,
    seed: u64,
    base: u64,
    count: usize,
    with_log_q: bool,
) -> (Vec<i8>, Vec<f64>) {
    let n = made.sites();
    let mut out = vec![0i8; count * n];
    let mut log_q = vec![0.0; if with_log_q { count } else { 0 }];
    let mut lq_chunks: Vec<&mut [f64]> = if with_log_q {
        log_q.chunks_mut(SAMPLE_BLOCK).collect()
    } else {
        (0..count.div_ceil(SAMPLE_BLOCK))
            .map(|_| <&mut [f64]>::default())
            .collect()
    };
    out.par_chunks_mut(n * SAMPLE_BLOCK)
        .zip(lq_chunks.par_iter_mut())
        .enumerate()
        .for_each_init(Vec::new, |work, (blk, (s, lq_out))| {
            let first = (blk * SAMPLE_BLOCK) as u64;
            let mut rngs: Vec<_> = (0..s.len() / n)
                .map(|k| chain_rng(seed, base + first + k as u64))
                .collect();
            let mut lq = vec![0.0; rngs.len()];
            made.sample_block(&mut rngs, s, &mut lq, work);
            for ((c, rng), lq) in s.chunks_mut(n).zip(&mut rngs).zip(&mut lq) {
                if !z2 {
                    continue;
                }
                // log q = logsumexp(log q̃(s), log q̃(−s)) − ln 2 is the same for
                // s and its flip, so the draw's own log q̃ and one more pass suffice
                if with_log_q {
                    let neg: Vec<i8> = c.iter().map(|v| -v).collect();
                    *lq = z2_log_q(*lq, made.log_q_raw(&neg));
                }
                if rng.random::<bool>() {
                    c.iter_mut().for_each(|v| *v = -*v);
                }
            }
            if with_log_q {
                lq_out.copy_from_slice(&lq);
            }
        });
    (out, log_q)
}

/// log q of a z2 sampler from log q̃(s) and log q̃(−s):
/// logsumexp(a, b) − ln 2.
pub fn z2_log_q(a: f64, b: f64) -> f64 {
    let m = a.max(b);
    m + ((a - m).exp() + (b - m).exp()).ln() - std::f64::consts::LN_2
}
