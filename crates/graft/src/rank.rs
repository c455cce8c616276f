//! `graft rank`: which pre-trained backbone (or which stage of one) will transfer best to a
//! labelled target set, before any training: transferability scores on extracted (cached)
//! features and, where the weights have their source head, on its predictions.

use crate::extract::Request;
use crate::feature_cache::cached_features;
use crate::feature_input::Labelled;
use crate::model_ref::ModelRef;
use crate::observe::Observer;
use crate::Runtime;
use anyhow::{bail, Context};
use graft_shallow::{scores, Matrix};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Score {
    /// LogME (You et al. 2021): log marginal evidence of a Bayesian linear model on the features
    Logme,
    /// H-score (Bao et al. 2019): inter-class feature variance against the features' covariance
    Hscore,
    /// LEEP (Nguyen et al. 2020): log expected empirical prediction of the source head
    Leep,
    /// NCE (Tran et al. 2019): negative conditional entropy of target labels given source labels
    Nce,
}

/// A ranking as the `graft rank` flags describe it.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
pub struct RankSpec {
    /// Candidate backbones, comma-separated: registry names (see `graft models`) or text model
    /// folders
    #[cfg_attr(feature = "clap", arg(long, value_delimiter = ',', required = true))]
    pub models: Vec<String>,
    /// Their weights, comma-separated in the same order (one per model)
    #[cfg_attr(feature = "clap", arg(long, value_delimiter = ','))]
    pub weights: Vec<String>,
    /// Stages to rank as candidates too, comma-separated (each model's last stage otherwise)
    #[cfg_attr(feature = "clap", arg(long, value_delimiter = ','))]
    pub stages: Vec<String>,
    /// A vision transformer's pooling: `token` (the class token), `avg` (the mean of the patch
    /// tokens) or `token+avg` (both concatenated, DINOv2's linear-probe protocol); default the
    /// model's own
    #[cfg_attr(feature = "clap", arg(long))]
    pub pool: Option<graft_nn::models::vit::Pool>,
    /// Labelled target data: images (folder or manifest), or texts for text models
    #[cfg_attr(feature = "clap", arg(long))]
    pub data: PathBuf,
    /// Score that orders the table
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = Score::Logme))]
    pub score: Score,
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 32))]
    pub batch_size: usize,
    #[cfg_attr(feature = "clap", command(flatten))]
    pub text: crate::text_features::TextArgs,
}

/// One ranked candidate: a backbone at a stage, with its scores (LEEP and NCE need the source
/// head in the weights).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Candidate {
    pub rank: usize,
    pub model: String,
    pub stage: String,
    pub dim: usize,
    pub logme: f64,
    pub hscore: f64,
    pub leep: Option<f64>,
    pub nce: Option<f64>,
    /// The features came from the cache.
    pub cached: bool,
}

/// The candidates best first, as `graft rank --json` prints them.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Ranking {
    pub command: &'static str,
    pub data: String,
    pub order_by: Score,
    pub candidates: Vec<Candidate>,
}

impl Candidate {
    pub fn score(&self, s: Score) -> Option<f64> {
        match s {
            Score::Logme => Some(self.logme),
            Score::Hscore => Some(self.hscore),
            Score::Leep => self.leep,
            Score::Nce => self.nce,
        }
    }
}

/// Scores every candidate of `a` on its labelled data, best first by `a.score`.
pub fn run(a: &RankSpec, rt: &Runtime, obs: &mut dyn Observer) -> anyhow::Result<Ranking> {
    let threads = rt.apply_threads();
    let device = rt.device;
    if !a.weights.is_empty() && a.weights.len() != a.models.len() {
        bail!(
            "--weights lists {} files for {} models; give one per model, in the same order",
            a.weights.len(),
            a.models.len()
        );
    }
    let mut out = Vec::new();
    for (i, model) in a.models.iter().enumerate() {
        let weights = a.weights.get(i).map(String::as_str);
        let known = ModelRef::resolve(model)?.stage_names(&[])?;
        let mut stages: Vec<Option<String>> = a
            .stages
            .iter()
            .filter(|s| known.contains(s))
            .map(|s| Some(s.clone()))
            .collect();
        if stages.is_empty() {
            stages.push(None);
        }
        for stage in stages {
            let req = |with_probs| Request {
                model,
                weights,
                data: &a.data,
                stage: stage.as_deref(),
                batch_size: a.batch_size,
                threads,
                seed: 0,
                device,
                precision: rt.precision,
                skip_bad: false,
                with_source_probs: with_probs,
                decode_size: crate::decode_size::for_new_run(rt.decode_size),
                text: &a.text,
                pool: a.pool,
            };
            // The source head's predictions need the head in the weights; without it (or without
            // weights) LEEP and NCE are left out for this candidate.
            let (e, cached) = match weights.map(|_| cached_features(&req(true), obs)) {
                Some(Ok(r)) => r,
                _ => cached_features(&req(false), obs)
                    .with_context(|| format!("extracting features with {model}"))?,
            };
            let stage_name = e.set.metadata.get("stage").cloned().unwrap_or_default();
            let probs = e.source_probs.clone();
            let l = Labelled::from_arrays(e.set.into_arrays(&a.data))?;
            let (leep, nce) = match probs {
                Some((p, k)) => {
                    let pm = Matrix::from_f32(l.x.rows(), k, &p)?;
                    let argmax: Vec<usize> = (0..pm.rows())
                        .map(|r| {
                            let row = pm.row(r);
                            (0..k)
                                .max_by(|&x, &y| row[x].total_cmp(&row[y]))
                                .unwrap_or(0)
                        })
                        .collect();
                    (
                        Some(scores::leep(&pm, &l.y)?),
                        Some(scores::nce(&argmax, &l.y)?),
                    )
                }
                None => (None, None),
            };
            out.push(Candidate {
                rank: 0,
                model: model.clone(),
                stage: stage_name,
                dim: l.x.cols(),
                logme: scores::log_me(&l.x, &l.y)?,
                hscore: scores::h_score(&l.x, &l.y)?,
                leep,
                nce,
                cached,
            });
        }
    }
    out.sort_by(|x, y| {
        let (a1, b1) = (x.score(a.score), y.score(a.score));
        b1.unwrap_or(f64::NEG_INFINITY)
            .total_cmp(&a1.unwrap_or(f64::NEG_INFINITY))
    });
    for (i, c) in out.iter_mut().enumerate() {
        c.rank = i + 1;
    }
    Ok(Ranking {
        command: "rank",
        data: a.data.display().to_string(),
        order_by: a.score,
        candidates: out,
    })
}
