//! The file contracts of schemas/: which columns each kind of file holds,
//! checked on every read with errors that name the file, the column and what
//! was expected.

pub mod columns;
pub mod couplings;
pub mod estimates;
pub mod latents;
pub mod rules;
pub mod table;
pub mod thermo;
pub mod trainlog;

use std::path::Path;

use anyhow::Result;

use crate::error::InputError;
use crate::io::Dataset;
use crate::meta::Kind;

pub use columns::{col_f64, col_str, col_u64, list_f32, list_i8, list_u64};
pub use rules::{rules_for, schema_for, ColType, ColumnRule};
pub use table::TableWriter;

/// Open a file or folder and check it is a valid `kind` file.
pub fn open(path: &Path, kind: Kind) -> Result<Dataset> {
    let ds = Dataset::open(path)?;
    check(&ds, Some(kind))?;
    Ok(ds)
}

/// Check a dataset's kind (if one is expected), metadata and columns.
pub fn check(ds: &Dataset, expected: Option<Kind>) -> Result<(), InputError> {
    let p = ds.path.display();
    if let Some(kind) = expected {
        if ds.meta.kind != kind {
            return Err(InputError::new(format!(
                "{p}: is a {} file, expected a {kind} file",
                ds.meta.kind
            )));
        }
    }
    let rules = rules_for(&ds.path, &ds.meta)?;
    for rule in rules {
        match ds.schema.field_with_name(&rule.name) {
            Err(_) if rule.required => {
                return Err(InputError::new(format!(
                    "{p}: {} file lacks column '{}' ({})",
                    ds.meta.kind,
                    rule.name,
                    rule.ty.describe()
                )))
            }
            Err(_) => {}
            Ok(field) => {
                if !rule.ty.accepts(field.data_type()) {
                    return Err(InputError::new(format!(
                        "{p}: column '{}' has type {}, expected {}",
                        rule.name,
                        field.data_type(),
                        rule.ty.describe()
                    )));
                }
                // Nullable fields from other writers are accepted; the typed
                // column readers reject actual nulls where they read.
            }
        }
    }
    Ok(())
}

/// Fail on NaN or infinite values in a column.
pub fn check_finite(path: &Path, column: &str, values: &[f64]) -> Result<(), InputError> {
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(InputError::new(format!(
            "{}: column '{column}' holds a non-finite value ({}) at row {i} of a batch",
            path.display(),
            values[i]
        )));
    }
    Ok(())
}
