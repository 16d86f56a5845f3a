//! Atomic output: write into a temporary file beside the target, rename on success.
//!
//! A run that fails or is interrupted leaves nothing at the target path: the
//! temporary file is removed on drop, and a killed process leaves only a
//! hidden `.NAME.pk-tmp-PID` file, never a half-written target. The target
//! `-` is standard output instead (see [`super::stdio`]).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::stdio::{is_stdio, take_stdout};
use crate::error::InputError;

#[derive(Debug)]
enum Dest {
    /// a temporary file beside the target, renamed on commit
    Temp {
        tmp: PathBuf,
        file: Option<File>,
    },
    Stdout(std::io::Stdout),
}

#[derive(Debug)]
pub struct AtomicFile {
    target: PathBuf,
    dest: Dest,
    committed: bool,
}

impl AtomicFile {
    /// Create the temporary file for `target` (binary output: `-` must not
    /// be a terminal). The folder must exist and be writable; otherwise the
    /// error names the target path.
    pub fn create(target: &Path) -> Result<AtomicFile> {
        AtomicFile::open(target, true)
    }

    /// As [`AtomicFile::create`], for text that may go to a terminal.
    pub fn create_text(target: &Path) -> Result<AtomicFile> {
        AtomicFile::open(target, false)
    }

    fn open(target: &Path, binary: bool) -> Result<AtomicFile> {
        if is_stdio(target) {
            return Ok(AtomicFile {
                target: target.to_path_buf(),
                dest: Dest::Stdout(take_stdout(binary)?),
                committed: false,
            });
        }
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
            dest: Dest::Temp {
                tmp,
                file: Some(file),
            },
            committed: false,
        })
    }

    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Where the bytes go: the open temporary file, or standard output.
    pub fn writer(&mut self) -> &mut dyn Write {
        match &mut self.dest {
            Dest::Temp { file, .. } => file.as_mut().expect("atomic file used after commit"),
            Dest::Stdout(out) => out,
        }
    }

    /// A second, owned handle on the destination (for writers that take ownership).
    pub fn try_clone_writer(&self) -> Result<Box<dyn Write + Send>> {
        Ok(match &self.dest {
            Dest::Temp { file, .. } => Box::new(
                file.as_ref()
                    .expect("atomic file used after commit")
                    .try_clone()?,
            ),
            Dest::Stdout(_) => Box::new(std::io::stdout()),
        })
    }

    /// Flush to disk and move into place (or flush standard output).
    pub fn commit(mut self) -> Result<()> {
        match &mut self.dest {
            Dest::Temp { tmp, file } => {
                let file = file.take().expect("atomic file committed twice");
                file.sync_all()
                    .with_context(|| format!("{}: flushing output", self.target.display()))?;
                drop(file);
                std::fs::rename(&*tmp, &self.target).with_context(|| {
                    format!("{}: moving output into place", self.target.display())
                })?;
            }
            Dest::Stdout(out) => out.flush().context("-: writing standard output")?,
        }
        self.committed = true;
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let (false, Dest::Temp { tmp, file }) = (self.committed, &mut self.dest) {
            file.take();
            let _ = std::fs::remove_file(&*tmp);
        }
    }
}

/// Write `bytes` to `target` atomically.
pub fn write_bytes(target: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = AtomicFile::create(target)?;
    f.writer()
        .write_all(bytes)
        .with_context(|| format!("{}: writing", target.display()))?;
    f.commit()
}

/// Write `text` to `target` atomically; `-` may be a terminal.
pub fn write_text(target: &Path, text: &str) -> Result<()> {
    let mut f = AtomicFile::create_text(target)?;
    f.writer()
        .write_all(text.as_bytes())
        .with_context(|| format!("{}: writing", target.display()))?;
    f.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_file_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.bin");
        {
            let mut f = AtomicFile::create(&target).unwrap();
            f.writer().write_all(b"half").unwrap();
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
