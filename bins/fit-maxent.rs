//! fit-maxent: inverse Ising by maximum entropy, couplings and fields from
//! configurations or a binary image.
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use phasekit::cli::{self, require_nonzero, require_positive, Common};
use phasekit::fit::maxent::{run, Job, Source};
use phasekit::maxent::{Couplings, Fields, Method, Options};

/// Fit the maximum-entropy Ising model P(s) ∝ exp(Σ K_ij s_i s_j + Σ H_i s_i)
/// that matches the first and second moments of the data: configurations
/// from a microstates file (±1 spins or 0/1 occupations, any source), or one
/// binary image. Output: a couplings file (schemas/couplings.md), one row per
/// parameter with its standard error and the moment it matches, in the data
/// and in the fitted model.
///
/// Signs: K > 0 is ferromagnetic (K = βJ of gen-ising), H > 0 favours +1.
/// The max-ent notes write P ∝ e^{−Σ J s s − Σ h s}; with that sign their
/// update would descend, so the moment matching here is the ascent
/// K ← K + α(⟨s_i s_j⟩_data − ⟨s_i s_j⟩_model).
///
/// Examples:
///   fit-maxent -i sw.parquet --model tied -o couplings.parquet
///   fit-maxent -i sw.parquet --model tied --field none --method exact -o k.parquet
///   fit-maxent -i disorder.parquet --model bonds --field none --plots figs -o bonds.parquet
///   fit-maxent --image cat.png --size 32x32 --model tied --field uniform -o cat.parquet
#[derive(Parser)]
#[command(name = "fit-maxent", version, verbatim_doc_comment)]
struct Args {
    /// Microstates file or dataset folder (- for standard input).
    #[arg(
        short = 'i',
        long = "input",
        conflicts_with = "image",
        required_unless_present = "image"
    )]
    input: Option<PathBuf>,
    /// A PNG image instead: binarised at --threshold, averaged onto --size.
    #[arg(long)]
    image: Option<PathBuf>,
    /// Luminance (0 black … 1 white) at and above which a cell is +1.
    #[arg(long, default_value_t = 0.5)]
    threshold: f64,
    /// Lattice of the image, ROWSxCOLS [default: the image's pixels].
    #[arg(long)]
    size: Option<String>,
    /// tied: one nearest-neighbour K on the periodic lattice; bonds: one K per bond; pairs: every pair.
    #[arg(long, value_enum, default_value_t = Couplings::Tied)]
    model: Couplings,
    #[arg(long, value_enum, default_value_t = Fields::Uniform)]
    field: Fields,
    #[arg(long, value_enum, default_value_t = Method::Pl)]
    method: Method,
    /// mcmc: moment-matching steps (one sweep of every chain each).
    #[arg(long, default_value_t = 4000)]
    steps: usize,
    /// mcmc: first step size (decreasing as lr/(1 + t/50)).
    #[arg(long, default_value_t = 1.0)]
    lr: f64,
    /// Persistent chains (mcmc), and chains measuring the fitted model's moments.
    #[arg(long, default_value_t = 32)]
    chains: usize,
    /// Sweeps of the chains that measure the fitted model's moments (n > 16 spins).
    #[arg(long, default_value_t = 500)]
    check_sweeps: usize,
    /// Output couplings file (- for standard output).
    #[arg(short = 'o', long = "out")]
    out: PathBuf,
    /// Folder for moments.png and couplings.png.
    #[arg(long)]
    plots: Option<PathBuf>,
    #[command(flatten)]
    common: Common,
}

fn parse_size(s: &str) -> anyhow::Result<(usize, usize)> {
    s.split_once('x')
        .and_then(|(r, c)| Some((r.trim().parse().ok()?, c.trim().parse().ok()?)))
        .ok_or_else(|| phasekit::input_error!("--size {s}: expected ROWSxCOLS, e.g. 32x32"))
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    cli::run("fit-maxent", || {
        require_nonzero(&[
            ("--steps", args.steps),
            ("--chains", args.chains),
            ("--check-sweeps", args.check_sweeps),
        ])?;
        require_positive("--lr", args.lr)?;
        let source = match (&args.input, &args.image) {
            (_, Some(path)) => Source::Image {
                path: path.clone(),
                threshold: args.threshold,
                size: args.size.as_deref().map(parse_size).transpose()?,
            },
            (Some(path), None) => Source::Microstates(path.clone()),
            (None, None) => phasekit::bail_input!("give -i MICROSTATES or --image FILE.png"),
        };
        let job = Job {
            source,
            couplings: args.model,
            fields: args.field,
            method: args.method,
            options: Options {
                steps: args.steps,
                lr: args.lr,
                chains: args.chains,
                seed: args.common.seed,
            },
            check_sweeps: args.check_sweeps,
            out: args.out.clone(),
            plots: args.plots.clone(),
        };
        let threads = args.common.init_threads();
        let started = Instant::now();
        let s = run(&job, &args.common)?;
        let show: Vec<String> = s
            .rows
            .iter()
            .take(2)
            .map(|r| match r.std_error {
                Some(se) => format!("{} = {:.5} ± {:.5}", r.term, r.value, se),
                None => format!("{} = {:.5}", r.term, r.value),
            })
            .collect();
        args.common.summary(
            "fit-maxent",
            started,
            &format!(
                "{} parameters from {} configuration{} ({}{}) in {:.2} s; largest moment residual {:.2e}; wrote {} on {threads} threads",
                s.parameters,
                s.samples,
                if s.samples == 1 { "" } else { "s" },
                show.join(", "),
                if s.parameters > 2 { ", …" } else { "" },
                s.fit_seconds,
                s.largest_residual,
                args.out.display()
            ),
        );
        Ok(())
    })
}
