//! What every training loop does once a step's loss is known: stop on a
//! non-finite loss, set the scheduled learning rate, update with Adam, log,
//! evaluate the test loss at intervals, checkpoint, show progress.

use anyhow::Result;
use indicatif::ProgressBar;
use serde_json::json;

use super::settings::RunSettings;
use crate::contract::trainlog::{self, LogRow};
use crate::nn::burn_exec::{Adam, Loss, Net, TrainDevice};
use crate::nn::program::{ParamData, Program};

/// The test loss of the network as it stands.
pub type TestLoss<'a> = &'a dyn Fn(&Net) -> Result<f64>;

/// The log of a run and its running figures.
pub struct Tracker {
    pub log: Vec<LogRow>,
    pub last_test: f64,
    /// state a tool keeps beside the weights (batch-norm statistics, say):
    /// saved with each checkpoint, restored by `--resume`
    pub state: serde_json::Value,
    ema: f64,
}

impl Tracker {
    /// The network built from `init` on `device`, its Adam optimiser and a
    /// fresh tracker; or, with `--resume`, the weights, Adam state and log of
    /// the checkpoint [`Tracker::after_loss`] wrote. The checkpoint must hold
    /// a network built from `spec`; `mismatch` says what else it may have
    /// been trained with.
    pub fn begin(
        s: &RunSettings,
        program: Program,
        init: Vec<ParamData>,
        device: &TrainDevice,
        spec: &serde_json::Value,
        mismatch: &str,
    ) -> Result<(Net, Adam, Tracker)> {
        let mut net = Net::new(program, init, device);
        let mut adam = Adam::new(&net, s.lr);
        let mut log = Vec::new();
        let mut state = serde_json::Value::Null;
        if let Some(path) = &s.resume {
            let extra = adam.load_checkpoint(&mut net, path)?;
            if extra.get("spec") != Some(spec) {
                crate::bail_input!(
                    "--resume {}: the checkpoint was trained with {mismatch}",
                    path.display()
                );
            }
            log = trainlog::from_json(extra.get("log"));
            state = extra.get("state").cloned().unwrap_or_default();
        }
        let tracker = Tracker {
            log,
            last_test: f64::NAN,
            state,
            ema: f64::NAN,
        };
        Ok((net, adam, tracker))
    }

    /// Finish step `step` (0-based) whose training loss is `loss`. `test`
    /// computes the test loss (None: no test set); `spec` goes into checkpoints.
    #[allow(clippy::too_many_arguments)]
    pub fn after_loss(
        &mut self,
        s: &RunSettings,
        step: usize,
        loss: Loss,
        adam: &mut Adam,
        net: &mut Net,
        test: Option<TestLoss>,
        spec: &serde_json::Value,
        bar: &ProgressBar,
    ) -> Result<()> {
        let lv = loss.value()?;
        self.after_step(s, step, loss, lv, adam, net, test, spec, bar)
    }

    /// As [`Tracker::after_loss`] for a surrogate loss (REINFORCE) whose own
    /// value means nothing: `logged` is what the log and the bar show.
    #[allow(clippy::too_many_arguments)]
    pub fn after_step(
        &mut self,
        s: &RunSettings,
        step: usize,
        loss: Loss,
        lv: f64,
        adam: &mut Adam,
        net: &mut Net,
        test: Option<TestLoss>,
        spec: &serde_json::Value,
        bar: &ProgressBar,
    ) -> Result<()> {
        if !lv.is_finite() {
            anyhow::bail!("training diverged at step {step} (loss {lv}); lower --lr");
        }
        adam.lr = s.lr_at(step);
        adam.step(net, loss)?;
        let done_steps = step as u64 + 1;
        self.log.push(LogRow {
            step: done_steps,
            test: false,
            loss: lv,
        });
        self.ema = if self.ema.is_nan() {
            lv
        } else {
            0.95 * self.ema + 0.05 * lv
        };
        let done = step + 1 == s.steps;
        if let Some(test) = test {
            if (step + 1).is_multiple_of(s.eval_every) || done {
                self.last_test = test(net)?;
                self.log.push(LogRow {
                    step: done_steps,
                    test: true,
                    loss: self.last_test,
                });
            }
        }
        if let Some(ck) = &s.checkpoint {
            if (step + 1).is_multiple_of(s.checkpoint_every) || done {
                let mut extra = json!({"spec": spec, "log": trainlog::to_json(&self.log)});
                if !self.state.is_null() {
                    extra["state"] = self.state.clone();
                }
                adam.save_checkpoint(net, ck, &extra)?;
            }
        }
        bar.set_message(format!("train {:.4} test {:.4}", self.ema, self.last_test));
        bar.inc(1);
        Ok(())
    }
}
