//! eval-dcl: the thermodynamics of a learned (or the exact) Ising
//! Hamiltonian at any β and L, by Metropolis chains on a tile table.
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use phasekit::cli::{self, Common};
use phasekit::estimate::dcl::{run, DclConfig, EnergySource};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Distribution-consistent learning, stage 3 (Sprague et al. 2021): run
/// Metropolis chains with an energy model over a list of β and lattice sizes
/// L, and write U/N, ⟨|m|⟩, ⟨m²⟩, C/N and χ/N with errors that account for
/// the autocorrelation (automatic windowing), the τ_int of E and |m|, and the
/// acceptance rate (schemas/estimates.md; parameters beta, L).
/// Chains run sixteen at a time, one per SIMD lane, each from its own random
/// stream, so --chains 16 (or a multiple) keeps every lane busy.
/// fit-ednn's EDNN is tabulated once — all 2^{(f+2c)²} tile energies — and
/// checked against ONNX Runtime on random configurations at every L, so the
/// chains are exact for the model at table-lookup speed. Any other `energy`
/// model runs through ONNX Runtime itself (one batch of sixteen proposals
/// per site: slower, equally exact). --ising runs the same chains with the
/// exact Ising couplings (the reference).
///
/// Examples:
///   eval-dcl --energy energy.onnx --beta 0.3407,0.4407,0.5407 --L 16,24 -o learned.parquet
///   eval-dcl --ising --beta 0.3407,0.4407,0.5407 --L 16,24 -o true.parquet
#[derive(Parser)]
#[command(name = "eval-dcl", version, verbatim_doc_comment)]
struct Args {
    /// An `energy` ONNX model (fit-ednn's, or any honouring the contract).
    #[arg(long, required_unless_present = "ising")]
    energy: Option<PathBuf>,
    /// The exact Ising energy instead (coupling --J).
    #[arg(long, conflicts_with = "energy")]
    ising: bool,
    #[arg(long = "J", default_value_t = 1.0, allow_hyphen_values = true)]
    j: f64,
    /// Inverse temperatures, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        required = true,
        allow_hyphen_values = true
    )]
    beta: Vec<f64>,
    /// Lattice sides, comma-separated (multiples of the model's focus f).
    #[arg(long = "L", value_delimiter = ',', required = true)]
    l: Vec<usize>,
    /// Independent chains per point.
    #[arg(long, default_value_t = 16)]
    chains: usize,
    /// Sweeps before measuring.
    #[arg(long, default_value_t = 1000)]
    burn_in: usize,
    /// Measured sweeps per chain (one measurement per sweep).
    #[arg(long, default_value_t = 4000)]
    sweeps: usize,
    /// The estimates (Parquet; - for standard output).
    #[arg(short, long)]
    out: PathBuf,
    #[command(flatten)]
    common: Common,
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    cli::run("eval-dcl", || {
        let threads = args.common.init_threads();
        let started = Instant::now();
        let energy = match &args.energy {
            Some(p) => EnergySource::Model(p.clone()),
            None => EnergySource::Ising { j: args.j },
        };
        let cfg = DclConfig {
            energy,
            betas: args.beta.clone(),
            sizes: args.l.clone(),
            chains: args.chains,
            burn_in: args.burn_in,
            sweeps: args.sweeps,
        };
        let r = run(&cfg, &args.out, &args.common)?;
        if !args.common.quiet {
            for (beta, l, rows) in &r.points {
                let get = |q: &str| {
                    rows.iter()
                        .find(|r| r.quantity == q)
                        .map(|r| (r.value, r.std_error.unwrap_or(f64::NAN)))
                };
                let (u, su) = get("energy").unwrap_or_default();
                let (m, sm) = get("abs_magnetization").unwrap_or_default();
                eprintln!("eval-dcl: β = {beta}, L = {l}: U/N = {u:.5} ± {su:.1e}, |M|/N = {m:.4} ± {sm:.1e}");
            }
        }
        args.common.summary(
            "eval-dcl",
            started,
            &format!(
                "{} points, {:.1e} site updates/s on {threads} threads; wrote {}",
                r.points.len(),
                r.updates_per_s,
                args.out.display()
            ),
        );
        Ok(())
    })
}
