//! `make bench-sampler`: sampling throughput of a VAN-sized MADE (L = 16,
//! depth 3, width 4) through phasekit's cached path, and one reverse-KL
//! training step at batch 1000, beside VAN-style sampling and training in
//! PyTorch or numpy on one thread (their figures arrive in
//! SAMPLER_BASELINE = "<backend> <configs/s> <s per step>" from the Makefile).

use std::time::Instant;

use phasekit::cli::{Common, ProgressMode};
use phasekit::fit::sampler::{sample_configurations, train, Objective, SamplerConfig, Target};
use phasekit::nn::autoreg::{HostSampler, SamplerSpec};
use phasekit::nn::made::MadeSpec;
use phasekit::runtime::Device;
use phasekit::sim::rng::chain_rng;
use phasekit::train::RunSettings;

const BATCH: usize = 1000;

fn main() {
    let spec = MadeSpec {
        l: 16,
        depth: 3,
        width: 4,
    };
    let spec = SamplerSpec::Made(spec);
    let made = HostSampler::new(&spec, &spec.init(&mut chain_rng(1, 1))).unwrap();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let rate = |pool_threads: usize| -> f64 {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(pool_threads)
            .build()
            .unwrap();
        pool.install(|| {
            let t0 = Instant::now();
            let s = sample_configurations(&made, false, 1, 0, BATCH);
            assert_eq!(s.len(), BATCH * 256);
            BATCH as f64 / t0.elapsed().as_secs_f64()
        })
    };
    let (one, all) = (
        (0..3).map(|_| rate(1)).fold(0.0, f64::max),
        (0..3).map(|_| rate(threads)).fold(0.0, f64::max),
    );
    println!(
        "MADE L=16 depth 3 width 4 ({} parameters as dense masked layers), batch {BATCH}:",
        256 * 1024 * 2 + 1024 * 1024
    );
    println!("  phasekit cached sampling: 1 thread {one:.0} configurations/s, {threads} threads {all:.0}/s");

    let steps = 5;
    let cfg = SamplerConfig {
        run: RunSettings {
            steps,
            batch: BATCH,
            lr: 1e-3,
            cosine: false,
            device: Device::Cpu,
            eval_every: 1000,
            checkpoint: None,
            checkpoint_every: 1000,
            resume: None,
        },
        target: Target {
            l: 16,
            t: 2.269,
            h: 0.0,
            j: 1.0,
        },
        spec,
        z2: false,
        objective: Objective::ReverseKl,
        beta_anneal: 0.998,
        clip_grad: Some(1.0),
        data: None,
        test_fraction: 0.1,
        init_from: None,
        augment: false,
    };
    let common = Common {
        seed: 1,
        threads: 1,
        progress: ProgressMode::Never,
        quiet: true,
    };
    let step_time = |pool_threads: usize| -> f64 {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(pool_threads)
            .build()
            .unwrap();
        pool.install(|| 1.0 / train(&cfg, &common).unwrap().steps_per_s)
    };
    let (step1, step_all) = (step_time(1), step_time(threads));
    println!("  phasekit reverse-KL step (sampling + forward + backward + Adam): 1 thread {step1:.3} s, {threads} threads {step_all:.3} s");
    match std::env::var("SAMPLER_BASELINE").ok() {
        Some(b) => {
            let f: Vec<&str> = b.split_whitespace().collect();
            let (name, rate_b, step_b): (&str, f64, f64) =
                (f[0], f[1].parse().unwrap(), f[2].parse().unwrap());
            println!("  {name} VAN-style, 1 thread: sample() {rate_b:.1} configurations/s, step {step_b:.2} s");
            println!(
                "  -> sampling phasekit/{name} = {:.0}x, training step = {:.1}x (both 1 thread)",
                one / rate_b,
                step_b / step1
            );
        }
        None => println!("  (baseline not run: use `make bench-sampler`)"),
    }
}
