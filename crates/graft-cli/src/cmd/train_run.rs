//! What `graft pretrain` and `graft finetune` share: the data and run flags, and turning them
//! into a [`graft::train::TrainSpec`] whose outcome is printed.

use super::runtime_args::RuntimeArgs;
use crate::progress::CliObserver;
use graft::train::{DataSpec, Start, TrainCommand, TrainOpts, TrainSpec};
use graft_nn::models::lora::LoraSpec;
use graft_nn::train::{ClassMetrics, GroupSpec};
use std::path::PathBuf;

/// Where the data is and where the run goes.
#[derive(clap::Args, Debug, Clone)]
pub struct DataArgs {
    #[command(flatten)]
    pub data: DataSpec,
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
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    /// Print the summary as one JSON object on stdout
    #[arg(long)]
    pub json: bool,
}

/// A training request from the command line.
pub struct Request {
    pub command: TrainCommand,
    pub data: DataArgs,
    pub opts: TrainOpts,
    pub weights: Option<String>,
    pub groups: GroupSpec,
    pub lora: Option<LoraSpec>,
    pub merge_lora: bool,
}

pub fn run(req: Request) -> anyhow::Result<()> {
    let d = req.data;
    let start = match (d.resume, d.recipe) {
        (Some(dir), _) => Start::Resume(dir),
        (None, Some(file)) => Start::Recipe(file),
        (None, None) => Start::New,
    };
    let spec = TrainSpec {
        command: req.command,
        data: d.data,
        start,
        out: d.out,
        opts: req.opts,
        weights: req.weights,
        groups: req.groups,
        lora: req.lora,
        merge_lora: req.merge_lora,
    };
    let quiet = d.json;
    let rt = d.runtime.runtime()?;
    let mut obs = CliObserver::new(quiet);
    let outcome = match graft::train::run(&spec, &rt, &mut obs, crate::interrupt::token()) {
        Ok(o) => o,
        Err(graft::Error::Cancelled { dir, epoch, step }) => crate::interrupt::exit_cancelled(
            &format!(
                "stopped at epoch {}, step {step}; checkpoint saved. Continue with: graft {} --resume {}",
                epoch + 1,
                spec.command.name(),
                dir.display()
            ),
        ),
        Err(e) => return Err(e.into()),
    };
    let s = &outcome.summary;
    if quiet {
        println!("{}", serde_json::to_string(s)?);
    } else {
        let show = |name: &str, m: &Option<ClassMetrics>| {
            if let Some(m) = m {
                println!(
                    "{name}: accuracy {:.2}%  macro-F1 {:.4}  ({} samples)",
                    100.0 * m.accuracy,
                    m.macro_f1,
                    m.n
                );
            }
        };
        show("validation", &s.val);
        show("test", &s.test);
        println!(
            "selected {}; run saved in {} ({:.1} s)",
            s.selected, s.run_dir, s.seconds
        );
    }
    Ok(())
}
