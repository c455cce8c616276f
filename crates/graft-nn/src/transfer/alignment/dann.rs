//! The domain-adversarial loss of DANN: a discriminator learns to tell source from target
//! features while, through the gradient reversal layer, the feature extractor learns to fool it.

use crate::transfer::alignment::discriminator::DomainDiscriminator;
use crate::transfer::alignment::grl::grad_reverse;
use crate::transfer::check;
use crate::Result;
use tch::{Kind, Reduction, Tensor};

/// A domain-adversarial term and how well the discriminator currently separates the domains
/// (near 0.5 once the features are domain-invariant).
#[derive(Debug)]
pub struct AdversarialOutput {
    pub loss: Tensor,
    pub domain_accuracy: f64,
}

/// Mean binary cross-entropy of logits against a constant label, optionally weighted per sample.
pub(crate) fn bce_logits(
    loss: &str,
    what: &str,
    d: &Tensor,
    label: f64,
    w: Option<&Tensor>,
) -> Result<Tensor> {
    let d = check::logit_vector(loss, what, d)?;
    let target = d.f_full_like(label)?;
    let w = match w {
        Some(w) => Some(check::weights(
            loss,
            &format!("{what} weights"),
            w,
            d.size()[0],
            &d,
        )?),
        None => None,
    };
    Ok(d.f_binary_cross_entropy_with_logits(&target, w.as_ref(), None, Reduction::Mean)?)
}

/// Ganin & Lempitsky 2015, eq. 1, the domain term L_d (TLlib `DomainAdversarialLoss`):
/// `0.5 * [mean_i w_i BCE(d_s_i, 1) + mean_j w_j BCE(d_t_j, 0)]` on discriminator logits, source
/// labelled 1 and target 0. The weights rescale samples (importance weights, as in TLlib).
pub fn dann_loss(
    d_s: &Tensor,
    d_t: &Tensor,
    w_s: Option<&Tensor>,
    w_t: Option<&Tensor>,
) -> Result<Tensor> {
    let ls = bce_logits("DANN loss", "source logits", d_s, 1.0, w_s)?;
    let lt = bce_logits("DANN loss", "target logits", d_t, 0.0, w_t)?;
    Ok(ls.f_add(&lt)?.f_mul_scalar(0.5)?)
}

/// TLlib's `binary_accuracy` averaged over the two domains, as a fraction: a source sample is
/// right when its logit is >= 0 (sigmoid >= 0.5), a target sample when it is < 0.
pub fn domain_accuracy(d_s: &Tensor, d_t: &Tensor) -> Result<f64> {
    let s = check::logit_vector("domain accuracy", "source logits", d_s)?;
    let t = check::logit_vector("domain accuracy", "target logits", d_t)?;
    let acc_s = s.f_ge(0.0)?.f_to_kind(Kind::Double)?.f_mean(Kind::Double)?;
    let acc_t = t.f_lt(0.0)?.f_to_kind(Kind::Double)?.f_mean(Kind::Double)?;
    Ok(0.5 * (acc_s.double_value(&[]) + acc_t.double_value(&[])))
}

/// The whole DANN term for one step: source and target features go through the gradient
/// reversal (coefficient `coeff`, see [`crate::transfer::GrlSchedule`]) and the discriminator as
/// one batch, in training mode. Minimising the returned loss trains the discriminator and,
/// reversed, the features.
pub fn domain_adversarial(
    disc: &DomainDiscriminator,
    f_s: &Tensor,
    f_t: &Tensor,
    coeff: f64,
    w_s: Option<&Tensor>,
    w_t: Option<&Tensor>,
) -> Result<AdversarialOutput> {
    let (ns, ds) = check::matrix("DANN", "source features", f_s, 1)?;
    let (nt, dt) = check::matrix("DANN", "target features", f_t, 1)?;
    check::same_width("DANN", ("source features", ds), ("target features", dt))?;
    let f = grad_reverse(&Tensor::f_cat(&[f_s, f_t], 0)?, coeff)?;
    let d = disc.forward(&f, true)?;
    let (d_s, d_t) = (d.f_narrow(0, 0, ns)?, d.f_narrow(0, ns, nt)?);
    let domain_accuracy = domain_accuracy(&d_s, &d_t)?;
    Ok(AdversarialOutput {
        loss: dann_loss(&d_s, &d_t, w_s, w_t)?,
        domain_accuracy,
    })
}
