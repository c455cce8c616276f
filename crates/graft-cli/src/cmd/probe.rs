//! `graft probe`: the flags of [`graft::probe::ProbeSpec`], the probe, and its result printed.

use super::runtime_args::InferenceArgs;
use graft::probe::ProbeSpec;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub spec: ProbeSpec,
    #[command(flatten)]
    pub run: InferenceArgs,
    /// Print the result as one JSON object on stdout
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let rt = a.run.runtime()?;
    let r = graft::probe::run(&a.spec, &rt, &mut crate::progress::CliObserver::new(a.json))?;
    if a.json {
        println!("{}", serde_json::to_string(&r)?);
        return Ok(());
    }
    let k = r.classes.len();
    println!(
        "{:?} head on {} x {} features ({k} classes), tested on {} samples:",
        a.spec.head, r.n_train, r.d, r.n_test
    );
    println!(
        "  accuracy {:.2}%   macro-F1 {:.4}   (fit {:.2} s)",
        100.0 * r.accuracy,
        r.macro_f1,
        r.fit_seconds
    );
    let w = r
        .classes
        .iter()
        .map(|n| n.len())
        .max()
        .unwrap_or(1)
        .clamp(1, 16);
    println!("  confusion (rows: true class, columns: predicted)");
    for (name, row) in r.classes.iter().zip(&r.confusion) {
        let cells: Vec<String> = row.iter().map(|v| format!("{v:>5}")).collect();
        println!("  {name:>w$} {}", cells.join(""));
    }
    if let Some(c) = &r.cache {
        let uses = [("train", Some(&c.train)), ("test", c.test.as_ref())];
        for (what, u) in uses.into_iter().filter_map(|(w, u)| Some((w, u?))) {
            println!(
                "  {what} features: {} ({:.1} s)",
                if u.hit {
                    "from the cache"
                } else {
                    "extracted and cached"
                },
                u.seconds
            );
        }
    }
    Ok(())
}
