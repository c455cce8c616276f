//! `graft finetune`: start from pre-trained weights and adapt them to a new, smaller dataset,
//! all of them or only the later stages, with per-layer learning rates; a new head sized to
//! the target's classes.

use super::train_opts::{DataArgs, TrainOpts};
use super::train_run::{self, Request};
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
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let groups = GroupSpec {
        lr: a.opts.lr,
        lr_backbone: a.lr_backbone,
        layer_decay: a.layer_decay,
        freeze_until: a.freeze_until,
        freeze_backbone: a.head_only,
        decay_norm_and_bias: false,
    };
    train_run::run(Request {
        command: "finetune",
        data: a.data,
        opts: a.opts,
        weights: a.weights,
        groups,
    })
}
