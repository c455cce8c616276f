//! AdaBN: re-estimate every BatchNorm layer's running statistics on target data, leaving all
//! weights as they are, so that inference normalises target activations with target statistics.
//!
//! Models keep their BatchNorm statistics in the VarStore as `<layer>.running_mean` and
//! `<layer>.running_var`, updated in place by a forward pass in training mode with the layer's
//! own momentum. PyTorch's recipe (`momentum=None`: a cumulative average over all batches) is
//! obtained without touching the layers: before each batch the buffers are zeroed, so after the
//! forward they hold exactly `momentum * batch statistic`; dividing by the momentum recovers the
//! batch's mean and unbiased variance, which are averaged here in double precision.

use crate::models::Backbone;
use crate::transfer::check;
use crate::{NnError, Result};
use tch::nn::VarStore;
use tch::{Kind, Tensor};

/// The running statistics of one BatchNorm layer, shared with the model's variables.
#[derive(Debug)]
pub struct BnBuffers {
    /// The layer's key prefix (`layer1.0.bn1`).
    pub name: String,
    pub running_mean: Tensor,
    pub running_var: Tensor,
}

/// Every BatchNorm layer of `vs` (a `running_mean` with a `running_var` beside it), by name.
pub fn bn_buffers(vs: &VarStore) -> Vec<BnBuffers> {
    let vars = vs.variables();
    let mut out: Vec<BnBuffers> = vars
        .iter()
        .filter_map(|(name, mean)| {
            let layer = name.strip_suffix(".running_mean")?;
            let var = vars.get(&format!("{layer}.running_var"))?;
            Some(BnBuffers {
                name: layer.to_string(),
                running_mean: mean.shallow_clone(),
                running_var: var.shallow_clone(),
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// What [`AdaBn::finish`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdaBnReport {
    pub batches: usize,
    /// Layers whose statistics now describe the target data.
    pub adapted: Vec<String>,
    /// Layers no forward pass reached (their buffers stayed zero): left as they were.
    pub untouched: Vec<String>,
}

/// Li et al. 2016, Alg. 1: target statistics per BatchNorm layer, as a cumulative average over
/// batches (PyTorch's `momentum=None`, after `reset_running_stats`).
///
/// Between [`AdaBn::new`] and [`AdaBn::finish`] the layers' buffers hold working values, so the
/// model must not be used for inference meanwhile; dropping an `AdaBn` without finishing restores
/// the original statistics.
#[derive(Debug)]
pub struct AdaBn {
    layers: Vec<BnBuffers>,
    momentum: f64,
    /// The statistics before adaptation, restored for layers never reached or on failure.
    original: Vec<(Tensor, Tensor)>,
    sums: Vec<(Tensor, Tensor)>,
    reached: Vec<bool>,
    batches: usize,
    finished: bool,
}

impl AdaBn {
    /// Prepares to adapt `layers`, whose BatchNorm momentum (PyTorch's convention: the weight of
    /// the new batch) is `momentum`: 0.1 for torchvision's ResNets, 0.01 for EfficientNet-Lite.
    /// [`infer_bn_momentum`] finds it from a forward pass when it is not known.
    pub fn new(layers: Vec<BnBuffers>, momentum: f64) -> Result<Self> {
        if layers.is_empty() {
            return Err(NnError::Invalid(
                "AdaBN: the model has no BatchNorm layers (no `*.running_mean` / `*.running_var` \
                 variables) to adapt"
                    .into(),
            ));
        }
        if !(momentum > 0.0 && momentum <= 1.0) {
            return Err(NnError::Invalid(format!(
                "AdaBN: BatchNorm momentum must be in (0, 1]; got {momentum}"
            )));
        }
        let mut original = Vec::with_capacity(layers.len());
        let mut sums = Vec::with_capacity(layers.len());
        for l in &layers {
            original.push((
                check::detached_copy(&l.running_mean)?,
                check::detached_copy(&l.running_var)?,
            ));
            sums.push((
                l.running_mean.f_zeros_like()?.f_to_kind(Kind::Double)?,
                l.running_var.f_zeros_like()?.f_to_kind(Kind::Double)?,
            ));
        }
        let n = layers.len();
        Ok(AdaBn {
            layers,
            momentum,
            original,
            sums,
            reached: vec![false; n],
            batches: 0,
            finished: false,
        })
    }

    /// Runs `forward` (a forward pass of the model on one target batch, in training mode) without
    /// autograd and adds each layer's batch statistics to the averages. On error the original
    /// statistics are restored.
    pub fn observe(&mut self, forward: impl FnOnce() -> Result<Tensor>) -> Result<()> {
        let r = self.observe_inner(forward);
        if r.is_err() {
            self.restore()?;
        }
        r
    }

    fn observe_inner(&mut self, forward: impl FnOnce() -> Result<Tensor>) -> Result<()> {
        tch::no_grad(|| -> Result<()> {
            for l in &self.layers {
                let _ = l.running_mean.shallow_clone().f_zero_()?;
                let _ = l.running_var.shallow_clone().f_zero_()?;
            }
            let _ = forward()?;
            for (i, l) in self.layers.iter().enumerate() {
                let m = l.running_mean.f_to_kind(Kind::Double)?;
                let v = l.running_var.f_to_kind(Kind::Double)?;
                let touched = m.f_ne(0.0)?.f_any()?.int64_value(&[]) != 0
                    || v.f_ne(0.0)?.f_any()?.int64_value(&[]) != 0;
                self.reached[i] |= touched;
                let (sm, sv) = &mut self.sums[i];
                let _ = sm.f_add_(&m.f_div_scalar(self.momentum)?)?;
                let _ = sv.f_add_(&v.f_div_scalar(self.momentum)?)?;
            }
            Ok(())
        })?;
        self.batches += 1;
        Ok(())
    }

    fn restore(&self) -> Result<()> {
        tch::no_grad(|| -> Result<()> {
            for (l, (m, v)) in self.layers.iter().zip(&self.original) {
                l.running_mean.shallow_clone().f_copy_(m)?;
                l.running_var.shallow_clone().f_copy_(v)?;
            }
            Ok(())
        })
    }

    /// Writes the averaged target statistics into the layers that were reached; the others get
    /// their original statistics back (as all do if this fails).
    pub fn finish(mut self) -> Result<AdaBnReport> {
        if self.batches == 0 {
            // Dropping `self` restores the original statistics.
            return Err(NnError::Invalid(
                "AdaBN: no target batch was observed".into(),
            ));
        }
        let (mut adapted, mut untouched) = (Vec::new(), Vec::new());
        tch::no_grad(|| -> Result<()> {
            for (i, l) in self.layers.iter().enumerate() {
                let (mut m, mut v) = (
                    l.running_mean.shallow_clone(),
                    l.running_var.shallow_clone(),
                );
                if self.reached[i] {
                    let (sm, sv) = &self.sums[i];
                    let k = self.batches as f64;
                    m.f_copy_(&sm.f_div_scalar(k)?)?;
                    v.f_copy_(&sv.f_div_scalar(k)?)?;
                    adapted.push(l.name.clone());
                } else {
                    let (om, ov) = &self.original[i];
                    m.f_copy_(om)?;
                    v.f_copy_(ov)?;
                    untouched.push(l.name.clone());
                }
            }
            Ok(())
        })?;
        self.finished = true;
        Ok(AdaBnReport {
            batches: self.batches,
            adapted,
            untouched,
        })
    }
}

impl Drop for AdaBn {
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.restore();
        }
    }
}

/// The BatchNorm momentum of `layers`, found from two training-mode passes of `forward` over the
/// same batch (libtorch's generator is reseeded before each, so dropout draws the same masks):
/// from zeroed buffers the first leaves `m b`, the second `(1 - m) m b + m b`, whose ratio is
/// `2 - m`. Every layer must give the same value. The statistics are restored afterwards.
pub fn infer_bn_momentum(
    layers: &[BnBuffers],
    forward: &mut dyn FnMut() -> Result<Tensor>,
) -> Result<f64> {
    if layers.is_empty() {
        return Err(NnError::Invalid(
            "BatchNorm momentum: the model has no BatchNorm layers".into(),
        ));
    }
    const SEED: i64 = 0x5eed;
    let saved: Vec<(Tensor, Tensor)> = layers
        .iter()
        .map(|l| {
            Ok((
                check::detached_copy(&l.running_mean)?,
                check::detached_copy(&l.running_var)?,
            ))
        })
        .collect::<Result<_>>()?;
    let result = tch::no_grad(|| -> Result<f64> {
        for l in layers {
            let _ = l.running_mean.shallow_clone().f_zero_()?;
            let _ = l.running_var.shallow_clone().f_zero_()?;
        }
        tch::manual_seed(SEED);
        let _ = forward()?;
        let first: Vec<Tensor> = layers
            .iter()
            .map(|l| Ok(l.running_var.f_to_kind(Kind::Double)?))
            .collect::<Result<_>>()?;
        tch::manual_seed(SEED);
        let _ = forward()?;
        let mut found: Vec<(String, f64)> = Vec::new();
        for (l, r1) in layers.iter().zip(&first) {
            let r2 = l.running_var.f_to_kind(Kind::Double)?;
            let mask = r1.f_gt(0.0)?;
            let s1 = r1
                .f_masked_select(&mask)?
                .f_sum(Kind::Double)?
                .double_value(&[]);
            if s1 > 0.0 {
                let s2 = r2
                    .f_masked_select(&mask)?
                    .f_sum(Kind::Double)?
                    .double_value(&[]);
                found.push((l.name.clone(), 2.0 - s2 / s1));
            }
        }
        let Some((_, m0)) = found.first().cloned() else {
            return Err(NnError::Invalid(
                "BatchNorm momentum: the forward pass reached no BatchNorm layer".into(),
            ));
        };
        if let Some((name, m)) = found
            .iter()
            .find(|(_, m)| (m - m0).abs() > 1e-4 * m0.max(1e-3))
        {
            return Err(NnError::Invalid(format!(
                "BatchNorm momentum: layers disagree ({} has {m0:.6}, {name} has {m:.6}); give the \
                 momentum explicitly",
                found[0].0
            )));
        }
        Ok(found.iter().map(|(_, m)| m).sum::<f64>() / found.len() as f64)
    });
    tch::no_grad(|| -> Result<()> {
        for (l, (m, v)) in layers.iter().zip(&saved) {
            l.running_mean.shallow_clone().f_copy_(m)?;
            l.running_var.shallow_clone().f_copy_(v)?;
        }
        Ok(())
    })?;
    result
}

/// AdaBN on a backbone: every BatchNorm layer of `vs` gets the statistics of `batches` (target
/// inputs in the network's input form), seen by a training-mode forward pass through all stages.
/// `momentum` is the layers' BatchNorm momentum; `None` infers it from the first batch
/// ([`infer_bn_momentum`]).
pub fn adapt_batchnorm(
    model: &dyn Backbone,
    vs: &VarStore,
    momentum: Option<f64>,
    batches: impl IntoIterator<Item = Tensor>,
) -> Result<AdaBnReport> {
    let layers = bn_buffers(vs);
    let mut batches = batches.into_iter().peekable();
    let momentum = match momentum {
        Some(m) => m,
        None => {
            let Some(first) = batches.peek() else {
                return Err(NnError::Invalid("AdaBN: no target batch was given".into()));
            };
            let first = first.shallow_clone();
            infer_bn_momentum(&layers, &mut || model.forward_features(&first, None, true))?
        }
    };
    let mut ada = AdaBn::new(layers, momentum)?;
    for x in batches {
        ada.observe(|| model.forward_features(&x, None, true))?;
    }
    ada.finish()
}
