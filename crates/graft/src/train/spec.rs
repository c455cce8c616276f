//! What a training run is asked to do: [`TrainSpec`], built in code with its builder methods or
//! from the `graft pretrain` / `graft finetune` flags.

use super::options::TrainOpts;
use crate::text_features::TextArgs;
use graft_nn::models::lora::LoraSpec;
use graft_nn::train::GroupSpec;
use std::path::PathBuf;

/// `pretrain` (from random weights, every layer) or `finetune` (from pre-trained weights).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrainCommand {
    Pretrain,
    Finetune,
}

impl TrainCommand {
    pub fn name(self) -> &'static str {
        match self {
            TrainCommand::Pretrain => "pretrain",
            TrainCommand::Finetune => "finetune",
        }
    }
}

/// Where a run's data is: the model and the data sets it trains and is measured on.
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
pub struct DataSpec {
    /// The model (see `graft models`): a registry name, a text model folder, or `mlp` for
    /// feature vectors
    #[cfg_attr(feature = "clap", arg(long))]
    pub model: Option<String>,
    /// Hidden widths of the mlp model, comma-separated (default 50)
    #[cfg_attr(feature = "clap", arg(long, value_delimiter = ','))]
    pub hidden: Option<Vec<i64>>,
    /// Training set: an image folder (one subfolder per class), a CSV manifest (path,label), an
    /// array file (IDX, .npz with X and y, `file.npz:train` for train_X/train_y), texts for a
    /// text model, or feature vectors (.npz, svmlight, CSV) for the mlp
    #[cfg_attr(feature = "clap", arg(long))]
    pub data: Option<String>,
    /// Validation set, evaluated every epoch; the best epoch's weights are kept
    #[cfg_attr(feature = "clap", arg(long, conflicts_with = "val_fraction"))]
    pub val: Option<String>,
    /// Hold out this fraction of every class of the training set for validation
    #[cfg_attr(feature = "clap", arg(long))]
    pub val_fraction: Option<f64>,
    /// Test set, evaluated once at the end (the `accuracy` of the summary)
    #[cfg_attr(feature = "clap", arg(long))]
    pub test: Option<String>,
    /// Keep only K labelled samples per class of the training set (drawn with --seed)
    #[cfg_attr(feature = "clap", arg(long))]
    pub labels_per_class: Option<usize>,
    /// Per-sample loss weights of the training set: a file from `graft reweight` (CSV
    /// `index,weight` or .npy), one weight per sample of --data in its order
    #[cfg_attr(feature = "clap", arg(long))]
    pub sample_weights: Option<String>,
    /// Train and evaluate at this square input size instead of the model's own
    #[cfg_attr(feature = "clap", arg(long))]
    pub image_size: Option<i64>,
    #[cfg_attr(feature = "clap", command(flatten))]
    pub text: TextArgs,
}

/// How a run starts: afresh, from its own last checkpoint, or by repeating a saved recipe.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Start {
    #[default]
    New,
    /// Continue the run in this directory from its last checkpoint; everything else is taken
    /// from its `recipe.toml`.
    Resume(PathBuf),
    /// Repeat a saved recipe (a run's `recipe.toml`, or `graft auto`'s `winner.toml`) in a new
    /// run directory.
    Recipe(PathBuf),
}

/// A training run.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainSpec {
    pub command: TrainCommand,
    pub data: DataSpec,
    pub start: Start,
    /// Run directory (default: `runs/<command>-<model>-N` under the current directory).
    pub out: Option<PathBuf>,
    pub opts: TrainOpts,
    /// Pre-trained weights: .safetensors, .pth, a folder holding one, or hf:ORG/NAME.
    pub weights: Option<String>,
    /// Which parameters train, at which rates.
    pub groups: GroupSpec,
    /// Text models: train low-rank adapters instead of the encoder's weights.
    pub lora: Option<LoraSpec>,
    /// Save the model with the adapters folded into its weights.
    pub merge_lora: bool,
}

impl TrainSpec {
    fn new(command: TrainCommand, model: &str, data: &str) -> TrainSpec {
        TrainSpec {
            command,
            data: DataSpec {
                model: Some(model.to_string()),
                data: Some(data.to_string()),
                ..DataSpec::default()
            },
            start: Start::New,
            out: None,
            opts: TrainOpts::default(),
            weights: None,
            groups: GroupSpec::default(),
            lora: None,
            merge_lora: false,
        }
    }

    /// Fine-tunes the registry model `model` on the labelled data at `data` (an image folder,
    /// a CSV manifest, an array file, or texts for a text model).
    pub fn finetune(model: &str, data: &str) -> TrainSpec {
        TrainSpec::new(TrainCommand::Finetune, model, data)
    }

    /// Trains `model` from random weights on `data`.
    pub fn pretrain(model: &str, data: &str) -> TrainSpec {
        TrainSpec::new(TrainCommand::Pretrain, model, data)
    }

    /// Continues the run in `dir` from its last checkpoint.
    pub fn resume(command: TrainCommand, dir: impl Into<PathBuf>) -> TrainSpec {
        TrainSpec {
            start: Start::Resume(dir.into()),
            data: DataSpec::default(),
            ..TrainSpec::new(command, "", "")
        }
    }

    pub fn weights(mut self, w: impl Into<String>) -> Self {
        self.weights = Some(w.into());
        self
    }

    pub fn out(mut self, dir: impl Into<PathBuf>) -> Self {
        self.out = Some(dir.into());
        self
    }

    pub fn opts(mut self, opts: TrainOpts) -> Self {
        self.opts = opts;
        self
    }

    pub fn test(mut self, data: impl Into<String>) -> Self {
        self.data.test = Some(data.into());
        self
    }

    pub fn val(mut self, data: impl Into<String>) -> Self {
        self.data.val = Some(data.into());
        self
    }

    /// Freezes the stages up to and including `stage`.
    pub fn freeze_until(mut self, stage: impl Into<String>) -> Self {
        self.groups.freeze_until = Some(stage.into());
        self
    }
}
