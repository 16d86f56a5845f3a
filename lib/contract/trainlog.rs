//! The training log every fitting tool writes (schemas/trainlog.md), and its
//! rows as stored inside checkpoints.

use std::path::Path;

use anyhow::Result;
use serde_json::json;

use super::TableWriter;
use crate::io::SinkOptions;
use crate::meta::{Bounds, FileMeta, Kind, Provenance};

/// One row of the training log.
#[derive(Clone, Debug)]
pub struct LogRow {
    pub step: u64,
    pub test: bool,
    pub loss: f64,
}

/// Write `log` as a trainlog file; `model` describes the network and loss.
pub fn write_log(
    path: &Path,
    log: &[LogRow],
    params: &[String],
    bounds: &Bounds,
    model: serde_json::Value,
    tool: &str,
    seed: u64,
) -> Result<()> {
    let meta = FileMeta::new(
        Kind::Trainlog,
        params.to_vec(),
        bounds.clone(),
        model,
        Provenance::from_env(tool, Some(seed)),
    );
    let mut w = TableWriter::create(path, &meta, &[], &SinkOptions::default())?;
    for r in log {
        w.u64(0, r.step);
        w.str(1, if r.test { "test" } else { "train" });
        w.f64(2, r.loss);
        w.end_row()?;
    }
    w.finish()?;
    Ok(())
}

/// The log as JSON rows (for checkpoints).
pub fn to_json(log: &[LogRow]) -> serde_json::Value {
    json!(log
        .iter()
        .map(|r| json!([r.step, r.test, r.loss]))
        .collect::<Vec<_>>())
}

/// Rows back from [`to_json`].
pub fn from_json(v: Option<&serde_json::Value>) -> Vec<LogRow> {
    v.and_then(|l| l.as_array())
        .map(|rows| {
            rows.iter()
                .map(|r| LogRow {
                    step: r[0].as_u64().unwrap_or(0),
                    test: r[1].as_bool().unwrap_or(false),
                    loss: r[2].as_f64().unwrap_or(f64::NAN),
                })
                .collect()
        })
        .unwrap_or_default()
}
