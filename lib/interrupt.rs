//! Ctrl-C and `kill`: a tool ended by SIGINT or SIGTERM removes its
//! temporary outputs, says so in one line and exits 130 or 143 (128 + the
//! signal), as shells expect. A second signal while that runs ends the
//! process at once.
//!
//! The handler runs on a thread of its own (signal-hook's iterator), so it
//! may take locks and print; the signal handler proper only wakes it.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use signal_hook::consts::{SIGINT, SIGTERM};

use crate::io::atomic::{discard_in_flight, Discarded};

/// Install the handlers for `tool`; later calls (several tools run in one
/// test process) do nothing.
pub fn install(tool: &str) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    let tool = tool.to_string();
    ONCE.call_once(move || {
        if let Err(e) = try_install(tool) {
            eprintln!("warning: cannot install signal handlers ({e}); an interrupt may leave temporary files");
        }
    });
}

fn try_install(tool: String) -> std::io::Result<()> {
    let armed = Arc::new(AtomicBool::new(false));
    for sig in [SIGINT, SIGTERM] {
        // the exit must be registered before the flag that arms it
        signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, Arc::clone(&armed))?;
        signal_hook::flag::register(sig, Arc::clone(&armed))?;
    }
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new()
        .name("phasekit-signals".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                let report = discard_in_flight();
                // a progress bar may be mid-line on a terminal: clear it first
                let clear = if std::io::stderr().is_terminal() {
                    "\r\x1b[2K"
                } else {
                    ""
                };
                eprintln!("{clear}{}", message(&tool, &report));
                std::process::exit(128 + sig);
            }
        })?;
    Ok(())
}

/// The one line an interrupted run prints.
pub fn message(tool: &str, d: &Discarded) -> String {
    let list = |paths: &[PathBuf]| {
        paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut line = format!("{tool}: interrupted; ");
    if !d.written.is_empty() {
        line += &format!("{} complete, ", list(&d.written));
    }
    if d.removed.is_empty() {
        line += "nothing else written";
        if d.written.is_empty() {
            line = format!("{tool}: interrupted; nothing written");
        }
    } else {
        line += &format!("nothing written to {}", list(&d.removed));
    }
    if d.stdout_cut {
        line += "; standard output was cut short";
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_what_was_and_was_not_written() {
        let p = |s: &str| PathBuf::from(s);
        let d = |removed: Vec<PathBuf>, written: Vec<PathBuf>| Discarded {
            removed,
            written,
            stdout_cut: false,
        };
        assert_eq!(
            message("gen-ising", &d(vec![p("out.parquet")], vec![])),
            "gen-ising: interrupted; nothing written to out.parquet"
        );
        assert_eq!(
            message("fit-sampler", &d(vec![], vec![])),
            "fit-sampler: interrupted; nothing written"
        );
        assert_eq!(
            message(
                "fit-posterior",
                &d(vec![p("post.parquet")], vec![p("m.onnx")])
            ),
            "fit-posterior: interrupted; m.onnx complete, nothing written to post.parquet"
        );
        assert_eq!(
            message("fit-posterior", &d(vec![], vec![p("m.onnx"), p("m.ckpt")])),
            "fit-posterior: interrupted; m.onnx, m.ckpt complete, nothing else written"
        );
        let piped = Discarded {
            stdout_cut: true,
            ..d(vec![], vec![])
        };
        assert_eq!(
            message("gen-ising", &piped),
            "gen-ising: interrupted; nothing written; standard output was cut short"
        );
    }
}
