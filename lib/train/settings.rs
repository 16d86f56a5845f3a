//! The settings of a training run, and the flags every training tool takes
//! to make them.

use std::path::{Path, PathBuf};

use crate::cli::{require_nonzero, require_positive};
use crate::runtime::Device;

/// Learning-rate schedule of the training tools.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Schedule {
    /// decay to 0 along a half cosine
    Cosine,
    Constant,
}

/// How a training run goes, whatever the network.
#[derive(Clone, Debug)]
pub struct RunSettings {
    pub steps: usize,
    pub batch: usize,
    pub lr: f64,
    /// cosine decay of the learning rate to 0 over `steps` (else constant)
    pub cosine: bool,
    pub device: Device,
    pub eval_every: usize,
    pub checkpoint: Option<PathBuf>,
    pub checkpoint_every: usize,
    pub resume: Option<PathBuf>,
}

impl RunSettings {
    pub fn lr_at(&self, step: usize) -> f64 {
        if self.cosine {
            self.lr * 0.5 * (1.0 + (std::f64::consts::PI * step as f64 / self.steps as f64).cos())
        } else {
            self.lr
        }
    }
}

/// Flags every training tool takes (`#[command(flatten)]`). The learning
/// rate and batch size stay with each tool: their defaults differ.
#[derive(Clone, Debug, clap::Args)]
pub struct TrainFlags {
    #[arg(long, default_value_t = 2000)]
    pub steps: usize,
    /// Learning-rate schedule over the run.
    #[arg(long, value_enum, default_value_t = Schedule::Cosine)]
    pub lr_schedule: Schedule,
    /// Training (burn) and inference (ONNX Runtime) device.
    #[arg(long, value_enum, default_value_t = Device::Cpu)]
    pub device: Device,
    /// Steps between test-loss evaluations.
    #[arg(long, default_value_t = 100)]
    pub eval_every: usize,
    /// Checkpoint file [default: --out-model with .ckpt, none when --out-model is -]; written every --checkpoint-every steps.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    #[arg(long, default_value_t = 500)]
    pub checkpoint_every: usize,
    /// Continue training from a checkpoint.
    #[arg(long)]
    pub resume: Option<PathBuf>,
}

impl TrainFlags {
    /// The run's settings with the tool's `--lr` and `--batch`, checked;
    /// checkpoints default to `out_model` with the extension .ckpt (none for `-`).
    pub fn settings(&self, lr: f64, batch: usize, out_model: &Path) -> anyhow::Result<RunSettings> {
        require_nonzero(&[
            ("--steps", self.steps),
            ("--batch", batch),
            ("--eval-every", self.eval_every),
            ("--checkpoint-every", self.checkpoint_every),
        ])?;
        require_positive("--lr", lr)?;
        Ok(RunSettings {
            steps: self.steps,
            batch,
            lr,
            cosine: self.lr_schedule == Schedule::Cosine,
            device: self.device,
            eval_every: self.eval_every,
            checkpoint: self.checkpoint.clone().or_else(|| {
                (!crate::io::is_stdio(out_model)).then(|| out_model.with_extension("ckpt"))
            }),
            checkpoint_every: self.checkpoint_every,
            resume: self.resume.clone(),
        })
    }
}
