//! `graft demo`: the flags of [`graft::demo::DemoSpec`], the demo, and its two tables printed
//! with the verdicts on negative transfer.

use graft::demo::{DemoSpec, ORDER};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub spec: DemoSpec,
    #[arg(long)]
    threads: Option<usize>,
    /// Print the results as one JSON object on stdout
    #[arg(long)]
    json: bool,
    /// Write the demo's domains to this folder as .npz files (source.npz, target_labelled.npz,
    /// target_unlabelled.npz, target_test.npz; X as N x H x W x 3 bytes, y the digits) and
    /// stop, to run `graft auto` or any command on them
    #[arg(long)]
    export: Option<PathBuf>,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    // The demo's rows show bars, not a line per epoch (eight runs would bury the tables).
    let mut obs = crate::progress::CliObserver::new(a.json).without_epoch_lines();
    if let Some(dir) = &a.export {
        return graft::demo::export(&a.spec, dir, &mut obs);
    }
    let rt = super::runtime_args::runtime("cpu", a.threads)?;
    let r = match graft::demo::run(&a.spec, &rt, &mut obs, crate::interrupt::token()) {
        Ok(r) => r,
        Err(graft::Error::Cancelled { .. }) => crate::interrupt::exit_cancelled("demo stopped"),
        Err(e) => return Err(e.into()),
    };
    if a.json {
        println!("{}", serde_json::to_string(&r)?);
        return Ok(());
    }
    let rows = &r.rows;
    let accuracy_of = |name: &str| {
        rows.iter()
            .find(|r| r.name == name)
            .map_or(0.0, |r| r.accuracy)
    };
    let (source_only, scratch) = (accuracy_of("source only"), accuracy_of("from scratch"));
    let groups = [
        (
            format!(
                "No target labels, {} unlabelled target images:",
                r.target_unlabelled_images
            ),
            &ORDER[..4],
            "source only",
            source_only,
        ),
        (
            format!("{} labels per target class:", r.target_labels_per_class),
            &ORDER[4..],
            "scratch",
            scratch,
        ),
    ];
    println!();
    println!(
        "Target digits, {} test images (chance 10%)",
        r.target_test_images
    );
    for (title, names, base_name, base) in groups {
        println!("{title}");
        println!("  {:<22} {:>9} {:>9}", "method", "accuracy", "seconds");
        for row in rows.iter().filter(|row| names.contains(&row.name)) {
            let vs = if row.name == names[0] {
                String::new()
            } else {
                format!("{:+.1} vs {base_name}", 100.0 * (row.accuracy - base))
            };
            println!(
                "  {:<22} {:>8.1}% {:>9.1}  {:<20} {}",
                row.name,
                100.0 * row.accuracy,
                row.seconds,
                vs,
                row.what
            );
        }
    }
    if let Some(bad) = rows
        .iter()
        .filter(|row| ORDER[1..4].contains(&row.name))
        .find(|row| row.accuracy < source_only)
    {
        println!(
            "warning: {} fell below the source model ({:.1}% < {:.1}%): negative transfer",
            bad.name,
            100.0 * bad.accuracy,
            100.0 * source_only
        );
    }
    let best = rows
        .iter()
        .max_by(|x, y| x.accuracy.total_cmp(&y.accuracy))
        .expect("rows exist");
    println!(
        "\nbest: {} ({:.1}%); pre-training took {:.1} s; everything is in {} ({:.0} s in all)",
        best.name,
        100.0 * best.accuracy,
        r.pretrain_seconds,
        r.run_dir,
        r.seconds
    );
    if best.name == "from scratch" {
        println!("warning: no transfer method beat training from scratch here (negative transfer)");
    }
    Ok(())
}
