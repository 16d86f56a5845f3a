//! `-` as a file name, the Unix way: standard input where a tool reads,
//! standard output where it writes. Standard input is read whole, once, and
//! kept (a Parquet reader needs the footer, which comes last), so a tool can
//! open it and hash it for provenance. One output of a run at most may take
//! standard output, and never a terminal when the output is binary.

use std::io::{IsTerminal, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use anyhow::Result;
use bytes::Bytes;

use crate::error::InputError;

/// The file name that means standard input or standard output.
pub const STDIO: &str = "-";

pub fn is_stdio(path: &Path) -> bool {
    path.as_os_str() == STDIO
}

static STDIN: OnceLock<Result<Bytes, String>> = OnceLock::new();

/// Everything on standard input (read on first use, then kept).
pub fn stdin_bytes() -> Result<Bytes> {
    let got = STDIN.get_or_init(|| {
        let mut stdin = std::io::stdin().lock();
        if stdin.is_terminal() {
            return Err(
                "-: standard input is a terminal; pipe a file in (e.g. `gen-ising ... -o - | bundle-knn -i - ...`)"
                    .into(),
            );
        }
        let mut buf = Vec::new();
        stdin
            .read_to_end(&mut buf)
            .map_err(|e| format!("-: reading standard input ({e})"))?;
        if buf.is_empty() {
            return Err("-: standard input is empty".into());
        }
        Ok(Bytes::from(buf))
    });
    got.clone().map_err(|e| InputError::new(e).into())
}

/// The bytes of a file, or of standard input for `-`.
pub fn read_input(path: &Path, what: &str) -> Result<Bytes> {
    if is_stdio(path) {
        return stdin_bytes();
    }
    std::fs::read(path).map(Bytes::from).map_err(|e| {
        InputError::new(format!("{}: cannot read {what} ({e})", path.display())).into()
    })
}

static STDOUT_TAKEN: AtomicBool = AtomicBool::new(false);

/// Standard output for one output of this run. Refused when another output
/// already took it, and, for binary output, when it is a terminal.
pub fn take_stdout(binary: bool) -> Result<std::io::Stdout> {
    let out = std::io::stdout();
    if binary && out.is_terminal() {
        return Err(InputError::new(
            "-: standard output is a terminal; redirect it to a file (> out.parquet) or pipe it into the next tool",
        )
        .into());
    }
    if STDOUT_TAKEN.swap(true, Ordering::SeqCst) {
        return Err(InputError::new(
            "-: standard output already carries another output of this run; give one of them a file name",
        )
        .into());
    }
    Ok(out)
}

/// Refuse, before any work, a command line that sends two outputs to `-`.
pub fn at_most_one_stdout(outputs: &[(&str, Option<&Path>)]) -> Result<(), InputError> {
    let dashes: Vec<&str> = outputs
        .iter()
        .filter(|(_, p)| p.is_some_and(is_stdio))
        .map(|(flag, _)| *flag)
        .collect();
    if dashes.len() > 1 {
        return Err(InputError::new(format!(
            "{}: only one output can go to standard output (-)",
            dashes.join(" and ")
        )));
    }
    Ok(())
}
