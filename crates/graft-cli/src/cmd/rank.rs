//! `graft rank`: which pre-trained backbone (or which stage of one) will transfer best to a
//! labelled target set, before any training: transferability scores on extracted (cached)
//! features and, where the weights have their source head, on its predictions.

use anyhow::{bail, Context};
use graft::extract::Request;
use graft::feature_cache::cached_features;
use graft::feature_input::Labelled;
use graft_linalg::{scores, Matrix};
use graft_nn::models::bert::load::{is_text_model, text_stage_names};
use serde_json::json;
use std::path::PathBuf;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
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

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Candidate backbones, comma-separated: registry names (see `graft models`) or text model
    /// folders
    #[arg(long, value_delimiter = ',', required = true)]
    pub models: Vec<String>,
    /// Their weights, comma-separated in the same order (one per model)
    #[arg(long, value_delimiter = ',')]
    pub weights: Vec<String>,
    /// Stages to rank as candidates too, comma-separated (each model's last stage otherwise)
    #[arg(long, value_delimiter = ',')]
    pub stages: Vec<String>,
    /// Labelled target data: images (folder or manifest), or texts for text models
    #[arg(long)]
    pub data: PathBuf,
    /// Score that orders the table
    #[arg(long, value_enum, default_value_t = Score::Logme)]
    pub score: Score,
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    #[command(flatten)]
    pub run: crate::cmd::runtime_args::InferenceArgs,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub text: graft::text_features::TextArgs,
}

/// One ranked candidate.
struct Candidate {
    model: String,
    stage: String,
    dim: usize,
    logme: f64,
    hscore: f64,
    leep: Option<f64>,
    nce: Option<f64>,
    cached: bool,
}

impl Candidate {
    fn score(&self, s: Score) -> Option<f64> {
        match s {
            Score::Logme => Some(self.logme),
            Score::Hscore => Some(self.hscore),
            Score::Leep => self.leep,
            Score::Nce => self.nce,
        }
    }
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let threads = graft::threads::resolve(a.run.runtime.threads);
    graft::threads::configure_torch(threads);
    let device = graft_nn::device::parse_device(&a.run.runtime.device)?;
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
        let known = if is_text_model(model) {
            text_stage_names(model)?
        } else {
            graft_nn::models::find(model)?.stage_names()
        };
        let mut stages: Vec<Option<String>> = a
            .stages
            .iter()
            .filter(|s| known.contains(&s.as_str()))
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
                precision: a.run.precision,
                skip_bad: false,
                with_source_probs: with_probs,
                decode_size: graft::decode_size::for_new_run(super::runtime_args::decode_size()),
                text: &a.text,
            };
            // The source head's predictions need the head in the weights; without it (or without
            // weights) LEEP and NCE are left out for this candidate.
            let mut obs = crate::progress::CliObserver::new(a.json);
            let (e, cached) = match weights.map(|_| cached_features(&req(true), &mut obs)) {
                Some(Ok(r)) => r,
                _ => cached_features(&req(false), &mut obs)
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
    if a.json {
        let rows: Vec<_> = out
            .iter()
            .enumerate()
            .map(|(i, c)| {
                json!({"rank": i + 1, "model": c.model, "stage": c.stage, "dim": c.dim,
                       "logme": c.logme, "hscore": c.hscore, "leep": c.leep, "nce": c.nce,
                       "cached": c.cached})
            })
            .collect();
        println!(
            "{}",
            json!({"command": "rank", "data": a.data.display().to_string(), "order_by": format!("{:?}", a.score).to_lowercase(), "candidates": rows})
        );
        return Ok(());
    }
    println!(
        "{:>4}  {:<20} {:<10} {:>6} {:>10} {:>10} {:>10} {:>10}",
        "rank", "model", "stage", "dim", "LogME", "H-score", "LEEP", "NCE"
    );
    let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:.4}", v + 0.0));
    for (i, c) in out.iter().enumerate() {
        println!(
            "{:>4}  {:<20} {:<10} {:>6} {:>10.4} {:>10.4} {:>10} {:>10}{}",
            i + 1,
            c.model,
            c.stage,
            c.dim,
            c.logme,
            c.hscore,
            opt(c.leep),
            opt(c.nce),
            if c.cached { "  (cached)" } else { "" }
        );
    }
    println!("ordered by {:?}: higher predicts better transfer", a.score);
    Ok(())
}
