//! Atomic output: write into a temporary file beside the target, rename on success.
//!
//! A run that fails or is interrupted leaves nothing at the target path: the
//! temporary file is removed on drop, and a killed process leaves only a
//! hidden `.NAME.pk-tmp-PID` file, never a half-written target.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::error::InputError;

#[derive(Debug)]
pub struct AtomicFile {
    target: PathBuf,
    tmp: PathBuf,
    file: Option<File>,
    committed: bool,
}

impl AtomicFile {
    /// Create the temporary file for `target`. The folder must exist and be
    /// writable; otherwise the error names the target path.
    pub fn create(target: &Path) -> Result<AtomicFile> {
        let name = target.file_name().ok_or_else(|| {
            InputError::new(format!(
                "{}: output path has no file name",
                target.display()
            ))
        })?;
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if target.is_dir() {
            return Err(InputError::new(format!(
                "{}: output path is a directory",
                target.display()
            ))
            .into());
        }
        if !dir.is_dir() {
            return Err(InputError::new(format!(
                "{}: output folder {} does not exist",
                target.display(),
                dir.display()
            ))
            .into());
        }
        let tmp = dir.join(format!(
            ".{}.pk-tmp-{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        let file = File::create(&tmp).map_err(|e| {
            InputError::new(format!("{}: cannot write output ({e})", target.display()))
        })?;
        Ok(AtomicFile {
            target: target.to_path_buf(),
            tmp,
            file: Some(file),
            committed: false,
        })
    }

    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The open temporary file.
    pub fn file(&mut self) -> &mut File {
        self.file.as_mut().expect("atomic file used after commit")
    }

    /// A second handle on the temporary file (for writers that take ownership).
    pub fn try_clone_file(&self) -> Result<File> {
        Ok(self
            .file
            .as_ref()
            .expect("atomic file used after commit")
            .try_clone()?)
    }

    /// Flush to disk and move into place.
    pub fn commit(mut self) -> Result<()> {
        let file = self.file.take().expect("atomic file committed twice");
        file.sync_all()
            .with_context(|| format!("{}: flushing output", self.target.display()))?;
        drop(file);
        std::fs::rename(&self.tmp, &self.target)
            .with_context(|| format!("{}: moving output into place", self.target.display()))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            self.file.take();
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Write `bytes` to `target` atomically.
pub fn write_bytes(target: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut f = AtomicFile::create(target)?;
    f.file()
        .write_all(bytes)
        .with_context(|| format!("{}: writing", target.display()))?;
    f.commit()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn dropped_file_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.bin");
        {
            let mut f = AtomicFile::create(&target).unwrap();
            f.file().write_all(b"half").unwrap();
        }
        assert!(!target.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn committed_file_is_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.bin");
        write_bytes(&target, b"whole").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"whole");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn missing_folder_is_input_error() {
        let err = AtomicFile::create(Path::new("/nonexistent-dir/x.parquet")).unwrap_err();
        assert!(crate::error::is_input_error(&err));
        assert!(err.to_string().contains("/nonexistent-dir/x.parquet"));
    }
}
