//! `graft auto`: the flags of [`graft::auto::AutoSpec`], the search, and its table printed with
//! the winner and the warnings of negative transfer.

use super::runtime_args::RuntimeArgs;
use graft::auto::AutoSpec;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub spec: AutoSpec,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    /// Print the results as one JSON object on stdout
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let rt = a.runtime.runtime()?;
    let r = graft::auto::run(
        &a.spec,
        &rt,
        &mut crate::progress::CliObserver::new(a.json),
        crate::interrupt::token(),
    )?;
    if a.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        let baseline = r.baseline_val_accuracy;
        println!(
            "\n{:<24} {:>9}  {:>8}  status",
            "strategy", "held-out", "seconds"
        );
        for row in &r.rows {
            let flag = match (row.transfer, row.val, baseline) {
                (true, Some(v), Some(b)) if v < b => "  <- negative transfer",
                _ => "",
            };
            println!(
                "{:<24} {:>9}  {:>8.1}  {}{flag}",
                row.name,
                row.val.map_or("-".into(), |v| format!("{:.2}%", 100.0 * v)),
                row.seconds,
                row.status
            );
        }
        let w = &r.winner;
        println!(
            "\nwinner: {} ({:.2}% on the held-out target labels){}",
            w.strategy,
            100.0 * w.val_accuracy.unwrap_or(0.0),
            w.test_accuracy.map_or(String::new(), |t| format!(
                ", {:.2}% on the test set",
                100.0 * t
            ))
        );
        println!("recipe: {}  (repeat: {})", w.recipe, w.rerun);
        for warning in &r.warnings {
            println!("warning: {warning}");
        }
        println!(
            "{:.0} s of the {:.0} s budget used",
            r.seconds, r.budget_seconds
        );
    }
    if r.interrupted {
        // After Ctrl-C the table so far is written, and graft exits with 130 as every
        // command does.
        crate::interrupt::exit_cancelled(
            "interrupted: the strategies tried so far are in auto.json",
        );
    }
    Ok(())
}
