//! Content hashes recorded in provenance: BLAKE3 of a file's bytes, or of the
//! sorted (name, hash) list of a dataset directory's parts.

use std::path::Path;

use anyhow::{Context, Result};

use super::dataset::list_parts;
use super::stdio::{is_stdio, stdin_bytes};

/// The hash provenance records for `path` (`-`: what was read from standard input).
pub fn content_hash(path: &Path) -> Result<String> {
    if is_stdio(path) {
        Ok(bytes_hash(&stdin_bytes()?))
    } else if path.is_dir() {
        let mut h = blake3::Hasher::new();
        for part in list_parts(path)? {
            let name = part
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            h.update(name.as_bytes());
            h.update(&[0]);
            h.update(file_hash(&part)?.as_bytes());
            h.update(&[0]);
        }
        Ok(format!("blake3:{}", h.finalize().to_hex()))
    } else {
        Ok(format!("blake3:{}", file_hash(path)?.to_hex()))
    }
}

/// The hash of bytes held in memory, as [`content_hash`] gives for a file of them.
pub fn bytes_hash(bytes: &[u8]) -> String {
    format!("blake3:{}", blake3::hash(bytes).to_hex())
}

fn file_hash(path: &Path) -> Result<blake3::Hash> {
    let mut h = blake3::Hasher::new();
    h.update_mmap_rayon(path)
        .with_context(|| format!("{}: reading for its content hash", path.display()))?;
    Ok(h.finalize())
}
