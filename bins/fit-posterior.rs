//! fit-posterior: train the bundle posterior network, export it as ONNX,
//! predict posteriors with ONNX Runtime.
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use phasekit::cli::{self, Common};
use phasekit::fit::posterior::{load_inputs, run, Outputs, TrainConfig};
use phasekit::io::stdio::at_most_one_stdout;
use phasekit::nn::posterior::Arch;
use phasekit::train::TrainFlags;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Train a network P(t | s_1..s_K) over the parameter grid from bundles of
/// K_bundle microstates (BTI paper, Algorithm 2): each step draws bundle
/// centres from the train split, K_bundle of their K_neib members at random
/// and in random order as input channels, and minimises the cross-entropy to
/// the averaged Gaussian target of those members (Adam). The trained network
/// is written as ONNX (schemas/models.md) and every posterior in
/// --out-posteriors is computed from that file by ONNX Runtime.
///
/// Examples:
///   fit-posterior --bundles bundles.parquet --steps 1500 --batch 64 --lr 1e-3 \
///       --out-model posterior.onnx --out-posteriors posteriors.parquet --plots figs/
///   fit-posterior --predict-only --model other.onnx --bundles bundles.parquet --out-posteriors p.parquet
#[derive(Parser)]
#[command(name = "fit-posterior", version, verbatim_doc_comment)]
struct Args {
    /// Bundles file from bundle-knn (- for standard input).
    #[arg(long)]
    bundles: PathBuf,
    /// Microstates dataset [default: the one recorded in the bundles' provenance; - for standard input].
    #[arg(long)]
    data: Option<PathBuf>,
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 1e-3, allow_hyphen_values = true)]
    lr: f64,
    #[arg(long, value_enum, default_value_t = Arch::Unet)]
    arch: Arch,
    /// Channels of the first U-Net level.
    #[arg(long, default_value_t = 16)]
    width: usize,
    /// Stride-2 levels of the U-Net.
    #[arg(long, default_value_t = 2)]
    depth: usize,
    /// Fixed test batches per evaluation.
    #[arg(long, default_value_t = 4)]
    test_batches: usize,
    /// The trained model (ONNX; - for standard output).
    #[arg(long, default_value = "posterior.onnx")]
    out_model: PathBuf,
    /// Predicted posteriors (- for standard output).
    #[arg(long, default_value = "posteriors.parquet")]
    out_posteriors: PathBuf,
    /// Training log (trainlog Parquet; - for standard output).
    #[arg(long)]
    out_log: Option<PathBuf>,
    /// Folder for loss.png and posteriors.png.
    #[arg(long)]
    plots: Option<PathBuf>,
    /// Only run --model on the bundles.
    #[arg(long, requires = "model")]
    predict_only: bool,
    /// Any ONNX model honouring the posterior contract (with --predict-only; - for standard input).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Predict only the first N bundles.
    #[arg(long)]
    predict_limit: Option<usize>,
    #[command(flatten)]
    train: TrainFlags,
    #[command(flatten)]
    common: Common,
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    cli::run("fit-posterior", || {
        args.common.init_threads();
        let started = Instant::now();
        // flags first: a bad flag is refused before any file is read
        at_most_one_stdout(&[
            (
                "--out-model",
                (!args.predict_only).then_some(args.out_model.as_path()),
            ),
            ("--out-posteriors", Some(&args.out_posteriors)),
            ("--out-log", args.out_log.as_deref()),
        ])?;
        let settings = args.train.settings(args.lr, args.batch, &args.out_model)?;
        let (bundles, states, _) = load_inputs(&args.bundles, args.data.as_deref())?;
        let cfg = TrainConfig {
            run: settings,
            arch: args.arch,
            width: args.width,
            depth: args.depth,
            test_batches: args.test_batches.max(1),
        };
        let model = if args.predict_only {
            args.model.clone().expect("clap requires --model")
        } else {
            args.out_model.clone()
        };
        let outputs = Outputs {
            model: &model,
            posteriors: &args.out_posteriors,
            log: args.out_log.as_deref(),
            plots: args.plots.as_deref(),
            predict_limit: args.predict_limit,
        };
        let s = run(
            if args.predict_only { None } else { Some(&cfg) },
            &bundles,
            &states,
            &outputs,
            args.train.device,
            &args.common,
        )?;
        let q = &s.quality;
        let p = &bundles.meta.params;
        let trained = match &s.trained {
            Some(t) => format!(
                "trained {} parameters at {:.2} steps/s (final test loss {:.3}, uniform prior {:.3}); ",
                t.parameters,
                t.steps_per_s,
                t.log.iter().rev().find(|r| r.test).map(|r| r.loss).unwrap_or(f64::NAN),
                t.uniform_loss
            ),
            None => String::new(),
        };
        args.common.summary(
            "fit-posterior",
            started,
            &format!(
                "{trained}wrote {} posteriors to {}; test posterior-mean RMSE {}={:.3} {}={:.3}, cross-entropy {:.3}",
                q.rows,
                args.out_posteriors.display(),
                p[0],
                q.rmse[0],
                p[1],
                q.rmse[1],
                q.test_cross_entropy
            ),
        );
        Ok(())
    })
}
