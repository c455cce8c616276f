//! The optimisation options of a training run (`pretrain`, `finetune`), with their defaults
//! written once: [`TrainOpts::default`] is what the library and the `graft` flags both start
//! from. The names of optimisers, schedules, augmentations and BatchNorm modes are one set of
//! enums for flags (clap) and recipes (serde), in training and adaptation recipes alike.

use graft_nn::precision::Precision;
use graft_nn::train::{
    Augment, BnMode, GroupSpec, InputSpec, OptimizerSpec, Schedule, TrainConfig,
};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum OptName {
    Sgd,
    Adamw,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum SchedName {
    Cosine,
    Step,
    Constant,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum AugName {
    /// `digits` for one-channel models and images of 32 px or less, else `standard`
    Auto,
    /// Random resized crop (scale 0.08-1), horizontal flip, light colour jitter
    Standard,
    /// Mild random crop (scale 0.7-1), no flip: for digits and characters
    Digits,
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum BnName {
    Train,
    Frozen,
}

/// Optimisation flags.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
pub struct TrainOpts {
    #[cfg_attr(feature = "clap", arg(long, default_value_t = TrainOpts::DEFAULT.epochs))]
    pub epochs: usize,
    #[cfg_attr(feature = "clap", arg(long, default_value_t = TrainOpts::DEFAULT.batch_size))]
    pub batch_size: usize,
    /// Learning rate of the head (and of the whole model unless --lr-backbone is given)
    #[cfg_attr(feature = "clap", arg(long, default_value_t = TrainOpts::DEFAULT.lr))]
    pub lr: f64,
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = TrainOpts::DEFAULT.optimizer))]
    pub optimizer: OptName,
    /// SGD momentum
    #[cfg_attr(feature = "clap", arg(long, default_value_t = TrainOpts::DEFAULT.momentum))]
    pub momentum: f64,
    /// Nesterov momentum for SGD
    #[cfg_attr(feature = "clap", arg(long))]
    pub nesterov: bool,
    /// Weight decay (coupled for SGD, decoupled for AdamW); norms and biases are not decayed
    #[cfg_attr(feature = "clap", arg(long, default_value_t = TrainOpts::DEFAULT.weight_decay))]
    pub weight_decay: f64,
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = TrainOpts::DEFAULT.schedule))]
    pub schedule: SchedName,
    /// Linear warm-up length in epochs (fractions allowed)
    #[cfg_attr(feature = "clap", arg(long, default_value_t = TrainOpts::DEFAULT.warmup_epochs))]
    pub warmup_epochs: f64,
    /// For --schedule step: multiply the rate by --gamma every this many epochs
    #[cfg_attr(feature = "clap", arg(long, default_value_t = TrainOpts::DEFAULT.step_epochs))]
    pub step_epochs: usize,
    #[cfg_attr(feature = "clap", arg(long, default_value_t = TrainOpts::DEFAULT.gamma))]
    pub gamma: f64,
    /// Clip the global gradient norm to this value
    #[cfg_attr(feature = "clap", arg(long))]
    pub clip_grad: Option<f64>,
    #[cfg_attr(feature = "clap", arg(long, default_value_t = TrainOpts::DEFAULT.label_smoothing))]
    pub label_smoothing: f64,
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = TrainOpts::DEFAULT.augment))]
    pub augment: AugName,
    /// BatchNorm in the trained stages: batch statistics (train) or the loaded ones (frozen)
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = TrainOpts::DEFAULT.bn))]
    pub bn: BnName,
    /// Stop when validation accuracy has not improved for this many epochs
    #[cfg_attr(feature = "clap", arg(long))]
    pub early_stopping: Option<usize>,
    /// Seeds everything: initialisation, label subsets, data order, augmentation, dropout
    #[cfg_attr(feature = "clap", arg(long, default_value_t = TrainOpts::DEFAULT.seed))]
    pub seed: u64,
    #[cfg_attr(feature = "clap", arg(long, default_value_t = TrainOpts::DEFAULT.precision, help = crate::train::PRECISION_HELP))]
    pub precision: Precision,
}

impl TrainOpts {
    /// The defaults: SGD with momentum 0.9 at 0.01, cosine schedule, 10 epochs of 32.
    pub const DEFAULT: TrainOpts = TrainOpts {
        epochs: 10,
        batch_size: 32,
        lr: 0.01,
        optimizer: OptName::Sgd,
        momentum: 0.9,
        nesterov: false,
        weight_decay: 5e-4,
        schedule: SchedName::Cosine,
        warmup_epochs: 0.0,
        step_epochs: 30,
        gamma: 0.1,
        clip_grad: None,
        label_smoothing: 0.0,
        augment: AugName::Auto,
        bn: BnName::Train,
        early_stopping: None,
        seed: 0,
        precision: Precision::Fp32,
    };

    pub fn config(&self, groups: GroupSpec, input: InputSpec, small_images: bool) -> TrainConfig {
        let optimizer = match self.optimizer {
            OptName::Sgd => OptimizerSpec::Sgd {
                momentum: self.momentum,
                nesterov: self.nesterov,
                weight_decay: self.weight_decay,
            },
            OptName::Adamw => OptimizerSpec::adamw(self.weight_decay),
        };
        let schedule = match self.schedule {
            SchedName::Cosine => Schedule::Cosine { min_factor: 0.0 },
            SchedName::Step => Schedule::Step {
                every_epochs: self.step_epochs,
                gamma: self.gamma,
            },
            SchedName::Constant => Schedule::Constant,
        };
        let augment = self.augment.resolve(small_images || input.channels == 1);
        TrainConfig {
            epochs: self.epochs,
            batch_size: self.batch_size,
            groups,
            optimizer,
            schedule,
            warmup_epochs: self.warmup_epochs,
            clip_grad_norm: self.clip_grad,
            label_smoothing: self.label_smoothing,
            bn: match self.bn {
                BnName::Train => BnMode::Train,
                BnName::Frozen => BnMode::Frozen,
            },
            augment,
            input,
            seed: self.seed,
            early_stopping: self.early_stopping,
            precision: self.precision,
        }
    }
}

impl AugName {
    /// The augmentation this name gives; `auto` is `digits` for `small` inputs (one channel, or
    /// 32 px or less), else `standard`.
    pub fn resolve(self, small: bool) -> Augment {
        match self {
            AugName::Auto if small => Augment::digits(),
            AugName::Auto | AugName::Standard => Augment::standard(),
            AugName::Digits => Augment::digits(),
            AugName::None => Augment::none(),
        }
    }
}

impl Default for TrainOpts {
    fn default() -> Self {
        TrainOpts::DEFAULT
    }
}
