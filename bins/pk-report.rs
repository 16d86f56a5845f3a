//! pk-report: check a BTI pipeline's outputs against exact results and write
//! a Markdown report with its figures.
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use phasekit::cli::{self, Common};
use phasekit::report::{self, Inputs};

/// Write a Markdown report of a BTI run (gen → bundle-knn → fit-posterior →
/// fit-icnn) or of a NIS run (--estimates from nis-estimate): a table of
/// checks against exact results, and the figures. The system (Ising or
/// TASEP) is read from the dataset's metadata.
///
/// Ising: energy per site at h ≈ 0 against Kaufman's exact solution, zero
/// magnetization above T_c, T_c from the peak of the Fisher metric G_TT
/// along h = 0 against Onsager's 2.269, the jump of ∂log Z/∂h across h = 0.
/// TASEP: sample densities against the exact matrix-product solution, the
/// free energy against eq. 26 after affine alignment, where the Fisher metric
/// concentrates. Both: convexity and posterior-mean RMSE.
/// VAE: the β-sweep table of fit-vae runs (--vae) and the β-VAE paper's
/// story graded as numbers.
/// NIS: every estimate against Kaufman (h = 0) or the transfer matrix
/// (L ≤ 10) with its pull, ŵ against 1, ESS, and nis-estimate's warnings.
///
/// Examples:
///   pk-report --data ising.parquet --posteriors posteriors.parquet --thermo thermo.parquet \
///       --figure "Microstates=ising-mosaic.png" --figure "Free energy=figs/thermo.png" -o report.md
///   pk-report --estimates estimates.parquet --figure "Weights=figs/nis-diagnostics.png" -o report.md
#[derive(Parser)]
#[command(name = "pk-report", version, verbatim_doc_comment)]
struct Args {
    /// Microstates dataset the BTI run started from.
    #[arg(long, required_unless_present_any = ["estimates", "dcl_energy", "vae"])]
    data: Option<PathBuf>,
    #[arg(long, required_unless_present_any = ["estimates", "dcl_energy", "vae"])]
    posteriors: Option<PathBuf>,
    #[arg(long, required_unless_present_any = ["estimates", "dcl_energy", "vae"])]
    thermo: Option<PathBuf>,
    /// nis-estimate's estimates (a NIS report instead of a BTI one).
    #[arg(long, conflicts_with_all = ["data", "posteriors", "thermo"])]
    estimates: Option<PathBuf>,
    /// A DCL report: the learned energy model (fit-ednn) …
    #[arg(long, conflicts_with_all = ["data", "posteriors", "thermo", "estimates"], requires_all = ["learned", "truth"])]
    dcl_energy: Option<PathBuf>,
    /// … eval-dcl's run with it …
    #[arg(long)]
    learned: Option<PathBuf>,
    /// … eval-dcl --ising at the same points …
    #[arg(long)]
    truth: Option<PathBuf>,
    /// … and nis-estimate's run of the sampler with the learned energy (entropy).
    #[arg(long)]
    entropy: Option<PathBuf>,
    /// A β-VAE report: fit-vae's latents files, one per run (repeatable).
    #[arg(long, conflicts_with_all = ["data", "posteriors", "thermo", "estimates", "dcl_energy"])]
    vae: Vec<PathBuf>,
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
        let title = args.title.clone().unwrap_or_default();
        let r = match (&args.estimates, &args.data, &args.posteriors, &args.thermo) {
            _ if !args.vae.is_empty() => report::write_vae(&args.vae, figures, &title, &args.out)?,
            _ if args.dcl_energy.is_some() => {
                let (Some(energy), Some(learned), Some(truth)) =
                    (&args.dcl_energy, &args.learned, &args.truth)
                else {
                    phasekit::bail_input!("--dcl-energy needs --learned and --truth");
                };
                let inputs = report::dcl::DclInputs {
                    energy,
                    learned,
                    truth,
                    entropy: args.entropy.as_deref(),
                };
                report::write_dcl(&inputs, figures, &title, &args.out)?
            }
            (Some(e), ..) => report::write_nis(e, figures, &title, &args.out)?,
            (None, Some(d), Some(p), Some(t)) => report::write(
                Inputs {
                    data: d.clone(),
                    posteriors: p.clone(),
                    thermo: t.clone(),
                    figures,
                    title,
                },
                &args.out,
            )?,
            _ => phasekit::bail_input!("give --data, --posteriors and --thermo, or --estimates"),
        };
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
