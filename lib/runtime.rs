//! ONNX Runtime: finding the shared library, choosing the execution provider,
//! running models with f32 tensors.
//!
//! The library is loaded at run time (`ort`'s `load-dynamic`), found in this
//! order: `ORT_DYLIB_PATH`; the project-local install made by `make setup`
//! (`.local/onnxruntime/` in the project folder, found from `PHASEKIT_HOME`,
//! the executable's folder or the current folder and their parents); an
//! `onnxruntime` package importable by the active Python (`PHASEKIT_PYTHON`
//! or `python3`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};

use anyhow::{anyhow, bail, Context, Result};
use ort::environment::Environment;
use ort::session::Session;

/// Where inference runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    Cpu,
    Cuda,
}

/// Folder, relative to the project root, where `make setup` installs the wheel.
pub const LOCAL_INSTALL: &str = ".local/onnxruntime";

const HOW_TO_FIX: &str = "run `make setup` in the phasekit folder (or `make setup DEVICE=cuda`), \
or point ORT_DYLIB_PATH at libonnxruntime.so";

fn find_so_in(capi: &Path) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(capi)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .map(|n| n.to_string_lossy().starts_with("libonnxruntime.so"))
                .unwrap_or(false)
        })
        .collect();
    // Prefer the versioned file (libonnxruntime.so.1.31.1) over a bare link.
    found.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
    found.into_iter().next()
}

/// Folders a project-local install may be under: `PHASEKIT_HOME`, the
/// executable's folder and the working folder, with their ancestors.
pub(crate) fn project_roots() -> Vec<PathBuf> {
    let mut starts: Vec<PathBuf> = Vec::new();
    if let Ok(home) = std::env::var("PHASEKIT_HOME") {
        starts.push(PathBuf::from(home));
    }
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe.parent() {
            starts.push(dir.to_path_buf());
        }
    }
    if let Ok(cwd) = std::env::current_dir() {
        starts.push(cwd);
    }
    let mut roots = Vec::new();
    for s in starts {
        for anc in s.ancestors() {
            roots.push(anc.to_path_buf());
        }
    }
    roots
}

fn python_install() -> Option<PathBuf> {
    let python = std::env::var("PHASEKIT_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = std::process::Command::new(python)
        .args([
            "-c",
            "import onnxruntime, os; print(os.path.dirname(onnxruntime.__file__))",
        ])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    find_so_in(&dir.join("capi"))
}

/// Locate libonnxruntime.so by the documented search order.
pub fn locate_library() -> Result<PathBuf> {
    if let Ok(p) = std::env::var("ORT_DYLIB_PATH") {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Ok(p);
        }
        bail!(
            "ORT_DYLIB_PATH={} does not name a file; {HOW_TO_FIX}",
            p.display()
        );
    }
    for root in project_roots() {
        if let Some(so) = find_so_in(&root.join(LOCAL_INSTALL).join("onnxruntime/capi")) {
            return Ok(so);
        }
    }
    if let Some(so) = python_install() {
        return Ok(so);
    }
    bail!("ONNX Runtime library not found; {HOW_TO_FIX}")
}

static ENVIRONMENT: OnceLock<std::result::Result<Environment, String>> = OnceLock::new();

/// The process-wide ONNX Runtime environment, loaded on first use.
pub fn environment() -> Result<&'static Environment> {
    let env = ENVIRONMENT.get_or_init(|| {
        let lib = locate_library().map_err(|e| e.to_string())?;
        let builder = ort::init_from(&lib).map_err(|e| {
            format!(
                "cannot load ONNX Runtime from {} ({e}); {HOW_TO_FIX}",
                lib.display()
            )
        })?;
        builder
            .with_name("phasekit")
            .build()
            .map_err(|e| format!("cannot start ONNX Runtime from {} ({e})", lib.display()))
    });
    env.as_ref().map_err(|e| anyhow!("{e}"))
}

/// Shape and name of a model input or output; -1 marks a symbolic dimension.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorSig {
    pub name: String,
    pub shape: Vec<i64>,
}

/// A dense f32 tensor in row-major order.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// The bytes of an ONNX file and where they came from (a path, `-` for
/// standard input or output), as provenance records them.
#[derive(Clone, Debug)]
pub struct ModelFile {
    pub path: PathBuf,
    pub bytes: bytes::Bytes,
}

impl ModelFile {
    /// Read a model file (`-`: standard input).
    pub fn read(path: &Path) -> Result<ModelFile> {
        Ok(ModelFile {
            path: path.to_path_buf(),
            bytes: crate::io::read_input(path, "model")?,
        })
    }

    /// The content hash provenance records, as for a file of these bytes.
    pub fn hash(&self) -> String {
        crate::io::hash::bytes_hash(&self.bytes)
    }

    pub fn label(&self) -> String {
        self.path.display().to_string()
    }
}

/// A loaded ONNX model, ready to run.
pub struct Model {
    session: Session,
    pub label: String,
    pub inputs: Vec<TensorSig>,
    pub outputs: Vec<TensorSig>,
    pub metadata: BTreeMap<String, String>,
}

fn builder_error(e: ort::Error<ort::session::builder::SessionBuilder>) -> anyhow::Error {
    anyhow!("{}", ort::Error::<()>::from(e))
}

fn session_builder(
    device: Device,
    threads: usize,
) -> Result<ort::session::builder::SessionBuilder> {
    let env = environment()?;
    let mut b = Session::builder(env).map_err(|e| anyhow!("{e}"))?;
    if threads > 0 {
        b = b.with_intra_threads(threads).map_err(builder_error)?;
    }
    match device {
        Device::Cpu => Ok(b),
        Device::Cuda => cuda_provider(b),
    }
}

#[cfg(feature = "cuda")]
fn cuda_provider(
    b: ort::session::builder::SessionBuilder,
) -> Result<ort::session::builder::SessionBuilder> {
    b.with_execution_providers([ort::ep::CUDA::default().build().error_on_failure()])
        .map_err(|e| {
            anyhow!(
                "--device cuda: the CUDA execution provider could not start ({}); install the GPU build \
                 with `make setup DEVICE=cuda` and make sure a GPU and the CUDA 12 / cuDNN 9 libraries are present",
                ort::Error::<()>::from(e)
            )
        })
}

#[cfg(not(feature = "cuda"))]
fn cuda_provider(
    _: ort::session::builder::SessionBuilder,
) -> Result<ort::session::builder::SessionBuilder> {
    Err(crate::input_error!(
        "--device cuda: this phasekit was built without CUDA support; rebuild with \
         `make build FEATURES=cuda` and install the GPU runtime with `make setup DEVICE=cuda`"
    ))
}

fn signature(outlets: &[ort::value::Outlet]) -> Vec<TensorSig> {
    outlets
        .iter()
        .map(|o| TensorSig {
            name: o.name().to_string(),
            shape: o
                .dtype()
                .tensor_shape()
                .map(|s| s.to_vec())
                .unwrap_or_default(),
        })
        .collect()
}

impl Model {
    /// Load a model file. Errors name the file.
    pub fn load(path: &Path, device: Device, threads: usize) -> Result<Model> {
        let file = ModelFile::read(path)?;
        Model::from_bytes(&file.bytes, &file.label(), device, threads)
    }

    pub fn from_bytes(bytes: &[u8], label: &str, device: Device, threads: usize) -> Result<Model> {
        let mut b = session_builder(device, threads)?;
        let session = b
            .commit_from_memory(bytes)
            .map_err(|e| crate::input_error!("{label}: not a loadable ONNX model ({e})"))?;
        let metadata = {
            let md = session
                .metadata()
                .map_err(|e| anyhow!("{label}: reading metadata ({e})"))?;
            let mut map = BTreeMap::new();
            for k in md
                .custom_keys()
                .map_err(|e| anyhow!("{label}: reading metadata ({e})"))?
            {
                if let Some(v) = md.custom(&k) {
                    map.insert(k, v);
                }
            }
            map
        };
        Ok(Model {
            inputs: signature(session.inputs()),
            outputs: signature(session.outputs()),
            session,
            label: label.to_string(),
            metadata,
        })
    }

    pub fn input(&self, name: &str) -> Option<&TensorSig> {
        self.inputs.iter().find(|s| s.name == name)
    }

    pub fn output(&self, name: &str) -> Option<&TensorSig> {
        self.outputs.iter().find(|s| s.name == name)
    }

    /// Run the model on named f32 inputs; returns every output by name.
    pub fn run(&mut self, inputs: &[(&str, &[usize], &[f32])]) -> Result<BTreeMap<String, Tensor>> {
        self.run_with_i64(inputs, &[])
    }

    /// As [`Model::run`], with int64 inputs too (a step graph's site index).
    pub fn run_with_i64(
        &mut self,
        inputs: &[(&str, &[usize], &[f32])],
        ints: &[(&str, &[usize], &[i64])],
    ) -> Result<BTreeMap<String, Tensor>> {
        let mut values: Vec<(String, ort::session::SessionInputValue<'_>)> = Vec::new();
        for (name, shape, data) in ints {
            let t = ort::value::TensorRef::from_array_view((shape.to_vec(), *data))
                .map_err(|e| anyhow!("{}: input '{name}' ({e})", self.label))?;
            values.push((name.to_string(), t.into()));
        }
        for (name, shape, data) in inputs {
            let t = ort::value::TensorRef::from_array_view((shape.to_vec(), *data))
                .map_err(|e| anyhow!("{}: input '{name}' ({e})", self.label))?;
            values.push((name.to_string(), t.into()));
        }
        let outputs = self
            .session
            .run(values)
            .map_err(|e| anyhow!("{}: inference failed ({e})", self.label))?;
        let mut result = BTreeMap::new();
        for (name, value) in outputs.iter() {
            let (shape, data) = value
                .try_extract_tensor::<f32>()
                .with_context(|| format!("{}: output '{name}' is not an f32 tensor", self.label))?;
            result.insert(
                name.to_string(),
                Tensor {
                    shape: shape.iter().map(|&d| d as usize).collect(),
                    data: data.to_vec(),
                },
            );
        }
        Ok(result)
    }
}

/// Move output `name` out of a [`Model::run`] result (empty if absent, so a
/// caller's length check reports it).
pub fn take_output(outputs: &mut BTreeMap<String, Tensor>, name: &str) -> Vec<f32> {
    outputs.remove(name).map(|t| t.data).unwrap_or_default()
}

/// One model loaded once per worker thread, for running many batches in
/// parallel with results that do not depend on the thread count. ONNX
/// Runtime's own intra-op split changes float rounding with the number of
/// threads, so every session here runs single-threaded and the work is split
/// only at the batch boundaries the caller fixes. (On CUDA: one session.)
pub struct ModelPool {
    models: Vec<Mutex<Model>>,
}

impl ModelPool {
    /// As many sessions as the current rayon pool has threads.
    pub fn load(file: &ModelFile, device: Device) -> Result<ModelPool> {
        let (bytes, label) = (&file.bytes, file.label());
        let n = match device {
            Device::Cpu => rayon::current_num_threads().max(1),
            Device::Cuda => 1,
        };
        let models = (0..n)
            .map(|_| Model::from_bytes(bytes, &label, device, 1).map(Mutex::new))
            .collect::<Result<Vec<_>>>()?;
        Ok(ModelPool { models })
    }

    /// The first session, for checking the model's signature.
    pub fn model(&self) -> MutexGuard<'_, Model> {
        self.models[0].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `run(model, job)` for every job, in parallel, results in job order.
    pub fn run_each<J, T, F>(&self, jobs: Vec<J>, run: F) -> Result<Vec<T>>
    where
        J: Send,
        T: Send,
        F: Fn(&mut Model, J) -> Result<T> + Sync,
    {
        use rayon::prelude::*;
        jobs.into_par_iter()
            .map(|job| {
                // each worker has its own session; a caller outside the pool shares the first
                let i = rayon::current_thread_index().unwrap_or(0) % self.models.len();
                let mut model = self.models[i].lock().unwrap_or_else(|e| e.into_inner());
                run(&mut model, job)
            })
            .collect()
    }
}
