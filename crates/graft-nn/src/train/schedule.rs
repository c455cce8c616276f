//! Learning-rate schedules as a factor of each group's base rate, a function of the global
//! step only, so a resumed run takes up the schedule where it stopped.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum Schedule {
    Constant,
    /// Half-cosine from 1 to `min_factor` over the steps after warm-up (SGDR without restarts,
    /// Loshchilov & Hutter 2017, eq. 5).
    Cosine {
        min_factor: f64,
    },
    /// Multiply by `gamma` every `every_epochs` epochs (torch's StepLR).
    Step {
        every_epochs: usize,
        gamma: f64,
    },
}

/// A schedule with linear warm-up over its first `warmup_steps` steps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LrSchedule {
    pub schedule: Schedule,
    pub warmup_steps: usize,
    pub total_steps: usize,
    pub steps_per_epoch: usize,
}

impl LrSchedule {
    /// Factor for the update that follows `step` completed steps.
    pub fn factor(&self, step: usize) -> f64 {
        if step < self.warmup_steps {
            return (step + 1) as f64 / self.warmup_steps as f64;
        }
        match self.schedule {
            Schedule::Constant => 1.0,
            Schedule::Cosine { min_factor } => {
                let span = self.total_steps.saturating_sub(self.warmup_steps).max(1);
                let p = ((step - self.warmup_steps) as f64 / span as f64).min(1.0);
                min_factor + (1.0 - min_factor) * 0.5 * (1.0 + (std::f64::consts::PI * p).cos())
            }
            Schedule::Step {
                every_epochs,
                gamma,
            } => {
                let epoch = step / self.steps_per_epoch.max(1);
                gamma.powi((epoch / every_epochs.max(1)) as i32)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_then_cosine_to_the_floor() {
        let s = LrSchedule {
            schedule: Schedule::Cosine { min_factor: 0.0 },
            warmup_steps: 10,
            total_steps: 110,
            steps_per_epoch: 11,
        };
        assert!((s.factor(0) - 0.1).abs() < 1e-12);
        assert!((s.factor(9) - 1.0).abs() < 1e-12);
        assert!((s.factor(10) - 1.0).abs() < 1e-12);
        assert!((s.factor(60) - 0.5).abs() < 1e-12);
        assert!(s.factor(109) < 0.001);
    }

    #[test]
    fn step_schedule_drops_every_k_epochs() {
        let s = LrSchedule {
            schedule: Schedule::Step {
                every_epochs: 2,
                gamma: 0.1,
            },
            warmup_steps: 0,
            total_steps: 100,
            steps_per_epoch: 10,
        };
        assert_eq!(s.factor(19), 1.0);
        assert!((s.factor(20) - 0.1).abs() < 1e-12);
        assert!((s.factor(45) - 0.01).abs() < 1e-12);
    }
}
