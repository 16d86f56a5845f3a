//! pk-report: check a BTI pipeline's outputs against exact results and write
//! a Markdown report with its figures.
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use phasekit::cli::{self, Common};
use phasekit::report::{self, Inputs};

/// Write a Markdown report of a BTI run (gen → bundle-knn → fit-posterior →
/// fit-icnn): a table of checks against exact results, and the figures.
/// The system (Ising or TASEP) is read from the dataset's metadata.
///
/// Ising: energy per site at h ≈ 0 against Kaufman's exact solution, zero
/// magnetization above T_c, T_c from the peak of the Fisher metric G_TT
/// along h = 0 against Onsager's 2.269, the jump of ∂log Z/∂h across h = 0.
/// TASEP: sample densities against the exact matrix-product solution, the
/// free energy against eq. 26 after affine alignment, where the Fisher metric
/// concentrates. Both: convexity and posterior-mean RMSE.
///
/// Example:
///   pk-report --data ising.parquet --posteriors posteriors.parquet --thermo thermo.parquet \
///       --figure "Microstates=ising-mosaic.png" --figure "Free energy=figs/thermo.png" -o report.md
#[derive(Parser)]
#[command(name = "pk-report", version, verbatim_doc_comment)]
struct Args {
    /// Microstates dataset the run started from.
    #[arg(long)]
    data: PathBuf,
    #[arg(long)]
    posteriors: PathBuf,
    #[arg(long)]
    thermo: PathBuf,
    /// A figure to embed, as CAPTION=PATH (repeatable; missing files are skipped with a note).
    #[arg(long)]
    figure: Vec<String>,
    /// Report title [default: by system].
    #[arg(long)]
    title: Option<String>,
    /// The Markdown report (- for standard output).
    #[arg(short, long)]
    out: PathBuf,
    #[command(flatten)]
    common: Common,
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    cli::run("pk-report", || {
        let started = Instant::now();
        let mut figures = Vec::new();
        for f in &args.figure {
            // the path is after the last '=', so captions may hold one
            let Some((caption, path)) = f.rsplit_once('=') else {
                phasekit::bail_input!("--figure {f}: expected CAPTION=PATH");
            };
            figures.push((caption.to_string(), PathBuf::from(path)));
        }
        let r = report::write(
            Inputs {
                data: args.data.clone(),
                posteriors: args.posteriors.clone(),
                thermo: args.thermo.clone(),
                figures,
                title: args.title.clone().unwrap_or_default(),
            },
            &args.out,
        )?;
        args.common.summary(
            "pk-report",
            started,
            &format!(
                "{} of {} checks pass; wrote {}",
                r.0,
                r.1,
                args.out.display()
            ),
        );
        Ok(())
    })
}
