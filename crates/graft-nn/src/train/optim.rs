//! Optimisers with PyTorch's exact update rules, written over tensors so that their state is
//! plain named tensors: it goes into the checkpoint and a resumed run continues bit for bit.

use crate::train::loss_scale::LossScale;
use crate::train::params::Param;
use crate::{NnError, Result};
use serde::{Deserialize, Serialize};
use tch::Tensor;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum OptimizerSpec {
    /// torch.optim.SGD: coupled weight decay, momentum buffer seeded with the first gradient.
    Sgd {
        momentum: f64,
        nesterov: bool,
        weight_decay: f64,
    },
    /// torch.optim.AdamW (Loshchilov & Hutter 2019, Alg. 2): decoupled weight decay.
    AdamW {
        beta1: f64,
        beta2: f64,
        eps: f64,
        weight_decay: f64,
    },
}

impl OptimizerSpec {
    pub fn sgd(momentum: f64, weight_decay: f64) -> Self {
        OptimizerSpec::Sgd {
            momentum,
            nesterov: false,
            weight_decay,
        }
    }

    pub fn adamw(weight_decay: f64) -> Self {
        OptimizerSpec::AdamW {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay,
        }
    }
}

/// An optimiser over a fixed list of parameters; `state[i]` holds parameter i's buffers
/// (momentum; or first and second moments).
#[derive(Debug)]
pub struct Optimizer {
    pub spec: OptimizerSpec,
    state: Vec<Vec<Tensor>>,
    pub steps: i64,
}

impl Optimizer {
    pub fn new(spec: OptimizerSpec, params: &[Param]) -> Result<Self> {
        let n_buffers = match spec {
            OptimizerSpec::Sgd { momentum: 0.0, .. } => 0,
            OptimizerSpec::Sgd { .. } => 1,
            OptimizerSpec::AdamW { .. } => 2,
        };
        let state = params
            .iter()
            .map(|p| {
                (0..n_buffers)
                    .map(|_| p.tensor.f_zeros_like())
                    .collect::<std::result::Result<Vec<_>, _>>()
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(Optimizer {
            spec,
            state,
            steps: 0,
        })
    }

    /// One update of every parameter that has a gradient; `lr_factor` is the schedule's.
    pub fn step(&mut self, params: &[Param], lr_factor: f64) -> Result<()> {
        self.steps += 1;
        let t = self.steps;
        tch::no_grad(|| -> Result<()> {
            for (p, buf) in params.iter().zip(self.state.iter_mut()) {
                let g = p.tensor.grad();
                if !g.defined() {
                    continue;
                }
                let lr = p.lr * lr_factor;
                let mut w = p.tensor.shallow_clone();
                match self.spec {
                    OptimizerSpec::Sgd {
                        momentum,
                        nesterov,
                        weight_decay,
                    } => {
                        let mut d = if weight_decay != 0.0 && p.weight_decay {
                            g.f_add(&w.f_mul_scalar(weight_decay)?)?
                        } else {
                            g.shallow_clone()
                        };
                        if momentum != 0.0 {
                            let b = &mut buf[0];
                            if t == 1 {
                                b.f_copy_(&d)?;
                            } else {
                                let _ = b.f_mul_scalar_(momentum)?.f_add_(&d)?;
                            }
                            d = if nesterov {
                                d.f_add(&b.f_mul_scalar(momentum)?)?
                            } else {
                                b.shallow_clone()
                            };
                        }
                        let _ = w.f_sub_(&d.f_mul_scalar(lr)?)?;
                    }
                    OptimizerSpec::AdamW {
                        beta1,
                        beta2,
                        eps,
                        weight_decay,
                    } => {
                        if weight_decay != 0.0 && p.weight_decay {
                            let _ = w.f_mul_scalar_(1.0 - lr * weight_decay)?;
                        }
                        let (m, v) = buf.split_at_mut(1);
                        let (m, v) = (&mut m[0], &mut v[0]);
                        let _ = m
                            .f_mul_scalar_(beta1)?
                            .f_add_(&g.f_mul_scalar(1.0 - beta1)?)?;
                        let _ = v
                            .f_mul_scalar_(beta2)?
                            .f_addcmul_(&g, &g.f_mul_scalar(1.0 - beta2)?)?;
                        let bc1 = 1.0 - beta1.powi(t as i32);
                        let bc2 = 1.0 - beta2.powi(t as i32);
                        let denom = v.f_sqrt()?.f_div_scalar(bc2.sqrt())?.f_add_scalar(eps)?;
                        let _ = w.f_sub_(&m.f_div(&denom)?.f_mul_scalar(lr / bc1)?)?;
                    }
                }
            }
            Ok(())
        })
    }

    /// Clears every parameter's gradient.
    pub fn zero_grad(params: &[Param]) {
        for p in params {
            let mut g = p.tensor.grad();
            if g.defined() {
                let _ = g.detach_().zero_();
            }
        }
    }

    /// The buffers as named tensors (`optim.<param>.<i>`), plus the step count, for checkpoints.
    pub fn state_tensors(&self, params: &[Param]) -> Vec<(String, Tensor)> {
        let mut out = vec![("optim.steps".to_string(), Tensor::from(self.steps))];
        for (p, bufs) in params.iter().zip(&self.state) {
            for (i, b) in bufs.iter().enumerate() {
                out.push((format!("optim.{}.{i}", p.name), b.shallow_clone()));
            }
        }
        out
    }

    /// Restores what [`Optimizer::state_tensors`] saved.
    pub fn load_state(
        &mut self,
        params: &[Param],
        get: &dyn Fn(&str) -> Option<Tensor>,
    ) -> Result<()> {
        let missing = |k: &str| crate::NnError::Invalid(format!("checkpoint lacks `{k}`"));
        self.steps = get("optim.steps")
            .ok_or_else(|| missing("optim.steps"))?
            .int64_value(&[]);
        for (p, bufs) in params.iter().zip(self.state.iter_mut()) {
            for (i, b) in bufs.iter_mut().enumerate() {
                let k = format!("optim.{}.{i}", p.name);
                let t = get(&k).ok_or_else(|| missing(&k))?;
                tch::no_grad(|| b.f_copy_(&t))?;
            }
        }
        Ok(())
    }
}

/// The backward pass of `loss` and one update of `params`, their gradients clipped first to
/// `clip` when set. With a loss scale (fp16) the backward pass runs scaled and a step whose
/// gradients overflowed is skipped, as `GradScaler.step` skips it, and a run whose scale has
/// collapsed stops. `(epoch, step)` place that error. Returns whether the update was applied.
pub(crate) fn backward_and_step(
    opt: &mut Optimizer,
    loss_scale: Option<&mut LossScale>,
    clip: Option<f64>,
    loss: &Tensor,
    params: &[Param],
    lr_factor: f64,
    (epoch, step): (usize, usize),
) -> Result<bool> {
    Optimizer::zero_grad(params);
    let apply = match loss_scale {
        Some(s) => {
            let finite = s.backward(loss, params, loss.device())?;
            if s.collapsed() {
                return Err(NnError::Diverged {
                    epoch,
                    step,
                    what: LossScale::COLLAPSED.into(),
                });
            }
            finite
        }
        None => {
            loss.f_backward()?;
            true
        }
    };
    if apply {
        if let Some(max) = clip {
            clip_grad_norm(params, max)?;
        }
        opt.step(params, lr_factor)?;
    }
    Ok(apply)
}

/// Scales all gradients so that their global L2 norm is at most `max_norm`
/// (torch.nn.utils.clip_grad_norm_); returns the norm before clipping.
pub fn clip_grad_norm(params: &[Param], max_norm: f64) -> Result<f64> {
    let grads: Vec<Tensor> = params
        .iter()
        .map(|p| p.tensor.grad())
        .filter(|g| g.defined())
        .collect();
    if grads.is_empty() {
        return Ok(0.0);
    }
    let norms: Vec<Tensor> = grads
        .iter()
        .map(|g| g.f_norm())
        .collect::<std::result::Result<_, _>>()?;
    let total = Tensor::f_stack(&norms, 0)?.f_norm()?.double_value(&[]);
    let coef = max_norm / (total + 1e-6);
    if coef < 1.0 {
        tch::no_grad(|| -> Result<()> {
            for mut g in grads {
                let _ = g.f_mul_scalar_(coef)?;
            }
            Ok(())
        })?;
    }
    Ok(total)
}
