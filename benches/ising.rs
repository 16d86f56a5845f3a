//! `make bench-ising`: spin flips per ns of the checkerboard Metropolis kernel
//! at L=128, T=2.5, h=0.3, single-thread (per instruction set) and all
//! threads, beside a Python+numba checkerboard Metropolis run side by side
//! (its rate arrives in NUMBA_FLIPS_PER_NS from the Makefile).
//! Each figure is the best of 3 runs: the machines are shared and noisy.

use std::time::Instant;

use phasekit::sim::ising::kernel::{metropolis_table, Isa, Sweeper};
use phasekit::sim::ising::Lattice;
use phasekit::sim::rng::{chain_rng, Lanes};

const L: usize = 128;
const T: f64 = 2.5;
const H: f64 = 0.3;
const REPEATS: usize = 3;

/// Run `threads` chains at once, one per thread, `sweeps` sweeps each; flips/ns.
fn rate(isa: Isa, sweeps: usize, threads: usize) -> f64 {
    let table = metropolis_table(1.0 / T, 1.0, H);
    let mut chains: Vec<(Lattice, Lanes, Sweeper)> = (0..threads as u64)
        .map(|c| {
            let mut lat = Lattice::new(L, 1);
            let mut lanes = Lanes::from_rng(&mut chain_rng(1, c));
            let mut sw = Sweeper::new(L, isa);
            sw.sweeps(&mut lat, &table, &mut lanes, 20); // warm-up
            (lat, lanes, sw)
        })
        .collect();
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for (lat, lanes, sw) in chains.iter_mut() {
            let table = &table;
            s.spawn(move || sw.sweeps(lat, table, lanes, sweeps));
        }
    });
    (threads * sweeps * L * L) as f64 / t0.elapsed().as_secs_f64() / 1e9
}

fn best(isa: Isa, sweeps: usize, threads: usize) -> f64 {
    (0..REPEATS)
        .map(|_| rate(isa, sweeps, threads))
        .fold(0.0, f64::max)
}

fn main() {
    let sweeps: usize = std::env::var("BENCH_SWEEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!("gen-ising kernel: L={L}, T={T}, h={H}, checkerboard Metropolis, {sweeps} sweeps per chain, best of {REPEATS}");
    let isa = Isa::detect();
    let mut single = 0.0;
    for candidate in Isa::available() {
        let s = if candidate == Isa::Scalar {
            sweeps / 5
        } else {
            sweeps
        };
        let r = best(candidate, s, 1);
        println!("  1 thread,  {:<7} {r:6.3} flips/ns", candidate.name());
        if candidate == isa {
            single = r;
        }
    }
    let all = best(isa, sweeps, threads);
    println!(
        "  {threads} threads, {:<7} {all:6.3} flips/ns   (scaling {:.2}x over 1 thread)",
        isa.name(),
        all / single
    );
    match std::env::var("NUMBA_FLIPS_PER_NS").ok().and_then(|s| s.parse::<f64>().ok()) {
        Some(n) => println!("  numba baseline, 1 thread {n:6.3} flips/ns   -> phasekit/numba = {:.1}x single-thread", single / n),
        None => println!("  (numba baseline not run: use `make bench-ising`)"),
    }
}
