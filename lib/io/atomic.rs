//! Atomic output: write into a temporary file beside the target, rename on success.
//!
//! A run that fails or is interrupted leaves nothing at the target path: the
//! temporary file is removed on drop, or by [`discard_in_flight`] when a
//! signal ends the run (see [`crate::interrupt`]). A process killed outright
//! (SIGKILL) leaves a hidden `.NAME.pk-tmp-PID` file; the next run that
//! writes NAME in that folder removes it once no process PID is alive. The
//! target `-` is standard output instead (see [`super::stdio`]).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use anyhow::{Context, Result};

use super::stdio::{is_stdio, take_stdout};
use crate::error::InputError;

/// The outputs of this process: temporary files not yet moved into place,
/// and targets already moved. One lock guards creation, commit and the
/// interrupt's clean-up, so a file is either committed or removed, never
/// left behind half-way between.
#[derive(Default)]
struct Outputs {
    in_flight: Vec<(PathBuf, PathBuf)>,
    written: Vec<PathBuf>,
    /// an output streaming to standard output and not yet flushed
    stdout_open: bool,
}

static OUTPUTS: Mutex<Outputs> = Mutex::new(Outputs {
    in_flight: Vec::new(),
    written: Vec::new(),
    stdout_open: false,
});

fn outputs() -> MutexGuard<'static, Outputs> {
    // a panic elsewhere must not stop the clean-up
    OUTPUTS.lock().unwrap_or_else(|e| e.into_inner())
}

/// What an interrupted run had done with its outputs (for its one line).
#[derive(Debug, Default, PartialEq)]
pub struct Discarded {
    /// targets whose temporary files were removed
    pub removed: Vec<PathBuf>,
    /// targets this run had already completed
    pub written: Vec<PathBuf>,
    /// whether an output was streaming to standard output (now cut short)
    pub stdout_cut: bool,
}

/// Remove every temporary file this process has open; called once, by the
/// signal handler, just before the process exits. The lock stays held from
/// here to the exit, so no thread can create or commit a file in between.
pub fn discard_in_flight() -> Discarded {
    let mut o = outputs();
    let mut removed = Vec::new();
    for (target, tmp) in std::mem::take(&mut o.in_flight) {
        let _ = std::fs::remove_file(&tmp);
        // a rewrite of a file completed earlier (a checkpoint) leaves that one
        if !o.written.contains(&target) {
            removed.push(target);
        }
    }
    let report = Discarded {
        removed,
        written: o.written.clone(),
        stdout_cut: o.stdout_open,
    };
    // Keep the lock held until exit: other threads block in create or commit.
    std::mem::forget(o);
    report
}

/// Whether process `pid` is alive (or exists and is not ours to signal).
fn process_alive(pid: i32) -> bool {
    if pid <= 0 {
        return true;
    }
    // SAFETY: signal 0 only checks that the process exists; nothing is sent.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Remove `.NAME.pk-tmp-PID` files in `dir` left by processes that no
/// longer exist (a SIGKILL, a power cut). Live runs' files are kept.
fn sweep_stale(dir: &Path, name: &str) {
    let prefix = format!(".{name}.pk-tmp-");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(pid) = file.to_str().and_then(|f| f.strip_prefix(&prefix)) else {
            continue;
        };
        let Ok(pid) = pid.parse::<i32>() else {
            continue;
        };
        if pid as u32 != std::process::id() && !process_alive(pid) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

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
            let dest = Dest::Stdout(take_stdout(binary)?);
            outputs().stdout_open = true;
            return Ok(AtomicFile {
                target: target.to_path_buf(),
                dest,
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
        let name = name.to_string_lossy();
        sweep_stale(&dir, &name);
        let tmp = dir.join(format!(".{name}.pk-tmp-{}", std::process::id()));
        let mut o = outputs();
        let file = File::create(&tmp).map_err(|e| {
            InputError::new(format!("{}: cannot write output ({e})", target.display()))
        })?;
        o.in_flight.push((target.to_path_buf(), tmp.clone()));
        drop(o);
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
                let mut o = outputs();
                o.in_flight.retain(|(_, t)| t != tmp);
                std::fs::rename(&*tmp, &self.target).with_context(|| {
                    format!("{}: moving output into place", self.target.display())
                })?;
                if !o.written.contains(&self.target) {
                    o.written.push(self.target.clone());
                }
            }
            Dest::Stdout(out) => {
                out.flush().context("-: writing standard output")?;
                outputs().stdout_open = false;
            }
        }
        self.committed = true;
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let (false, Dest::Temp { tmp, file }) = (self.committed, &mut self.dest) {
            file.take();
            let mut o = outputs();
            o.in_flight.retain(|(_, t)| t != tmp);
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
    fn leftovers_of_dead_runs_go_and_live_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.bin");
        // a process that has ended: its PID is free (and not reused this fast)
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let stale = dir.path().join(format!(".out.bin.pk-tmp-{dead}"));
        // PID 1 is always alive; another target's leftover is not ours to judge
        let live = dir.path().join(".out.bin.pk-tmp-1");
        let other = dir.path().join(format!(".other.bin.pk-tmp-{dead}"));
        for p in [&stale, &live, &other] {
            std::fs::write(p, b"partial").unwrap();
        }
        write_bytes(&target, b"whole").unwrap();
        assert!(!stale.exists(), "a dead run's temporary file is removed");
        assert!(live.exists(), "a live run's temporary file is kept");
        assert!(other.exists(), "only the target's own leftovers are swept");
        assert_eq!(std::fs::read(&target).unwrap(), b"whole");
    }

    #[test]
    fn an_interrupt_removes_open_temporary_files() {
        // (the lock stays held after discard_in_flight, so this runs in a
        // child process: the test binary re-runs itself for this one test)
        if std::env::var_os("PK_ATOMIC_DISCARD_CHILD").is_none() {
            let exe = std::env::current_exe().unwrap();
            let dir = tempfile::tempdir().unwrap();
            let out = std::process::Command::new(exe)
                .args([
                    "--exact",
                    "io::atomic::tests::an_interrupt_removes_open_temporary_files",
                ])
                .env("PK_ATOMIC_DISCARD_CHILD", dir.path())
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "{text}");
            assert!(text.contains("1 passed"), "the child ran the test: {text}");
            let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
            assert_eq!(left.len(), 1, "only the committed file remains: {left:?}");
            return;
        }
        let dir = PathBuf::from(std::env::var_os("PK_ATOMIC_DISCARD_CHILD").unwrap());
        write_bytes(&dir.join("done.bin"), b"whole").unwrap();
        let mut open = AtomicFile::create(&dir.join("half.bin")).unwrap();
        open.writer().write_all(b"half").unwrap();
        let d = discard_in_flight();
        assert_eq!(d.removed, vec![dir.join("half.bin")]);
        assert_eq!(d.written, vec![dir.join("done.bin")]);
        std::mem::forget(open);
    }

    #[test]
    fn missing_folder_is_input_error() {
        let err = AtomicFile::create(Path::new("/nonexistent-dir/x.parquet")).unwrap_err();
        assert!(crate::error::is_input_error(&err));
        assert!(err.to_string().contains("/nonexistent-dir/x.parquet"));
    }
}
