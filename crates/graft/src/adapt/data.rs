//! The three sets of an adaptation run (labelled source, unlabelled target, labelled target
//! test), as images for a registry model or as feature vectors for the `mlp` model, checked
//! against each other: same classes, same input shape.

use crate::vector_data;
use anyhow::bail;
use graft_data::preprocess::Preprocess;
use graft_nn::train::engine::derive_seed;
use graft_nn::train::{InputSpec, Samples};
use std::path::Path;

/// `k` of `0..n` drawn without replacement (Fisher-Yates on the seed's SplitMix stream), sorted.
pub fn draw(n: usize, k: usize, seed: u64, stream: u64) -> Vec<i64> {
    let mut idx: Vec<i64> = (0..n as i64).collect();
    for i in (1..n).rev() {
        let j = (derive_seed(seed, stream, i as u64) % (i as u64 + 1)) as usize;
        idx.swap(i, j);
    }
    idx.truncate(k.min(n));
    idx.sort_unstable();
    idx
}

/// The source, target and test sets with the input spec the model takes.
pub struct Sets {
    pub source: Samples,
    pub target: Samples,
    pub test: Option<Samples>,
    pub input: InputSpec,
}

/// Texts for the text model `model` (a model folder), cut to `max_length` tokens (default: the
/// model's own); the unlabelled target's labels are not read.
pub fn texts(
    source: &str,
    target: &str,
    test: Option<&str>,
    model: &str,
    max_length: Option<usize>,
    obs: &mut dyn crate::Observer,
) -> anyhow::Result<Sets> {
    let args = crate::text_features::TextArgs {
        max_length,
        ..Default::default()
    };
    let recipe = crate::text_data::TextRecipe::new(&args, args.max_length(model)?);
    let tok = graft_nn::models::bert::load::tokenizer_file(model)?;
    let mut open = |p: &str, labelled| crate::text_data::open(p, &tok, &recipe, labelled, obs);
    Ok(Sets {
        source: open(source, true)?,
        target: open(target, false)?,
        test: test.map(|p| open(p, true)).transpose()?,
        input: InputSpec::tokens(),
    })
}

/// Images for a registry model with preprocessing `pre`.
pub fn images(
    source: &str,
    target: &str,
    test: Option<&str>,
    pre: &Preprocess,
    threads: usize,
    decode: graft_data::image_io::DecodeSize,
    obs: &mut dyn crate::Observer,
) -> anyhow::Result<Sets> {
    let mut open = |spec: &str| crate::image_data::open(spec, pre, None, threads, decode, obs);
    let s = open(source)?;
    let t = if Path::new(target).is_dir() {
        open(target)?
    } else {
        Samples::from_arrays(&vector_data::arrays(target, None)?)?
    };
    let te = test.map(&mut open).transpose()?;
    let input = InputSpec::from_preprocess(pre, None);
    Ok(Sets {
        source: s,
        target: t,
        test: te,
        input,
    })
}

/// Feature vectors (svmlight, .npz, CSV) for the `mlp` model, read at one width.
pub fn vectors(source: &str, target: &str, test: Option<&str>) -> anyhow::Result<Sets> {
    let specs: Vec<&str> = [Some(source), Some(target), test]
        .into_iter()
        .flatten()
        .collect();
    let width = vector_data::common_width(&specs)?;
    let s = vector_data::open(source, width)?;
    let t = vector_data::open(target, width)?;
    let te = test.map(|p| vector_data::open(p, width)).transpose()?;
    let input = InputSpec::vectors(s.channels());
    Ok(Sets {
        source: s,
        target: t,
        test: te,
        input,
    })
}

/// Refuses a target or test set whose classes or input shape differ from the source's.
pub fn check(sets: &Sets, vectors: bool) -> anyhow::Result<()> {
    let s = &sets.source;
    if s.num_classes() < 2 {
        bail!(
            "{}: the source needs at least 2 classes, found {}",
            s.source,
            s.num_classes()
        );
    }
    if s.labels.iter().any(|&l| l < 0) {
        bail!("{}: the source must be labelled in every sample", s.source);
    }
    if sets.target.is_empty() {
        bail!(
            "{}: the unlabelled target set is empty; adaptation needs target samples",
            sets.target.source
        );
    }
    let shape_of =
        |t: &Samples| -> (i64, Option<(i64, i64)>) { (t.channels(), (!vectors).then(|| t.hw())) };
    let mut others = vec![("unlabelled target", &sets.target)];
    if let Some(t) = &sets.test {
        others.push(("target test", t));
    }
    for (what, t) in others {
        let labelled = t.labels.iter().any(|&l| l >= 0);
        if labelled {
            crate::train::same_classes(t, what, s, "the source")?;
        }
        let (a, b) = (shape_of(t), shape_of(s));
        if vectors && a.0 != b.0 {
            bail!(
                "{} ({what}) has {} features per sample but the source {} has {}; they must match",
                t.source,
                a.0,
                s.source,
                b.0
            );
        }
        if !vectors && a.0 != b.0 {
            bail!(
                "{} ({what}) has {}-channel images but the source {} has {}-channel ones; they \
                 must match",
                t.source,
                a.0,
                s.source,
                b.0
            );
        }
    }
    if sets
        .test
        .as_ref()
        .is_some_and(|t| t.labels.iter().all(|&l| l < 0))
    {
        bail!("the target test set has no labels; it is only used to measure accuracy");
    }
    Ok(())
}
