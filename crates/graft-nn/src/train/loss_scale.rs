//! Dynamic loss scaling for fp16 training. fp16 gradients below 2^-24 flush to zero, so the
//! loss is multiplied by a large factor before the backward pass and the gradients divided by it
//! before the update; a step whose gradients overflowed is skipped and the factor halved, and
//! after a run of good steps it is doubled again.
//!
//! The state is plain numbers kept in the trainer's [`crate::train::engine::Progress`], so a
//! resumed run continues with the scale it had. The unscale-and-check and the update are
//! libtorch's own `_amp_foreach_non_finite_check_and_unscale_` and `_amp_update_scale_`, the
//! kernels behind `torch.amp.GradScaler`, with its defaults.

use crate::train::params::Param;
use crate::Result;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

/// `torch.amp.GradScaler`'s defaults: initial scale 2^16, ×2 after 2,000 good steps, ×0.5
/// after an overflow.
const INIT_SCALE: f64 = 65536.0;
const GROWTH_FACTOR: f64 = 2.0;
const BACKOFF_FACTOR: f64 = 0.5;
const GROWTH_INTERVAL: i64 = 2000;
/// fp16's smallest subnormal: a scale below it means every step has overflowed for dozens of
/// steps in a row, and no update has gone through.
const MIN_SCALE: f64 = 1.0 / (1u64 << 24) as f64;

/// Dynamic loss scaling (Micikevicius et al. 2018, "Mixed Precision Training", §3.2, with the
/// automatic scale of its footnote as `torch.amp.GradScaler` implements it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LossScale {
    /// The factor the loss is multiplied by.
    pub scale: f64,
    /// Good steps in a row since the scale last changed.
    pub good_steps: i64,
    /// Steps skipped because their gradients overflowed, over the whole run.
    pub skipped_steps: u64,
    /// Steps whose update went through, over the whole run.
    #[serde(default)]
    pub applied_steps: u64,
}

impl Default for LossScale {
    fn default() -> Self {
        LossScale::with_scale(INIT_SCALE)
    }
}

impl LossScale {
    /// Why a run whose scale [`LossScale::collapsed`] stops.
    pub const COLLAPSED: &'static str = "fp16 gradients overflowed on every step until the loss \
        scale fell below 2^-24: nothing has been learned since. Train at bf16 or fp32, or lower \
        --lr";

    pub fn with_scale(scale: f64) -> Self {
        LossScale {
            scale,
            good_steps: 0,
            skipped_steps: 0,
            applied_steps: 0,
        }
    }

    /// Whether the scale has fallen so low that training no longer moves (below 2^-24, as `GradScaler` never goes).
    pub fn collapsed(&self) -> bool {
        self.scale < MIN_SCALE
    }

    /// The state a run at `precision` starts or resumes with: `saved` (the checkpoint's) when
    /// the precision scales its loss, a fresh scale when there is none, none otherwise.
    pub fn for_precision(
        saved: Option<LossScale>,
        precision: crate::precision::Precision,
    ) -> Option<LossScale> {
        precision
            .needs_loss_scaling()
            .then(|| saved.unwrap_or_default())
    }

    /// Runs the backward pass of `loss` scaled, divides the gradients of `params` back, and
    /// says whether they are all finite (the update may be applied). The scale is then updated
    /// as `GradScaler.update` does: halved after an overflow, doubled after
    /// 2,000 good steps in a row.
    pub fn backward(&mut self, loss: &Tensor, params: &[Param], device: Device) -> Result<bool> {
        let scale = Tensor::from_slice(&[self.scale as f32]).f_to_device(device)?;
        loss.f_mul(&scale)?.f_backward()?;
        let inv_scale = Tensor::from_slice(&[(1.0 / self.scale) as f32]).f_to_device(device)?;
        let mut found_inf = Tensor::f_zeros([1], (Kind::Float, device))?;
        tch::no_grad(|| -> Result<()> {
            for p in params {
                let mut g = p.tensor.grad();
                if g.defined() {
                    g.f_internal_amp_non_finite_check_and_unscale(&mut found_inf, &inv_scale)?;
                }
            }
            Ok(())
        })?;
        let finite = found_inf.double_value(&[0]) == 0.0;
        let tracker = Tensor::from_slice(&[self.good_steps as i32]).f_to_device(device)?;
        let mut scale = scale;
        let _ = scale.f_internal_amp_update_scale_(
            &tracker,
            &found_inf,
            GROWTH_FACTOR,
            BACKOFF_FACTOR,
            GROWTH_INTERVAL,
        )?;
        self.scale = scale.double_value(&[0]);
        self.good_steps = tracker.int64_value(&[0]);
        if finite {
            self.applied_steps += 1;
        } else {
            self.skipped_steps += 1;
        }
        Ok(finite)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn::VarStore;

    fn param(vs: &VarStore, name: &str, value: f32) -> Param {
        let t = vs
            .root()
            .var(name, &[2], tch::nn::Init::Const(value as f64));
        Param {
            name: name.into(),
            tensor: t,
            stage: None,
            lr: 1.0,
            weight_decay: true,
        }
    }

    #[test]
    fn gradients_come_back_unscaled_and_overflow_skips_and_halves() {
        let vs = VarStore::new(Device::Cpu);
        let p = param(&vs, "w", 3.0);
        let params = vec![p];
        let mut ls = LossScale::default();
        // d/dw sum(w^2) = 2w = 6, whatever the scale.
        let loss = params[0].tensor.square().sum(Kind::Float);
        assert!(ls.backward(&loss, &params, Device::Cpu).unwrap());
        let g = Vec::<f32>::try_from(params[0].tensor.grad()).unwrap();
        assert_eq!(g, vec![6.0, 6.0]);
        assert_eq!(
            (ls.scale, ls.good_steps, ls.applied_steps),
            (INIT_SCALE, 1, 1)
        );

        // A gradient of 1e35 times 2^16 overflows float32: the step is flagged and the scale
        // halves, the good-step count restarts.
        let _ = params[0].tensor.grad().zero_();
        let loss = params[0].tensor.sum(Kind::Float) * 1e35;
        assert!(!ls.backward(&loss, &params, Device::Cpu).unwrap());
        assert_eq!((ls.scale, ls.good_steps), (INIT_SCALE / 2.0, 0));
        assert_eq!((ls.skipped_steps, ls.applied_steps), (1, 1));
    }

    #[test]
    fn a_collapsed_scale_is_seen_and_resume_matches_the_precision() {
        use crate::precision::Precision;
        assert!(!LossScale::default().collapsed());
        assert!(LossScale::with_scale(MIN_SCALE / 2.0).collapsed());
        let saved = LossScale::with_scale(8.0);
        assert_eq!(
            LossScale::for_precision(Some(saved.clone()), Precision::Fp16),
            Some(saved.clone())
        );
        assert_eq!(
            LossScale::for_precision(None, Precision::Fp16),
            Some(LossScale::default())
        );
        assert_eq!(LossScale::for_precision(Some(saved), Precision::Bf16), None);
    }

    #[test]
    fn scale_doubles_after_the_growth_interval() {
        let vs = VarStore::new(Device::Cpu);
        let params = vec![param(&vs, "w", 1.0)];
        let mut ls = LossScale {
            good_steps: GROWTH_INTERVAL - 1,
            ..LossScale::with_scale(4.0)
        };
        let loss = params[0].tensor.sum(Kind::Float);
        assert!(ls.backward(&loss, &params, Device::Cpu).unwrap());
        assert_eq!((ls.scale, ls.good_steps), (8.0, 0));
    }
}
