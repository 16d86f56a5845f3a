//! A `sampler` ONNX file as the proposal of importance sampling: its
//! contract checked (kind, shape, causality), log q of any configuration,
//! and i.i.d. draws with exact log q. phasekit's own files are drawn on the
//! host from their weights (`nn::autoreg`, cached passes); any other file
//! that honours the contract is drawn through ONNX Runtime, one full pass
//! per site.

use anyhow::Result;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::nn::autoreg::{self, HostSampler};
use crate::nn::made::log_sigmoid;
use crate::runtime::{take_output, Device, ModelFile, ModelPool};
use crate::sim::rng::chain_rng;
use crate::{bail_input, input_error};

/// Configurations per ONNX Runtime call (fixed, so results do not depend on threads).
const ORT_BATCH: usize = 256;
/// Random configurations the causality check perturbs.
const PROBES: usize = 4;
/// Sites probed per configuration, at most (all of them on small lattices).
const PROBE_SITES: usize = 64;
const PROBE_STREAM: u64 = 0x4e49_5300_0000_0001;

/// The L, T, h, J a sampler says it was trained for (`phasekit.target`).
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub struct TrainedFor {
    pub l: usize,
    pub t: f64,
    #[serde(rename = "h")]
    pub h: f64,
    pub j: f64,
}

pub struct Proposal {
    pub file: ModelFile,
    pub l: usize,
    pub z2: bool,
    pub trained_for: Option<TrainedFor>,
    /// `phasekit.network`, or "foreign" for a file phasekit cannot read the weights of
    pub network: serde_json::Value,
    host: Option<HostSampler>,
    pool: ModelPool,
}

impl Proposal {
    /// Load and check a sampler file: kind, signature, causality, and for
    /// phasekit's own files that the weights give the graph's log q.
    pub fn load(file: ModelFile, device: Device) -> Result<Proposal> {
        let label = file.label();
        let pool = ModelPool::load(&file, device)?;
        let (meta, x_ok, logits_ok) = {
            let m = pool.model();
            let rank4 =
                |s: Option<&crate::runtime::TensorSig>| s.is_some_and(|s| s.shape.len() == 4);
            (
                m.metadata.clone(),
                rank4(m.input("x")),
                rank4(m.output("logits")),
            )
        };
        match meta.get("phasekit.kind").map(String::as_str) {
            Some("sampler") => {}
            Some(other) => bail_input!(
                "{label}: a `{other}` model, not a sampler (phasekit.kind must be `sampler`, schemas/models.md)"
            ),
            None => bail_input!(
                "{label}: no phasekit.kind in its metadata; a sampler says `sampler` (schemas/models.md)"
            ),
        }
        if !x_ok || !logits_ok {
            bail_input!(
                "{label}: not an autoregressive sampler: it needs input `x` f32[N, 1, L, L] and output `logits` f32[N, 1, L, L]"
            );
        }
        let l: usize = meta
            .get("phasekit.L")
            .and_then(|v| v.parse().ok())
            .filter(|&l| l >= 2)
            .ok_or_else(|| {
                input_error!("{label}: phasekit.L is missing or not a lattice side ≥ 2")
            })?;
        let z2 = match meta.get("phasekit.z2").map(String::as_str) {
            Some("true") => true,
            Some("false") => false,
            other => bail_input!("{label}: phasekit.z2 must be true or false, not {other:?}"),
        };
        let trained_for = meta
            .get("phasekit.target")
            .and_then(|v| serde_json::from_str(v).ok());
        let (host, network) = match autoreg::from_onnx(&file.bytes) {
            Ok((spec, _, params)) => (
                Some(HostSampler::new(&spec, &params).map_err(|e| input_error!("{label}: {e}"))?),
                spec.network(),
            ),
            Err(_) => (None, serde_json::json!("foreign")),
        };
        let p = Proposal {
            file,
            l,
            z2,
            trained_for,
            network,
            host,
            pool,
        };
        p.check_causal()?;
        p.check_host_agrees()?;
        Ok(p)
    }

    pub fn sites(&self) -> usize {
        self.l * self.l
    }

    /// Whether draws come from the host copy of the weights (else ONNX Runtime).
    pub fn on_host(&self) -> bool {
        self.host.is_some()
    }

    /// The graph's logits of `states` (±1, row-major), by ONNX Runtime.
    fn graph_logits(&self, states: &[i8]) -> Result<Vec<f32>> {
        let n = self.sites();
        let label = self.file.label();
        let jobs: Vec<&[i8]> = states.chunks(ORT_BATCH * n).collect();
        let parts = self.pool.run_each(jobs, |model, part| {
            let rows = part.len() / n;
            let x: Vec<f32> = part.iter().map(|&v| v as f32).collect();
            let mut out = model.run(&[("x", &[rows, 1, self.l, self.l], &x)])?;
            let logits = take_output(&mut out, "logits");
            if logits.len() != rows * n {
                bail_input!(
                    "{label}: `logits` has {} values for {rows} configurations of {n} sites",
                    logits.len()
                );
            }
            Ok(logits)
        })?;
        Ok(parts.concat())
    }

    /// log q̃(s) from the graph: Σ_i log σ(s_i · logit_i).
    fn graph_log_q_raw(&self, states: &[i8]) -> Result<Vec<f64>> {
        let n = self.sites();
        let logits = self.graph_logits(states)?;
        Ok(states
            .chunks(n)
            .zip(logits.chunks(n))
            .map(|(s, g)| {
                s.iter()
                    .zip(g)
                    .map(|(&v, &x)| log_sigmoid(v as f64 * x as f64))
                    .sum()
            })
            .collect())
    }

    fn log_q_raw(&self, states: &[i8]) -> Result<Vec<f64>> {
        match &self.host {
            Some(h) => {
                use rayon::prelude::*;
                Ok(states
                    .par_chunks(self.sites())
                    .map(|s| h.log_q_raw(s))
                    .collect())
            }
            None => self.graph_log_q_raw(states),
        }
    }

    /// log q(s) of given configurations (z2: logsumexp with the flipped one − ln 2).
    pub fn log_q(&self, states: &[i8]) -> Result<Vec<f64>> {
        let raw = self.log_q_raw(states)?;
        if !self.z2 {
            return Ok(raw);
        }
        let flipped: Vec<i8> = states.iter().map(|v| -v).collect();
        let neg = self.log_q_raw(&flipped)?;
        Ok(raw
            .iter()
            .zip(&neg)
            .map(|(&a, &b)| autoreg::z2_log_q(a, b))
            .collect())
    }

    /// `count` configurations and their log q, configuration k from stream
    /// (`seed`, `base` + k): the same whatever the thread count or chunking.
    pub fn draw(&self, seed: u64, base: u64, count: usize) -> Result<(Vec<i8>, Vec<f64>)> {
        if let Some(h) = &self.host {
            return Ok(autoreg::sample_with_log_q(h, self.z2, seed, base, count));
        }
        let n = self.sites();
        let mut states = vec![0i8; count * n];
        let mut rngs: Vec<ChaCha8Rng> = (0..count as u64)
            .map(|k| chain_rng(seed, base + k))
            .collect();
        // site by site: one full pass of the graph per site
        for i in 0..n {
            let logits = self.graph_logits(&states)?;
            for (k, rng) in rngs.iter_mut().enumerate() {
                let p_up = 1.0 / (1.0 + (-(logits[k * n + i] as f64)).exp());
                states[k * n + i] = if rng.random::<f64>() < p_up { 1 } else { -1 };
            }
        }
        if self.z2 {
            for (s, rng) in states.chunks_mut(n).zip(&mut rngs) {
                if rng.random::<bool>() {
                    s.iter_mut().for_each(|v| *v = -*v);
                }
            }
        }
        let log_q = self.log_q(&states)?;
        Ok((states, log_q))
    }

    /// Refuse a model whose logit at site j changes when sites ≥ j change:
    /// its q would not be normalised, and Z would come out wrong.
    fn check_causal(&self) -> Result<()> {
        let n = self.sites();
        let mut rng = chain_rng(PROBE_STREAM, 0);
        let step = n.div_ceil(PROBE_SITES).max(1);
        let sites: Vec<usize> = (0..n).step_by(step).chain([n - 1]).collect();
        let mut batch = Vec::new();
        let mut cases = Vec::new();
        for _ in 0..PROBES {
            let base: Vec<i8> = (0..n).map(|_| if rng.random() { 1 } else { -1 }).collect();
            let at = batch.len() / n;
            batch.extend_from_slice(&base);
            for &i in &sites {
                let mut changed = base.clone();
                changed[i] = -changed[i];
                for v in &mut changed[i + 1..] {
                    *v = if rng.random() { 1 } else { -1 };
                }
                cases.push((at, batch.len() / n, i));
                batch.extend_from_slice(&changed);
            }
        }
        let logits = self.graph_logits(&batch)?;
        for (a, b, i) in cases {
            for j in 0..=i {
                let (x, y) = (logits[a * n + j], logits[b * n + j]);
                // a non-finite logit is reported at the sample it spoils
                if x.is_finite() && y.is_finite() && (x - y).abs() > 1e-4 * (1.0 + x.abs()) {
                    bail_input!(
                        "{}: not autoregressive in raster order: logit {j} changes by {:.2e} when sites ≥ {i} change, \
                         so its q is not normalised and Z would be wrong",
                        self.file.label(),
                        (x - y).abs()
                    );
                }
            }
        }
        Ok(())
    }

    /// For phasekit's own files: the weights (sampled on the host) must give
    /// the graph's log q, or the file was changed after export.
    fn check_host_agrees(&self) -> Result<()> {
        let Some(h) = &self.host else { return Ok(()) };
        let n = self.sites();
        let (states, _) = autoreg::sample_with_log_q(h, false, PROBE_STREAM, 1 << 40, 16);
        let graph = self.graph_log_q_raw(&states)?;
        for (k, (s, g)) in states.chunks(n).zip(&graph).enumerate() {
            let host = h.log_q_raw(s);
            if (host - g).abs() > 1e-3 + 1e-5 * n as f64 {
                bail_input!(
                    "{}: the graph's log q ({g:.6}) differs from its weights' ({host:.6}) on probe {k}: \
                     the file was changed after export",
                    self.file.label()
                );
            }
        }
        Ok(())
    }
}
