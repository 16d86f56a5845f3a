//! nis-estimate: free energies and observables of the Ising model by neural
//! importance sampling from a `sampler` model, with error bars.
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use phasekit::cli::{self, Common};
use phasekit::contract::estimates::find;
use phasekit::estimate::run::{run, NisConfig, NisOutputs, TargetSpec};
use phasekit::io::stdio::at_most_one_stdout;
use phasekit::runtime::Device;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Neural importance sampling (Nicoli et al., PRE 101, 023304): draw M
/// configurations s from an autoregressive sampler q with exact log q,
/// weigh them by w = e^{−βE(s)}/q(s), and estimate ln Z = ln mean(w) (F/N
/// with a delta-method and a bootstrap σ and its leading bias), and the
/// self-normalised U/N, |M|/N, ⟨M²⟩/N², C/N, χ/N, S/N, beside the
/// variational F_q/N and KL(q‖p). ESS/M = (Σw)²/(M Σw²) tells how far q is
/// from p. Everything is computed in f64 in log space.
///
/// The target is the periodic L×L Ising model E = −J Σ⟨ij⟩ s_i s_j − h Σ s_i
/// (--L, --T, --h, --J) or any `energy` model (--energy, --T). A sampler
/// that peeks ahead (logit i depends on sites ≥ i) is refused.
///
/// --mcmc adds the p-estimator of F from exact samples of p (gen-ising,
/// e.g. Swendsen–Wang) and the mode-dropping estimator ŵ = Ẑ_q/Ẑ_p: ŵ below
/// 1 by more than 3σ means q misses part of p and the estimates may be
/// biased (a warning here and in the file's phasekit.warnings). --nmcmc runs
/// an independence Metropolis chain on the same draws.
///
/// Examples:
///   nis-estimate --model sampler.onnx --L 16 --T 2.269 --samples 200000 -o estimates.parquet
///   nis-estimate --model q.onnx --L 8 --T 1.667 --samples 50000 --mcmc sw.parquet --nmcmc \
///       --plots figs -o estimates.parquet
#[derive(Parser)]
#[command(name = "nis-estimate", version, verbatim_doc_comment)]
struct Args {
    /// The sampler (ONNX `sampler` model; - for standard input).
    #[arg(long)]
    model: PathBuf,
    /// Lattice side of the Ising target (must be the sampler's).
    #[arg(long = "L", required_unless_present = "energy")]
    l: Option<usize>,
    /// Temperature.
    #[arg(long = "T", allow_hyphen_values = true)]
    t: f64,
    #[arg(long = "h", default_value_t = 0.0, allow_hyphen_values = true)]
    h: f64,
    #[arg(long = "J", default_value_t = 1.0, allow_hyphen_values = true)]
    j: f64,
    /// An `energy` model (ONNX) instead of the Ising Hamiltonian.
    #[arg(long, conflicts_with_all = ["l"])]
    energy: Option<PathBuf>,
    /// Configurations to draw.
    #[arg(long)]
    samples: usize,
    /// Configurations drawn per round (memory, progress; never the result).
    #[arg(long, default_value_t = 16384)]
    batch: usize,
    /// Microstates of p at the same point (gen-ising) for the p-estimator and ŵ.
    #[arg(long)]
    mcmc: Option<PathBuf>,
    /// Also run the independence Metropolis chain (NMCMC) on the draws.
    #[arg(long)]
    nmcmc: bool,
    /// Bootstrap resamplings for the σ of ln Z (0: off).
    #[arg(long, default_value_t = 200)]
    bootstrap: usize,
    /// Where ONNX Runtime runs an energy model or a foreign sampler (phasekit's own samplers are drawn on the CPU).
    #[arg(long, value_enum, default_value_t = Device::Cpu)]
    device: Device,
    /// The estimates (Parquet; - for standard output).
    #[arg(short, long)]
    out: PathBuf,
    /// Also write the draws with log_q and log_w as a microstates file.
    #[arg(long)]
    samples_out: Option<PathBuf>,
    /// Folder for nis-diagnostics.png.
    #[arg(long)]
    plots: Option<PathBuf>,
    #[command(flatten)]
    common: Common,
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    cli::run("nis-estimate", || {
        let threads = args.common.init_threads();
        let started = Instant::now();
        at_most_one_stdout(&[
            ("--out", Some(&args.out)),
            ("--samples-out", args.samples_out.as_deref()),
        ])?;
        let target = match (&args.energy, args.l) {
            (Some(path), _) => TargetSpec::Model {
                path: path.clone(),
                t: args.t,
            },
            (None, Some(l)) => TargetSpec::Ising {
                l,
                t: args.t,
                h: args.h,
                j: args.j,
            },
            (None, None) => phasekit::bail_input!("give --L (Ising) or --energy"),
        };
        let cfg = NisConfig {
            model: args.model.clone(),
            target,
            samples: args.samples,
            batch: args.batch,
            mcmc: args.mcmc.clone(),
            nmcmc: args.nmcmc,
            bootstrap: args.bootstrap,
            device: args.device,
        };
        let out = NisOutputs {
            estimates: &args.out,
            samples: args.samples_out.as_deref(),
            plots: args.plots.as_deref(),
        };
        let s = run(&cfg, &out, &args.common)?;
        let get = |q: &str| find(&s.rows, "nis", q).map(|r| (r.value, r.std_error.unwrap_or(0.0)));
        let (f, sf) = get("free_energy").unwrap_or((f64::NAN, f64::NAN));
        let ess = get("ess_fraction").map_or(f64::NAN, |v| v.0);
        let [draw, energy, estimate] = s.seconds;
        args.common.summary(
            "nis-estimate",
            started,
            &format!(
                "F/N = {f:.8} ± {sf:.1e}, ESS/M = {ess:.4}; {:.0} samples/s on {threads} threads \
                 ({} draws {draw:.1} s, energies {energy:.1} s, estimators {estimate:.1} s){}; wrote {}",
                s.samples_per_s,
                if s.on_host { "host" } else { "ONNX Runtime" },
                if s.warnings.is_empty() { String::new() } else { format!("; {} warning(s)", s.warnings.len()) },
                args.out.display()
            ),
        );
        Ok(())
    })
}
