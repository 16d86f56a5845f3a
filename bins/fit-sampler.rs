//! fit-sampler: train an autoregressive sampler of Ising configurations and
//! export it as ONNX.
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use phasekit::cli::{self, Common};
use phasekit::fit::sampler::{run, Arch, Objective, SamplerConfig, SamplerOutputs, Target};
use phasekit::io::stdio::at_most_one_stdout;
use phasekit::train::TrainFlags;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Train q(s) = Π_i q(s_i | s_<i) over L×L Ising configurations in raster
/// order, E = −J Σ⟨ij⟩ s_i s_j − h Σ s_i at temperature T. Reverse KL needs
/// no data: like VAN (Wu, Wang & Zhang 2019) it draws a batch from q, and
/// minimises KL(q‖p) by REINFORCE with the batch-mean baseline, the inverse
/// temperature annealed as β(1 − a^t). Forward KL maximises the likelihood
/// of --data (e.g. Swendsen–Wang samples from gen-ising at the same point)
/// and logs the held-out NLL per site, which is ≥ the exact entropy per site.
/// The model is written as a `sampler` ONNX file (schemas/models.md).
///
/// Examples:
///   fit-sampler --L 16 --T 2.269 --arch made --depth 3 --width 4 --z2 --objective reverse-kl \
///       --steps 10000 --batch 1000 --lr 1e-3 --beta-anneal 0.998 --clip-grad 1 --out-model sampler.onnx
///   fit-sampler --L 8 --T 3.333 --objective forward-kl --data sw.parquet --steps 2000 --out-model q.onnx
#[derive(Parser)]
#[command(name = "fit-sampler", version, verbatim_doc_comment)]
struct Args {
    #[arg(long = "L")]
    l: usize,
    #[arg(long = "T", allow_hyphen_values = true)]
    t: f64,
    #[arg(long = "h", default_value_t = 0.0, allow_hyphen_values = true)]
    h: f64,
    #[arg(long = "J", default_value_t = 1.0, allow_hyphen_values = true)]
    j: f64,
    #[arg(long, value_enum, default_value_t = Arch::Made)]
    arch: Arch,
    /// Masked layers (made, pixelcnn).
    #[arg(long, default_value_t = 3)]
    depth: usize,
    /// Half the kernel size of pixelcnn (VAN's half_kernel_size): kernels are (2K+1)×(2K+1).
    #[arg(long, default_value_t = 3)]
    kernel: usize,
    /// Channels per site (made), hidden units (gru) or channels (pixelcnn) [default: 4 / 64 / 16].
    #[arg(long)]
    width: Option<usize>,
    /// Spin-flip symmetric q(s) = ½[q̃(s) + q̃(−s)].
    #[arg(long)]
    z2: bool,
    #[arg(long, value_enum, default_value_t = Objective::ReverseKl)]
    objective: Objective,
    /// Microstates at the same (L, T, h, J), for forward KL (- for standard input).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Start from the weights of a sampler file (e.g. forward KL, then reverse KL).
    #[arg(long)]
    init_from: Option<PathBuf>,
    /// Forward KL: feed each data row under a random symmetry of the lattice (h = 0).
    #[arg(long)]
    augment: bool,
    /// Fraction of --data held out for the test NLL.
    #[arg(long, default_value_t = 0.1)]
    test_fraction: f64,
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 1e-3, allow_hyphen_values = true)]
    lr: f64,
    /// β annealing a in β_t = β(1 − a^t) (reverse KL; 0: none).
    #[arg(long, default_value_t = 0.998)]
    beta_anneal: f64,
    /// Clip the gradient to this global norm.
    #[arg(long)]
    clip_grad: Option<f64>,
    /// The sampler (ONNX; - for standard output).
    #[arg(long, default_value = "sampler.onnx")]
    out_model: PathBuf,
    /// The step graph for sequential sampling [default: --out-model with .step.onnx; none for -].
    #[arg(long)]
    out_step: Option<PathBuf>,
    /// Training log (trainlog Parquet; - for standard output).
    #[arg(long)]
    out_log: Option<PathBuf>,
    /// Folder for sampler-loss.png and sampler-samples.png.
    #[arg(long)]
    plots: Option<PathBuf>,
    #[command(flatten)]
    train: TrainFlags,
    #[command(flatten)]
    common: Common,
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    cli::run("fit-sampler", || {
        args.common.init_threads();
        let started = Instant::now();
        let step = args.out_step.clone().or_else(|| {
            (!phasekit::io::is_stdio(&args.out_model))
                .then(|| args.out_model.with_extension("step.onnx"))
        });
        at_most_one_stdout(&[
            ("--out-model", Some(&args.out_model)),
            ("--out-step", step.as_deref()),
            ("--out-log", args.out_log.as_deref()),
        ])?;
        let cfg = SamplerConfig {
            run: args.train.settings(args.lr, args.batch, &args.out_model)?,
            target: Target {
                l: args.l,
                t: args.t,
                h: args.h,
                j: args.j,
            },
            spec: args.arch.spec(args.l, args.depth, args.width, args.kernel),
            z2: args.z2,
            objective: args.objective,
            beta_anneal: args.beta_anneal,
            clip_grad: args.clip_grad,
            data: args.data.clone(),
            test_fraction: args.test_fraction,
            init_from: args.init_from.clone(),
            augment: args.augment,
        };
        let out = SamplerOutputs {
            model: &args.out_model,
            step: step.as_deref(),
            log: args.out_log.as_deref(),
            plots: args.plots.as_deref(),
        };
        let t = run(&cfg, &out, &args.common)?;
        let what = match args.objective {
            Objective::ReverseKl => "F_q/N",
            Objective::ForwardKl => "held-out NLL per site",
        };
        args.common.summary(
            "fit-sampler",
            started,
            &format!(
                "trained {} parameters at {:.1} steps/s ({what} {:.5}); wrote {}",
                t.parameters,
                t.steps_per_s,
                t.last,
                args.out_model.display()
            ),
        );
        Ok(())
    })
}
