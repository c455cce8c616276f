//! A finished run directory read for its report: `summary.json` (required), `metrics.jsonl`
//! (one epoch a line, required), `recipe.toml`, `environment.json` and the projection
//! (optional). Errors name the file, the line and what was expected.

use super::projection::{self, Projection};
use anyhow::{bail, Context};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Metrics on a labelled set, as the engine writes them.
pub use graft_nn::train::ClassMetrics as Metrics;

/// One line of `metrics.jsonl`, as the engines write it: the training engine's epoch record,
/// with the adaptation fields (absent, so `None`, in a training run's lines).
pub use graft_nn::train::adapt::AdaptRecord as Epoch;

/// Everything a report shows of one run.
#[derive(Debug, Clone)]
pub struct RunData {
    pub dir: PathBuf,
    /// The directory's own name, to tell runs apart.
    pub name: String,
    pub summary: Value,
    pub epochs: Vec<Epoch>,
    pub recipe: Option<String>,
    pub environment: Option<Value>,
    pub projection: Option<Projection>,
}

const WHAT: &str = "a run directory that graft pretrain, finetune or adapt wrote (with \
                    summary.json, metrics.jsonl and recipe.toml)";

/// The epochs of `metrics.jsonl` text; `path` names the file in errors.
pub fn parse_metrics(text: &str, path: &Path) -> anyhow::Result<Vec<Epoch>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let e: Epoch = serde_json::from_str(line).with_context(|| {
            format!(
                "{} line {}: expected one JSON object per epoch with epoch, train_loss, \
                 train_accuracy, lr and seconds",
                path.display(),
                i + 1
            )
        })?;
        out.push(e);
    }
    Ok(out)
}

impl RunData {
    pub fn open(dir: &Path) -> anyhow::Result<RunData> {
        if !dir.is_dir() {
            bail!("{}: not a run directory; expected {WHAT}", dir.display());
        }
        let sp = dir.join("summary.json");
        if !sp.exists() {
            bail!(
                "{}: missing; expected the summary a finished run writes ({} is not {WHAT}, or \
                 its run has not finished: continue it with --resume)",
                sp.display(),
                dir.display()
            );
        }
        let text =
            std::fs::read_to_string(&sp).with_context(|| format!("reading {}", sp.display()))?;
        let summary: Value = serde_json::from_str(&text).with_context(|| {
            format!(
                "{}: not valid JSON; expected the run's summary object",
                sp.display()
            )
        })?;
        if summary.get("command").and_then(Value::as_str).is_none() {
            bail!(
                "{}: no `command` field; expected the summary of a pretrain, finetune or adapt run",
                sp.display()
            );
        }
        let mp = dir.join("metrics.jsonl");
        let text = std::fs::read_to_string(&mp).with_context(|| {
            format!(
                "{}: cannot read it; expected one JSON line per epoch",
                mp.display()
            )
        })?;
        let epochs = parse_metrics(&text, &mp)?;
        let recipe = std::fs::read_to_string(dir.join("recipe.toml")).ok();
        let ep = dir.join(super::environment::FILE);
        let environment = match std::fs::read_to_string(&ep) {
            Ok(t) => Some(serde_json::from_str(&t).with_context(|| {
                format!(
                    "{}: not valid JSON; expected the run's environment",
                    ep.display()
                )
            })?),
            Err(_) => None,
        };
        // A projection that cannot be read or computed leaves the rest of the report standing.
        // The summary read above gives the seed: the same projection as the run's own.
        let seed = summary["seed"].as_u64().unwrap_or(0);
        let projection = projection::read(dir, seed).unwrap_or_else(|e| {
            // A report is built after its run has finished, often with no observer left to
            // tell: the log carries it.
            tracing::warn!("the report of {} has no projection: {e:#}", dir.display());
            None
        });
        let name = dir
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| dir.display().to_string());
        Ok(RunData {
            dir: dir.to_path_buf(),
            name,
            summary,
            epochs,
            recipe,
            environment,
            projection,
        })
    }

    pub fn command(&self) -> &str {
        self.summary["command"].as_str().unwrap_or("run")
    }

    pub fn is_adapt(&self) -> bool {
        self.command() == "adapt"
    }

    pub fn str_field(&self, k: &str) -> Option<&str> {
        self.summary.get(k).and_then(Value::as_str)
    }

    pub fn num(&self, k: &str) -> Option<f64> {
        self.summary.get(k).and_then(Value::as_f64)
    }

    pub fn classes(&self) -> Vec<String> {
        self.summary["classes"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| c.as_str().map_or_else(|| c.to_string(), str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A labelled set's final metrics from the summary (`test`, `val`).
    pub fn metrics(&self, k: &str) -> Option<Metrics> {
        self.summary
            .get(k)
            .filter(|v| !v.is_null())
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    }

    /// The set the headline accuracy is measured on, its name, and its metrics: the (target)
    /// test set, else the validation set, else the last epoch's validation.
    pub fn headline(&self) -> Option<(String, Metrics)> {
        let test_name = if self.is_adapt() {
            "target test"
        } else {
            "test"
        };
        if let Some(m) = self.metrics("test") {
            return Some((test_name.to_string(), m));
        }
        if let Some(m) = self.metrics("val") {
            return Some(("validation".to_string(), m));
        }
        self.epochs
            .iter()
            .rev()
            .find_map(|e| e.base.val.clone())
            .map(|m| ("validation (last epoch)".to_string(), m))
    }

    /// What the run learned from: the training data, or source -> target.
    pub fn data_label(&self) -> String {
        let short = |s: &str| {
            let (file, part) = match s.rsplit_once(':') {
                Some((f, p)) if !p.contains('/') => (f, Some(p)),
                _ => (s, None),
            };
            let base = Path::new(file)
                .file_name()
                .map_or_else(|| file.to_string(), |n| n.to_string_lossy().into_owned());
            match part {
                Some(p) => format!("{base}:{p}"),
                None => base,
            }
        };
        if self.is_adapt() {
            format!(
                "{} → {}",
                short(self.str_field("source").unwrap_or("?")),
                short(self.str_field("target_unlabelled").unwrap_or("?"))
            )
        } else {
            short(self.str_field("data").unwrap_or("?"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_line_is_named_with_its_number() {
        let good = r#"{"epoch":1,"train_loss":0.5,"train_accuracy":0.8,"lr":0.1,"seconds":1.0}"#;
        let e =
            parse_metrics(&format!("{good}\n{{\"epoch\":2}}\n"), Path::new("m.jsonl")).unwrap_err();
        let msg = format!("{e:#}");
        assert!(
            msg.contains("m.jsonl line 2") && msg.contains("train_loss"),
            "{msg}"
        );
        let ok = parse_metrics(&format!("{good}\n\n"), Path::new("m")).unwrap();
        assert_eq!(ok.len(), 1);
        assert_eq!(ok[0].base.val, None);
    }

    #[test]
    fn bad_directories_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let e = RunData::open(&dir.path().join("nope"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("nope") && e.contains("not a run directory"),
            "{e}"
        );
        let e = RunData::open(dir.path()).unwrap_err().to_string();
        assert!(e.contains("summary.json: missing"), "{e}");
        std::fs::write(dir.path().join("summary.json"), "{\"a\":1}").unwrap();
        let e = RunData::open(dir.path()).unwrap_err().to_string();
        assert!(e.contains("no `command` field"), "{e}");
    }
}
