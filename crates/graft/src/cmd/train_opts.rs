//! Training flags shared by `graft pretrain` and `graft finetune`.

use clap::ValueEnum;
use graft_nn::precision::Precision;
use graft_nn::train::{
    Augment, BnMode, GroupSpec, InputSpec, OptimizerSpec, Schedule, TrainConfig,
};
use std::path::PathBuf;

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptName {
    Sgd,
    Adamw,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchedName {
    Cosine,
    Step,
    Constant,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AugName {
    /// `digits` for one-channel models and images of 32 px or less, else `standard`
    Auto,
    /// Random resized crop (scale 0.08-1), horizontal flip, light colour jitter
    Standard,
    /// Mild random crop (scale 0.7-1), no flip: for digits and characters
    Digits,
    None,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BnName {
    Train,
    Frozen,
}

/// Where the data is and where the run goes.
#[derive(clap::Args, Debug, Clone)]
pub struct DataArgs {
    /// Registry name of the model (see `graft models`)
    #[arg(long)]
    pub model: Option<String>,
    /// Training set: an image folder (one subfolder per class), a CSV manifest (path,label), or
    /// an array file (IDX, .npz with X and y, `file.npz:train` for train_X/train_y)
    #[arg(long)]
    pub data: Option<String>,
    /// Validation set, evaluated every epoch; the best epoch's weights are kept
    #[arg(long, conflicts_with = "val_fraction")]
    pub val: Option<String>,
    /// Hold out this fraction of every class of the training set for validation
    #[arg(long)]
    pub val_fraction: Option<f64>,
    /// Test set, evaluated once at the end (the `accuracy` of the summary)
    #[arg(long)]
    pub test: Option<String>,
    /// Keep only K labelled samples per class of the training set (drawn with --seed)
    #[arg(long)]
    pub labels_per_class: Option<usize>,
    /// Per-sample loss weights of the training set: a file from `graft reweight` (CSV
    /// `index,weight` or .npy), one weight per sample of --data in its order
    #[arg(long)]
    pub sample_weights: Option<String>,
    /// Train and evaluate at this square input size instead of the model's own
    #[arg(long)]
    pub image_size: Option<i64>,
    /// Run directory (default: runs/<command>-<model>-N under the current directory)
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the run in this directory from its last checkpoint (other flags are taken
    /// from its recipe.toml)
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Repeat a saved recipe (a run's recipe.toml, or the winner.toml of `graft auto`) in a
    /// new run directory; every training flag is taken from it (--out, --device, --threads
    /// and --json still apply)
    #[arg(long, conflicts_with = "resume")]
    pub recipe: Option<PathBuf>,
    /// cpu, cuda, cuda:N or auto
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Threads for libtorch and image decoding (default: all cores)
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print the summary as one JSON object on stdout
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub text: crate::text_features::TextArgs,
}

/// Optimisation flags.
#[derive(clap::Args, Debug, Clone)]
pub struct TrainOpts {
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Learning rate of the head (and of the whole model unless --lr-backbone is given)
    #[arg(long, default_value_t = 0.01)]
    pub lr: f64,
    #[arg(long, value_enum, default_value_t = OptName::Sgd)]
    pub optimizer: OptName,
    /// SGD momentum
    #[arg(long, default_value_t = 0.9)]
    pub momentum: f64,
    /// Nesterov momentum for SGD
    #[arg(long)]
    pub nesterov: bool,
    /// Weight decay (coupled for SGD, decoupled for AdamW); norms and biases are not decayed
    #[arg(long, default_value_t = 5e-4)]
    pub weight_decay: f64,
    #[arg(long, value_enum, default_value_t = SchedName::Cosine)]
    pub schedule: SchedName,
    /// Linear warm-up length in epochs (fractions allowed)
    #[arg(long, default_value_t = 0.0)]
    pub warmup_epochs: f64,
    /// For --schedule step: multiply the rate by --gamma every this many epochs
    #[arg(long, default_value_t = 30)]
    pub step_epochs: usize,
    #[arg(long, default_value_t = 0.1)]
    pub gamma: f64,
    /// Clip the global gradient norm to this value
    #[arg(long)]
    pub clip_grad: Option<f64>,
    #[arg(long, default_value_t = 0.0)]
    pub label_smoothing: f64,
    #[arg(long, value_enum, default_value_t = AugName::Auto)]
    pub augment: AugName,
    /// BatchNorm in the trained stages: batch statistics (train) or the loaded ones (frozen)
    #[arg(long, value_enum, default_value_t = BnName::Train)]
    pub bn: BnName,
    /// Stop when validation accuracy has not improved for this many epochs
    #[arg(long)]
    pub early_stopping: Option<usize>,
    /// Seeds everything: initialisation, label subsets, data order, augmentation, dropout
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long, default_value_t = Precision::Fp32, help = super::PRECISION_HELP)]
    pub precision: Precision,
}

impl TrainOpts {
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
        let augment = match self.augment {
            AugName::Auto if small_images || input.channels == 1 => Augment::digits(),
            AugName::Auto | AugName::Standard => Augment::standard(),
            AugName::Digits => Augment::digits(),
            AugName::None => Augment::none(),
        };
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
