//! `make bench-ising`: spin flips per ns of the checkerboard Metropolis kernel
//! at L=128, T=2.5, h=0.3, single-thread (per instruction set) and all
//! threads, beside a Python+numba checkerboard Metropolis run side by side.

use std::time::Instant;

use phasekit::sim::ising::kernel::{metropolis_table, Isa, Sweeper};
use phasekit::sim::ising::Lattice;
use phasekit::sim::rng::{chain_rng, Lanes};
use rayon::prelude::*;

const L: usize = 128;
const T: f64 = 2.5;
const H: f64 = 0.3;

/// Flips per ns of one chain running `sweeps` sweeps with `isa`.
fn one_chain(isa: Isa, sweeps: usize, stream: u64) -> (f64, f64) {
    let mut lat = Lattice::new(L, 1);
    let mut lanes = Lanes::from_rng(&mut chain_rng(1, stream));
    let table = metropolis_table(1.0 / T, 1.0, H);
    let mut sw = Sweeper::new(L, isa);
    sw.sweeps(&mut lat, &table, &mut lanes, 20); // warm-up
    let t0 = Instant::now();
    sw.sweeps(&mut lat, &table, &mut lanes, sweeps);
    let secs = t0.elapsed().as_secs_f64();
    let (e, _) = lat.observables(1.0, H);
    ((sweeps * L * L) as f64 / secs / 1e9, e)
}

fn main() {
    let sweeps: usize = std::env::var("BENCH_SWEEPS").ok().and_then(|s| s.parse().ok()).unwrap_or(4000);
    println!("gen-ising kernel: L={L}, T={T}, h={H}, Metropolis checkerboard, {sweeps} sweeps per chain");
    let mut best = 0.0;
    for isa in Isa::available() {
        let s = if isa == Isa::Scalar { sweeps / 4 } else { sweeps };
        let (rate, e) = one_chain(isa, s, 0);
        println!("  single thread, {:<7} {rate:6.3} flips/ns   (energy/site {e:.4})", isa.name());
        if isa == Isa::detect() {
            best = rate;
        }
    }
    let threads = rayon::current_num_threads();
    let isa = Isa::detect();
    let t0 = Instant::now();
    let total: usize = (0..threads as u64 * 2)
        .into_par_iter()
        .map(|c| {
            one_chain(isa, sweeps, 100 + c);
            sweeps * L * L
        })
        .sum();
    let all = total as f64 / t0.elapsed().as_secs_f64() / 1e9;
    println!("  {threads} threads, {:<9} {all:6.3} flips/ns   (scaling {:.2}x)", isa.name(), all / best);
    if let Ok(numba) = std::env::var("NUMBA_FLIPS_PER_NS") {
        if let Ok(n) = numba.parse::<f64>() {
            println!("  numba baseline, 1 thread {n:6.3} flips/ns   -> phasekit/numba = {:.1}x", best / n);
        }
    }
}
