//! The report of one run: headline, learning curves, evaluation (confusion matrix and
//! per-class accuracy), domain alignment for `graft adapt` runs, the run's details, recipe,
//! environment and files.

use super::curves::{self, Scale, Series};
use super::html::{self, esc, pct, Figure};
use super::run_data::{Epoch, RunData};
use super::{bars, confusion, scatter, svg};
use anyhow::Context;
use serde_json::Value;
use std::path::{Path, PathBuf};

pub const FILE: &str = "report.html";

/// A series of one optional per-epoch quantity; empty when no epoch has it.
fn series(name: &str, i: usize, epochs: &[Epoch], f: impl Fn(&Epoch) -> Option<f64>) -> Series {
    Series {
        name: name.to_string(),
        points: epochs
            .iter()
            .filter_map(|e| f(e).map(|v| (e.base.epoch as f64, v)))
            .collect(),
        colour: svg::colour(i),
    }
}

/// The chart if any series has a point, with its caption.
fn push_chart(
    figs: &mut Vec<Figure>,
    title: &str,
    y: &str,
    s: &[Series],
    scale: Scale,
    caption: &str,
) -> anyhow::Result<()> {
    let s: Vec<Series> = s.iter().filter(|s| !s.points.is_empty()).cloned().collect();
    if let Some(svg) = curves::line_chart(title, y, &s, scale)? {
        figs.push(Figure::new(svg).legend(curves::legend(&s)).caption(caption));
    }
    Ok(())
}

/// Learning curves: every per-epoch quantity the run recorded.
pub fn learning_curves(r: &RunData) -> anyhow::Result<String> {
    let e = &r.epochs;
    if e.is_empty() {
        return Ok(html::note("No epoch was recorded in metrics.jsonl."));
    }
    let mut figs = Vec::new();
    push_chart(
        &mut figs,
        "Training loss",
        "loss",
        &[series("train loss (task)", 0, e, |e| {
            Some(e.base.train_loss)
        })],
        Scale::Plain,
        "Mean task loss over each epoch's training batches.",
    )?;
    let val_name = if r.is_adapt() {
        "source validation"
    } else {
        "validation"
    };
    push_chart(
        &mut figs,
        "Accuracy",
        "accuracy (%)",
        &[
            series("train", 0, e, |e| Some(e.base.train_accuracy)),
            series(val_name, 1, e, |e| e.base.val.as_ref().map(|m| m.accuracy)),
            series("target test (monitor)", 2, e, |e| e.monitor_accuracy),
        ],
        Scale::Percent,
        if e.iter().any(|e| e.monitor_accuracy.is_some()) {
            "Target test accuracy is recorded for analysis only (--monitor); it never chooses \
             the epoch."
        } else {
            "Training accuracy is measured on the augmented batches as they are trained."
        },
    )?;
    push_chart(
        &mut figs,
        "Domain loss and discriminator",
        "",
        &[
            series("domain loss", 3, e, |e| e.domain_loss),
            series("discriminator accuracy", 4, e, |e| e.domain_accuracy),
        ],
        Scale::Plain,
        "Discriminator accuracy near 0.5 means it can no longer tell source from target.",
    )?;
    push_chart(
        &mut figs,
        "Pseudo-labels",
        "target samples",
        &[series("pseudo-labelled target samples", 5, e, |e| {
            e.pseudo_labels.map(|p| p as f64)
        })],
        Scale::Plain,
        "Target samples confident enough to train on, per epoch.",
    )?;
    push_chart(
        &mut figs,
        "Deep embedded validation risk",
        "risk",
        &[series("DEV risk", 6, e, |e| e.dev_risk)],
        Scale::Plain,
        "You et al. 2019: an estimate of the target risk without target labels (lower is better).",
    )?;
    push_chart(
        &mut figs,
        "Learning rate",
        "learning rate",
        &[series("learning rate (end of epoch)", 7, e, |e| {
            Some(e.base.lr)
        })],
        Scale::Plain,
        "",
    )?;
    Ok(html::figures(&figs))
}

/// Confusion matrix, per-class accuracy and a table of the labelled sets.
fn evaluation(r: &RunData) -> anyhow::Result<String> {
    let mut out = String::new();
    let mut rows = Vec::new();
    let sets: [(&str, &str); 2] = if r.is_adapt() {
        [("test", "target test"), ("val", "source validation")]
    } else {
        [("test", "test"), ("val", "validation")]
    };
    for (k, name) in sets {
        if let Some(m) = r.metrics(k) {
            rows.push(vec![
                name.to_string(),
                pct(m.accuracy),
                format!("{:.4}", m.macro_f1),
                m.n.to_string(),
            ]);
        }
    }
    if r.is_adapt() && r.metrics("val").is_none() {
        if let Some(a) = r.num("source_val_accuracy") {
            rows.push(vec![
                "source validation".into(),
                pct(a),
                String::new(),
                String::new(),
            ]);
        }
    }
    if !rows.is_empty() {
        out.push_str(&html::table(
            &["set", "accuracy", "macro-F1", "samples"].map(String::from),
            &rows,
        ));
    }
    let Some((set, m)) = r.headline() else {
        out.push_str(&html::note(
            "No labelled evaluation set: no confusion matrix.",
        ));
        return Ok(out);
    };
    let classes = r.classes();
    let mut figs = Vec::new();
    if !m.confusion.is_empty() {
        figs.push(
            Figure::new(confusion::heatmap(
                &format!("Confusion matrix ({set})"),
                &m.confusion,
                &classes,
            )?)
            .caption(
                "Rows: true class; columns: predicted class. Colour: share of the row; numbers: \
                 counts.",
            ),
        );
    }
    if !m.per_class_accuracy.is_empty() {
        let (svg, note) = bars::per_class(
            &format!("Accuracy per class ({set})"),
            &m.per_class_accuracy,
            &classes,
        )?;
        figs.push(Figure::new(svg).caption(note));
    }
    out.push_str(&html::figures(&figs));
    Ok(out)
}

/// PAD table and the four projections of an adaptation run.
fn alignment(r: &RunData) -> anyhow::Result<Option<String>> {
    let Some(p) = &r.projection else {
        return Ok(None);
    };
    let mut out = html::note(&format!(
        "Penultimate features (the {}-dimensional output of the backbone before the head) of \
         {} source and {} target samples drawn with seed {}, under the initial model (before \
         adaptation) and the final one (after).",
        p.feature_dim, p.source, p.target, p.seed
    ));
    let pad_row = |when: &str, v: &super::projection::View| -> Vec<String> {
        match &v.pad {
            Some(d) => vec![
                when.to_string(),
                format!("{:.3}", d.pad),
                pct(d.error),
                format!("{}", d.c),
                format!("{} / {}", d.train, d.test),
            ],
            None => vec![
                when.to_string(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
            ],
        }
    };
    out.push_str(&html::table(
        &[
            "model",
            "proxy A-distance",
            "domain classifier error",
            "C",
            "fit / held-out rows",
        ]
        .map(String::from),
        &[pad_row("before", &p.before), pad_row("after", &p.after)],
    ));
    let pad = r.summary.get("proxy_a_distance");
    if pad
        .and_then(|v| v.get("random_start"))
        .and_then(|v| v.as_bool())
        == Some(true)
    {
        let inputs = pad
            .and_then(|v| v.get("inputs"))
            .and_then(|v| v.as_f64())
            .map_or(String::new(), |d| {
                format!(" Between the inputs themselves the proxy A-distance is {d:.3}.")
            });
        out.push_str(&html::note(&format!(
            "The run started from random weights: \"before\" measures a randomly initialised \
             network's projection of the domains, not a trained source model's.{inputs}"
        )));
    }
    out.push_str(&html::note(
        "Proxy A-distance (Ben-David et al. 2007; Ganin et al. 2016): 2(1 − 2ε), ε the \
         held-out error of a linear classifier separating source from target features. 0: the \
         domains look alike to it; 2: it always tells them apart.",
    ));
    let mut figs = Vec::new();
    for (when, v) in [("before", &p.before), ("after", &p.after)] {
        let (s, t) = p.split(&v.pca);
        let axes = (
            format!("PC 1 ({:.1}%)", 100.0 * v.pca_variance[0]),
            format!("PC 2 ({:.1}%)", 100.0 * v.pca_variance[1]),
        );
        figs.push(
            Figure::new(scatter::domains(
                &format!("PCA, {when} adaptation"),
                &s,
                &t,
                Some((&axes.0, &axes.1)),
            )?)
            .legend(scatter::legend(s.len(), t.len())),
        );
    }
    for (when, v) in [("before", &p.before), ("after", &p.after)] {
        if let Some(pts) = &v.tsne {
            let (s, t) = p.split(pts);
            figs.push(
                Figure::new(scatter::domains(
                    &format!("t-SNE, {when} adaptation"),
                    &s,
                    &t,
                    None,
                )?)
                .legend(scatter::legend(s.len(), t.len()))
                .caption(
                    v.tsne_kl
                        .map_or(String::new(), |kl| format!("KL divergence {kl:.3}")),
                ),
            );
        }
    }
    out.push_str(&html::figures(&figs));
    out.push_str(&html::note(
        "t-SNE (van der Maaten & Hinton 2008): exact gradient, perplexity 30, early \
         exaggeration 12; distances within a cluster mean more than distances between \
         clusters.",
    ));
    for n in &p.notes {
        out.push_str(&html::note(n));
    }
    Ok(Some(out))
}

/// Fractional numbers inside `v` kept to 4 decimals, for reading.
fn rounded(v: &Value) -> Value {
    match v {
        Value::Number(n) if n.is_f64() => n
            .as_f64()
            .and_then(|f| serde_json::Number::from_f64((f * 1e4).round() / 1e4))
            .map_or_else(|| v.clone(), Value::Number),
        Value::Array(a) => Value::Array(a.iter().map(rounded).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, x)| (k.clone(), rounded(x))).collect()),
        other => other.clone(),
    }
}

/// A summary value as text: numbers short, objects as compact JSON.
fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => format!("{f:.4}"),
            _ => n.to_string(),
        },
        other => rounded(other).to_string(),
    }
}

/// The summary's scalar fields (the evaluation sets are shown apart).
fn details(r: &RunData) -> String {
    let skip = ["val", "test", "classes", "run_dir"];
    let mut rows = Vec::new();
    if let Some(o) = r.summary.as_object() {
        for (k, v) in o {
            if skip.contains(&k.as_str()) || v.is_null() {
                continue;
            }
            rows.push((k.replace('_', " "), value_text(v)));
        }
    }
    let classes = r.classes();
    if !classes.is_empty() {
        let shown: Vec<&str> = classes.iter().take(30).map(String::as_str).collect();
        let more = if classes.len() > 30 {
            format!(" … ({} in all)", classes.len())
        } else {
            String::new()
        };
        rows.push(("classes".into(), format!("{}{more}", shown.join(", "))));
    }
    html::key_values(&rows)
}

fn environment(r: &RunData) -> String {
    let Some(env) = &r.environment else {
        return html::note(
            "No environment.json: the run was made by an older graft that did not record it.",
        );
    };
    let rows = |v: &Value| -> Vec<(String, String)> {
        v.as_object()
            .map(|o| {
                o.iter()
                    .filter(|(k, v)| k.as_str() != "resumed" && !v.is_null())
                    .map(|(k, v)| {
                        let text = match v {
                            Value::Array(a) => a
                                .iter()
                                .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                                .collect::<Vec<_>>()
                                .join(" "),
                            other => value_text(other),
                        };
                        (k.replace('_', " "), text)
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = html::key_values(&rows(env));
    if let Some(list) = env.get("resumed").and_then(Value::as_array) {
        for (i, v) in list.iter().enumerate() {
            out.push_str(&format!("<h3>Resumed ({})</h3>", i + 1));
            out.push_str(&html::key_values(&rows(v)));
        }
    }
    out
}

fn files(dir: &Path) -> String {
    let mut rows: Vec<Vec<String>> = std::fs::read_dir(dir)
        .map(|it| {
            it.filter_map(Result::ok)
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .filter_map(|e| {
                    let m = e.metadata().ok()?;
                    m.is_file().then(|| {
                        vec![
                            e.file_name().to_string_lossy().into_owned(),
                            format!("{:.1} KB", m.len() as f64 / 1024.0),
                        ]
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    rows.sort();
    html::table(&["file".into(), "size".into()], &rows)
}

/// Headline cards.
fn cards(r: &RunData) -> Vec<(String, String)> {
    let mut c = Vec::new();
    if let Some((set, m)) = r.headline() {
        c.push((format!("{set} accuracy"), pct(m.accuracy)));
        c.push((format!("{set} macro-F1"), format!("{:.4}", m.macro_f1)));
    }
    if let Some(p) = &r.projection {
        if let (Some(b), Some(a)) = (&p.before.pad, &p.after.pad) {
            c.push((
                "proxy A-distance before → after".into(),
                format!("{:.2} → {:.2}", b.pad, a.pad),
            ));
        }
    }
    if let Some(d) = r.num("dev_risk") {
        c.push(("DEV risk (selected)".into(), format!("{d:.4}")));
    }
    let epochs = r.num("epochs_run").map_or(r.epochs.len(), |v| v as usize);
    c.push(("epochs".into(), epochs.to_string()));
    if let Some(s) = r.num("selected_epoch") {
        c.push(("selected epoch".into(), format!("{s}")));
    } else if let Some(s) = r.str_field("selected") {
        let short = s.split(' ').take(2).collect::<Vec<_>>().join(" ");
        c.push(("selected".into(), short));
    }
    if let Some(l) = r.epochs.last() {
        c.push((
            "final train loss".into(),
            format!("{:.4}", l.base.train_loss),
        ));
    }
    if let Some(s) = r.num("seconds") {
        c.push(("run time".into(), format!("{s:.1} s")));
    }
    c
}

/// The whole page of run `r`.
pub fn page(r: &RunData) -> anyhow::Result<String> {
    let model = r.str_field("model").unwrap_or("?");
    let mut title = format!("graft {}: {model} on {}", r.command(), r.data_label());
    if let Some(m) = r.str_field("method") {
        title = format!("graft {} ({m}): {model}, {}", r.command(), r.data_label());
    }
    let mut body = format!("<h1>{}</h1>\n", esc(&title));
    let mut sub = vec![format!("run {}", r.dir.display())];
    if let Some(s) = r.str_field("selected") {
        sub.push(format!("selected {s}"));
    }
    if let Some(t) = r
        .environment
        .as_ref()
        .and_then(|e| e.get("started"))
        .and_then(Value::as_str)
    {
        sub.push(format!("started {t}"));
    }
    body.push_str(&format!("<p class=\"sub\">{}</p>\n", esc(&sub.join(" · "))));
    body.push_str(&html::cards(&cards(r)));
    body.push_str(&html::section(
        "curves",
        "Learning curves",
        &learning_curves(r).context("learning curves")?,
    ));
    body.push_str(&html::section(
        "evaluation",
        "Evaluation",
        &evaluation(r).context("evaluation plots")?,
    ));
    if let Some(a) = alignment(r).context("domain alignment plots")? {
        body.push_str(&html::section("alignment", "Domain alignment", &a));
    } else if r.is_adapt() {
        body.push_str(&html::section(
            "alignment",
            "Domain alignment",
            &html::note("No projection of the features was saved (--projection-samples 0)."),
        ));
    }
    body.push_str(&html::section("details", "Run", &details(r)));
    body.push_str(&html::section(
        "recipe",
        "Recipe (recipe.toml)",
        &r.recipe.as_deref().map_or_else(
            || html::note("No recipe.toml in the run directory."),
            html::pre,
        ),
    ));
    body.push_str(&html::section(
        "environment",
        "Environment",
        &environment(r),
    ));
    body.push_str(&html::section("files", "Files", &files(&r.dir)));
    Ok(html::document(&title, &body))
}

/// Builds the report of run directory `dir` into `out` (default `dir/report.html`).
pub fn write_run_report(dir: &Path, out: Option<&Path>) -> anyhow::Result<PathBuf> {
    let r = RunData::open(dir)?;
    let html = page(&r).with_context(|| format!("building the report of {}", dir.display()))?;
    let path = out.map_or_else(|| dir.join(FILE), Path::to_path_buf);
    graft_data::atomic::write_atomic_bytes(&path, html.as_bytes())?;
    Ok(path)
}
