//! fit-vae: train a β-VAE or β²-VAE on Ising configurations and export its
//! encoder and decoder as ONNX.
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use phasekit::cli::{self, Common};
use phasekit::fit::vae::{run, DecoderKind, VaeConfig, VaeOutputs};
use phasekit::io::stdio::at_most_one_stdout;
use phasekit::train::TrainFlags;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Train a β-VAE (Huang, Hu & Yang, Table I) on L×L Ising configurations:
/// a convolutional encoder q(z|x) = N(μ, σ²) and a Bernoulli decoder over
/// σ = (s + 1)/2, minimising eq. 4, the reconstruction NLL summed over
/// pixels plus β·KL(q(z|x) ‖ N(0, I)), with Adam (β₁ = 0.5, β₂ = 0.999).
/// Trained on FM (J > 0), AFM (J < 0) and PM data together, at the right β
/// one latent axis follows the magnetisation and another the staggered
/// magnetisation. --decoder beta2 adds Table II's temperature branch:
/// p(s_k = +1) = sigmoid(β_k h_k), β_k ∈ (0, 1).
///
/// --data takes microstates files or folders, repeatable; each file keeps
/// its own J (a folder's files are read one by one). The report printed at
/// the end (and stored in --out-latents) gives the correlations of the latent
/// axes with m and m_s, the FM/AFM cluster cosine, the phases of samples
/// generated from the prior, the KL per dimension and the isometry ratio.
///
/// Examples:
///   fit-vae --data vae/data --beta 100 --steps 600 --out-encoder enc.onnx --out-decoder dec.onnx \
///       --out-latents latents.parquet --plots figs
///   fit-vae --data fm.parquet --decoder beta2 --beta 100 --paper --device cuda ...
#[derive(Parser)]
#[command(name = "fit-vae", version, verbatim_doc_comment)]
struct Args {
    /// Microstates files or folders (repeatable; each file at its own J).
    #[arg(long, required = true)]
    data: Vec<PathBuf>,
    /// Weight β of the KL term (the paper: a fraction of |J|L²/2, e.g. 100 at L = 32).
    #[arg(long, default_value_t = 100.0)]
    beta: f64,
    /// Latent dimensions.
    #[arg(long, default_value_t = 2)]
    latent: usize,
    #[arg(long, value_enum, default_value_t = DecoderKind::Bernoulli)]
    decoder: DecoderKind,
    /// Channels of the first convolution; the others are 2× and 16× (the paper: 64).
    #[arg(long, default_value_t = 8, conflicts_with = "paper")]
    width: usize,
    /// The paper's full size (--width 64: about 17M parameters; for a GPU).
    #[arg(long)]
    paper: bool,
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// Fraction of the data held out for the test loss.
    #[arg(long, default_value_t = 0.1)]
    test_fraction: f64,
    /// Steps over which the KL weight rises linearly from 0 to --beta, so the
    /// decoder learns every phase before the KL term can merge one into
    /// another [default: 30% of --steps; 0: the paper's fixed β].
    #[arg(long)]
    kl_warmup: Option<usize>,
    /// Samples drawn from the prior for the report.
    #[arg(long, default_value_t = 1000)]
    samples: usize,
    /// The encoder (ONNX: states → mu, log_sigma).
    #[arg(long, default_value = "encoder.onnx")]
    out_encoder: PathBuf,
    /// The decoder (ONNX: z → mean [, beta_k, h_k]).
    #[arg(long, default_value = "decoder.onnx")]
    out_decoder: PathBuf,
    /// Latent means and σ of every configuration (latents Parquet; - for standard output).
    #[arg(long)]
    out_latents: Option<PathBuf>,
    /// Training log (trainlog Parquet).
    #[arg(long)]
    out_log: Option<PathBuf>,
    /// Folder for vae-loss, vae-samples, vae-latents, vae-latent-grid (and vae-beta2) PNGs.
    #[arg(long)]
    plots: Option<PathBuf>,
    #[command(flatten)]
    train: TrainFlags,
    #[command(flatten)]
    common: Common,
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    cli::run("fit-vae", || {
        args.common.init_threads();
        let started = Instant::now();
        at_most_one_stdout(&[
            ("--out-encoder", Some(&args.out_encoder)),
            ("--out-decoder", Some(&args.out_decoder)),
            ("--out-latents", args.out_latents.as_deref()),
            ("--out-log", args.out_log.as_deref()),
        ])?;
        let cfg = VaeConfig {
            run: args
                .train
                .settings(args.lr, args.batch, &args.out_encoder)?,
            beta: args.beta,
            latent: args.latent,
            width: if args.paper { 64 } else { args.width },
            decoder: args.decoder,
            data: args.data.clone(),
            test_fraction: args.test_fraction,
            samples: args.samples,
            kl_warmup: args.kl_warmup.unwrap_or(args.train.steps * 3 / 10),
        };
        let out = VaeOutputs {
            encoder: &args.out_encoder,
            decoder: &args.out_decoder,
            latents: args.out_latents.as_deref(),
            log: args.out_log.as_deref(),
            plots: args.plots.as_deref(),
        };
        let t = run(&cfg, &out, &args.common)?;
        if !args.common.quiet {
            for line in t.report.lines() {
                eprintln!("fit-vae: {line}");
            }
        }
        args.common.summary(
            "fit-vae",
            started,
            &format!(
                "trained {} parameters at {:.1} steps/s; wrote {} and {}",
                t.parameters,
                t.steps_per_s,
                args.out_encoder.display(),
                args.out_decoder.display()
            ),
        );
        Ok(())
    })
}
