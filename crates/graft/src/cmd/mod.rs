//! The subcommands. Each module has an `Args` struct (clap derive) and a `run`.

mod demo;
mod extract;
mod models;

use clap::{Parser, Subcommand};

/// Transfer learning: reuse what a model learned elsewhere on your own small dataset.
#[derive(Parser, Debug)]
#[command(name = "graft", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the built-in demonstration (no files needed)
    Demo(demo::Args),
    /// List the model registry: names, stages, feature widths, input size, preprocessing
    Models(models::Args),
    /// Run a frozen backbone over a dataset once and save its features
    Extract(extract::Args),
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Demo(a) => demo::run(a),
        Command::Models(a) => models::run(a),
        Command::Extract(a) => extract::run(a),
    }
}
