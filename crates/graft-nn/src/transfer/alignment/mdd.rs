//! Margin disparity discrepancy: an adversarial classifier head is trained (through the gradient
//! reversal) to disagree with the main head on the target while agreeing on the source; the
//! features learn to make that impossible.

use crate::models::layers::Linear;
use crate::transfer::check;
use crate::{NnError, Result};
use tch::nn::{Init, Path};
use tch::Tensor;

/// The margin gamma of TLlib's `ClassificationMarginDisparityDiscrepancy`.
pub const DEFAULT_MARGIN: f64 = 4.0;

/// Zhang et al. 2019 (MDD), sec. 5, the cross-entropy form of D_gamma (TLlib
/// `ClassificationMarginDisparityDiscrepancy`): `mean_s[-gamma * w_s * CE(y_s_adv, argmax y_s)] +
/// mean_t[w_t * log(1 - softmax(y_t_adv)[argmax y_t])]`, the log shifted by 1e-6 and clamped at 0
/// as TLlib's `shift_log`. The argmax labels carry no gradient, so only the adversarial logits
/// receive one.
///
/// This is the discrepancy itself; the training objective adds `-trade_off * mdd` with the
/// adversarial head behind a gradient reversal ([`crate::transfer::GrlSchedule::mdd`]), as TLlib
/// does. For equal batch sizes the value equals TLlib's mean over `source + target` terms.
pub fn mdd_loss(
    y_s: &Tensor,
    y_s_adv: &Tensor,
    y_t: &Tensor,
    y_t_adv: &Tensor,
    margin: f64,
    w_s: Option<&Tensor>,
    w_t: Option<&Tensor>,
) -> Result<Tensor> {
    const LOSS: &str = "MDD";
    check::param(LOSS, "margin", margin, margin > 0.0, "a positive number")?;
    let (ns, cs) = check::matrix(LOSS, "source logits", y_s, 1)?;
    let (nsa, csa) = check::matrix(LOSS, "adversarial source logits", y_s_adv, 1)?;
    let (nt, ct) = check::matrix(LOSS, "target logits", y_t, 1)?;
    let (nta, cta) = check::matrix(LOSS, "adversarial target logits", y_t_adv, 1)?;
    if ns != nsa || nt != nta || cs != csa || ct != cta || cs != ct {
        return Err(NnError::Invalid(format!(
            "MDD: the main and adversarial logits must have the same shape per domain and the \
             same classes; got source {:?} / {:?}, target {:?} / {:?}",
            y_s.size(),
            y_s_adv.size(),
            y_t.size(),
            y_t_adv.size()
        )));
    }
    let pred_s = y_s.f_argmax(1, true)?;
    let ce_s = y_s_adv
        .f_log_softmax(1, y_s_adv.kind())?
        .f_gather(1, &pred_s, false)?
        .f_reshape([ns])?
        .f_neg()?;
    let mut source = ce_s.f_mul_scalar(-margin)?;
    if let Some(w) = w_s {
        source = source.f_mul(&check::weights(LOSS, "source weights", w, ns, &source)?)?;
    }
    let pred_t = y_t.f_argmax(1, true)?;
    let mut target = y_t_adv
        .f_softmax(1, y_t_adv.kind())?
        .f_neg()?
        .f_add_scalar(1.0)?
        .f_add_scalar(1e-6)?
        .f_clamp_max(1.0)?
        .f_log()?
        .f_gather(1, &pred_t, false)?
        .f_reshape([nt])?;
    if let Some(w) = w_t {
        target = target.f_mul(&check::weights(LOSS, "target weights", w, nt, &target)?)?;
    }
    Ok(source
        .f_mean(source.kind())?
        .f_add(&target.f_mean(target.kind())?)?)
}

/// TLlib's MDD classifier head (used for both the main and the adversarial head):
/// Linear-ReLU-Dropout(0.5)-Linear, weights drawn from N(0, 0.01), biases zero; key names `0.`
/// and `3.` as in TLlib's `nn.Sequential`.
#[derive(Debug)]
pub struct MddHead {
    fc1: Linear,
    fc2: Linear,
}

impl MddHead {
    /// TLlib's hidden width.
    pub const DEFAULT_WIDTH: i64 = 1024;

    pub fn new(p: &Path, in_features: i64, width: i64, classes: i64) -> Result<Self> {
        if in_features < 1 || width < 1 || classes < 1 {
            return Err(NnError::Invalid(format!(
                "MDD head: input width, hidden width and classes must be at least 1; got \
                 {in_features}, {width} and {classes}"
            )));
        }
        let linear = |p: &Path, i: i64, o: i64| Linear {
            weight: p.var(
                "weight",
                &[o, i],
                Init::Randn {
                    mean: 0.0,
                    stdev: 0.01,
                },
            ),
            bias: p.var("bias", &[o], Init::Const(0.0)),
        };
        Ok(MddHead {
            fc1: linear(&p.sub("0"), in_features, width),
            fc2: linear(&p.sub("3"), width, classes),
        })
    }

    /// Logits `(N, classes)`; dropout applies when `train`. For the adversarial head, pass the
    /// features through [`crate::transfer::grad_reverse`] first.
    pub fn forward(&self, features: &Tensor, train: bool) -> Result<Tensor> {
        let (_, d) = check::matrix("MDD head", "features", features, 1)?;
        check::same_width(
            "MDD head",
            ("features", d),
            ("its input layer", self.fc1.in_features()),
        )?;
        let h = self
            .fc1
            .forward(features)?
            .f_relu()?
            .f_dropout(0.5, train)?;
        self.fc2.forward(&h)
    }
}
