//! What an adaptation run is asked to do: [`AdaptSpec`], the `graft adapt` flags as a type, and
//! how they become a recipe laid over the recipe file's values.

use super::recipe::{self, AdaptRecipe, DomainSection, Freeze, SelfTrainingSection, TrainSection};
use crate::train::{AugName, OptName};
use anyhow::bail;
use graft_nn::precision::Precision;
use graft_nn::train::adapt::Selection;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum SelectName {
    Last,
    SourceVal,
    Dev,
}

/// An adaptation run as the `graft adapt` flags describe it; [`AdaptSpec::recipe`] and the
/// recipe file it may name fill in the rest.
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
pub struct AdaptSpec {
    /// A recipe (TOML); flags given beside it override its values
    #[cfg_attr(feature = "clap", arg(long))]
    pub recipe: Option<PathBuf>,
    /// Registry model (see `graft models`), a text model folder (BERT, MiniLM, DistilBERT), or
    /// `mlp` for feature vectors
    #[cfg_attr(feature = "clap", arg(long))]
    pub model: Option<String>,
    /// Text models: tokens kept per text, special tokens included (default: the model's own)
    #[cfg_attr(feature = "clap", arg(long))]
    pub max_length: Option<usize>,
    /// Hidden widths of the mlp model (comma-separated)
    #[cfg_attr(feature = "clap", arg(long, value_delimiter = ','))]
    pub hidden: Option<Vec<i64>>,
    /// Initial weights (e.g. a `graft pretrain` run's model.safetensors); L2-SP pulls towards them
    #[cfg_attr(feature = "clap", arg(long))]
    pub weights: Option<String>,
    /// Labelled source set: image folder, IDX, .npz (`FILE.npz:NAME`), svmlight (mlp)
    #[cfg_attr(feature = "clap", arg(long))]
    pub source: Option<String>,
    /// Draw this many source samples at random (with --seed)
    #[cfg_attr(feature = "clap", arg(long))]
    pub source_samples: Option<usize>,
    /// Unlabelled target set (labels in it, if any, are never read for training)
    #[cfg_attr(feature = "clap", arg(long))]
    pub target_unlabelled: Option<String>,
    #[cfg_attr(feature = "clap", arg(long))]
    pub target_samples: Option<usize>,
    /// Labelled target test set: the `accuracy` of the summary
    #[cfg_attr(feature = "clap", arg(long))]
    pub target_test: Option<String>,
    /// Domain loss: none (source only), dann, cdan, cdan+e, mdd, coral, mmd; or self-training
    /// (no domain loss, pseudo-labels only)
    #[cfg_attr(feature = "clap", arg(long))]
    pub method: Option<String>,
    /// Weight of the domain loss
    #[cfg_attr(feature = "clap", arg(long))]
    pub domain_weight: Option<f64>,
    /// Hidden width of the discriminator (DANN, CDAN) or adversarial head (MDD)
    #[cfg_attr(feature = "clap", arg(long))]
    pub head_width: Option<i64>,
    /// Self-training: keep target predictions at least this confident as pseudo-labels
    #[cfg_attr(feature = "clap", arg(long))]
    pub pseudo_threshold: Option<f64>,
    /// Self-training, class-balanced (CBST): keep this fraction of each predicted class
    #[cfg_attr(feature = "clap", arg(long, conflicts_with = "pseudo_threshold"))]
    pub pseudo_class_balanced: Option<f64>,
    #[cfg_attr(feature = "clap", arg(long))]
    pub pseudo_weight: Option<f64>,
    /// First epoch (0-based) with pseudo-labels
    #[cfg_attr(feature = "clap", arg(long))]
    pub pseudo_start_epoch: Option<usize>,
    /// L2-SP strength towards the initial weights (backbone)
    #[cfg_attr(feature = "clap", arg(long))]
    pub l2sp_alpha: Option<f64>,
    /// L2-SP strength towards zero (new head); default 0.01 when --l2sp-alpha is given
    #[cfg_attr(feature = "clap", arg(long))]
    pub l2sp_beta: Option<f64>,
    /// DELTA strength: attention-weighted distance of the stages' feature maps to those of the
    /// pre-trained model (--weights); stages by recipe (`[delta] stages`)
    #[cfg_attr(feature = "clap", arg(long))]
    pub delta_alpha: Option<f64>,
    /// DELTA strength towards zero for the new head; default 0.01 when --delta-alpha is given
    #[cfg_attr(feature = "clap", arg(long))]
    pub delta_beta: Option<f64>,
    /// Batch spectral shrinkage strength (k = 1)
    #[cfg_attr(feature = "clap", arg(long))]
    pub bss_eta: Option<f64>,
    /// Re-estimate BatchNorm statistics on the target after training (AdaBN)
    #[cfg_attr(feature = "clap", arg(long))]
    pub adabn: bool,
    /// Per-sample source loss weights (a `graft reweight` file)
    #[cfg_attr(feature = "clap", arg(long))]
    pub sample_weights: Option<String>,
    /// Freeze the stages up to and including this one
    #[cfg_attr(feature = "clap", arg(long))]
    pub freeze_until: Option<String>,
    /// Fraction of each source class held out for validation (0 for none)
    #[cfg_attr(feature = "clap", arg(long))]
    pub val_fraction: Option<f64>,
    /// Which epoch to keep: last, source-val (best source validation accuracy) or dev (lowest
    /// deep-embedded-validation risk; needs no target label)
    #[cfg_attr(feature = "clap", arg(long, value_enum))]
    pub select: Option<SelectName>,
    /// Record the target test accuracy after every epoch (for analysis; never used to select)
    #[cfg_attr(feature = "clap", arg(long))]
    pub monitor: bool,
    #[cfg_attr(feature = "clap", arg(long))]
    pub epochs: Option<usize>,
    #[cfg_attr(feature = "clap", arg(long))]
    pub batch_size: Option<usize>,
    #[cfg_attr(feature = "clap", arg(long))]
    pub lr: Option<f64>,
    #[cfg_attr(feature = "clap", arg(long, value_enum))]
    pub optimizer: Option<OptName>,
    #[cfg_attr(feature = "clap", arg(long))]
    pub weight_decay: Option<f64>,
    #[cfg_attr(feature = "clap", arg(long, value_enum))]
    pub augment: Option<AugName>,
    #[cfg_attr(feature = "clap", arg(long))]
    pub seed: Option<u64>,
    #[cfg_attr(feature = "clap", arg(long, help = crate::train::PRECISION_HELP))]
    pub precision: Option<Precision>,
    /// Run directory (default: runs/adapt-MODEL-N)
    #[cfg_attr(feature = "clap", arg(long))]
    pub out: Option<PathBuf>,
    /// Continue the run in this directory from its last checkpoint
    #[cfg_attr(feature = "clap", arg(long))]
    pub resume: Option<PathBuf>,
    /// Source and target samples (each) whose features the report projects before and after
    /// adaptation, with their proxy A-distance; 0 for none
    #[cfg_attr(feature = "clap", arg(long, default_value_t = AdaptSpec::PROJECTION_SAMPLES))]
    pub projection_samples: usize,
}

impl AdaptSpec {
    /// Source and target samples projected for the report unless asked otherwise.
    pub const PROJECTION_SAMPLES: usize = 500;

    /// Nothing set but the report's projection (500 samples of each domain): fill in the model
    /// and the data, or name a recipe file.
    pub fn new() -> AdaptSpec {
        AdaptSpec {
            projection_samples: AdaptSpec::PROJECTION_SAMPLES,
            ..AdaptSpec::default()
        }
    }

    /// The flags as a recipe, to lay over the recipe file's.
    pub fn recipe(&self) -> anyhow::Result<AdaptRecipe> {
        flags_recipe(self)
    }
}

/// The flags as a recipe, to lay over the file's.
fn flags_recipe(a: &AdaptSpec) -> anyhow::Result<AdaptRecipe> {
    let mut r = AdaptRecipe {
        model: a.model.clone(),
        hidden: a.hidden.clone(),
        weights: a.weights.clone(),
        source: a.source.clone(),
        source_samples: a.source_samples,
        target_unlabelled: a.target_unlabelled.clone(),
        target_samples: a.target_samples,
        target_test: a.target_test.clone(),
        val_fraction: a.val_fraction,
        sample_weights: a.sample_weights.clone(),
        seed: a.seed,
        select: a.select.map(|s| match s {
            SelectName::Last => Selection::Last,
            SelectName::SourceVal => Selection::SourceVal,
            SelectName::Dev => Selection::Dev,
        }),
        adabn: a.adabn.then_some(true),
        max_length: a.max_length,
        freeze: Freeze {
            until: a.freeze_until.clone(),
            head_only: None,
        },
        train: TrainSection {
            epochs: a.epochs,
            batch_size: a.batch_size,
            lr: a.lr,
            optimizer: a.optimizer,
            weight_decay: a.weight_decay,
            augment: a.augment,
            precision: a.precision,
            ..TrainSection::default()
        },
        ..AdaptRecipe::default()
    };
    let mut self_training = a.pseudo_threshold.is_some() || a.pseudo_class_balanced.is_some();
    if let Some(m) = &a.method {
        let loss = if m == "self-training" || m == "self_training" {
            self_training = true;
            "none".to_string()
        } else {
            recipe::domain_loss(m, None).map_err(|_| {
                anyhow::anyhow!(
                    "--method: unknown method `{m}`; valid: {}, self-training",
                    recipe::DOMAIN_LOSSES
                )
            })?;
            m.clone()
        };
        r.domain = Some(DomainSection {
            loss,
            weight: a.domain_weight,
            head_width: a.head_width,
            grl_gamma: None,
            margin: None,
        });
    } else if a.domain_weight.is_some() || a.head_width.is_some() {
        bail!("--domain-weight and --head-width need --method");
    }
    if self_training || a.pseudo_weight.is_some() || a.pseudo_start_epoch.is_some() {
        r.self_training = Some(SelfTrainingSection {
            threshold: a.pseudo_threshold,
            class_balanced: a.pseudo_class_balanced,
            weight: a.pseudo_weight,
            start_epoch: a.pseudo_start_epoch,
        });
    }
    if a.l2sp_alpha.is_some() || a.l2sp_beta.is_some() {
        r.l2sp = Some(graft_nn::train::adapt::L2SpSpec {
            alpha: a.l2sp_alpha.unwrap_or(0.01),
            beta: a.l2sp_beta.unwrap_or(0.01),
        });
    }
    if a.delta_alpha.is_some() || a.delta_beta.is_some() {
        r.delta = Some(graft_nn::train::adapt::DeltaSpec {
            alpha: a
                .delta_alpha
                .unwrap_or(graft_nn::transfer::Delta::DEFAULT_ALPHA),
            beta: a
                .delta_beta
                .unwrap_or(graft_nn::transfer::Delta::DEFAULT_BETA),
            stages: Vec::new(),
        });
    }
    if let Some(eta) = a.bss_eta {
        r.bss = Some(recipe::BssSection {
            eta: Some(eta),
            k: None,
        });
    }
    Ok(r)
}
