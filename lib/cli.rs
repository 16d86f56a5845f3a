//! Conventions every phasekit tool shares: common flags, progress bars, one-line
//! errors and exit codes (0 success, 1 failure, 2 bad usage or bad input).

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::error::{is_input_error, one_line};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressMode {
    /// Show bars only when stderr is a terminal.
    Auto,
    Always,
    Never,
}

/// Flags shared by every tool (`#[command(flatten)]`).
#[derive(Clone, Debug, clap::Args)]
pub struct Common {
    /// Seed of every random stream; the same seed gives byte-identical output.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Worker threads (0 = one per core). Never changes the output.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Progress bars on stderr.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
    /// Print nothing but errors.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

impl Common {
    /// Size the global rayon pool; returns the thread count in use.
    pub fn init_threads(&self) -> usize {
        let n = if self.threads == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        } else {
            self.threads
        };
        // A second call (tests running several tools in one process) keeps the first pool.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
        rayon::current_num_threads()
    }

    fn bars_visible(&self) -> bool {
        !self.quiet
            && match self.progress {
                ProgressMode::Always => true,
                ProgressMode::Never => false,
                ProgressMode::Auto => std::io::stderr().is_terminal(),
            }
    }

    /// A progress bar over `total` units (hidden when bars are off).
    pub fn bar(&self, total: u64, what: &str) -> ProgressBar {
        if !self.bars_visible() {
            return ProgressBar::hidden();
        }
        let pb = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        pb.set_style(
            ProgressStyle::with_template(
                "{prefix:>12} [{bar:30}] {pos}/{len} {per_sec} eta {eta} {msg}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        pb.set_prefix(what.to_string());
        pb.enable_steady_tick(Duration::from_millis(200));
        pb
    }

    /// The one-line summary a tool prints when it is done (unless --quiet).
    pub fn summary(&self, tool: &str, started: Instant, what: &str) {
        if !self.quiet {
            eprintln!("{tool}: {what} in {:.1} s", started.elapsed().as_secs_f64());
        }
    }
}

/// Parse the command line; usage errors print one line and exit with 2.
pub fn parse<T: Parser>() -> T {
    match T::try_parse() {
        Ok(v) => v,
        Err(e) => {
            use clap::error::ErrorKind;
            match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    let _ = e.print();
                    std::process::exit(0)
                }
                _ => {
                    let text = e.to_string();
                    let first = text
                        .lines()
                        .find(|l| !l.trim().is_empty())
                        .unwrap_or("bad usage");
                    eprintln!("{first} (see --help)");
                    std::process::exit(2)
                }
            }
        }
    }
}

/// Run a tool's body and turn its result into a one-line error and exit code.
/// SIGINT and SIGTERM remove the run's temporary outputs first (see
/// [`crate::interrupt`]).
pub fn run(tool: &str, body: impl FnOnce() -> anyhow::Result<()>) -> ExitCode {
    crate::interrupt::install(tool);
    match body() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{tool}: error: {}", one_line(&e));
            if is_input_error(&e) {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

/// Parse `a:b` (a uniform prior box) or a single value `a` (a point).
pub fn parse_range(flag: &str, s: &str) -> anyhow::Result<[f64; 2]> {
    let parse_one = |t: &str| -> anyhow::Result<f64> {
        let v: f64 = t
            .trim()
            .parse()
            .map_err(|_| crate::input_error!("{flag}: '{s}' is not a number or a range a:b"))?;
        if !v.is_finite() {
            crate::bail_input!("{flag}: '{s}' is not finite");
        }
        Ok(v)
    };
    let (lo, hi) = match s.split_once(':') {
        Some((a, b)) => (parse_one(a)?, parse_one(b)?),
        None => {
            let v = parse_one(s)?;
            (v, v)
        }
    };
    if lo > hi {
        crate::bail_input!("{flag}: range {s} is reversed (low > high)");
    }
    Ok([lo, hi])
}

/// Refuse 0 for any of these counts (flag, value).
pub fn require_nonzero(flags: &[(&str, usize)]) -> anyhow::Result<()> {
    if let Some((flag, _)) = flags.iter().find(|(_, v)| *v == 0) {
        crate::bail_input!("{flag}: must be at least 1");
    }
    Ok(())
}

/// Refuse a learning rate (or any rate) that is not a positive number.
pub fn require_positive(flag: &str, v: f64) -> anyhow::Result<()> {
    if !(v.is_finite() && v > 0.0) {
        crate::bail_input!("{flag}: must be a positive number, got {v}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("--T", "1:5").unwrap(), [1.0, 5.0]);
        assert_eq!(parse_range("--h", "-2:2").unwrap(), [-2.0, 2.0]);
        assert_eq!(parse_range("--T", "2.5").unwrap(), [2.5, 2.5]);
        let e = parse_range("--T", "5:1").unwrap_err();
        assert!(is_input_error(&e) && e.to_string().contains("--T"));
        assert!(parse_range("--T", "nan").is_err());
        assert!(parse_range("--T", "x").is_err());
    }
}
