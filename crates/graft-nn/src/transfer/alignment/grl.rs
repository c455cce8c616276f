//! The gradient reversal layer and the schedules of its coefficient. libtorch through tch has no
//! custom autograd functions, so the reversal is written with a detached copy: the forward value
//! is `x` itself and only the gradient path carries `-coeff`.

use crate::transfer::check;
use crate::Result;
use serde::{Deserialize, Serialize};
use tch::Tensor;

/// Ganin & Lempitsky 2015, sec. 3.2, the gradient reversal layer: `R(x) = x` forward, `dR/dx =
/// -coeff * I` backward.
///
/// Computed as `x.detach() - (x - x.detach()) * coeff`: the bracket is exactly zero, so the
/// forward value is bit-for-bit `x`, and the gradient is `-coeff * grad` exactly, as PyTorch's
/// `GradientReverseFunction` gives it.
pub fn grad_reverse(x: &Tensor, coeff: f64) -> Result<Tensor> {
    check::param("gradient reversal", "coeff", coeff, true, "a finite number")?;
    let d = x.f_detach()?;
    Ok(d.f_sub(&x.f_sub(&d)?.f_mul_scalar(coeff)?)?)
}

/// Ganin & Lempitsky 2015, sec. 4, the adaptation factor: `lambda(p) = 2 / (1 + exp(-gamma p)) -
/// 1`, `p` the training progress in [0, 1] (gamma = 10 in the paper), so the domain signal is
/// damped while the classifier is still noisy.
pub fn dann_lambda(progress: f64, gamma: f64) -> f64 {
    2.0 / (1.0 + (-gamma * progress).exp()) - 1.0
}

/// How the reversal coefficient grows over training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum GrlSchedule {
    /// The same coefficient at every step.
    Constant { coeff: f64 },
    /// DANN's [`dann_lambda`] of the progress `step / total_steps`.
    Dann { gamma: f64 },
    /// TLlib's `WarmStartGradientReverseLayer`:
    /// `2 (hi - lo) / (1 + exp(-alpha * step / max_iters)) - (hi - lo) + lo`, independent of the
    /// run's length.
    WarmStart {
        alpha: f64,
        lo: f64,
        hi: f64,
        max_iters: usize,
    },
}

impl GrlSchedule {
    /// DANN's schedule with the paper's gamma = 10.
    pub fn dann() -> Self {
        GrlSchedule::Dann { gamma: 10.0 }
    }

    /// TLlib's defaults for DANN and CDAN (alpha 1, from 0 to 1 over 1000 iterations).
    pub fn warm_start() -> Self {
        GrlSchedule::WarmStart {
            alpha: 1.0,
            lo: 0.0,
            hi: 1.0,
            max_iters: 1000,
        }
    }

    /// TLlib's MDD schedule: warm start from 0 towards 0.1.
    pub fn mdd() -> Self {
        GrlSchedule::WarmStart {
            alpha: 1.0,
            lo: 0.0,
            hi: 0.1,
            max_iters: 1000,
        }
    }

    /// The coefficient at `step` (0-based) of a run of `total_steps`.
    pub fn coeff(&self, step: usize, total_steps: usize) -> f64 {
        match *self {
            GrlSchedule::Constant { coeff } => coeff,
            GrlSchedule::Dann { gamma } => {
                dann_lambda(step as f64 / total_steps.max(1) as f64, gamma)
            }
            GrlSchedule::WarmStart {
                alpha,
                lo,
                hi,
                max_iters,
            } => {
                let span = hi - lo;
                let x = -alpha * step as f64 / max_iters.max(1) as f64;
                2.0 * span / (1.0 + x.exp()) - span + lo
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    #[test]
    fn forward_is_identity_and_gradient_is_reversed() {
        let x = Tensor::from_slice(&[1.5f32, -2.25, 3.0e-3, 7.0]).set_requires_grad(true);
        let y = grad_reverse(&x, 0.37).unwrap();
        assert_eq!(
            Vec::<f32>::try_from(&y).unwrap(),
            vec![1.5, -2.25, 3.0e-3, 7.0]
        );
        let up = Tensor::from_slice(&[1.0f32, 2.0, -3.0, 0.5]);
        (&y * &up).sum(Kind::Float).backward();
        let g = Vec::<f32>::try_from(x.grad()).unwrap();
        for (gi, ui) in g.iter().zip([1.0f32, 2.0, -3.0, 0.5]) {
            assert_eq!(*gi, -(ui * 0.37f32), "gradient must be -coeff * upstream");
        }
    }

    #[test]
    fn schedules_follow_their_formulas() {
        assert!(dann_lambda(0.0, 10.0).abs() < 1e-12);
        assert!((dann_lambda(1.0, 10.0) - 0.999_909_204_262_595).abs() < 1e-12);
        let s = GrlSchedule::dann();
        assert!((s.coeff(50, 100) - dann_lambda(0.5, 10.0)).abs() < 1e-15);
        let w = GrlSchedule::warm_start();
        assert_eq!(w.coeff(0, 10), 0.0);
        // TLlib: 2 / (1 + exp(-1)) - 1 at i = max_iters.
        assert!((w.coeff(1000, 0) - 0.462_117_157_260_009_8).abs() < 1e-12);
        assert!((GrlSchedule::mdd().coeff(1000, 0) - 0.046_211_715_726_000_98).abs() < 1e-12);
        assert_eq!(GrlSchedule::Constant { coeff: 0.3 }.coeff(7, 9), 0.3);
    }

    #[test]
    fn rejects_a_non_finite_coefficient() {
        let x = Tensor::from_slice(&[1.0f32]);
        assert!(grad_reverse(&x, f64::NAN).is_err());
    }
}
