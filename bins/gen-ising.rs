//! gen-ising: sample 2D Ising configurations into a microstates Parquet file.
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use phasekit::cli::{self, parse_range, Common};
use phasekit::generate::ising::IsingJob;
use phasekit::generate::Shard;
use phasekit::io::stdio::at_most_one_stdout;
use phasekit::sim::ising::{Algorithm, Init};

/// Sample configurations of the 2D Ising model on an L×L periodic lattice,
/// E = −J Σ⟨ij⟩ s_i s_j − h Σ s_i, each chain at its own (T, h) drawn uniformly
/// from the prior box (or at one fixed point). Output: a microstates file
/// (schemas/microstates.md) with id, T, h, state (±1, row-major), energy and
/// magnetization per site.
///
/// Examples:
///   gen-ising --n 20000 --L 32 --T 1:5 --h=-2:2 --sweeps 1000 -o ising.parquet
///   gen-ising --n 10000 --L 16 --T 2.269 --h 0 --algorithm sw --per-chain 1000 --thin 5 -o fixed.parquet
#[derive(Parser)]
#[command(name = "gen-ising", version, verbatim_doc_comment)]
struct Args {
    /// Number of configurations in the whole dataset (over all shards).
    #[arg(long)]
    n: u64,
    /// Linear lattice size (even for the checkerboard algorithms).
    #[arg(long = "L")]
    l: usize,
    /// Temperature: a box a:b sampled uniformly per chain, or one value.
    #[arg(long = "T", default_value = "1:5", allow_hyphen_values = true)]
    t: String,
    /// Field: a box a:b or one value (write negative values as --h=-2:2).
    #[arg(long = "h", default_value = "-2:2", allow_hyphen_values = true)]
    h: String,
    /// Coupling J.
    #[arg(long = "J", default_value_t = 1.0, allow_hyphen_values = true)]
    j: f64,
    /// Sweeps from the initial state to a sample (the default burn-in).
    #[arg(long, default_value_t = 10_000)]
    sweeps: usize,
    /// Sweeps before the first recorded configuration of a chain [default: --sweeps].
    #[arg(long)]
    burn_in: Option<usize>,
    /// Sweeps between configurations recorded from one chain.
    #[arg(long, default_value_t = 10)]
    thin: usize,
    /// Configurations recorded per chain (must divide --n).
    #[arg(long, default_value_t = 1)]
    per_chain: u64,
    #[arg(long, value_enum, default_value_t = Algorithm::Metropolis)]
    algorithm: Algorithm,
    #[arg(long, value_enum, default_value_t = Init::Random)]
    init: Init,
    /// A disordered lattice: per-bond couplings J_ij = J + σ·N(0, 1), fixed for
    /// the dataset (drawn from --seed, stored as phasekit.bonds); heat-bath
    /// chains (--algorithm glauber) at one --T and --h.
    #[arg(long, value_name = "SIGMA")]
    bond_disorder: Option<f64>,
    /// Generate only slice i of n (0-based); -o is then a dataset folder.
    #[arg(long)]
    shard: Option<Shard>,
    /// Also draw a mosaic of up to 64 configurations (evenly spaced by id) as PNG.
    #[arg(long)]
    preview: Option<PathBuf>,
    /// Output file (a folder with --shard; - for standard output).
    #[arg(short = 'o', long = "out")]
    out: PathBuf,
    #[command(flatten)]
    common: Common,
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    cli::run("gen-ising", || {
        let job = IsingJob {
            n: args.n,
            l: args.l,
            t: parse_range("--T", &args.t)?,
            h: parse_range("--h", &args.h)?,
            j: args.j,
            sweeps: args.sweeps,
            burn_in: args.burn_in,
            thin: args.thin,
            per_chain: args.per_chain,
            algorithm: args.algorithm,
            init: args.init,
            shard: args.shard,
            bond_disorder: args.bond_disorder,
        };
        at_most_one_stdout(&[
            ("-o", Some(&args.out)),
            ("--preview", args.preview.as_deref()),
        ])?;
        let threads = args.common.init_threads();
        let started = Instant::now();
        let s = job.generate(&args.out, &args.common, args.preview.as_deref())?;
        args.common.summary(
            "gen-ising",
            started,
            &format!(
                "wrote {} configurations to {} ({:.2} flips/ns on {threads} threads, {})",
                s.rows,
                s.path.display(),
                s.flips_per_ns,
                s.isa.name()
            ),
        );
        Ok(())
    })
}
