//! Descriptions of phasekit files for `pk-inspect` and reports.

use std::path::Path;

use anyhow::Result;
use serde_json::{json, Value};

use crate::contract;
use crate::io::Dataset;
use crate::meta::Kind;
use crate::runtime::{Device, Model};

/// Check a Parquet file/folder or an ONNX model and describe it as JSON.
pub fn inspect(path: &Path, expected_kind: Option<&str>) -> Result<Value> {
    let is_onnx = if crate::io::is_stdio(path) {
        // standard input: Parquet files start with their magic bytes
        !crate::io::stdio::stdin_bytes()?.starts_with(b"PAR1")
    } else {
        path.extension().map(|e| e == "onnx").unwrap_or(false)
    };
    if is_onnx {
        return inspect_model(path, expected_kind);
    }
    let expected = match expected_kind {
        None => None,
        Some(k) => Some(Kind::parse(k).ok_or_else(|| {
            crate::input_error!(
                "--kind: unknown kind '{k}' (expected one of {})",
                Kind::ALL.map(|k| k.as_str()).join(", ")
            )
        })?),
    };
    let ds = Dataset::open(path)?;
    contract::check(&ds, expected)?;
    let columns: Vec<Value> = ds
        .schema
        .fields()
        .iter()
        .map(|f| json!({"name": f.name(), "type": f.data_type().to_string()}))
        .collect();
    let m = &ds.meta;
    Ok(json!({
        "path": path.display().to_string(),
        "format": "parquet",
        "kind": m.kind.as_str(),
        "version": m.version,
        "rows": ds.num_rows,
        "parts": ds.parts.len(),
        "columns": columns,
        "params": m.params,
        "bounds": m.bounds,
        "model": m.model,
        "extra": m.extra,
        "provenance": m.provenance,
    }))
}

fn inspect_model(path: &Path, expected_kind: Option<&str>) -> Result<Value> {
    let model = Model::load(path, Device::Cpu, 1)?;
    let kind = model.metadata.get("phasekit.kind").cloned();
    if let Some(want) = expected_kind {
        if kind.as_deref() != Some(want) {
            crate::bail_input!(
                "{}: model kind is {}, expected {want}",
                path.display(),
                kind.as_deref().unwrap_or("not recorded")
            );
        }
    }
    let sig = |v: &[crate::runtime::TensorSig]| -> Vec<Value> {
        v.iter()
            .map(|s| json!({"name": s.name, "shape": s.shape}))
            .collect()
    };
    Ok(json!({
        "path": path.display().to_string(),
        "format": "onnx",
        "kind": kind,
        "inputs": sig(&model.inputs),
        "outputs": sig(&model.outputs),
        "metadata": model.metadata,
    }))
}

/// Human-readable text of a description made by [`inspect`].
pub fn render(v: &Value) -> String {
    let mut s = String::new();
    let get = |k: &str| v.get(k).cloned().unwrap_or(Value::Null);
    s += &format!(
        "{}: {} {}\n",
        get("path").as_str().unwrap_or(""),
        get("format").as_str().unwrap_or(""),
        get("kind").as_str().unwrap_or("(kind not recorded)")
    );
    if get("format") == "parquet" {
        s += &format!("  rows: {}   parts: {}\n", get("rows"), get("parts"));
        s += "  columns:\n";
        for c in get("columns").as_array().cloned().unwrap_or_default() {
            s += &format!(
                "    {:<16} {}\n",
                c["name"].as_str().unwrap_or(""),
                c["type"].as_str().unwrap_or("")
            );
        }
        s += &format!("  params: {}   bounds: {}\n", get("params"), get("bounds"));
        s += &format!("  model: {}\n", get("model"));
        if let Some(extra) = get("extra").as_object() {
            for (k, val) in extra {
                s += &format!("  {k}: {val}\n");
            }
        }
        s += &format!("  provenance: {}\n", get("provenance"));
    } else {
        for io in ["inputs", "outputs"] {
            s += &format!("  {io}:\n");
            for t in get(io).as_array().cloned().unwrap_or_default() {
                s += &format!(
                    "    {:<12} {}\n",
                    t["name"].as_str().unwrap_or(""),
                    t["shape"]
                );
            }
        }
        if let Some(md) = get("metadata").as_object() {
            for (k, val) in md {
                s += &format!("  {k}: {}\n", val.as_str().unwrap_or(""));
            }
        }
    }
    s
}
