//! The subcommands. Each module has an `Args` struct (clap derive) and a `run`.

mod adapt;
mod align;
mod auto;
mod demo;
mod eval;
mod extract;
mod finetune;
mod models;
mod predict;
mod pretrain;
mod probe;
mod rank;
mod report;
mod reweight;
pub mod runtime_args;
mod train_run;

use clap::{Parser, Subcommand};

/// Transfer learning: reuse what a model learned elsewhere on your own small dataset.
#[derive(Parser, Debug)]
#[command(name = "graft", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// JPEG decoding: `reduced` decodes large JPEGs at 1/2, 1/4 or 1/8 size inside the inverse
    /// DCT when that still leaves twice the resize's output on each axis (PIL's `draft` rule;
    /// about 2x faster on 12-megapixel photos, pixels within about a level); `full` always
    /// decodes at full size, for PIL's exact pixels
    /// (default: a run's own when it continues or uses one, else reduced)
    #[arg(long, global = true, value_parser = parse_decode_size)]
    decode_size: Option<graft_data::image_io::DecodeSize>,
}

fn parse_decode_size(s: &str) -> Result<graft_data::image_io::DecodeSize, String> {
    use graft_data::image_io::DecodeSize;
    match s {
        "full" => Ok(DecodeSize::Full),
        "reduced" => Ok(DecodeSize::Reduced),
        _ => Err(format!("`{s}`: expected full or reduced")),
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the built-in demonstration (no files needed)
    Demo(demo::Args),
    /// List the model registry: names, stages, feature widths, input size, preprocessing
    Models(models::Args),
    /// Run a frozen backbone over a dataset once and save its features
    Extract(extract::Args),
    /// Train a model from scratch on a source dataset and save it as a reusable checkpoint
    Pretrain(pretrain::Args),
    /// Fine-tune pre-trained weights on a target dataset (all, or the later stages only)
    Finetune(finetune::Args),
    /// Evaluate a finished run on a labelled dataset
    Eval(eval::Args),
    /// Predict the top-k classes of image files with a finished run
    Predict(predict::Args),
    /// Train a new head (logreg, ridge, knn, svm, mlp) on frozen features
    Probe(probe::Args),
    /// Rank candidate backbones (or stages) by transferability scores before any training
    Rank(rank::Args),
    /// Adapt a model to a new domain with unlabelled target data (DANN, CDAN, MDD, Deep CORAL,
    /// MMD, self-training), regularised towards its pre-trained weights (L2-SP, DELTA, BSS)
    Adapt(Box<adapt::Args>),
    /// Weight source samples by how target-like they are (KMM, KLIEP, uLSIF, RuLSIF, NNW, a
    /// domain classifier, TrAdaBoost) and write the weights for fine-tuning
    Reweight(reweight::Args),
    /// Align source and target features (PCA, CORAL, SA, TCA, JDA, feature augmentation) and
    /// report target accuracy against the unaligned baseline
    Align(align::Args),
    /// Build a run's report.html again, or compare several runs side by side
    Report(report::Args),
    /// Try transfer strategies in order of cost within a time budget, always against a
    /// target-only baseline, and keep the winner's recipe
    Auto(Box<auto::Args>),
}

impl Cli {
    /// `--decode-size`, when given (`graft::decode_size` decides the rest).
    pub fn decode_size(&self) -> Option<graft_data::image_io::DecodeSize> {
        self.decode_size
    }

    /// The allocator settings the command wants (see [`crate::allocator`]).
    pub fn workload(&self) -> crate::allocator::Workload {
        use crate::allocator::Workload;
        match self.command {
            Command::Pretrain(_) | Command::Finetune(_) | Command::Adapt(_) | Command::Auto(_) => {
                Workload::Training
            }
            _ => Workload::Streaming,
        }
    }
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Demo(a) => demo::run(a),
        Command::Models(a) => models::run(a),
        Command::Extract(a) => extract::run(a),
        Command::Pretrain(a) => pretrain::run(a),
        Command::Finetune(a) => finetune::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Predict(a) => predict::run(a),
        Command::Probe(a) => probe::run(a),
        Command::Rank(a) => rank::run(a),
        Command::Adapt(a) => adapt::run(*a),
        Command::Reweight(a) => reweight::run(a),
        Command::Align(a) => align::run(a),
        Command::Report(a) => report::run(a),
        Command::Auto(a) => auto::run(*a),
    }
}
