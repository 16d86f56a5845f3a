//! Column rules per file kind (the machine-readable half of schemas/).

use std::path::Path;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use crate::error::InputError;
use crate::meta::{FileMeta, Grid, Kind};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ColType {
    UInt64,
    Float64,
    Float32,
    Utf8,
    /// FixedSizeList<Int8> of the given length.
    ListInt8(usize),
    /// FixedSizeList<UInt64> of the given length.
    ListUInt64(usize),
    /// FixedSizeList<Float32> of the given length.
    ListFloat32(usize),
}

impl ColType {
    pub fn data_type(&self) -> DataType {
        let list = |t: DataType, n: usize| {
            DataType::FixedSizeList(Arc::new(Field::new("item", t, false)), n as i32)
        };
        match self {
            ColType::UInt64 => DataType::UInt64,
            ColType::Float64 => DataType::Float64,
            ColType::Float32 => DataType::Float32,
            ColType::Utf8 => DataType::Utf8,
            ColType::ListInt8(n) => list(DataType::Int8, *n),
            ColType::ListUInt64(n) => list(DataType::UInt64, *n),
            ColType::ListFloat32(n) => list(DataType::Float32, *n),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            ColType::UInt64 => "UInt64".into(),
            ColType::Float64 => "Float64".into(),
            ColType::Float32 => "Float32".into(),
            ColType::Utf8 => "Utf8 string".into(),
            ColType::ListInt8(n) => format!("FixedSizeList<Int8, {n}>"),
            ColType::ListUInt64(n) => format!("FixedSizeList<UInt64, {n}>"),
            ColType::ListFloat32(n) => format!("FixedSizeList<Float32, {n}>"),
        }
    }

    /// Whether a column of type `dt` honours this rule. Strings may come as any
    /// Arrow string type (other writers choose differently); lists must have the
    /// exact element type and length.
    pub fn accepts(&self, dt: &DataType) -> bool {
        match (self, dt) {
            (ColType::Utf8, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) => true,
            (ColType::Utf8, DataType::Dictionary(_, v)) => {
                matches!(**v, DataType::Utf8 | DataType::LargeUtf8)
            }
            (ColType::ListInt8(n), DataType::FixedSizeList(f, m))
            | (ColType::ListUInt64(n), DataType::FixedSizeList(f, m))
            | (ColType::ListFloat32(n), DataType::FixedSizeList(f, m)) => {
                let want = match self {
                    ColType::ListInt8(_) => DataType::Int8,
                    ColType::ListUInt64(_) => DataType::UInt64,
                    _ => DataType::Float32,
                };
                *m as usize == *n && f.data_type() == &want
            }
            (a, b) => &a.data_type() == b,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnRule {
    pub name: String,
    pub ty: ColType,
    pub required: bool,
    /// values may be null (e.g. an estimate with no standard error)
    pub nullable: bool,
}

fn req(name: impl Into<String>, ty: ColType) -> ColumnRule {
    ColumnRule {
        name: name.into(),
        ty,
        required: true,
        nullable: false,
    }
}

/// A rule whose values may be null.
fn nullable(mut rule: ColumnRule) -> ColumnRule {
    rule.nullable = true;
    rule
}

fn opt(name: impl Into<String>, ty: ColType) -> ColumnRule {
    ColumnRule {
        name: name.into(),
        ty,
        required: false,
        nullable: false,
    }
}

/// Observables a microstates file may carry, one Float64 per sample.
pub const MICROSTATE_OBSERVABLES: [&str; 5] = [
    "energy",
    "magnetization",
    "density",
    "current",
    "bond_current",
];

/// The column rules of a file, given its footer metadata.
pub fn rules_for(path: &Path, meta: &FileMeta) -> Result<Vec<ColumnRule>, InputError> {
    let params = || meta.params.iter().map(|p| req(p.clone(), ColType::Float64));
    let mut rules = Vec::new();
    match meta.kind {
        Kind::Microstates => {
            let shape: Vec<usize> = meta.get(path, "state_shape")?;
            let n: usize = shape.iter().product();
            if shape.is_empty() || n == 0 {
                return Err(InputError::new(format!(
                    "{}: phasekit.state_shape {shape:?} must be non-empty with no zero side",
                    path.display()
                )));
            }
            rules.push(req("id", ColType::UInt64));
            rules.extend(params());
            rules.push(req("state", ColType::ListInt8(n)));
            rules.extend(
                MICROSTATE_OBSERVABLES
                    .iter()
                    .map(|o| opt(*o, ColType::Float64)),
            );
            rules.push(opt("method", ColType::Utf8));
            // nis-estimate's --samples-out: log q of the sampler, log w = −βE − log q
            rules.push(opt("log_q", ColType::Float64));
            rules.push(opt("log_w", ColType::Float64));
        }
        Kind::Bundles => {
            let k_neib: usize = meta.get(path, "k_neib")?;
            let _k_bundle: usize = meta.get(path, "k_bundle")?;
            let grid: Grid = meta.get(path, "grid")?;
            rules.push(req("bundle_id", ColType::UInt64));
            rules.push(req("split", ColType::Utf8));
            rules.extend(params());
            rules.push(req("members", ColType::ListUInt64(k_neib)));
            rules.push(opt("target", ColType::ListFloat32(grid.len())));
        }
        Kind::Posteriors => {
            let grid: Grid = meta.get(path, "grid")?;
            rules.push(req("bundle_id", ColType::UInt64));
            rules.push(req("split", ColType::Utf8));
            rules.extend(params());
            rules.push(req("posterior", ColType::ListFloat32(grid.len())));
        }
        Kind::Thermo => {
            rules.extend(params());
            rules.push(req("log_z", ColType::Float64));
            for p in &meta.params {
                rules.push(req(format!("grad_{p}"), ColType::Float64));
            }
            for (i, p) in meta.params.iter().enumerate() {
                for q in &meta.params[i..] {
                    rules.push(req(format!("fisher_{p}_{q}"), ColType::Float64));
                }
            }
        }
        Kind::Trainlog => {
            rules.push(req("step", ColType::UInt64));
            rules.push(req("split", ColType::Utf8));
            rules.push(req("loss", ColType::Float64));
        }
        Kind::Estimates => {
            rules.extend(params());
            rules.push(req("method", ColType::Utf8));
            rules.push(req("quantity", ColType::Utf8));
            rules.push(req("value", ColType::Float64));
            rules.push(nullable(req("std_error", ColType::Float64)));
            rules.push(req("n_samples", ColType::UInt64));
        }
        Kind::Couplings => {
            rules.push(req("term", ColType::Utf8));
            rules.push(req("scope", ColType::Utf8));
            rules.push(req("i", ColType::UInt64));
            rules.push(req("j", ColType::UInt64));
            rules.push(req("value", ColType::Float64));
            rules.push(nullable(req("std_error", ColType::Float64)));
            rules.push(req("data_moment", ColType::Float64));
            rules.push(req("model_moment", ColType::Float64));
        }
        Kind::Latents => {
            let d: usize = meta.get(path, "latent")?;
            rules.push(req("source", ColType::Utf8));
            rules.push(req("id", ColType::UInt64));
            rules.extend(params());
            rules.push(req("phase", ColType::Utf8));
            rules.push(req("magnetization", ColType::Float64));
            rules.push(req("staggered_magnetization", ColType::Float64));
            for k in 0..d {
                rules.push(req(format!("mu_{k}"), ColType::Float64));
            }
            for k in 0..d {
                rules.push(req(format!("sigma_{k}"), ColType::Float64));
            }
        }
    }
    Ok(rules)
}

/// The Arrow schema a phasekit writer uses: the required columns plus the
/// optional ones named in `with_optional`, in rule order.
pub fn schema_for(rules: &[ColumnRule], with_optional: &[&str]) -> SchemaRef {
    let fields: Vec<Field> = rules
        .iter()
        .filter(|r| r.required || with_optional.contains(&r.name.as_str()))
        .map(|r| Field::new(&r.name, r.ty.data_type(), r.nullable))
        .collect();
    Arc::new(Schema::new(fields))
}
