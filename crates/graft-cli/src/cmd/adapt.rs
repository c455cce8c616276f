//! `graft adapt`: the flags of [`graft::adapt::AdaptSpec`], the run, and its outcome printed.

use super::runtime_args::RuntimeArgs;
use crate::progress::CliObserver;
use graft::adapt::AdaptSpec;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub spec: AdaptSpec,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    /// Print the summary as one JSON object on stdout (`accuracy`: target test, a fraction)
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let rt = a.runtime.runtime()?;
    let mut obs = CliObserver::new(a.json).without_epoch_lines();
    let outcome = match graft::adapt::run(&a.spec, &rt, &mut obs, crate::interrupt::token()) {
        Ok(o) => o,
        Err(graft::Error::Cancelled { dir, epoch, step }) => {
            crate::interrupt::exit_cancelled(&format!(
                "stopped at epoch {}, step {step}; checkpoint saved. Continue with: graft adapt \
                 --resume {}",
                epoch + 1,
                dir.display()
            ))
        }
        Err(e) => return Err(e.into()),
    };
    let s = &outcome.summary;
    if a.json {
        println!("{}", serde_json::to_string(s)?);
        return Ok(());
    }
    if let Some(m) = &s.source_val {
        println!(
            "source validation: accuracy {:.2}% ({} samples)",
            100.0 * m.accuracy,
            m.n
        );
    }
    if let Some(r) = s.dev_risk {
        println!("deep embedded validation risk: {r:.4}");
    }
    if let Some(m) = &s.test {
        println!(
            "target test: accuracy {:.2}%  macro-F1 {:.4}  ({} samples)",
            100.0 * m.accuracy,
            m.macro_f1,
            m.n
        );
    }
    println!(
        "selected {}; run saved in {} ({:.1} s)",
        s.selected, s.run_dir, s.seconds
    );
    Ok(())
}
