//! What `--device cuda` training needs at run time beside phasekit's CUDA
//! build: the NVIDIA driver (libcuda), NVRTC, the CUDA headers NVRTC
//! compiles kernels against, and libdevice for the LLVM path. `make setup
//! DEVICE=cuda` puts all but the driver in `.local/cuda/nvidia/cu13`, a
//! folder shaped like a CUDA toolkit; `CUDA_PATH` names another.
//!
//! Each is checked before burn's CUDA backend starts, because that backend
//! panics (with a backtrace) where a library is missing: here a missing
//! piece is one line that says what to install.

use std::ffi::CString;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::runtime::project_roots;

/// Where the run-time kit lands inside the project folder.
const KIT: &str = ".local/cuda/nvidia/cu13";
const NVRTC: &str = "libnvrtc.so.13";
const HOW_TO_FIX: &str =
    "run `make setup DEVICE=cuda` in the phasekit folder, or set CUDA_PATH to a CUDA 13 toolkit";

/// Whether the dynamic loader can load `name` (a soname or a path); a
/// library loaded by path stays loaded, so later loads of its soname
/// (cudarc's, by name) find it.
fn loads(name: &str) -> bool {
    let Ok(c) = CString::new(name) else {
        return false;
    };
    // SAFETY: dlopen with a NUL-terminated name; the handle is kept open on purpose.
    !unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) }.is_null()
}

/// The toolkit folder: `CUDA_PATH`, else the project's kit.
fn toolkit() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CUDA_PATH") {
        return Some(PathBuf::from(p));
    }
    project_roots()
        .into_iter()
        .map(|r| r.join(KIT))
        .find(|k| k.join("include").is_dir())
}

/// Check the driver and the kit, and point `CUDA_PATH` (read by burn's
/// CUDA backend for headers and libdevice) at the kit.
pub fn prepare() -> Result<()> {
    if !loads("libcuda.so.1") {
        bail!(
            "--device cuda: no NVIDIA driver here (libcuda.so.1 does not load); \
             run on a machine with an NVIDIA GPU and its driver, or use --device cpu"
        );
    }
    let Some(root) = toolkit() else {
        bail!("--device cuda: the CUDA run-time kit (NVRTC, headers, libdevice) is missing; {HOW_TO_FIX}");
    };
    for needed in ["include/cuda.h", "nvvm/libdevice/libdevice.10.bc"] {
        if !root.join(needed).is_file() {
            bail!(
                "--device cuda: {} has no {needed}; {HOW_TO_FIX}",
                root.display()
            );
        }
    }
    if !loads(NVRTC) && !nvrtc_in(&root).is_some_and(|p| loads(&p.to_string_lossy())) {
        bail!(
            "--device cuda: NVRTC ({NVRTC}) does not load from the library path or {}; {HOW_TO_FIX}",
            root.display()
        );
    }
    if std::env::var_os("CUDA_PATH").is_none() {
        // before any thread of the backend reads the environment
        std::env::set_var("CUDA_PATH", &root);
    }
    Ok(())
}

fn nvrtc_in(root: &Path) -> Option<PathBuf> {
    ["lib", "lib64"]
        .iter()
        .map(|d| root.join(d).join(NVRTC))
        .find(|p| p.is_file())
}

/// Run `start` (which may panic inside the CUDA backend) and turn a panic
/// into one line instead of a backtrace.
pub fn without_panic_noise<T>(start: impl FnOnce() -> T) -> Result<T> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    // nothing of the failed start is used after a panic
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(start));
    std::panic::set_hook(hook);
    r.map_err(|payload| {
        let why = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("unknown failure");
        let first = why.lines().find(|l| !l.trim().is_empty()).unwrap_or(why);
        anyhow::anyhow!(
            "--device cuda: the CUDA backend could not start ({})",
            first.trim()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_one_line() {
        let e = without_panic_noise(|| -> u8 { panic!("no device 0\nmore detail") }).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--device cuda: the CUDA backend could not start (no device 0)"
        );
        assert_eq!(without_panic_noise(|| 7).unwrap(), 7);
    }

    #[test]
    fn without_a_driver_the_error_says_so() {
        // this machine has no NVIDIA driver; where one is, the check passes it
        if loads("libcuda.so.1") {
            return;
        }
        let e = prepare().unwrap_err().to_string();
        assert!(e.starts_with("--device cuda: no NVIDIA driver here"), "{e}");
        assert_eq!(e.lines().count(), 1);
    }
}
