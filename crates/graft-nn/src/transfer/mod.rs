//! Deep transfer methods for the training engine, by family: [`alignment`] (DANN, CDAN, MDD,
//! Deep CORAL, MMD), [`regularization`] (L2-SP, DELTA, BSS), [`self_training`] (pseudo-labels)
//! and [`normalization`] (AdaBN). Their items are re-exported here, so `transfer::Name` reaches
//! any of them.
//!
//! Every loss is a plain function of tensors (features, logits) returning a scalar with autograd
//! intact, so the engine composes them freely:
//! `loss = task + sum(regularisers) + lambda * alignment(source, target)`. Adversarial terms
//! carry their own discriminator and gradient reversal; everything else is parameter-free.
//! Each formula follows its paper and TLlib's reference code (checked against PyTorch in
//! `tests/transfer.rs`).

pub mod alignment;
mod check;
pub mod normalization;
pub mod regularization;
pub mod self_training;

use alignment::{cdan, coral, dann, discriminator, grl, mdd, mmd};
use normalization::adabn;
use regularization::{bss, delta, l2sp};
use self_training::pseudo_label;

pub use adabn::{adapt_batchnorm, bn_buffers, infer_bn_momentum, AdaBn, AdaBnReport, BnBuffers};
pub use bss::{bss_loss, Bss};
pub use cdan::{
    cdan_loss, conditional_adversarial, entropy_weights, multilinear_map, ConditioningMap,
    RandomizedMultilinearMap,
};
pub use coral::coral_loss;
pub use dann::{dann_loss, domain_accuracy, domain_adversarial, AdversarialOutput};
pub use delta::{
    attention_feature_loss, delta_channel_attention, stage_indices, stage_maps, Delta,
};
pub use discriminator::DomainDiscriminator;
pub use grl::{dann_lambda, grad_reverse, GrlSchedule};
pub use l2sp::{l2_penalty, L2Sp};
pub use mdd::{mdd_loss, MddHead, DEFAULT_MARGIN};
pub use mmd::{MkMmd, DAN_MULTIPLIERS};
pub use pseudo_label::{select_pseudo_labels, PseudoLabelRule, PseudoLabels};
