//! The resumable checkpoint: model variables, optimiser state and the trainer's progress in
//! one safetensors file, written atomically, so a crash at any instant leaves either the old
//! checkpoint or the new one, never a mix of two epochs.

use crate::train::optim::Optimizer;
use crate::train::params::Param;
use crate::weights::save::save_tensors;
use crate::weights::{safetensors, StateDict};
use crate::{NnError, Result};
use std::collections::BTreeMap;
use std::path::Path;
use tch::nn::VarStore;

/// Metadata key holding the trainer's progress as JSON.
const PROGRESS_KEY: &str = "graft.progress";

/// Variables stored beside the model's under `prefix` (an adaptation run's heads): `what` they
/// are and, as `hint`, where a checkpoint without them most likely came from.
pub(crate) struct Extra<'a> {
    pub prefix: &'static str,
    pub vs: &'a VarStore,
    pub what: &'static str,
    pub hint: &'static str,
}

pub fn save(
    path: &Path,
    vs: &VarStore,
    params: &[Param],
    opt: &Optimizer,
    progress_json: &str,
) -> Result<()> {
    save_with(path, vs, &[], params, opt, progress_json)
}

/// [`save`] with `extra` stores written under their prefixes.
pub(crate) fn save_with(
    path: &Path,
    vs: &VarStore,
    extra: &[Extra<'_>],
    params: &[Param],
    opt: &Optimizer,
    progress_json: &str,
) -> Result<()> {
    let mut named: Vec<(String, tch::Tensor)> = vs
        .variables()
        .into_iter()
        .map(|(k, v)| (format!("model.{k}"), v))
        .collect();
    for e in extra {
        named.extend(
            e.vs.variables()
                .into_iter()
                .map(|(k, v)| (format!("{}.{k}", e.prefix), v)),
        );
    }
    named.extend(opt.state_tensors(params));
    let meta = BTreeMap::from([(PROGRESS_KEY.to_string(), progress_json.to_string())]);
    save_tensors(&named, path, &meta).map_err(failed_checkpoint_write)
}

/// A full disk must not read as a damaged run: the error says which write failed and that the
/// atomic write kept the previous checkpoint, so `--resume` is safe once there is room again.
pub(crate) fn failed_checkpoint_write(e: NnError) -> NnError {
    match e {
        NnError::Io { path, source } => NnError::Io {
            source: std::io::Error::new(
                source.kind(),
                format!(
                    "cannot write the training checkpoint ({source}); the previous checkpoint, \
                     if any, is unchanged"
                ),
            ),
            path,
        },
        other => other,
    }
}

/// Restores model variables and optimiser state; returns the saved progress JSON.
pub fn load(
    path: &Path,
    vs: &mut VarStore,
    params: &[Param],
    opt: &mut Optimizer,
) -> Result<String> {
    load_with(path, vs, &[], params, opt)
}

/// Copies the variables of `vs` (`what`) from `sd`'s `prefix.NAME` entries; an error names the
/// missing ones and `hint`.
fn restore(sd: &StateDict, path: &Path, e: &Extra<'_>) -> Result<()> {
    let (prefix, vs) = (e.prefix, e.vs);
    let mut missing = Vec::new();
    tch::no_grad(|| -> Result<()> {
        for (name, mut var) in vs.variables() {
            match sd.get(&format!("{prefix}.{name}")) {
                Some(t) => {
                    var.f_copy_(t)?;
                }
                None => missing.push(name),
            }
        }
        Ok(())
    })?;
    if !missing.is_empty() {
        return Err(NnError::BadWeights {
            path: path.to_path_buf(),
            what: format!(
                "checkpoint lacks {}: {} ({})",
                e.what,
                missing.join(", "),
                e.hint
            ),
        });
    }
    Ok(())
}

/// [`load`] that also restores the `extra` stores written by [`save_with`], from one read of
/// the file.
pub(crate) fn load_with(
    path: &Path,
    vs: &mut VarStore,
    extra: &[Extra<'_>],
    params: &[Param],
    opt: &mut Optimizer,
) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|source| NnError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let progress = ::safetensors::SafeTensors::read_metadata(&bytes)
        .ok()
        .and_then(|(_, m)| m.metadata().as_ref()?.get(PROGRESS_KEY).cloned())
        .ok_or_else(|| NnError::BadWeights {
            path: path.to_path_buf(),
            what: "not a graft training checkpoint (no progress record)".into(),
        })?;
    let sd: StateDict = safetensors::from_bytes(&bytes, path)?;
    let model = Extra {
        prefix: "model",
        vs,
        what: "model variables",
        hint: "was it written by another model?",
    };
    for e in std::iter::once(&model).chain(extra) {
        restore(&sd, path, e)?;
    }
    opt.load_state(params, &|k| sd.get(k).map(|t| t.shallow_clone()))
        .map_err(|e| NnError::BadWeights {
            path: path.to_path_buf(),
            what: e.to_string(),
        })?;
    Ok(progress)
}
