//! `graft finetune`: start from pre-trained weights and adapt them to a new, smaller dataset,
//! all of them or only the later stages, with per-layer learning rates; a new head sized to
//! the target's classes.

use super::train_run::{self, DataArgs, Request};
use graft::train::{TrainCommand, TrainOpts};
use graft_nn::models::lora::LoraSpec;
use graft_nn::train::GroupSpec;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub data: DataArgs,
    /// Pre-trained weights: .safetensors, PyTorch .pth, a folder holding one, or hf:ORG/NAME.
    /// Without it the model starts from random weights (the from-scratch baseline).
    #[arg(long)]
    pub weights: Option<String>,
    /// Freeze the stages up to and including this one (see `graft models` for stage names)
    #[arg(long, conflicts_with = "head_only")]
    pub freeze_until: Option<String>,
    /// Train the new head only (the whole backbone frozen)
    #[arg(long)]
    pub head_only: bool,
    /// Learning rate of the backbone's last stage (default: --lr)
    #[arg(long)]
    pub lr_backbone: Option<f64>,
    /// Layer-wise learning-rate decay: each earlier stage gets this factor of the next one's rate
    #[arg(long, default_value_t = 1.0)]
    pub layer_decay: f64,
    #[command(flatten)]
    pub opts: TrainOpts,
    /// Text models and vision transformers: train low-rank adapters (LoRA) of this rank instead
    /// of the encoder's weights (the new head trains too); saved in the run's adapter/ folder as
    /// PEFT saves them
    #[arg(long)]
    pub lora: Option<i64>,
    /// LoRA scale numerator: updates are multiplied by alpha / rank (default: the rank)
    #[arg(long, requires = "lora")]
    pub lora_alpha: Option<f64>,
    /// Dropout on the adapters' input
    #[arg(long, requires = "lora", default_value_t = 0.0)]
    pub lora_dropout: f64,
    /// Modules that get adapters, by the last part of their key name (default: PEFT's usual
    /// ones for the model: query,value for text encoders and Hugging Face ViTs, qkv for timm's
    /// and DINOv2's)
    #[arg(long, requires = "lora", value_delimiter = ',')]
    pub lora_targets: Vec<String>,
    /// Save model.safetensors with the adapters folded into the weights (a plain model that
    /// needs no adapter code); the adapter/ folder is written either way
    #[arg(long, requires = "lora")]
    pub merge_lora: bool,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let groups = GroupSpec {
        lr: a.opts.lr,
        lr_backbone: a.lr_backbone,
        layer_decay: a.layer_decay,
        freeze_until: a.freeze_until,
        freeze_backbone: a.head_only,
        decay_norm_and_bias: false,
        train_only: Vec::new(),
    };
    train_run::run(Request {
        command: TrainCommand::Finetune,
        data: a.data,
        opts: a.opts,
        weights: a.weights,
        groups,
        lora: a.lora.map(|rank| LoraSpec {
            rank,
            alpha: a.lora_alpha.unwrap_or(rank as f64),
            dropout: a.lora_dropout,
            targets: a.lora_targets.clone(),
        }),
        merge_lora: a.merge_lora,
    })
}
