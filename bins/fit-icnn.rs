//! fit-icnn: a convex free energy log Z(t) and its Fisher metric from
//! predicted posteriors (BTI paper, section I.B).
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use phasekit::cli::{self, Common};
use phasekit::fit::icnn::{run, IcnnConfig, IcnnOutputs};
use phasekit::fit::posteriors::PosteriorSet;
use phasekit::io::stdio::at_most_one_stdout;
use phasekit::train::TrainFlags;

/// Fit an input-convex network log Z_w(t) to predicted posteriors (BTI paper,
/// eqs. 19–21): for each bundle centre t' the exponential family
/// P_w(t | t') ∝ exp[∇log Z_w(t')·t − log Z_w(t)] over the grid is brought
/// close, in Jensen–Shannon divergence, to that bundle's posterior. log Z is
/// convex by construction (non-negative hidden weights, softplus), so its
/// Hessian, the Fisher metric, is positive semi-definite. log Z is fixed
/// only up to an affine function of t.
///
/// Writes free_energy.onnx (t -> log_z, grad, hessian; schemas/models.md)
/// and thermo.parquet (log Z, gradient and Fisher metric on the grid,
/// computed from that file by ONNX Runtime).
///
/// Examples:
///   fit-icnn --posteriors posteriors.parquet --steps 2000 --lr 1e-2 \
///       --out-model free_energy.onnx --out-thermo thermo.parquet --plots figs/
#[derive(Parser)]
#[command(name = "fit-icnn", version, verbatim_doc_comment)]
struct Args {
    /// Posteriors from fit-posterior (or any file honouring schemas/posteriors.md; - for standard input).
    #[arg(long)]
    posteriors: PathBuf,
    /// Bundle centres per step.
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// Adam learning rate (the output is pre-scaled by the posteriors'
    /// typical precision, so the network works at curvature ~1).
    #[arg(long, default_value_t = 1e-2, allow_hyphen_values = true)]
    lr: f64,
    /// Hidden layers of the ICNN (the paper: 5).
    #[arg(long, default_value_t = 5)]
    layers: usize,
    /// Units per hidden layer (the paper: 512).
    #[arg(long, default_value_t = 64)]
    hidden: usize,
    /// Networks trained apart (each its own initialisation and batches, side
    /// by side on the threads) whose mean is the model. The seed moves a
    /// single network's curvature, most at the edges of the box: at demo
    /// scale the G_TT spread against the exact profile is 1.66–2.96 over
    /// seeds, the mean of 4 networks' 1.64–1.76 (pipelines/README.md).
    #[arg(long, default_value_t = 1)]
    ensemble: usize,
    /// The free-energy model (ONNX; - for standard output).
    #[arg(long, default_value = "free_energy.onnx")]
    out_model: PathBuf,
    /// The thermo table on the grid (- for standard output).
    #[arg(long, default_value = "thermo.parquet")]
    out_thermo: PathBuf,
    /// Training log (trainlog Parquet; - for standard output).
    #[arg(long)]
    out_log: Option<PathBuf>,
    /// Folder for icnn-loss.png and thermo.png (maps of log Z, its derivatives, the Fisher metric, det G).
    #[arg(long)]
    plots: Option<PathBuf>,
    #[command(flatten)]
    train: TrainFlags,
    #[command(flatten)]
    common: Common,
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    cli::run("fit-icnn", || {
        args.common.init_threads();
        let started = Instant::now();
        cli::require_nonzero(&[
            ("--layers", args.layers),
            ("--hidden", args.hidden),
            ("--ensemble", args.ensemble),
        ])?;
        at_most_one_stdout(&[
            ("--out-model", Some(&args.out_model)),
            ("--out-thermo", Some(&args.out_thermo)),
            ("--out-log", args.out_log.as_deref()),
        ])?;
        let settings = args.train.settings(args.lr, args.batch, &args.out_model)?;
        let set = PosteriorSet::load(&args.posteriors)?;
        let cfg = IcnnConfig {
            run: settings,
            layers: args.layers,
            hidden: args.hidden,
            ensemble: args.ensemble,
        };
        let out = IcnnOutputs {
            model: &args.out_model,
            thermo: &args.out_thermo,
            log: args.out_log.as_deref(),
            plots: args.plots.as_deref(),
        };
        let s = run(&cfg, &set, &out, &args.common)?;
        let t = &s.trained;
        let min_eig = s
            .thermo
            .hessian
            .iter()
            .map(|h| {
                let (a, b, c) = (h[0][0], h[0][1], h[1][1]);
                0.5 * (a + c) - (0.25 * (a - c).powi(2) + b * b).sqrt()
            })
            .fold(f64::INFINITY, f64::min);
        args.common.summary(
            "fit-icnn",
            started,
            &format!(
                "trained {} parameters on {} posteriors at {:.1} steps/s (final test JSD {:.4}); wrote {} and {} ({} grid points, smallest Fisher eigenvalue {:.3e})",
                t.parameters,
                set.len(),
                t.steps_per_s,
                t.final_test,
                args.out_model.display(),
                args.out_thermo.display(),
                s.thermo.points.len(),
                min_eig
            ),
        );
        Ok(())
    })
}
