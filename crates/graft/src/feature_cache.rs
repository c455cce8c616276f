//! Features extracted once and reused: a cache keyed by everything that determines them (model,
//! weights hash, stage, preprocessing, and the data listing: every file's path, size, mtime and
//! label; for texts, the texts and labels themselves), so a second `graft probe` or `graft rank`
//! on the same data never runs the backbone.

use crate::extract::{extract, Extracted, Request};
use crate::observe::Observer;
use anyhow::Context;
use graft_data::features::FeatureSet;
use graft_data::image_folder::{ImageDataset, OpenOptions};
use graft_data::npy::{write_npz, NpyOut, NpzFile};
use graft_nn::precision::Precision;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// `$GRAFT_CACHE_DIR`, else `$XDG_CACHE_HOME/graft`, else `~/.cache/graft`.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("GRAFT_CACHE_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(d).join("graft");
    }
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".cache").join("graft"),
        None => PathBuf::from(".graft-cache"),
    }
}

/// The cache key of a request: SHA-256 of a canonical description of its inputs.
fn key(r: &Request<'_>) -> anyhow::Result<String> {
    let mut h = Sha256::new();
    let mut put = |s: &str| {
        h.update((s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
    };
    if crate::model_ref::ModelRef::resolve(r.model)?.is_text() {
        crate::text_features::describe(r, &mut put)?;
    } else {
        describe_images(r, &mut put)?;
    }
    if r.precision != Precision::Fp32 {
        put(&format!("precision={}", r.precision));
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Feeds `put` everything that determines the image features of `r`.
fn describe_images(r: &Request<'_>, put: &mut dyn FnMut(&str)) -> anyhow::Result<()> {
    let spec = graft_nn::models::find(r.model)?;
    let stage = match r.stage {
        Some(s) => s.to_string(),
        None => spec
            .stage_names()
            .last()
            .copied()
            .unwrap_or_default()
            .to_string(),
    };
    let weights = match r.weights {
        Some(w) => graft_nn::weights::sha256_file(&graft_nn::weights::resolve(w)?)?,
        None => format!("random-init seed={}", r.seed),
    };
    let ds = ImageDataset::open_with(r.data, OpenOptions { min_classes: 1 })
        .with_context(|| format!("reading the dataset at {}", r.data.display()))?;
    put("graft-features-v1");
    put(spec.name);
    put(&weights);
    put(&stage);
    put(&serde_json::to_string(&spec.preprocess())?);
    // Keys from before reduced decoding existed described full-size decodes, and still do.
    let decode = r.decode_size;
    if decode != graft_data::image_io::DecodeSize::Full {
        put(&format!("decode={}", decode.name()));
    }
    put(&format!("{}", r.with_source_probs));
    // Keys from before the setting existed had the model's own pooling, and still do.
    if let Some(p) = r.pool {
        put(&format!("pool={}", p.name()));
    }
    for c in &ds.classes {
        put(c);
    }
    for (p, label) in &ds.samples {
        let m = std::fs::metadata(p).with_context(|| format!("reading {}", p.display()))?;
        let mtime = m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        put(&format!("{}\t{}\t{mtime}\t{label}", p.display(), m.len()));
    }
    Ok(())
}

/// Features for `r`, from the cache when present; `true` when they came from it.
pub fn cached_features(
    r: &Request<'_>,
    obs: &mut dyn Observer,
) -> anyhow::Result<(Extracted, bool)> {
    let dir = cache_dir().join("features");
    let k = key(r)?;
    let feats = dir.join(format!("{k}.safetensors"));
    let probs = dir.join(format!("{k}.probs.npz"));
    if feats.exists() && (!r.with_source_probs || probs.exists()) {
        if let Ok(set) = FeatureSet::read(&feats) {
            let source_probs = if r.with_source_probs {
                let a = NpzFile::open(&probs)?.array("P")?;
                let k = a.shape.get(1).copied().unwrap_or(0);
                Some((
                    a.to_f64(&probs, "P")?
                        .into_iter()
                        .map(|v| v as f32)
                        .collect(),
                    k,
                ))
            } else {
                None
            };
            return Ok((
                Extracted {
                    set,
                    skipped: Vec::new(),
                    source_probs,
                },
                true,
            ));
        }
    }
    let e = extract(r, obs)?;
    if !e.skipped.is_empty() {
        // A partial extraction is not what the key describes: do not cache it.
        return Ok((e, false));
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    if let Some((p, k)) = &e.source_probs {
        graft_data::atomic::write_atomic(&probs, |w| {
            write_npz(w, &[("P", &[e.set.n, *k], NpyOut::F32(p))])
        })?;
    }
    e.set.write_safetensors(&feats)?;
    Ok((e, false))
}
