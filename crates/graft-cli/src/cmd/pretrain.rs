//! `graft pretrain`: train a model from scratch on a large source dataset and save it as a
//! reusable checkpoint (`model.safetensors` in the run directory, PyTorch key names), the
//! `--weights` of a later `graft finetune`.

use super::train_run::{self, DataArgs, Request};
use graft::train::{TrainCommand, TrainOpts};
use graft_nn::train::GroupSpec;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub opts: TrainOpts,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let groups = GroupSpec {
        lr: a.opts.lr,
        ..GroupSpec::default()
    };
    train_run::run(Request {
        command: TrainCommand::Pretrain,
        data: a.data,
        opts: a.opts,
        weights: None,
        groups,
        lora: None,
        merge_lora: false,
    })
}
