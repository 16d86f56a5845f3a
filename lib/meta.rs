//! The `phasekit.*` footer metadata every Parquet file carries (schemas/README.md).
//!
//! All values are JSON strings written from ordered maps, so identical content
//! gives identical bytes. Nothing here records wall-clock time.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::InputError;

/// Version of the file contract; bumped whenever a column or key changes meaning.
pub const CONTRACT_VERSION: u32 = 1;

/// Prefix of every phasekit footer key.
pub const PREFIX: &str = "phasekit.";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Microstates,
    Bundles,
    Posteriors,
    Thermo,
    Trainlog,
    Estimates,
    Couplings,
    Latents,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::Microstates,
        Kind::Bundles,
        Kind::Posteriors,
        Kind::Thermo,
        Kind::Trainlog,
        Kind::Estimates,
        Kind::Couplings,
        Kind::Latents,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Microstates => "microstates",
            Kind::Bundles => "bundles",
            Kind::Posteriors => "posteriors",
            Kind::Thermo => "thermo",
            Kind::Trainlog => "trainlog",
            Kind::Estimates => "estimates",
            Kind::Couplings => "couplings",
            Kind::Latents => "latents",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Prior box of each parameter, `[low, high]`, keyed by parameter name.
pub type Bounds = BTreeMap<String, [f64; 2]>;

/// The parameter grid over the prior box used by bundles, posteriors and thermo files.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    /// Parameter names; the first indexes grid rows, the second grid columns.
    pub params: Vec<String>,
    pub bounds: Bounds,
    /// `[gh, gw]`: points along the first and the second parameter.
    pub shape: [usize; 2],
    /// Width of the target Gaussians, in units where each parameter spans [0, 1].
    pub sigma: f64,
}

impl Grid {
    pub fn len(&self) -> usize {
        self.shape[0] * self.shape[1]
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Coordinate of grid index `i` along axis `axis` in [0, 1] (cell centres).
    pub fn unit_coord(&self, axis: usize, i: usize) -> f64 {
        (i as f64 + 0.5) / self.shape[axis] as f64
    }

    /// Physical value of grid index `i` along axis `axis`.
    pub fn coord(&self, axis: usize, i: usize) -> f64 {
        let [lo, hi] = self.bounds[&self.params[axis]];
        lo + (hi - lo) * self.unit_coord(axis, i)
    }

    /// Unit-test fixture: the Ising prior box T ∈ [1, 5], h ∈ [−2, 2].
    #[cfg(test)]
    pub fn ising_box(shape: [usize; 2], sigma: f64) -> Grid {
        let mut bounds = Bounds::new();
        bounds.insert("T".into(), [1.0, 5.0]);
        bounds.insert("h".into(), [-2.0, 2.0]);
        Grid {
            params: vec!["T".into(), "h".into()],
            bounds,
            shape,
            sigma,
        }
    }
}

/// A file the output was computed from, with a content hash of its bytes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputRef {
    pub path: String,
    pub hash: String,
}

/// Who made the file and from what. Execution-only flags (threads, progress,
/// quiet) are left out of `args` so that they cannot change the bytes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct Provenance {
    pub tool: String,
    pub version: String,
    pub args: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub inputs: Vec<InputRef>,
}

impl Provenance {
    /// Provenance for the running tool, from its command line.
    pub fn from_env(tool: &str, seed: Option<u64>) -> Provenance {
        Provenance {
            tool: tool.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            args: reproducible_args(std::env::args().skip(1)),
            seed,
            inputs: Vec::new(),
        }
    }
}

/// The command line with execution-only flags (threads, progress, quiet)
/// removed: what provenance records, so those flags cannot change the bytes.
pub fn reproducible_args(args: impl Iterator<Item = String>) -> Vec<String> {
    const WITH_VALUE: [&str; 2] = ["--threads", "--progress"];
    const SWITCHES: [&str; 2] = ["--quiet", "-q"];
    let mut out = Vec::new();
    let mut skip_next = false;
    for a in args {
        if skip_next {
            skip_next = false;
            continue;
        }
        if WITH_VALUE.contains(&a.as_str()) {
            skip_next = true;
            continue;
        }
        if WITH_VALUE.iter().any(|f| a.starts_with(&format!("{f}=")))
            || SWITCHES.contains(&a.as_str())
        {
            continue;
        }
        out.push(a);
    }
    out
}

/// Everything in the `phasekit.*` footer of one file.
#[derive(Clone, Debug, PartialEq)]
pub struct FileMeta {
    pub kind: Kind,
    pub version: u32,
    pub params: Vec<String>,
    pub bounds: Bounds,
    /// System name and its fixed settings, e.g. `{"system":"ising","L":32,...}`.
    pub model: Value,
    pub provenance: Provenance,
    /// Kind-specific keys (`state_shape`, `grid`, `k_neib`, ...), stored as `phasekit.<key>`.
    pub extra: BTreeMap<String, Value>,
}

impl FileMeta {
    pub fn new(
        kind: Kind,
        params: Vec<String>,
        bounds: Bounds,
        model: Value,
        provenance: Provenance,
    ) -> Self {
        FileMeta {
            kind,
            version: CONTRACT_VERSION,
            params,
            bounds,
            model,
            provenance,
            extra: BTreeMap::new(),
        }
    }

    pub fn with(mut self, key: &str, value: impl Serialize) -> Self {
        self.extra.insert(
            key.to_string(),
            serde_json::to_value(value).expect("metadata value serialises"),
        );
        self
    }

    /// The footer key-value pairs, in a fixed order.
    pub fn to_key_values(&self) -> Vec<(String, String)> {
        let mut kv = vec![
            (format!("{PREFIX}kind"), self.kind.as_str().to_string()),
            (format!("{PREFIX}version"), self.version.to_string()),
            (format!("{PREFIX}params"), json(&self.params)),
            (format!("{PREFIX}bounds"), json(&self.bounds)),
            (format!("{PREFIX}model"), json(&self.model)),
            (format!("{PREFIX}provenance"), json(&self.provenance)),
        ];
        for (k, v) in &self.extra {
            kv.push((format!("{PREFIX}{k}"), json(v)));
        }
        kv
    }

    /// Parse the footer of `path`; every problem names the file and the key.
    pub fn from_key_values<'a>(
        path: &Path,
        kv: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
    ) -> Result<FileMeta, InputError> {
        let mut map: BTreeMap<&str, &str> = BTreeMap::new();
        for (k, v) in kv {
            if let Some(key) = k.strip_prefix(PREFIX) {
                map.insert(key, v.unwrap_or(""));
            }
        }
        let p = path.display();
        let get = |key: &str| -> Result<&str, InputError> {
            map.get(key).copied().ok_or_else(|| {
                InputError::new(format!(
                    "{p}: not a phasekit file: footer metadata lacks '{PREFIX}{key}'"
                ))
            })
        };
        let parse = |key: &str| -> Result<Value, InputError> {
            let raw = get(key)?;
            serde_json::from_str(raw).map_err(|e| {
                InputError::new(format!(
                    "{p}: footer key '{PREFIX}{key}' is not valid JSON ({e})"
                ))
            })
        };
        let kind_str = get("kind")?;
        let kind = Kind::parse(kind_str)
            .ok_or_else(|| InputError::new(format!("{p}: unknown {PREFIX}kind '{kind_str}'")))?;
        let version: u32 = get("version")?
            .parse()
            .map_err(|_| InputError::new(format!("{p}: {PREFIX}version is not an integer")))?;
        if version != CONTRACT_VERSION {
            return Err(InputError::new(format!(
                "{p}: contract version {version}, this phasekit reads version {CONTRACT_VERSION}"
            )));
        }
        let params: Vec<String> = serde_json::from_value(parse("params")?).map_err(|e| {
            InputError::new(format!("{p}: {PREFIX}params must be a list of names ({e})"))
        })?;
        let bounds: Bounds = serde_json::from_value(parse("bounds")?).map_err(|e| {
            InputError::new(format!(
                "{p}: {PREFIX}bounds must map each parameter to [low, high] ({e})"
            ))
        })?;
        for name in &params {
            match bounds.get(name) {
                Some([lo, hi]) if lo.is_finite() && hi.is_finite() && lo <= hi => {}
                Some(b) => {
                    return Err(InputError::new(format!(
                        "{p}: {PREFIX}bounds for '{name}' is {b:?}, expected finite [low, high]"
                    )))
                }
                None => {
                    return Err(InputError::new(format!(
                        "{p}: {PREFIX}bounds has no entry for parameter '{name}'"
                    )))
                }
            }
        }
        let model = parse("model")?;
        let provenance: Provenance = serde_json::from_value(parse("provenance")?)
            .map_err(|e| InputError::new(format!("{p}: {PREFIX}provenance is malformed ({e})")))?;
        let mut extra = BTreeMap::new();
        for (k, raw) in &map {
            if matches!(
                *k,
                "kind" | "version" | "params" | "bounds" | "model" | "provenance"
            ) {
                continue;
            }
            let v: Value = serde_json::from_str(raw).map_err(|e| {
                InputError::new(format!(
                    "{p}: footer key '{PREFIX}{k}' is not valid JSON ({e})"
                ))
            })?;
            extra.insert(k.to_string(), v);
        }
        Ok(FileMeta {
            kind,
            version,
            params,
            bounds,
            model,
            provenance,
            extra,
        })
    }

    /// A kind-specific key, deserialised; missing or malformed keys name the file.
    pub fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &Path,
        key: &str,
    ) -> Result<T, InputError> {
        let v = self.extra.get(key).ok_or_else(|| {
            InputError::new(format!(
                "{}: {} file lacks footer key '{PREFIX}{key}'",
                path.display(),
                self.kind
            ))
        })?;
        serde_json::from_value(v.clone()).map_err(|e| {
            InputError::new(format!(
                "{}: footer key '{PREFIX}{key}' is malformed ({e})",
                path.display()
            ))
        })
    }

    /// The same file description with its provenance left out, used to check
    /// that the parts of a dataset belong together.
    pub fn without_provenance(&self) -> FileMeta {
        let mut m = self.clone();
        m.provenance = Provenance::default();
        m
    }
}

fn json<T: Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).expect("metadata serialises to JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execution_flags_are_dropped() {
        let args = [
            "--n",
            "4",
            "--threads",
            "2",
            "--progress=never",
            "-q",
            "--seed",
            "3",
        ]
        .iter()
        .map(|s| s.to_string());
        assert_eq!(reproducible_args(args), vec!["--n", "4", "--seed", "3"]);
    }

    #[test]
    fn key_values_round_trip() {
        let mut bounds = Bounds::new();
        bounds.insert("T".into(), [1.0, 5.0]);
        bounds.insert("h".into(), [-2.0, 2.0]);
        let meta = FileMeta::new(
            Kind::Microstates,
            vec!["T".into(), "h".into()],
            bounds,
            serde_json::json!({"system": "ising", "L": 8}),
            Provenance {
                tool: "t".into(),
                version: "0".into(),
                args: vec!["--n".into(), "3".into()],
                seed: Some(7),
                inputs: vec![],
            },
        )
        .with("state_shape", [8, 8]);
        let kv = meta.to_key_values();
        let back = FileMeta::from_key_values(
            Path::new("x"),
            kv.iter().map(|(k, v)| (k.as_str(), Some(v.as_str()))),
        )
        .unwrap();
        assert_eq!(back, meta);
        let shape: Vec<usize> = back.get(Path::new("x"), "state_shape").unwrap();
        assert_eq!(shape, vec![8, 8]);
    }

    #[test]
    fn missing_key_names_file_and_key() {
        let err = FileMeta::from_key_values(
            Path::new("data.parquet"),
            [("phasekit.kind", Some("bundles"))],
        )
        .unwrap_err();
        assert!(
            err.0.contains("data.parquet") && err.0.contains("phasekit.version"),
            "{err}"
        );
    }

    #[test]
    fn grid_coordinates_are_cell_centres() {
        let mut bounds = Bounds::new();
        bounds.insert("T".into(), [1.0, 5.0]);
        bounds.insert("h".into(), [-2.0, 2.0]);
        let g = Grid {
            params: vec!["T".into(), "h".into()],
            bounds,
            shape: [4, 2],
            sigma: 0.02,
        };
        assert_eq!(g.coord(0, 0), 1.5);
        assert_eq!(g.coord(0, 3), 4.5);
        assert_eq!(g.coord(1, 1), 1.0);
        assert_eq!(g.len(), 8);
    }
}
