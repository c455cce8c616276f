//! The adaptation recipe (`graft adapt --recipe R.toml`): initialisation, freezing, instance
//! weights, regularisers, a domain loss and pseudo-labelling, each with its weight. Command-line
//! flags fill the same structure (a flag wins over the file), and the complete recipe, defaults
//! filled in, is saved in the run directory so the run can be repeated or resumed.

use crate::train::{AugName, OptName, SchedName};
use anyhow::{bail, Context};
use graft_nn::precision::Precision;
use graft_nn::train::adapt::{
    AdaptConfig, DeltaSpec, DomainLoss, L2SpSpec, Selection, SelfTraining,
};
use graft_nn::train::{
    Augment, BnMode, GroupSpec, InputSpec, OptimizerSpec, Schedule, TrainConfig,
};
use graft_nn::transfer::{Bss, GrlSchedule, PseudoLabelRule};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The whole recipe. Every field may be left out; unknown keys are refused with the valid ones
/// listed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdaptRecipe {
    /// Registry model (`lenet`, `resnet50`, ...) or `mlp` for feature vectors.
    pub model: Option<String>,
    /// Hidden widths of the `mlp` model.
    pub hidden: Option<Vec<i64>>,
    /// Initial weights (a `graft pretrain` run's model.safetensors, a .pth, hf:ORG/NAME).
    pub weights: Option<String>,
    pub source: Option<String>,
    /// Draw this many source samples at random (with the seed).
    pub source_samples: Option<usize>,
    pub target_unlabelled: Option<String>,
    pub target_samples: Option<usize>,
    pub target_test: Option<String>,
    /// Fraction of every source class held out for validation and model selection.
    pub val_fraction: Option<f64>,
    /// Per-sample loss weights of the source (a `graft reweight` file).
    pub sample_weights: Option<String>,
    pub seed: Option<u64>,
    /// `last`, `source_val` or `dev`.
    pub select: Option<Selection>,
    /// Re-estimate BatchNorm statistics on the target after training.
    pub adabn: Option<bool>,
    /// Text models: tokens kept per text (default: the model's own limit).
    pub max_length: Option<usize>,
    #[serde(default)]
    pub freeze: Freeze,
    #[serde(default)]
    pub train: TrainSection,
    pub domain: Option<DomainSection>,
    pub self_training: Option<SelfTrainingSection>,
    pub l2sp: Option<L2SpSpec>,
    /// DELTA (needs `weights`): feature maps kept close to the pre-trained model's.
    pub delta: Option<DeltaSpec>,
    pub bss: Option<BssSection>,
    /// How JPEGs were decoded ([`crate::decode_size`]); absent in recipes written before the
    /// setting existed, which decoded at full size.
    pub decode_size: Option<graft_data::image_io::DecodeSize>,
}

/// BSS (Chen et al. 2019): strength and how many of the smallest singular values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BssSection {
    pub eta: Option<f64>,
    pub k: Option<usize>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Freeze {
    /// Freeze the stages up to and including this one.
    pub until: Option<String>,
    /// Train the head only.
    pub head_only: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSection {
    pub epochs: Option<usize>,
    pub batch_size: Option<usize>,
    pub lr: Option<f64>,
    pub lr_backbone: Option<f64>,
    pub optimizer: Option<OptName>,
    pub momentum: Option<f64>,
    pub weight_decay: Option<f64>,
    /// `cosine` or `constant` (`step` is for training runs).
    pub schedule: Option<SchedName>,
    pub augment: Option<AugName>,
    pub dropout: Option<f64>,
    pub clip_grad: Option<f64>,
    /// Forward passes in `fp32` or `bf16` (autocast).
    pub precision: Option<Precision>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainSection {
    /// `none`, `dann`, `cdan`, `cdan+e`, `mdd`, `coral`, `mmd`.
    pub loss: String,
    pub weight: Option<f64>,
    /// Width of the discriminator / MDD's adversarial head.
    pub head_width: Option<i64>,
    /// DANN's gamma in `2 / (1 + exp(-gamma p)) - 1` (adversarial losses).
    pub grl_gamma: Option<f64>,
    /// MDD's margin.
    pub margin: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelfTrainingSection {
    /// Keep predictions at least this confident (default 0.9) ...
    pub threshold: Option<f64>,
    /// ... or, class-balanced (CBST), this fraction of each predicted class.
    pub class_balanced: Option<f64>,
    pub weight: Option<f64>,
    pub start_epoch: Option<usize>,
}

/// Domain-loss names the command line and recipes accept.
pub const DOMAIN_LOSSES: &str = "none, dann, cdan, cdan+e, mdd, coral, mmd";

pub fn domain_loss(name: &str, margin: Option<f64>) -> anyhow::Result<DomainLoss> {
    Ok(match name {
        "none" => DomainLoss::None,
        "dann" => DomainLoss::Dann,
        "cdan" => DomainLoss::Cdan { entropy: false },
        "cdan+e" | "cdan-e" => DomainLoss::Cdan { entropy: true },
        "mdd" => DomainLoss::Mdd {
            margin: margin.unwrap_or(graft_nn::transfer::DEFAULT_MARGIN),
        },
        "coral" => DomainLoss::Coral,
        "mmd" => DomainLoss::Mmd { linear: false },
        other => bail!("unknown domain loss `{other}`; valid: {DOMAIN_LOSSES}"),
    })
}

macro_rules! over {
    ($a:expr, $b:expr) => {
        if $b.is_some() {
            $a = $b.clone();
        }
    };
}

impl AdaptRecipe {
    pub fn read(path: &Path) -> anyhow::Result<AdaptRecipe> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read the recipe", path.display()))?;
        toml::from_str(&text)
            .with_context(|| format!("{}: not a valid adapt recipe", path.display()))
    }

    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        let text = toml::to_string(self).context("serialising the recipe")?;
        graft_data::atomic::write_atomic_bytes(&dir.join("recipe.toml"), text.as_bytes())?;
        Ok(())
    }

    /// `self` with every value `o` sets replaced by it.
    pub fn overlay(mut self, o: &AdaptRecipe) -> AdaptRecipe {
        over!(self.model, o.model);
        over!(self.hidden, o.hidden);
        over!(self.weights, o.weights);
        over!(self.source, o.source);
        over!(self.source_samples, o.source_samples);
        over!(self.target_unlabelled, o.target_unlabelled);
        over!(self.target_samples, o.target_samples);
        over!(self.target_test, o.target_test);
        over!(self.val_fraction, o.val_fraction);
        over!(self.sample_weights, o.sample_weights);
        over!(self.seed, o.seed);
        over!(self.select, o.select);
        over!(self.adabn, o.adabn);
        over!(self.max_length, o.max_length);
        over!(self.decode_size, o.decode_size);
        over!(self.freeze.until, o.freeze.until);
        over!(self.freeze.head_only, o.freeze.head_only);
        let (t, u) = (&mut self.train, &o.train);
        over!(t.epochs, u.epochs);
        over!(t.batch_size, u.batch_size);
        over!(t.lr, u.lr);
        over!(t.lr_backbone, u.lr_backbone);
        over!(t.optimizer, u.optimizer);
        over!(t.momentum, u.momentum);
        over!(t.weight_decay, u.weight_decay);
        over!(t.schedule, u.schedule);
        over!(t.augment, u.augment);
        over!(t.dropout, u.dropout);
        over!(t.clip_grad, u.clip_grad);
        over!(t.precision, u.precision);
        match (&mut self.domain, &o.domain) {
            (Some(d), Some(e)) => {
                d.loss = e.loss.clone();
                over!(d.weight, e.weight);
                over!(d.head_width, e.head_width);
                over!(d.grl_gamma, e.grl_gamma);
                over!(d.margin, e.margin);
            }
            (None, Some(e)) => self.domain = Some(e.clone()),
            _ => {}
        }
        match (&mut self.self_training, &o.self_training) {
            (Some(d), Some(e)) => {
                over!(d.threshold, e.threshold);
                over!(d.class_balanced, e.class_balanced);
                over!(d.weight, e.weight);
                over!(d.start_epoch, e.start_epoch);
            }
            (None, Some(e)) => self.self_training = Some(e.clone()),
            _ => {}
        }
        over!(self.l2sp, o.l2sp);
        over!(self.delta, o.delta);
        over!(self.bss, o.bss);
        self
    }

    /// Fills every default in, so the saved recipe states the whole run.
    pub fn complete(mut self) -> AdaptRecipe {
        let mlp = self.model.as_deref() == Some("mlp");
        self.seed.get_or_insert(0);
        self.val_fraction.get_or_insert(0.1);
        self.select.get_or_insert(Selection::Last);
        self.adabn.get_or_insert(false);
        if mlp {
            self.hidden.get_or_insert(vec![50]);
        }
        let t = &mut self.train;
        t.epochs.get_or_insert(if mlp { 30 } else { 20 });
        t.batch_size.get_or_insert(64);
        t.lr.get_or_insert(0.01);
        t.optimizer.get_or_insert(OptName::Sgd);
        t.momentum.get_or_insert(0.9);
        t.weight_decay.get_or_insert(5e-4);
        t.schedule.get_or_insert(SchedName::Cosine);
        t.augment.get_or_insert(AugName::Auto);
        if mlp {
            t.dropout.get_or_insert(0.0);
        }
        let d = self.domain.get_or_insert(DomainSection {
            loss: "none".into(),
            weight: None,
            head_width: None,
            grl_gamma: None,
            margin: None,
        });
        d.weight.get_or_insert(1.0);
        d.head_width.get_or_insert(if mlp { 100 } else { 500 });
        if let Some(s) = &mut self.self_training {
            if s.class_balanced.is_none() {
                s.threshold.get_or_insert(0.9);
            }
            s.weight.get_or_insert(1.0);
            s.start_epoch.get_or_insert(1);
        }
        self
    }

    /// The engine's configuration of a completed recipe.
    pub fn configs(&self, input: InputSpec) -> anyhow::Result<(TrainConfig, AdaptConfig)> {
        let t = &self.train;
        let need = |v: Option<f64>| v.expect("completed recipe");
        let optimizer = match t.optimizer.unwrap_or(OptName::Sgd) {
            OptName::Sgd => OptimizerSpec::Sgd {
                momentum: need(t.momentum),
                nesterov: false,
                weight_decay: need(t.weight_decay),
            },
            OptName::Adamw => OptimizerSpec::adamw(need(t.weight_decay)),
        };
        let schedule = match t.schedule.unwrap_or(SchedName::Cosine) {
            SchedName::Cosine => Schedule::Cosine { min_factor: 0.0 },
            SchedName::Constant => Schedule::Constant,
            SchedName::Step => {
                bail!("train.schedule: `step` is for training runs; adaptation takes cosine or constant")
            }
        };
        // Token ids and feature vectors (1 x 1 inputs) take no pixel augmentation.
        let vectors = input.height == 1 && input.width == 1;
        let augment = if vectors {
            Augment::none()
        } else {
            t.augment
                .unwrap_or(AugName::Auto)
                .resolve(input.channels == 1 || input.height <= 32)
        };
        let groups = GroupSpec {
            lr: need(t.lr),
            lr_backbone: t.lr_backbone,
            layer_decay: 1.0,
            freeze_until: self.freeze.until.clone(),
            freeze_backbone: self.freeze.head_only.unwrap_or(false),
            decay_norm_and_bias: false,
            train_only: Vec::new(),
        };
        let train = TrainConfig {
            epochs: t.epochs.expect("completed"),
            batch_size: t.batch_size.expect("completed"),
            groups,
            optimizer,
            schedule,
            warmup_epochs: 0.0,
            clip_grad_norm: t.clip_grad,
            label_smoothing: 0.0,
            bn: BnMode::Train,
            augment,
            input,
            seed: self.seed.expect("completed"),
            early_stopping: None,
            precision: t.precision.unwrap_or_default(),
        };
        let d = self.domain.as_ref().expect("completed");
        let domain = domain_loss(&d.loss, d.margin)?;
        let mut adapt = AdaptConfig::new(domain);
        adapt.domain_weight = need(d.weight);
        adapt.head_width = d.head_width.expect("completed");
        if let Some(g) = d.grl_gamma {
            adapt.grl = GrlSchedule::Dann { gamma: g };
        }
        if let Some(s) = &self.self_training {
            let rule = match (s.class_balanced, s.threshold) {
                (Some(f), _) => PseudoLabelRule::ClassBalanced { fraction: f },
                (None, Some(t)) => PseudoLabelRule::Confidence { threshold: t },
                (None, None) => PseudoLabelRule::Confidence { threshold: 0.9 },
            };
            adapt.self_training = Some(SelfTraining {
                rule,
                weight: need(s.weight),
                start_epoch: s.start_epoch.unwrap_or(1),
            });
        }
        adapt.l2sp = self.l2sp.clone();
        adapt.delta = self.delta.clone();
        adapt.bss = self.bss.as_ref().map(|b| Bss {
            eta: b.eta.unwrap_or(Bss::default().eta),
            k: b.k.unwrap_or(Bss::default().k),
        });
        adapt.adabn = self.adabn.unwrap_or(false);
        adapt.selection = self.select.unwrap_or(Selection::Last);
        Ok((train, adapt))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_key_is_named_with_the_valid_ones() {
        let e = toml::from_str::<AdaptRecipe>("model = \"lenet\"\ndomian = 3\n").unwrap_err();
        let m = e.to_string();
        assert!(m.contains("domian") && m.contains("self_training"), "{m}");
        let e =
            toml::from_str::<AdaptRecipe>("[domain]\nloss = \"dann\"\nwieght = 1\n").unwrap_err();
        assert!(e.to_string().contains("wieght"), "{e}");
    }

    #[test]
    fn flags_override_the_file_and_defaults_fill_the_rest() {
        let file: AdaptRecipe =
            toml::from_str("seed = 1\n[train]\nepochs = 3\n[domain]\nloss = \"dann\"\n").unwrap();
        let flags = AdaptRecipe {
            seed: Some(7),
            ..AdaptRecipe::default()
        };
        let r = file.overlay(&flags).complete();
        assert_eq!(r.seed, Some(7));
        assert_eq!(r.train.epochs, Some(3));
        assert_eq!(r.domain.as_ref().unwrap().loss, "dann");
        let text = toml::to_string(&r).unwrap();
        assert_eq!(toml::from_str::<AdaptRecipe>(&text).unwrap(), r);
    }
}
