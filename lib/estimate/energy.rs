//! The energy of the target p(s) ∝ e^{−E(s)/T}: the exact Ising
//! Hamiltonian, or any model honouring the `energy` contract
//! (schemas/models.md) through ONNX Runtime, e.g. eval-dcl's learned one.

use anyhow::Result;
use rayon::prelude::*;
use serde_json::json;

use crate::runtime::{take_output, Device, ModelFile, ModelPool};
use crate::sim::ising::lattice::energy;
use crate::{bail_input, input_error};

/// Configurations per ONNX Runtime call (fixed, so results do not depend on threads).
const ORT_BATCH: usize = 1024;

pub enum Energy {
    /// E = −J Σ⟨ij⟩ s_i s_j − h Σ s_i on the periodic L×L lattice
    Ising { l: usize, j: f64, h: f64 },
    Model {
        file: ModelFile,
        pool: ModelPool,
        l: usize,
    },
}

impl Energy {
    /// An `energy` ONNX model, evaluated on L×L configurations.
    pub fn model(file: ModelFile, device: Device, l: usize) -> Result<Energy> {
        let label = file.label();
        let pool = ModelPool::load(&file, device)?;
        {
            let m = pool.model();
            match m.metadata.get("phasekit.kind").map(String::as_str) {
                Some("energy") => {}
                other => bail_input!(
                    "--energy {label}: phasekit.kind is {other:?}, not `energy` (schemas/models.md)"
                ),
            }
            if m.input("states").is_none() || m.output("energy").is_none() {
                bail_input!(
                    "--energy {label}: an energy model needs input `states` f32[N, L, L] and output `energy` f32[N]"
                );
            }
        }
        Ok(Energy::Model { file, pool, l })
    }

    /// Total energies of ±1 configurations (row-major, L² each); a
    /// non-finite one is refused with its index.
    pub fn energies(&self, states: &[i8]) -> Result<Vec<f64>> {
        let values = match self {
            Energy::Ising { l, j, h } => states
                .par_chunks(l * l)
                .map(|s| energy(s, *l, *j, *h))
                .collect(),
            Energy::Model { file, pool, l } => {
                let n = l * l;
                let label = file.label();
                let jobs: Vec<&[i8]> = states.chunks(ORT_BATCH * n).collect();
                let parts = pool.run_each(jobs, |model, part| {
                    let rows = part.len() / n;
                    let x: Vec<f32> = part.iter().map(|&v| v as f32).collect();
                    let mut out = model.run(&[("states", &[rows, *l, *l], &x)])?;
                    let e = take_output(&mut out, "energy");
                    if e.len() != rows {
                        bail_input!(
                            "--energy {label}: `energy` has {} values for {rows} configurations",
                            e.len()
                        );
                    }
                    Ok(e.into_iter().map(f64::from).collect::<Vec<f64>>())
                })?;
                parts.concat()
            }
        };
        if let Some(k) = values.iter().position(|e: &f64| !e.is_finite()) {
            return Err(input_error!("energy of sample {k} is {}", values[k]));
        }
        Ok(values)
    }

    /// What the estimates' metadata records of the energy.
    pub fn describe(&self) -> serde_json::Value {
        match self {
            Energy::Ising { l, j, h } => json!({"kind": "ising", "L": l, "J": j, "h": h}),
            Energy::Model { file, l, .. } => {
                json!({"kind": "model", "file": file.label(), "hash": file.hash(), "L": l})
            }
        }
    }
}
