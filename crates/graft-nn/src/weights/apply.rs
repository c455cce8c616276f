//! Copying a checkpoint into a model, strictly: as PyTorch's `load_state_dict(strict=True)`,
//! every model variable must be found with its exact shape and every file tensor must be used,
//! and all disagreements are reported at once, by name, so one run shows everything to fix.

use crate::weights::StateDict;
use crate::{NnError, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use tch::nn::VarStore;
use tch::Tensor;

/// What to leave out when matching a checkpoint against a model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadOptions {
    /// Key prefix left out on both sides (e.g. `fc.`), so that a new head keeps its fresh
    /// initialisation while the backbone loads.
    pub skip_head: Option<String>,
    /// Keys with these suffixes are left out on both sides (`num_batches_tracked`: graft's
    /// BatchNorm does not count batches).
    pub ignore_suffixes: Vec<String>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            skip_head: None,
            ignore_suffixes: vec!["num_batches_tracked".into()],
        }
    }
}

/// What a successful load did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Variables given the file's values.
    pub loaded: usize,
    /// File keys left out by the options (head, ignored suffixes), sorted.
    pub skipped: Vec<String>,
    /// Of the loaded, how many changed dtype on the way (e.g. f16 file, f32 model).
    pub converted_dtype: usize,
}

/// Copies `sd` into the variables of `vs`, keeping each variable's dtype and device. `model`
/// and `path` name the two sides in the error.
pub fn load_into(
    vs: &mut VarStore,
    sd: &StateDict,
    opts: &LoadOptions,
    model: &str,
    path: &Path,
) -> Result<LoadReport> {
    let left_out = |k: &str| {
        opts.skip_head.as_deref().is_some_and(|p| k.starts_with(p))
            || opts.ignore_suffixes.iter().any(|s| k.ends_with(s.as_str()))
    };
    let vars: BTreeMap<String, Tensor> = vs
        .variables()
        .into_iter()
        .filter(|(k, _)| !left_out(k))
        .collect();

    let mut report = LoadReport::default();
    let mut wanted: BTreeMap<&str, &Tensor> = BTreeMap::new();
    for (k, t) in &sd.tensors {
        if left_out(k) {
            report.skipped.push(k.clone());
        } else {
            wanted.insert(k, t);
        }
    }

    let mut problems = Problems::default();
    for (k, var) in &vars {
        match wanted.get(k.as_str()) {
            None => problems.missing.push(format!("{k} {:?}", var.size())),
            Some(t) if t.size() != var.size() => {
                problems
                    .shape
                    .push(format!("{k}: file {:?}, model {:?}", t.size(), var.size()))
            }
            Some(t) if !t.is_floating_point() && var.is_floating_point() => problems
                .dtype
                .push(format!("{k}: file {:?}, model {:?}", t.kind(), var.kind())),
            Some(_) => {}
        }
    }
    for (k, t) in &wanted {
        if !vars.contains_key(*k) {
            problems.unexpected.push(format!("{k} {:?}", t.size()));
        }
    }
    if !problems.is_empty() {
        return Err(NnError::Mismatch {
            path: path.to_path_buf(),
            model: model.to_string(),
            details: problems.render(&vars, &wanted),
        });
    }

    tch::no_grad(|| -> Result<()> {
        for (k, var) in &vars {
            let src = wanted[k.as_str()];
            if src.kind() != var.kind() {
                report.converted_dtype += 1;
            }
            let mut dst = var.shallow_clone();
            dst.f_copy_(src)?;
            report.loaded += 1;
        }
        Ok(())
    })?;
    Ok(report)
}

#[derive(Default)]
struct Problems {
    missing: Vec<String>,
    unexpected: Vec<String>,
    shape: Vec<String>,
    dtype: Vec<String>,
}

impl Problems {
    fn is_empty(&self) -> bool {
        self.missing.is_empty()
            && self.unexpected.is_empty()
            && self.shape.is_empty()
            && self.dtype.is_empty()
    }

    fn render(&self, vars: &BTreeMap<String, Tensor>, wanted: &BTreeMap<&str, &Tensor>) -> String {
        let mut out = String::new();
        let mut section = |title: &str, items: &[String]| {
            if !items.is_empty() {
                out.push_str(&format!("{title} ({}):\n", items.len()));
                for i in items {
                    out.push_str(&format!("  {i}\n"));
                }
            }
        };
        section("missing from the file", &self.missing);
        section("unexpected in the file", &self.unexpected);
        section("shape mismatches", &self.shape);
        section("non-float values for float variables", &self.dtype);
        if let Some(hint) = prefix_hint(vars.keys().map(String::as_str), wanted.keys().copied()) {
            out.push_str(&hint);
            out.push('\n');
        }
        out.trim_end().to_string()
    }
}

/// When the file's keys are the model's behind or without one extra leading component
/// (`module.` from DataParallel, `model.`, `backbone.`), says so: the commonest cause of a
/// load where nothing matches.
fn prefix_hint<'a>(
    model: impl Iterator<Item = &'a str> + Clone,
    file: impl Iterator<Item = &'a str> + Clone,
) -> Option<String> {
    let model_set: BTreeSet<&str> = model.clone().collect();
    let file_set: BTreeSet<&str> = file.clone().collect();
    let hit = |from: &BTreeSet<&'a str>, into: &BTreeSet<&str>| -> Option<&'a str> {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for k in from {
            if let Some((p, rest)) = k.split_once('.') {
                if into.contains(rest) {
                    *counts.entry(p).or_default() += 1;
                }
            }
        }
        counts
            .into_iter()
            .max_by_key(|(_, n)| *n)
            .filter(|(_, n)| *n * 2 >= into.len().max(1))
            .map(|(p, _)| p)
    };
    if let Some(p) = hit(&file_set, &model_set) {
        return Some(format!(
            "hint: the file's keys carry an extra `{p}.` prefix (e.g. saved from a wrapped model)"
        ));
    }
    hit(&model_set, &file_set).map(|p| {
        format!("hint: the file's keys lack the model's `{p}.` prefix (e.g. a bare backbone)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    fn model() -> VarStore {
        let vs = VarStore::new(Device::Cpu);
        let r = vs.root();
        let _ = r
            .sub("body")
            .var("weight", &[2, 3], tch::nn::Init::Const(0.0));
        let _ = r.sub("body").zeros_no_train("running_mean", &[2]);
        let _ = r
            .sub("fc")
            .var("weight", &[4, 2], tch::nn::Init::Const(0.0));
        vs
    }

    fn full() -> StateDict {
        let mut sd = StateDict::default();
        sd.insert(
            "body.weight",
            Tensor::arange(6, (Kind::Half, Device::Cpu)).view([2, 3]),
        );
        sd.insert("body.running_mean", Tensor::from_slice(&[1.0f32, 2.0]));
        sd.insert("body.num_batches_tracked", Tensor::from(3i64));
        sd.insert(
            "fc.weight",
            Tensor::ones([4, 2], (Kind::Float, Device::Cpu)),
        );
        sd
    }

    #[test]
    fn loads_everything_and_converts_dtype() {
        let mut vs = model();
        let r = load_into(
            &mut vs,
            &full(),
            &LoadOptions::default(),
            "m",
            Path::new("f"),
        )
        .unwrap();
        assert_eq!(r.loaded, 3);
        assert_eq!(r.converted_dtype, 1);
        assert_eq!(r.skipped, vec!["body.num_batches_tracked"]);
        let v = vs.variables();
        assert_eq!(v["body.weight"].kind(), Kind::Float);
        assert_eq!(v["body.weight"].double_value(&[1, 2]), 5.0);
        assert_eq!(v["body.running_mean"].double_value(&[1]), 2.0);
        assert!(v["body.weight"].requires_grad());
    }

    #[test]
    fn every_problem_is_listed_at_once() {
        let mut vs = model();
        let mut sd = full();
        sd.tensors.remove("body.running_mean");
        sd.insert(
            "fc.weight",
            Tensor::ones([10, 2], (Kind::Float, Device::Cpu)),
        );
        sd.insert("extra.bias", Tensor::ones([7], (Kind::Float, Device::Cpu)));
        sd.insert(
            "body.weight",
            Tensor::ones([2, 3], (Kind::Int64, Device::Cpu)),
        );
        let err = load_into(
            &mut vs,
            &sd,
            &LoadOptions::default(),
            "tiny",
            Path::new("w.st"),
        )
        .unwrap_err()
        .to_string();
        for needle in [
            "w.st",
            "`tiny`",
            "missing from the file (1):\n  body.running_mean [2]",
            "unexpected in the file (1):\n  extra.bias [7]",
            "fc.weight: file [10, 2], model [4, 2]",
            "body.weight: file Int64, model Float",
        ] {
            assert!(err.contains(needle), "`{needle}` not in:\n{err}");
        }
        // Nothing was copied: the model is untouched when the load fails.
        assert_eq!(vs.variables()["fc.weight"].double_value(&[0, 0]), 0.0);
    }

    #[test]
    fn skip_head_leaves_both_sides_head_alone() {
        let mut vs = model();
        let mut sd = full();
        sd.insert(
            "fc.weight",
            Tensor::ones([1000, 2], (Kind::Float, Device::Cpu)),
        );
        sd.insert("fc.bias", Tensor::ones([1000], (Kind::Float, Device::Cpu)));
        let opts = LoadOptions {
            skip_head: Some("fc.".into()),
            ..Default::default()
        };
        let r = load_into(&mut vs, &sd, &opts, "m", Path::new("f")).unwrap();
        assert_eq!(r.loaded, 2);
        assert_eq!(
            r.skipped,
            vec!["body.num_batches_tracked", "fc.bias", "fc.weight"]
        );
        assert_eq!(vs.variables()["fc.weight"].double_value(&[0, 0]), 0.0);
    }

    #[test]
    fn a_wrapper_prefix_is_pointed_out() {
        let mut vs = model();
        let mut sd = StateDict::default();
        for (k, t) in full().tensors {
            sd.insert(format!("module.{k}"), t);
        }
        let err = load_into(&mut vs, &sd, &LoadOptions::default(), "m", Path::new("f"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("extra `module.` prefix"), "{err}");
    }
}
