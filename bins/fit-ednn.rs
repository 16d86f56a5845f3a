//! fit-ednn: learn an extensive energy model from configurations labelled
//! by a fitted sampler (distribution-consistent learning) or by the true
//! Ising energy, and export it as an `energy` ONNX model for any L.
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use phasekit::cli::{self, Common};
use phasekit::fit::ednn::{run, EdnnConfig, EdnnOutputs, Labels};
use phasekit::io::stdio::at_most_one_stdout;
use phasekit::nn::ednn::EdnnSpec;
use phasekit::train::TrainFlags;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Distribution-consistent learning, stage 2 (Sprague et al. 2021, eq. 6):
/// label the observed configurations (and draws from the sampler) with
/// E_RNN(s) = −T_O ln q(s) + C, where q is a sampler fitted to the
/// observations at T_O (fit-sampler --objective forward-kl), and fit the
/// extensive deep neural network of Mills et al. (2019): f×f focus regions
/// with a c-wide periodic context, one shared MLP per (f+2c)² tile, the
/// outputs summed, trained by MSE on the total energy. C makes the mean
/// over uniformly random configurations zero, or gives the all-up state
/// --ground-state J per site (the paper's Table 3 uses −2). The exported
/// `energy` model takes any L that f divides. --test reports the RMSE of
/// E_EDNN and E_RNN against the true Ising energies (evaluation only), and
/// the couplings are read off the tile table by a Walsh–Hadamard transform.
///
/// Examples:
///   fit-ednn --data obs.parquet --sampler rnn.onnx --test test.parquet --out-model energy.onnx
///   fit-ednn --data obs.parquet --true-energy --steps 3000 --out-model reference.onnx
#[derive(Parser)]
#[command(name = "fit-ednn", version, verbatim_doc_comment)]
struct Args {
    /// Observed configurations (microstates, L×L Ising).
    #[arg(long)]
    data: PathBuf,
    /// The sampler fitted to --data: labels E_RNN = −T_O ln q + C.
    #[arg(long, required_unless_present = "true_energy")]
    sampler: Option<PathBuf>,
    /// Label with the true Ising energy instead (a reference, not DCL).
    #[arg(long, conflicts_with_all = ["sampler", "ground_state", "draws", "random", "images"])]
    true_energy: bool,
    /// C such that the all-up state has this energy per site [default: zero mean over random states].
    #[arg(long, allow_hyphen_values = true)]
    ground_state: Option<f64>,
    /// Configurations drawn from the sampler and labelled too.
    #[arg(long, default_value_t = 0)]
    draws: usize,
    /// Uniformly random configurations labelled by the sampler too.
    #[arg(long, default_value_t = 0)]
    random: usize,
    /// Average E_RNN over this many symmetric images of each configuration (1: none).
    #[arg(long, default_value_t = 16)]
    images: usize,
    /// Focus region side f.
    #[arg(long, default_value_t = 2)]
    focus: usize,
    /// Context width c.
    #[arg(long, default_value_t = 1)]
    context: usize,
    /// Hidden layer widths.
    #[arg(long, value_delimiter = ',', default_value = "32,64")]
    hidden: Vec<usize>,
    /// Fraction of the labelled rows held out for the test loss.
    #[arg(long, default_value_t = 0.1)]
    test_fraction: f64,
    #[arg(long, default_value_t = 64)]
    batch: usize,
    #[arg(long, default_value_t = 1e-2, allow_hyphen_values = true)]
    lr: f64,
    /// Configurations with true energies for the RMSE report (e.g. gen-ising over a T range).
    #[arg(long)]
    test: Option<PathBuf>,
    /// The energy model (ONNX; - for standard output).
    #[arg(long, default_value = "energy.onnx")]
    out_model: PathBuf,
    /// Folder for ednn-energies.png: E_EDNN and E_RNN against the true energy on --test.
    #[arg(long, requires = "test")]
    plots: Option<PathBuf>,
    /// Training log (trainlog Parquet).
    #[arg(long)]
    out_log: Option<PathBuf>,
    #[command(flatten)]
    train: TrainFlags,
    #[command(flatten)]
    common: Common,
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    cli::run("fit-ednn", || {
        args.common.init_threads();
        let started = Instant::now();
        at_most_one_stdout(&[
            ("--out-model", Some(&args.out_model)),
            ("--out-log", args.out_log.as_deref()),
        ])?;
        let labels = match &args.sampler {
            Some(path) if !args.true_energy => Labels::Sampler {
                path: path.clone(),
                ground_state: args.ground_state,
                draws: args.draws,
                random: args.random,
                images: args.images,
            },
            _ => Labels::TrueIsing,
        };
        let cfg = EdnnConfig {
            run: args.train.settings(args.lr, args.batch, &args.out_model)?,
            spec: EdnnSpec {
                f: args.focus,
                c: args.context,
                hidden: args.hidden.clone(),
            },
            data: args.data.clone(),
            labels,
            test_fraction: args.test_fraction,
        };
        let out = EdnnOutputs {
            model: &args.out_model,
            log: args.out_log.as_deref(),
            test: args.test.as_deref(),
            plots: args.plots.as_deref(),
        };
        let (t, eval) = run(&cfg, &out, &args.common)?;
        let mut what = format!(
            "{:.1} steps/s, held-out label RMSE {:.3}",
            t.steps_per_s, t.test_rmse
        );
        if let Some(r) = eval.rmse_ednn {
            what += &format!("; RMSE against the true energy: EDNN {r:.3}");
        }
        if let Some(r) = eval.rmse_rnn {
            what += &format!(", E_RNN {r:.3} ({} configurations)", eval.n_test);
        }
        if let Some(k) = &eval.couplings {
            what += &format!(
                "; couplings: J_nn {:.4} [{:.4}, {:.4}], other pairs ≤ {:.4}, fields ≤ {:.4}, higher ≤ {:.4}",
                k.j_nn[0], k.j_nn[1], k.j_nn[2], k.max_other_pair, k.max_field, k.max_higher
            );
        }
        args.common.summary(
            "fit-ednn",
            started,
            &format!("{what}; wrote {}", args.out_model.display()),
        );
        Ok(())
    })
}
