//! Several runs side by side: their headline metrics in one table and their curves overlaid,
//! one colour per run.

use super::curves::{self, Scale, Series};
use super::html::{self, esc, pct};
use super::run_data::{Epoch, RunData};
use super::svg;
use anyhow::Context;
use std::path::{Component, Path, PathBuf};

/// Where `graft report A B ...` writes unless told otherwise.
pub const DEFAULT_FILE: &str = "report-compare.html";

/// `to` relative to the folder `from`, for links that survive moving both together.
fn relative(from: &Path, to: &Path) -> Option<PathBuf> {
    let (from, to) = (from.canonicalize().ok()?, to.canonicalize().ok()?);
    let a: Vec<Component> = from.components().collect();
    let b: Vec<Component> = to.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut p = PathBuf::new();
    for _ in common..a.len() {
        p.push("..");
    }
    for c in &b[common..] {
        p.push(c.as_os_str());
    }
    Some(p)
}

fn overlay(runs: &[RunData], f: impl Fn(&Epoch) -> Option<f64>) -> Vec<Series> {
    runs.iter()
        .enumerate()
        .map(|(i, r)| Series {
            name: r.name.clone(),
            points: r
                .epochs
                .iter()
                .filter_map(|e| f(e).map(|v| (e.base.epoch as f64, v)))
                .collect(),
            colour: svg::colour(i),
        })
        .filter(|s| !s.points.is_empty())
        .collect()
}

fn metrics_table(runs: &[RunData]) -> String {
    let mut header = vec!["".to_string()];
    header.extend(runs.iter().map(|r| r.name.clone()));
    let row = |name: &str, f: &dyn Fn(&RunData) -> Option<String>| -> Option<Vec<String>> {
        let cells: Vec<Option<String>> = runs.iter().map(f).collect();
        if cells.iter().all(Option::is_none) {
            return None;
        }
        let mut r = vec![name.to_string()];
        r.extend(cells.into_iter().map(Option::unwrap_or_default));
        Some(r)
    };
    let pad = |r: &RunData, after: bool| {
        r.projection.as_ref().and_then(|p| {
            let v = if after { &p.after } else { &p.before };
            v.pad.as_ref().map(|d| format!("{:.3}", d.pad))
        })
    };
    let rows: Vec<Vec<String>> = [
        row("command", &|r| Some(r.command().to_string())),
        row("model", &|r| r.str_field("model").map(str::to_string)),
        row("method", &|r| r.str_field("method").map(str::to_string)),
        row("data", &|r| Some(r.data_label())),
        row("evaluated on", &|r| r.headline().map(|h| h.0)),
        row("accuracy", &|r| r.headline().map(|h| pct(h.1.accuracy))),
        row("macro-F1", &|r| {
            r.headline().map(|h| format!("{:.4}", h.1.macro_f1))
        }),
        row("source validation accuracy", &|r| {
            r.num("source_val_accuracy").map(pct)
        }),
        row("best validation accuracy", &|r| {
            r.epochs
                .iter()
                .filter_map(|e| e.base.val.as_ref().map(|m| m.accuracy))
                .reduce(f64::max)
                .map(pct)
        }),
        row("proxy A-distance before", &|r| pad(r, false)),
        row("proxy A-distance after", &|r| pad(r, true)),
        row("DEV risk", &|r| {
            r.num("dev_risk").map(|d| format!("{d:.4}"))
        }),
        row("epochs", &|r| Some(r.epochs.len().to_string())),
        row("selected", &|r| r.str_field("selected").map(str::to_string)),
        row("final train loss", &|r| {
            r.epochs.last().map(|e| format!("{:.4}", e.base.train_loss))
        }),
        row("seed", &|r| r.summary.get("seed").map(|v| v.to_string())),
        row("run time (s)", &|r| {
            r.num("seconds").map(|s| format!("{s:.1}"))
        }),
    ]
    .into_iter()
    .flatten()
    .collect();
    html::table(&header, &rows)
}

/// The comparison page of `runs`; `out_dir` is where it will be written (for links).
pub fn page(runs: &[RunData], out_dir: &Path) -> anyhow::Result<String> {
    let title = format!("graft: {} runs compared", runs.len());
    let mut body = format!("<h1>{}</h1>\n", esc(&title));
    let mut links = Vec::new();
    for r in runs {
        let report = r.dir.join(super::run_page::FILE);
        let label = format!("{} ({})", r.name, r.dir.display());
        match relative(out_dir, &report).filter(|_| report.exists()) {
            Some(rel) => links.push(format!(
                "<a href=\"{}\">{}</a>",
                esc(&rel.to_string_lossy()),
                esc(&label)
            )),
            None => links.push(esc(&label)),
        }
    }
    body.push_str(&format!("<p class=\"sub\">{}</p>\n", links.join(" · ")));
    body.push_str(&html::section("metrics", "Metrics", &metrics_table(runs)));
    let mut figs = Vec::new();
    let charts: [(&str, &str, Scale, Vec<Series>); 4] = [
        (
            "Validation accuracy",
            "accuracy (%)",
            Scale::Percent,
            overlay(runs, |e| e.base.val.as_ref().map(|m| m.accuracy)),
        ),
        (
            "Target test accuracy (monitor)",
            "accuracy (%)",
            Scale::Percent,
            overlay(runs, |e| e.monitor_accuracy),
        ),
        (
            "Training loss",
            "loss",
            Scale::Plain,
            overlay(runs, |e| Some(e.base.train_loss)),
        ),
        (
            "Training accuracy",
            "accuracy (%)",
            Scale::Percent,
            overlay(runs, |e| Some(e.base.train_accuracy)),
        ),
    ];
    for (t, y, scale, s) in &charts {
        if let Some(svg) = curves::line_chart(t, y, s, *scale)? {
            figs.push(html::Figure::new(svg).legend(curves::legend(s)));
        }
    }
    body.push_str(&html::section("curves", "Curves", &html::figures(&figs)));
    Ok(html::document(&title, &body))
}

/// Compares run directories `dirs` into `out`.
pub fn write_comparison(dirs: &[PathBuf], out: &Path) -> anyhow::Result<PathBuf> {
    let runs = dirs
        .iter()
        .map(|d| RunData::open(d))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let out_dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let html = page(&runs, &out_dir).context("building the comparison")?;
    graft_data::atomic::write_atomic_bytes(out, html.as_bytes())?;
    Ok(out.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_links_climb_and_descend() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("a/b")).unwrap();
        std::fs::create_dir_all(d.path().join("c")).unwrap();
        let r = relative(&d.path().join("c"), &d.path().join("a/b")).unwrap();
        assert_eq!(r, PathBuf::from("../a/b"));
    }
}
