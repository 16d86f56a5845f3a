//! `make bench-dcl` (speed part): eval-dcl's tile-table Metropolis chains
//! beside gen-ising's checkerboard Metropolis kernel, one thread each, on the
//! exact Ising energy at β_c — and the bound on any table method: the eight
//! table reads per update (two per tile, four tiles per site) alone, on the
//! same chains' tile indices, with nothing else done.
//! Each figure is the best of 3 runs: the machines are shared and noisy.

use std::hint::black_box;
use std::time::Instant;

use phasekit::sim::ising::kernel::{metropolis_table, Isa, Sweeper};
use phasekit::sim::ising::Lattice;
use phasekit::sim::replicas::{lane_start, Replicas};
use phasekit::sim::rng::{chain_rng, Lanes, LANES};
use phasekit::sim::tiles::{ising_table, TileReplicas, TileTable, Tiling};

const BETA: f64 = 0.440_686_793_509_771_6;
const REPEATS: usize = 3;

fn best(mut f: impl FnMut() -> f64) -> f64 {
    (0..REPEATS).map(|_| f()).fold(0.0, f64::max)
}

/// gen-ising's kernel: updates per ns, one thread.
fn checkerboard(l: usize, sweeps: usize) -> f64 {
    let table = metropolis_table(BETA, 1.0, 0.0);
    let mut lat = Lattice::new(l, 1);
    let mut lanes = Lanes::from_rng(&mut chain_rng(1, 0));
    let mut sw = Sweeper::new(l, Isa::detect());
    sw.sweeps(&mut lat, &table, &mut lanes, 20);
    best(|| {
        let t0 = Instant::now();
        sw.sweeps(&mut lat, &table, &mut lanes, sweeps);
        (sweeps * l * l) as f64 / t0.elapsed().as_secs_f64() / 1e9
    })
}

/// The tile-table chains (sixteen lanes): updates per ns, and the chains for the bound.
fn tile_chain(l: usize, sweeps: usize) -> (f64, Vec<Vec<i8>>) {
    let tiling = Tiling::new(l, 2, 1);
    let table = TileTable::new(ising_table(2, 1, 1.0));
    let streams = std::array::from_fn(|k| k as u64);
    let (spins, lanes) = lane_start(1, &streams, l * l);
    let mut chains = TileReplicas::new(&tiling, &table, [BETA; LANES], &spins, lanes);
    for _ in 0..200 {
        chains.sweep().unwrap();
    }
    let rate = best(|| {
        let t0 = Instant::now();
        for _ in 0..sweeps {
            chains.sweep().unwrap();
        }
        (sweeps * LANES * l * l) as f64 / t0.elapsed().as_secs_f64() / 1e9
    });
    (rate, (0..LANES).map(|k| chains.spins(k)).collect())
}

/// The table reads alone: for every site, lane and tile that holds the site,
/// T[k] and T[k ^ bit] summed, on the chains' own tile indices (frozen).
fn reads_alone(l: usize, spins: &[Vec<i8>], sweeps: usize) -> f64 {
    let tiling = Tiling::new(l, 2, 1);
    let table: Vec<f32> = ising_table(2, 1, 1.0).iter().map(|&v| v as f32).collect();
    let per_lane: Vec<Vec<u32>> = spins.iter().map(|s| tiling.indices(s)).collect();
    let idx: Vec<[u32; LANES]> = (0..tiling.tiles())
        .map(|t| std::array::from_fn(|lane| per_lane[lane][t]))
        .collect();
    best(|| {
        let t0 = Instant::now();
        let mut acc = [0f32; LANES];
        for _ in 0..sweeps {
            for site in 0..l * l {
                for &(tile, bit) in tiling.covering(site) {
                    let row = &idx[tile as usize];
                    for lane in 0..LANES {
                        let k = row[lane] as usize;
                        // SAFETY: tile indices hold only the tile's 16 bits
                        acc[lane] +=
                            unsafe { table.get_unchecked(k ^ (1 << bit)) - table.get_unchecked(k) };
                    }
                }
            }
            black_box(&mut acc);
        }
        (sweeps * LANES * l * l) as f64 / t0.elapsed().as_secs_f64() / 1e9
    })
}

fn main() {
    println!(
        "Metropolis at β_c on one thread ({}): site updates per ns, best of {REPEATS}",
        Isa::detect().name()
    );
    let gen = checkerboard(128, 2000);
    println!("  gen-ising checkerboard kernel, L = 128:      {gen:6.3}");
    for (l, sweeps) in [(24, 3000), (128, 100)] {
        let (tiles, spins) = tile_chain(l, sweeps);
        let reads = reads_alone(l, &spins, sweeps);
        println!(
            "  eval-dcl tile-table chains, L = {l:<3}:         {tiles:6.3}   ({:.2}x gen-ising)",
            tiles / gen
        );
        println!(
            "    its 8 table reads per update alone:       {reads:6.3}   (bound on any table chain: {:.2}x gen-ising)",
            reads / gen
        );
    }
}
