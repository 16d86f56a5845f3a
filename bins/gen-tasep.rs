//! gen-tasep: stationary open-boundary TASEP configurations into a microstates file.
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use phasekit::cli::{self, parse_range, Common};
use phasekit::generate::tasep::{default_shape, parse_shape, Method, TasepJob};
use phasekit::generate::Shard;
use phasekit::io::stdio::at_most_one_stdout;

/// Sample stationary configurations of the open-boundary TASEP: M sites,
/// particles enter site 1 at rate α, hop right at rate 1, leave site M at rate
/// β. Each sample draws (α, β) uniformly from the box. `--method exact` draws
/// exact stationary samples (α + β > 1, via the matrix-product representation
/// as height paths); `simulate` runs random-sequential dynamics from a random
/// start for --sweeps × M attempts; `auto` is exact wherever possible.
/// Output: a microstates file with id, alpha, beta, state (0/1), density,
/// current, bond_current and method per sample (schemas/microstates.md).
///
/// Examples:
///   gen-tasep --n 2000 --M 1024 --alpha 0:1 --beta 0:1 --shape 32x32 -o tasep.parquet
///   gen-tasep --n 100 --M 16384 --alpha 0.5:1 --beta 0.5:1 --method exact -o mc.parquet
#[derive(Parser)]
#[command(name = "gen-tasep", version, verbatim_doc_comment)]
struct Args {
    /// Number of configurations in the whole dataset (over all shards).
    #[arg(long)]
    n: u64,
    /// Number of sites.
    #[arg(long = "M")]
    m: usize,
    /// Entry rate: a box a:b sampled uniformly, or one value.
    #[arg(long, default_value = "0:1", allow_hyphen_values = true)]
    alpha: String,
    /// Exit rate: a box a:b sampled uniformly, or one value.
    #[arg(long, default_value = "0:1", allow_hyphen_values = true)]
    beta: String,
    #[arg(long, value_enum, default_value_t = Method::Auto)]
    method: Method,
    /// Simulation budget in sweeps of M attempts [default: 8·M, the paper's 8M² attempts].
    #[arg(long)]
    sweeps: Option<u64>,
    /// Image shape for consumers, e.g. 128x128 (must multiply to M) [default: square if M is one].
    #[arg(long)]
    shape: Option<String>,
    /// Generate only slice i of n (0-based); -o is then a dataset folder.
    #[arg(long)]
    shard: Option<Shard>,
    /// Also draw up to 64 configurations (α up, β right) as a PNG mosaic.
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
    cli::run("gen-tasep", || {
        let mut alpha = parse_range("--alpha", &args.alpha)?;
        let mut beta = parse_range("--beta", &args.beta)?;
        // the paper's box [0,1]² includes rate 0, which has no stationary
        // state; the open box (0, 1] is what is sampled
        for r in [&mut alpha, &mut beta] {
            if r[0] == 0.0 && r[1] > 0.0 {
                r[0] = f64::MIN_POSITIVE;
            }
        }
        let job = TasepJob {
            n: args.n,
            m: args.m,
            alpha,
            beta,
            method: args.method,
            sweeps: args.sweeps.unwrap_or(8 * args.m as u64),
            shape: match &args.shape {
                Some(s) => parse_shape(s)?,
                None => default_shape(args.m),
            },
            shard: args.shard,
        };
        at_most_one_stdout(&[
            ("-o", Some(&args.out)),
            ("--preview", args.preview.as_deref()),
        ])?;
        let threads = args.common.init_threads();
        let started = Instant::now();
        let s = job.generate(&args.out, &args.common, args.preview.as_deref())?;
        args.common.summary(
            "gen-tasep",
            started,
            &format!(
                "wrote {} configurations ({} exact, {} simulated at {:.3} attempts/ns on {threads} threads) to {}",
                s.rows,
                s.exact_rows,
                s.rows - s.exact_rows,
                s.attempts_per_ns,
                s.path.display()
            ),
        );
        Ok(())
    })
}
