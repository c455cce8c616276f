//! Predicting with a finished run (`graft predict`): the top-k classes of image files, or of
//! every text in text files, with their probabilities.

use crate::finished_run::{FinishedRun, RunInput};
use crate::image_data::storage_for;
use crate::observe::Observer;
use crate::Runtime;
use anyhow::{bail, Context};
use graft_data::image_io::load_preprocessed_with;
use graft_nn::precision::Autocast;
use graft_nn::train::{predict_proba, Samples};
use serde::Serialize;
use std::path::PathBuf;

/// What to predict: a run directory and the inputs.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
pub struct PredictSpec {
    /// A run directory written by `graft pretrain`, `graft finetune` or `graft adapt`
    pub run_dir: PathBuf,
    /// Image files (jpg, png, webp, bmp) for an image run; for a text run, files of texts
    /// (JSONL or CSV/TSV with a `text` column, .txt folders), one prediction per text; for an
    /// mlp run, files of feature vectors, one prediction per row
    #[cfg_attr(feature = "clap", arg(required = true))]
    pub files: Vec<PathBuf>,
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 5))]
    pub top_k: usize,
}

/// One class and its probability.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Scored {
    pub class: String,
    pub probability: f32,
}

/// The top classes of one input, most probable first.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Prediction {
    /// The image file, or `FILE:N` for the N-th text or row (from 1) of a file.
    pub path: String,
    /// Text runs: the text itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    pub top: Vec<Scored>,
}

/// One batch of inputs as the run's model takes them, with a name (and text) for each.
type Batch = (Samples, Vec<(String, Option<String>)>);

/// The inputs of `spec`: all the images in one batch, or one batch per file of texts.
fn inputs(
    run: &FinishedRun,
    spec: &PredictSpec,
    obs: &mut dyn Observer,
) -> anyhow::Result<Vec<Batch>> {
    match &run.kind {
        RunInput::Images { pre, image_size } => {
            let (store, fraction) = storage_for(pre, *image_size);
            let side = store.crop.expect("storage sets a crop").0 as i64;
            let mut pixels = Vec::new();
            for f in &spec.files {
                let v = load_preprocessed_with(f, &store, run.decode_size)
                    .with_context(|| format!("reading {}", f.display()))?;
                pixels.extend(v);
            }
            let n = spec.files.len() as i64;
            let c = store.channels() as i64;
            let images = tch::Tensor::from_slice(&pixels).f_view([n, c, side, side])?;
            let mut data = Samples::new(
                images,
                vec![-1; n as usize],
                run.classes.clone(),
                "the files to predict".into(),
            )?;
            data.center_fraction = fraction;
            let names = spec
                .files
                .iter()
                .map(|f| (f.display().to_string(), None))
                .collect();
            Ok(vec![(data, names)])
        }
        RunInput::Text { recipe, tokenizer } => spec
            .files
            .iter()
            .map(|f| {
                let name = f.display().to_string();
                let texts = crate::text_data::read(&name, recipe, false)?;
                let names = texts
                    .texts
                    .iter()
                    .enumerate()
                    .map(|(i, t)| (format!("{name}:{}", i + 1), Some(t.clone())))
                    .collect();
                let data = crate::text_data::tokenize(texts, &name, tokenizer, recipe, obs)?;
                Ok((data, names))
            })
            .collect(),
        RunInput::Vectors { width } => spec
            .files
            .iter()
            .map(|f| {
                let name = f.display().to_string();
                let data = crate::vector_data::open(&name, Some(*width as usize))?;
                let names = (1..=data.len())
                    .map(|i| (format!("{name}:{i}"), None))
                    .collect();
                Ok((data, names))
            })
            .collect(),
    }
}

/// The top `spec.top_k` classes of every input of `spec`.
pub fn run(
    spec: &PredictSpec,
    rt: &Runtime,
    obs: &mut dyn Observer,
) -> anyhow::Result<Vec<Prediction>> {
    rt.apply_threads();
    let device = rt.device;
    if spec.top_k == 0 {
        bail!("--top-k must be at least 1");
    }
    let run = FinishedRun::open(&spec.run_dir, rt, obs)?;
    if let Some(a) = rt.precision.advice(device) {
        obs.warn(a);
    }
    let k = spec.top_k.min(run.classes.len()) as i64;
    let mut out = Vec::new();
    for (data, names) in inputs(&run, spec, obs)? {
        let p = {
            let _autocast = Autocast::enter(rt.precision, device);
            predict_proba(run.loaded.model.as_ref(), &run.input, &data, device, 32)?
        };
        let (vals, idx) = p.f_topk(k, -1, true, true)?;
        let vals = Vec::<Vec<f32>>::try_from(vals)?;
        let idx = Vec::<Vec<i64>>::try_from(idx)?;
        out.extend(
            names
                .into_iter()
                .zip(vals.iter().zip(&idx))
                .map(|((path, text), (v, i))| Prediction {
                    path,
                    text,
                    top: v
                        .iter()
                        .zip(i)
                        .map(|(&probability, &c)| Scored {
                            class: run.classes[c as usize].clone(),
                            probability,
                        })
                        .collect(),
                }),
        );
    }
    Ok(out)
}
