//! Domain adaptation inside the training engine: unlabelled target batches drawn beside the
//! source batches, and one objective
//! `mean_i w_i CE_i + weight * domain(source, target) + self-training + regularisers`
//! built from the tested terms of [`crate::transfer`].
//!
//! Each step draws a source batch (the epoch's shuffled order) and a target batch of the same
//! size (the target's own shuffled order, cycled across epochs), and runs ONE forward pass of the
//! two concatenated, as TLlib does: BatchNorm layers normalise both domains with the same batch
//! statistics, and dropout draws one mask stream for both. The adversarial heads
//! (discriminator, MDD's second classifier) live in a separate `VarStore`, so the model's
//! `model.safetensors` holds the model alone; the checkpoint carries both stores and the one
//! optimiser over them, and a resumed run ends exactly where the uninterrupted one does.

pub mod dev;
mod run;
pub mod state;
mod target;

pub use dev::{deep_embedded_validation, DevEstimate};
pub use run::{AdaptEvent, Adapter};
pub use state::{AdaptProgress, AdaptRecord};

use crate::transfer::{Bss, GrlSchedule, PseudoLabelRule};
use serde::{Deserialize, Serialize};

/// The alignment term between source and target features.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum DomainLoss {
    /// Source only: no alignment.
    None,
    /// Ganin et al. 2016 (DANN), eq. 9: a discriminator behind a gradient reversal layer.
    Dann,
    /// Long et al. 2018 (CDAN): the discriminator sees features x predictions; `entropy` gives
    /// CDAN+E.
    Cdan {
        #[serde(default)]
        entropy: bool,
    },
    /// Zhang et al. 2019 (MDD): an adversarial classifier head with margin `margin`.
    Mdd {
        #[serde(default = "default_margin")]
        margin: f64,
    },
    /// Sun & Saenko 2016 (Deep CORAL), eq. 1: covariance distance of the features.
    Coral,
    /// Long et al. 2015 (DAN): multi-kernel MMD of the features; `linear` for the linear-time
    /// estimate.
    Mmd {
        #[serde(default)]
        linear: bool,
    },
}

fn default_margin() -> f64 {
    crate::transfer::DEFAULT_MARGIN
}

impl DomainLoss {
    /// The name the command line uses.
    pub fn name(&self) -> &'static str {
        match self {
            DomainLoss::None => "none",
            DomainLoss::Dann => "dann",
            DomainLoss::Cdan { entropy: false } => "cdan",
            DomainLoss::Cdan { entropy: true } => "cdan+e",
            DomainLoss::Mdd { .. } => "mdd",
            DomainLoss::Coral => "coral",
            DomainLoss::Mmd { .. } => "mmd",
        }
    }

    /// The usual reversal schedule of an adversarial term (DANN's for DANN and CDAN, TLlib's
    /// warm start to 0.1 for MDD).
    pub fn default_grl(&self) -> GrlSchedule {
        match self {
            DomainLoss::Mdd { .. } => GrlSchedule::mdd(),
            _ => GrlSchedule::dann(),
        }
    }

    fn adversarial(&self) -> bool {
        matches!(
            self,
            DomainLoss::Dann | DomainLoss::Cdan { .. } | DomainLoss::Mdd { .. }
        )
    }
}

/// Self-training on the unlabelled target: pseudo-labels chosen by `rule` from the current
/// model's predictions, recomputed at the start of every epoch from `start_epoch` (0-based) on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelfTraining {
    pub rule: PseudoLabelRule,
    pub weight: f64,
    #[serde(default)]
    pub start_epoch: usize,
}

/// L2-SP's two strengths (Li et al. 2018): towards the starting weights for the backbone,
/// towards zero for the head.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct L2SpSpec {
    pub alpha: f64,
    pub beta: f64,
}

/// DELTA's strengths (Li et al. 2019): `alpha` for the attention-weighted distance of the
/// stages' feature maps to the pre-trained model's, `beta` for the head's L2 norm. `stages`
/// names the stages whose outputs are regularised (empty: every stage but the last).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeltaSpec {
    pub alpha: f64,
    pub beta: f64,
    #[serde(default)]
    pub stages: Vec<String>,
}

/// Which epoch's weights the run keeps, judged without target labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Selection {
    /// The last epoch (the papers' protocol).
    Last,
    /// The best source-validation accuracy.
    SourceVal,
    /// The lowest deep-embedded-validation risk (You et al. 2019): source-validation loss
    /// weighted by the target/source density ratio of the features.
    Dev,
}

/// Everything adaptation adds to a [`crate::train::TrainConfig`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdaptConfig {
    pub domain: DomainLoss,
    /// Weight of the domain term (TLlib's `trade_off`).
    pub domain_weight: f64,
    /// Coefficient schedule of the gradient reversal (adversarial terms only).
    pub grl: GrlSchedule,
    /// Hidden width of the discriminator or of MDD's adversarial head.
    pub head_width: i64,
    pub self_training: Option<SelfTraining>,
    pub l2sp: Option<L2SpSpec>,
    /// DELTA; needs the pre-trained model as a reference ([`Adapter::with_reference`]).
    pub delta: Option<DeltaSpec>,
    pub bss: Option<Bss>,
    /// After training, re-estimate BatchNorm statistics on the target (Li et al. 2016).
    pub adabn: bool,
    pub selection: Selection,
}

impl AdaptConfig {
    /// `domain` with its usual settings and nothing else.
    pub fn new(domain: DomainLoss) -> Self {
        AdaptConfig {
            grl: domain.default_grl(),
            domain,
            domain_weight: 1.0,
            head_width: 1024,
            self_training: None,
            l2sp: None,
            delta: None,
            bss: None,
            adabn: false,
            selection: Selection::Last,
        }
    }

    /// Whether a step needs a target batch at all.
    pub fn uses_target(&self) -> bool {
        self.domain != DomainLoss::None || self.self_training.is_some()
    }

    pub fn validate(&self) -> crate::Result<()> {
        let bad = |what: String| Err(crate::NnError::Invalid(what));
        if !(self.domain_weight.is_finite() && self.domain_weight >= 0.0) {
            return bad(format!(
                "domain loss weight must be a non-negative number; got {}",
                self.domain_weight
            ));
        }
        if self.domain.adversarial() && self.head_width < 1 {
            return bad(format!(
                "adversarial head width must be at least 1; got {}",
                self.head_width
            ));
        }
        if let Some(st) = &self.self_training {
            if !(st.weight.is_finite() && st.weight >= 0.0) {
                return bad(format!(
                    "self-training weight must be a non-negative number; got {}",
                    st.weight
                ));
            }
        }
        if let Some(d) = &self.delta {
            if !(d.alpha.is_finite() && d.alpha >= 0.0 && d.beta.is_finite() && d.beta >= 0.0) {
                return bad(format!(
                    "DELTA needs alpha >= 0 and beta >= 0; got alpha {} and beta {}",
                    d.alpha, d.beta
                ));
            }
        }
        if let Some(b) = &self.bss {
            if !(b.eta.is_finite() && b.eta >= 0.0) || b.k == 0 {
                return bad(format!(
                    "BSS needs eta >= 0 and k >= 1; got eta {} and k {}",
                    b.eta, b.k
                ));
            }
        }
        Ok(())
    }
}
