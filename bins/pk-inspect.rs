//! pk-inspect: check phasekit files against their contract and describe them.
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use phasekit::{cli, inspect};

/// Check Parquet files (or dataset folders) and ONNX models against the
/// phasekit contracts in schemas/, and print what they hold.
///
/// Exit code 0 when every file passes, 2 when one does not.
#[derive(Parser)]
#[command(name = "pk-inspect", version)]
struct Args {
    /// Files or dataset folders (.parquet) and models (.onnx); - reads one from standard input.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Require this kind of Parquet file (microstates, bundles, posteriors, thermo, trainlog, estimates).
    #[arg(long)]
    kind: Option<String>,
    /// Print a JSON description instead of text.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    cli::run("pk-inspect", || {
        for p in &args.paths {
            let report = inspect::inspect(p, args.kind.as_deref())?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", inspect::render(&report));
            }
        }
        Ok(())
    })
}
