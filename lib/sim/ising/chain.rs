//! One Markov chain: initial state, burn-in, then recorded configurations a
//! fixed number of sweeps apart. Everything random comes from the chain's own
//! ChaCha8 stream, so a chain's output depends only on (seed, chain id).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::cluster::SwendsenWang;
use super::kernel::{glauber_table, metropolis_table, Isa, Sweeper};
use super::lattice::Lattice;
use crate::sim::rng::{LaneStream, Lanes};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    /// Checkerboard Metropolis single-spin flips (the BTI paper's method).
    Metropolis,
    /// Checkerboard heat-bath (Glauber) single-spin flips.
    Glauber,
    /// Swendsen–Wang clusters with a ghost spin for the field.
    Sw,
}

impl Algorithm {
    pub fn is_checkerboard(self) -> bool {
        matches!(self, Algorithm::Metropolis | Algorithm::Glauber)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Init {
    /// Independent ±1 spins (infinite temperature).
    Random,
    Up,
    Down,
}

#[derive(Clone, Debug)]
pub struct ChainSpec {
    pub l: usize,
    pub j: f64,
    pub t: f64,
    pub h: f64,
    pub algorithm: Algorithm,
    pub init: Init,
    pub burn_in: usize,
    pub thin: usize,
    pub records: usize,
}

/// One recorded configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// Row-major spins ±1.
    pub state: Vec<i8>,
    /// Energy per site.
    pub energy: f64,
    /// Magnetization per site.
    pub magnetization: f64,
}

fn observables(spins: &[i8], l: usize, j: f64, h: f64) -> (f64, f64) {
    let (mut bonds, mut m) = (0i64, 0i64);
    for i in 0..l {
        for jj in 0..l {
            let s = spins[i * l + jj] as i64;
            bonds +=
                s * (spins[i * l + (jj + 1) % l] as i64 + spins[((i + 1) % l) * l + jj] as i64);
            m += s;
        }
    }
    let n = (l * l) as f64;
    ((-j * bonds as f64 - h * m as f64) / n, m as f64 / n)
}

/// Run one chain. `rng` is the chain's stream after its parameters were drawn.
pub fn run_chain(spec: &ChainSpec, rng: &mut ChaCha8Rng, isa: Isa) -> Vec<Record> {
    let l = spec.l;
    let mut spins: Vec<i8> = match spec.init {
        Init::Up => vec![1; l * l],
        Init::Down => vec![-1; l * l],
        Init::Random => {
            let mut v = vec![0i8; l * l];
            for chunk in v.chunks_mut(64) {
                let bits: u64 = rng.random();
                for (k, s) in chunk.iter_mut().enumerate() {
                    *s = if bits >> k & 1 == 1 { 1 } else { -1 };
                }
            }
            v
        }
    };
    let lanes = Lanes::from_rng(rng);
    let beta = 1.0 / spec.t;
    let mut out = Vec::with_capacity(spec.records);
    let record = |spins: &[i8]| {
        let (energy, magnetization) = observables(spins, l, spec.j, spec.h);
        Record {
            state: spins.to_vec(),
            energy,
            magnetization,
        }
    };
    let segments = (0..spec.records).map(|k| if k == 0 { spec.burn_in } else { spec.thin });
    if spec.algorithm.is_checkerboard() {
        let table = match spec.algorithm {
            Algorithm::Metropolis => metropolis_table(beta, spec.j, spec.h),
            _ => glauber_table(beta, spec.j, spec.h),
        };
        let mut lat = Lattice::from_row_major(l, &spins);
        let mut lanes = lanes;
        let mut sweeper = Sweeper::new(l, isa);
        for n in segments {
            sweeper.sweeps(&mut lat, &table, &mut lanes, n);
            lat.to_row_major(&mut spins);
            out.push(record(&spins));
        }
    } else {
        let mut sw = SwendsenWang::new(l);
        let mut stream = LaneStream::new(lanes);
        for n in segments {
            sw.sweeps(&mut spins, beta, spec.j, spec.h, &mut stream, n);
            out.push(record(&spins));
        }
    }
    out
}
