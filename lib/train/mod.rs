//! The training loop every fitting tool shares: run settings and their flags,
//! the learning-rate schedule, Adam steps, the training log, test-loss
//! evaluations, checkpoints and resuming. What a tool trains (its network,
//! data and loss) stays in that tool's own module.

pub mod settings;
pub mod tracker;

pub use settings::{RunSettings, Schedule, TrainFlags};
pub use tracker::{TestLoss, Tracker};
