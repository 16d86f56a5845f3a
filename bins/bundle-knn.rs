//! bundle-knn: nearest-neighbour bundles and their target posteriors.
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use phasekit::bundle::build::{parse_grid, BundleJob, Sigma};
use phasekit::cli::{self, Common};

/// Make every sample of a microstates dataset the centre of a bundle of its
/// K_neib nearest neighbours in parameter space (Euclidean distance after
/// scaling each parameter to [0, 1] by its prior bounds; ties broken by id),
/// within a seeded train/test split. Writes a bundles file
/// (schemas/bundles.md) with the grid and σ that fit-posterior uses to build
/// the targets: the mean of normalised Gaussians at K_bundle drawn members.
/// Only ids and parameters are read, never the states.
///
/// Example:
///   bundle-knn -i ising.parquet -o bundles.parquet --k-neib 8 --k-bundle 4 --grid 32x32 --sigma 0.02
#[derive(Parser)]
#[command(name = "bundle-knn", version, verbatim_doc_comment)]
struct Args {
    /// Microstates file or dataset folder (- for standard input).
    #[arg(short = 'i', long = "input")]
    input: PathBuf,
    /// Output bundles file (- for standard output).
    #[arg(short = 'o', long = "out")]
    out: PathBuf,
    /// Neighbours per bundle, the centre included.
    #[arg(long, default_value_t = 8)]
    k_neib: usize,
    /// Members drawn per training example (≤ k-neib).
    #[arg(long, default_value_t = 4)]
    k_bundle: usize,
    /// Grid of the posterior over the parameter box, rows x columns (first x second parameter).
    #[arg(long, default_value = "32x32")]
    grid: String,
    /// Width of the target Gaussians where each parameter spans [0, 1]
    /// (paper: 1/50 Ising, 1/150 TASEP), or `auto`: the mean distance to the K_neib-th neighbour.
    #[arg(long, default_value = "auto", allow_hyphen_values = true)]
    sigma: Sigma,
    /// Fraction of samples held out for testing.
    #[arg(long, default_value_t = 0.2)]
    test_fraction: f64,
    /// Also write each bundle's target over its full member set (column `target`).
    #[arg(long)]
    materialize_targets: bool,
    #[command(flatten)]
    common: Common,
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    cli::run("bundle-knn", || {
        let job = BundleJob {
            k_neib: args.k_neib,
            k_bundle: args.k_bundle,
            grid: parse_grid(&args.grid)?,
            sigma: args.sigma,
            test_fraction: args.test_fraction,
            materialize_targets: args.materialize_targets,
        };
        args.common.init_threads();
        let started = Instant::now();
        let s = job.run(&args.input, &args.out, &args.common)?;
        args.common.summary(
            "bundle-knn",
            started,
            &format!(
                "wrote {} bundles ({} train, {} test, sigma {:.4}) to {}",
                s.rows,
                s.train,
                s.test,
                s.sigma,
                s.path.display()
            ),
        );
        Ok(())
    })
}
