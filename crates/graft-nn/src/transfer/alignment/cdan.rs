//! CDAN: the discriminator sees features conditioned on the classifier's predictions (their
//! outer product, or a random projection of it), so that class-conditional distributions are
//! aligned rather than only the marginals; CDAN+E further weights confident samples up.

use crate::transfer::alignment::dann::{domain_accuracy, AdversarialOutput};
use crate::transfer::alignment::discriminator::DomainDiscriminator;
use crate::transfer::alignment::grl::grad_reverse;
use crate::transfer::check;
use crate::{NnError, Result};
use tch::nn::Path;
use tch::{Kind, Reduction, Tensor};

/// Long et al. 2018 (CDAN), sec. 3.2, multilinear conditioning: the map `f ⊗ g`, flattened to `(N,
/// C * F)` with the class index outermost (TLlib's `MultiLinearMap`: `bmm(g.unsqueeze(2),
/// f.unsqueeze(1))`).
pub fn multilinear_map(f: &Tensor, g: &Tensor) -> Result<Tensor> {
    let (n, _) = check::matrix("multilinear map", "features", f, 1)?;
    let (ng, _) = check::matrix("multilinear map", "predictions", g, 1)?;
    if n != ng {
        return Err(NnError::Invalid(format!(
            "multilinear map: features and predictions must have the same number of rows; got \
             {n} and {ng}"
        )));
    }
    Ok(g.f_unsqueeze(2)?
        .f_bmm(&f.f_unsqueeze(1)?)?
        .f_reshape([n, -1])?)
}

/// Long et al. 2018 (CDAN), sec. 3.2, randomized multilinear map
/// `(R_f f) ⊙ (R_g g) / sqrt(d)`, whose inner products approximate those of `f ⊗ g` at a fixed
/// width `d` when `F * C` is too wide for a discriminator.
#[derive(Debug)]
pub struct RandomizedMultilinearMap {
    /// `(F, d)` and `(C, d)` standard normal matrices, drawn once and never trained.
    pub rf: Tensor,
    pub rg: Tensor,
}

impl RandomizedMultilinearMap {
    /// TLlib's output width.
    pub const DEFAULT_OUTPUT_DIM: i64 = 1024;

    /// Draws the two matrices from libtorch's generator (seed it first) and keeps them under `p`
    /// as untrained variables `rf` and `rg`, so that checkpoints carry them and a resumed run
    /// projects exactly as before.
    pub fn new(p: &Path, features_dim: i64, classes: i64, output_dim: i64) -> Result<Self> {
        if features_dim < 1 || classes < 1 || output_dim < 1 {
            return Err(NnError::Invalid(format!(
                "randomized multilinear map: feature width, classes and output width must be at \
                 least 1; got {features_dim}, {classes} and {output_dim}"
            )));
        }
        let opts = (Kind::Float, p.device());
        let rf = p.add(
            "rf",
            Tensor::f_randn([features_dim, output_dim], opts)?,
            false,
        );
        let rg = p.add("rg", Tensor::f_randn([classes, output_dim], opts)?, false);
        Ok(RandomizedMultilinearMap { rf, rg })
    }

    /// A map with given matrices `rf` `(F, d)` and `rg` `(C, d)`.
    pub fn from_matrices(rf: Tensor, rg: Tensor) -> Result<Self> {
        let (_, d) = check::matrix("randomized multilinear map", "rf", &rf, 1)?;
        let (_, dg) = check::matrix("randomized multilinear map", "rg", &rg, 1)?;
        check::same_width("randomized multilinear map", ("rf", d), ("rg", dg))?;
        Ok(RandomizedMultilinearMap { rf, rg })
    }

    pub fn output_dim(&self) -> i64 {
        self.rf.size()[1]
    }

    pub fn forward(&self, f: &Tensor, g: &Tensor) -> Result<Tensor> {
        let (_, fd) = check::matrix("randomized multilinear map", "features", f, 1)?;
        let (_, c) = check::matrix("randomized multilinear map", "predictions", g, 1)?;
        let (rf_rows, rg_rows) = (self.rf.size()[0], self.rg.size()[0]);
        if fd != rf_rows || c != rg_rows {
            return Err(NnError::Invalid(format!(
                "randomized multilinear map: built for {rf_rows}-wide features and {rg_rows} \
                 classes; got {fd}-wide features and {c} classes"
            )));
        }
        let pf = f.f_mm(&self.rf.f_to_kind(f.kind())?)?;
        let pg = g.f_mm(&self.rg.f_to_kind(g.kind())?)?;
        Ok(pf
            .f_mul(&pg)?
            .f_div_scalar((self.output_dim() as f64).sqrt())?)
    }
}

/// How CDAN conditions the features on the predictions.
#[derive(Debug)]
pub enum ConditioningMap {
    Multilinear,
    Randomized(RandomizedMultilinearMap),
}

impl ConditioningMap {
    /// Widest `F * C` the full multilinear map is used for; above it the randomized map (the
    /// CDAN paper's choice: 4096).
    pub const MAX_MULTILINEAR_DIM: i64 = 4096;

    /// The multilinear map when `features_dim * classes` is at most 4096, else the randomized
    /// map of [`RandomizedMultilinearMap::DEFAULT_OUTPUT_DIM`] drawn under `p`.
    pub fn auto(p: &Path, features_dim: i64, classes: i64) -> Result<Self> {
        if features_dim * classes <= Self::MAX_MULTILINEAR_DIM {
            Ok(ConditioningMap::Multilinear)
        } else {
            Ok(ConditioningMap::Randomized(RandomizedMultilinearMap::new(
                p,
                features_dim,
                classes,
                RandomizedMultilinearMap::DEFAULT_OUTPUT_DIM,
            )?))
        }
    }

    /// Width of the map's output: what the discriminator must take.
    pub fn output_dim(&self, features_dim: i64, classes: i64) -> i64 {
        match self {
            ConditioningMap::Multilinear => features_dim * classes,
            ConditioningMap::Randomized(r) => r.output_dim(),
        }
    }

    pub fn forward(&self, f: &Tensor, g: &Tensor) -> Result<Tensor> {
        match self {
            ConditioningMap::Multilinear => multilinear_map(f, g),
            ConditioningMap::Randomized(r) => r.forward(f, g),
        }
    }
}

/// Long et al. 2018 (CDAN+E), sec. 3.3, entropy conditioning (TLlib's normalisation): `w = 1 +
/// exp(-H(g))` with `H(g) = -sum_c g_c log(g_c + 1e-5)`, rescaled to sum to N, so confident
/// (low-entropy) predictions weigh more. `probs` are softmax outputs `(N, C)`; no gradient flows
/// into them.
pub fn entropy_weights(probs: &Tensor) -> Result<Tensor> {
    let (n, _) = check::matrix("CDAN+E entropy weights", "probabilities", probs, 1)?;
    let p = probs.f_detach()?;
    let h = p
        .f_mul(&p.f_add_scalar(1e-5)?.f_log()?)?
        .f_sum_dim_intlist([1i64].as_slice(), false, None::<Kind>)?
        .f_neg()?;
    let w = h.f_neg()?.f_exp()?.f_add_scalar(1.0)?;
    Ok(w.f_div(&w.f_sum(w.kind())?)?.f_mul_scalar(n as f64)?)
}

/// Long et al. 2018 (CDAN), sec. 3.1, the discriminator loss (TLlib
/// `ConditionalDomainAdversarialLoss`): binary cross-entropy of
/// the discriminator logits of the source batch (label 1) and target batch (label 0), averaged
/// over all `N_s + N_t` samples, each rescaled by `weights` (length `N_s + N_t`, source first)
/// when given.
pub fn cdan_loss(d_s: &Tensor, d_t: &Tensor, weights: Option<&Tensor>) -> Result<Tensor> {
    let s = check::logit_vector("CDAN loss", "source logits", d_s)?;
    let t = check::logit_vector("CDAN loss", "target logits", d_t)?;
    let d = Tensor::f_cat(&[&s, &t], 0)?;
    let target = Tensor::f_cat(&[s.f_ones_like()?, t.f_zeros_like()?], 0)?;
    let w = match weights {
        Some(w) => Some(check::weights("CDAN loss", "weights", w, d.size()[0], &d)?),
        None => None,
    };
    Ok(d.f_binary_cross_entropy_with_logits(&target, w.as_ref(), None, Reduction::Mean)?)
}

/// The whole CDAN (or, with `entropy_conditioning`, CDAN+E) term for one step: `g_s`, `g_t` are
/// classifier logits, turned into detached softmax predictions; the conditioned features pass the
/// gradient reversal (coefficient `coeff`) and the discriminator as one batch in training mode.
#[allow(clippy::too_many_arguments)]
pub fn conditional_adversarial(
    disc: &DomainDiscriminator,
    map: &ConditioningMap,
    f_s: &Tensor,
    g_s: &Tensor,
    f_t: &Tensor,
    g_t: &Tensor,
    coeff: f64,
    entropy_conditioning: bool,
) -> Result<AdversarialOutput> {
    let (ns, ds) = check::matrix("CDAN", "source features", f_s, 1)?;
    let (nt, dt) = check::matrix("CDAN", "target features", f_t, 1)?;
    check::same_width("CDAN", ("source features", ds), ("target features", dt))?;
    let (nsg, cs) = check::matrix("CDAN", "source logits", g_s, 1)?;
    let (ntg, ct) = check::matrix("CDAN", "target logits", g_t, 1)?;
    check::same_width("CDAN", ("source logits", cs), ("target logits", ct))?;
    if nsg != ns || ntg != nt {
        return Err(NnError::Invalid(format!(
            "CDAN: features and logits must have the same rows; got source {ns} and {nsg}, \
             target {nt} and {ntg}"
        )));
    }
    let f = Tensor::f_cat(&[f_s, f_t], 0)?;
    let g = Tensor::f_cat(&[g_s, g_t], 0)?
        .f_softmax(1, g_s.kind())?
        .f_detach()?;
    let h = grad_reverse(&map.forward(&f, &g)?, coeff)?;
    let d = disc.forward(&h, true)?;
    let (d_s, d_t) = (d.f_narrow(0, 0, ns)?, d.f_narrow(0, ns, nt)?);
    let w = if entropy_conditioning {
        Some(entropy_weights(&g)?)
    } else {
        None
    };
    Ok(AdversarialOutput {
        loss: cdan_loss(&d_s, &d_t, w.as_ref())?,
        domain_accuracy: domain_accuracy(&d_s, &d_t)?,
    })
}
