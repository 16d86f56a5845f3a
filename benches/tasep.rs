//! `make bench-tasep`: random-sequential TASEP move attempts per ns at
//! M=16384 (single thread and all threads), beside a Python+numba loop run
//! side by side (rate in NUMBA_ATTEMPTS_PER_NS), and the exact sampler's
//! samples per second at M=16384 in the maximal-current phase.
//! Best of 3 runs each: the machines are shared and noisy.

use std::time::Instant;

use phasekit::sim::rng::{chain_rng, Xoshiro256};
use phasekit::sim::tasep::paths::{PathSampler, MAX_CELLS};
use phasekit::sim::tasep::simulate::Simulation;

const M: usize = 16384;
const REPEATS: usize = 3;

fn sim_rate(threads: usize, attempts: u64) -> f64 {
    let mut sims: Vec<(Simulation, Xoshiro256)> = (0..threads as u64)
        .map(|c| {
            let mut rng = Xoshiro256::from_rng(&mut chain_rng(1, c));
            let init: Vec<i8> = (0..M).map(|_| (rng.next_u64() >> 63) as i8).collect();
            let mut sim = Simulation::new(&init, 0.3, 0.7);
            sim.run(1_000_000, &mut rng);
            (sim, rng)
        })
        .collect();
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for (sim, rng) in sims.iter_mut() {
            s.spawn(move || sim.run(attempts, rng));
        }
    });
    (threads as u64 * attempts) as f64 / t0.elapsed().as_secs_f64() / 1e9
}

fn main() {
    let attempts: u64 = std::env::var("BENCH_ATTEMPTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000_000);
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!("gen-tasep: M={M}, α=0.3, β=0.7, random-sequential updates, {attempts} attempts per thread, best of {REPEATS}");
    let best = |t: usize| {
        (0..REPEATS)
            .map(|_| sim_rate(t, attempts))
            .fold(0.0, f64::max)
    };
    let single = best(1);
    println!("  1 thread   {single:6.3} attempts/ns");
    let all = best(threads);
    println!(
        "  {threads} threads  {all:6.3} attempts/ns   (scaling {:.2}x)",
        all / single
    );
    match std::env::var("NUMBA_ATTEMPTS_PER_NS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
    {
        Some(n) => println!(
            "  numba baseline, 1 thread {n:6.3} attempts/ns   -> phasekit/numba = {:.1}x",
            single / n
        ),
        None => println!("  (numba baseline not run: use `make bench-tasep`)"),
    }

    // exact sampler: a fresh (α, β) per sample, as in a dataset
    let n = 12;
    let mut rng = Xoshiro256::from_rng(&mut chain_rng(2, 0));
    let t0 = Instant::now();
    let mut cells = 0;
    for k in 0..n {
        let (a, b) = (
            0.55 + 0.4 * (k as f64 / n as f64),
            0.95 - 0.4 * (k as f64 / n as f64),
        );
        let s = PathSampler::new(M, a, b, MAX_CELLS)
            .expect("maximal-current phase has a representation");
        cells += s.cap();
        std::hint::black_box(s.sample(&mut rng));
    }
    let per_sample = t0.elapsed().as_secs_f64() / n as f64;
    println!(
        "  exact sampler, maximal-current phase, 1 thread: {:.1} samples/s ({:.0} ms each, mean height cap {}), \
         vs simulating 8M² attempts: {:.1} s each at the rate above",
        1.0 / per_sample,
        per_sample * 1e3,
        cells / n,
        8.0 * (M * M) as f64 / single / 1e9
    );
}
