//! The few layers the backbones are made of, written over tch's fallible `f_*` ops so that a
//! bad input becomes an error instead of a panic (tch's own `nn` layers unwrap). Variables are
//! created under PyTorch's names (`weight`, `bias`, `running_mean`, `running_var`), so a
//! module's VarStore path is its checkpoint key prefix.

use crate::{NnError, Result};
use tch::nn::{Init, Path};
use tch::Tensor;

/// How a convolution pads its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// The same zero padding on every side (PyTorch's `padding=p`).
    Symmetric(i64),
    /// TensorFlow's "SAME": pad so that the output is `ceil(input / stride)`, the odd pixel going
    /// to the bottom/right. Computed from each input's size, so it follows the resolution.
    TfSame,
}

/// A 2-d convolution, optionally grouped (depthwise when `groups == in_channels`).
#[derive(Debug)]
pub struct Conv2d {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
    kernel: i64,
    stride: i64,
    padding: Padding,
    groups: i64,
}

/// Shape and behaviour of a [`Conv2d`].
#[derive(Clone, Copy, Debug)]
pub struct ConvSpec {
    pub in_channels: i64,
    pub out_channels: i64,
    pub kernel: i64,
    pub stride: i64,
    pub padding: Padding,
    pub groups: i64,
    pub bias: bool,
}

impl ConvSpec {
    /// A square convolution without bias, ungrouped, padded symmetrically.
    pub fn new(in_channels: i64, out_channels: i64, kernel: i64, stride: i64, pad: i64) -> Self {
        ConvSpec {
            in_channels,
            out_channels,
            kernel,
            stride,
            padding: Padding::Symmetric(pad),
            groups: 1,
            bias: false,
        }
    }
}

impl Conv2d {
    /// Weights start as He-normal over fan-out (torchvision's ResNet and TF's EfficientNet init),
    /// which keeps activations of ReLU networks at unit scale when training from scratch.
    pub fn new(p: &Path, s: ConvSpec) -> Self {
        let fan_out = s.out_channels / s.groups * s.kernel * s.kernel;
        let std = (2.0 / fan_out as f64).sqrt();
        let weight = p.var(
            "weight",
            &[s.out_channels, s.in_channels / s.groups, s.kernel, s.kernel],
            Init::Randn {
                mean: 0.0,
                stdev: std,
            },
        );
        let bias = s
            .bias
            .then(|| p.var("bias", &[s.out_channels], Init::Const(0.0)));
        Conv2d {
            weight,
            bias,
            kernel: s.kernel,
            stride: s.stride,
            padding: s.padding,
            groups: s.groups,
        }
    }

    /// Channel groups (the input channels for a depthwise convolution, else 1).
    pub fn groups(&self) -> i64 {
        self.groups
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let conv = |x: &Tensor, pad: i64| {
            x.f_conv2d(
                &self.weight,
                self.bias.as_ref(),
                [self.stride; 2],
                [pad; 2],
                [1; 2],
                self.groups,
            )
        };
        Ok(match self.padding {
            Padding::Symmetric(p) => conv(x, p)?,
            Padding::TfSame => conv(&self.tf_same_pad(x)?, 0)?,
        })
    }

    /// Pads `x` as TF's SAME does: total padding `max((ceil(n/s) - 1) * s + k - n, 0)` per axis,
    /// the smaller half before, the larger after.
    fn tf_same_pad(&self, x: &Tensor) -> Result<Tensor> {
        let size = x.size();
        if size.len() != 4 {
            return Err(NnError::Invalid(format!(
                "expected a 4-d (N, C, H, W) input, got shape {size:?}"
            )));
        }
        let total = |n: i64| {
            let out = (n + self.stride - 1) / self.stride;
            ((out - 1) * self.stride + self.kernel - n).max(0)
        };
        let (ph, pw) = (total(size[2]), total(size[3]));
        if ph == 0 && pw == 0 {
            return Ok(x.shallow_clone());
        }
        Ok(x.f_constant_pad_nd([pw / 2, pw - pw / 2, ph / 2, ph - ph / 2])?)
    }
}

/// Batch normalisation over channels, with the running statistics in the VarStore (as
/// non-trainable variables) so that they load, save and adapt (AdaBN) like any weight.
#[derive(Debug)]
pub struct BatchNorm2d {
    pub weight: Tensor,
    pub bias: Tensor,
    pub running_mean: Tensor,
    pub running_var: Tensor,
    eps: f64,
    momentum: f64,
    /// Folded into the convolution before it ([`BatchNorm2d::fold_into`]): an identity now.
    folded: bool,
}

impl BatchNorm2d {
    /// `momentum` is PyTorch's (weight of the new batch in the running average), not TF's.
    pub fn new(p: &Path, channels: i64, eps: f64, momentum: f64) -> Self {
        BatchNorm2d {
            weight: p.var("weight", &[channels], Init::Const(1.0)),
            bias: p.var("bias", &[channels], Init::Const(0.0)),
            running_mean: p.zeros_no_train("running_mean", &[channels]),
            running_var: p.ones_no_train("running_var", &[channels]),
            eps,
            momentum,
            folded: false,
        }
    }

    /// In training mode the batch's statistics are used and the running ones updated in place.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        if self.folded {
            if train {
                return Err(NnError::Invalid(
                    "a BatchNorm folded into its convolution for inference cannot train".into(),
                ));
            }
            return Ok(x.shallow_clone());
        }
        Ok(x.f_batch_norm(
            Some(&self.weight),
            Some(&self.bias),
            Some(&self.running_mean),
            Some(&self.running_var),
            train,
            self.momentum,
            self.eps,
            true,
        )?)
    }
}

impl BatchNorm2d {
    /// Folds this layer's inference transform into `conv`, the convolution feeding it, and
    /// becomes an identity: `W' = W s`, `b' = beta + (b - mean) s` with
    /// `s = gamma / sqrt(var + eps)` (Ioffe & Szegedy 2015, Alg. 2, step 11). One kernel per
    /// pair instead of two for inference; the model can no longer train.
    pub fn fold_into(&mut self, conv: &mut Conv2d) -> Result<()> {
        if self.folded {
            return Ok(());
        }
        tch::no_grad(|| -> Result<()> {
            let scale = self
                .weight
                .f_div(&self.running_var.f_add_scalar(self.eps)?.f_sqrt()?)?;
            let bias = match &conv.bias {
                Some(b) => b.f_sub(&self.running_mean)?,
                None => self.running_mean.f_neg()?,
            };
            conv.weight = conv.weight.f_mul(&scale.f_view([-1, 1, 1, 1])?)?;
            conv.bias = Some(self.bias.f_add(&bias.f_mul(&scale)?)?);
            Ok(())
        })?;
        self.folded = true;
        Ok(())
    }
}

/// Folds each BatchNorm of `pairs` into the convolution feeding it ([`BatchNorm2d::fold_into`]),
/// leaving those after grouped (depthwise) convolutions when `keep_grouped`; returns how many
/// pairs are folded. The models' [`crate::models::Backbone::fold_batch_norms`] list their pairs.
pub fn fold_pairs(
    mut pairs: Vec<(&mut BatchNorm2d, &mut Conv2d)>,
    keep_grouped: bool,
) -> Result<usize> {
    pairs.retain(|(_, conv)| !(keep_grouped && conv.groups() > 1));
    let n = pairs.len();
    for (bn, conv) in pairs {
        bn.fold_into(conv)?;
    }
    Ok(n)
}

/// The same values in channels-last memory order (NHWC strides, NCHW shape): convolutions on a
/// CPU (oneDNN) and on tensor cores run faster on it, and libtorch keeps the order through the
/// network once the input has it. A no-op for tensors that are not 4-d.
pub fn channels_last(x: &Tensor) -> Result<Tensor> {
    if x.dim() != 4 {
        return Ok(x.shallow_clone());
    }
    Ok(x.f_permute([0, 2, 3, 1])?
        .f_contiguous()?
        .f_permute([0, 3, 1, 2])?)
}

/// The module at a dotted path under `p` (`attn.qkv`, `features.1.0`): tch's `sub` takes one
/// name at a time, and checkpoints name modules by dotted paths.
pub fn at<'a>(p: &Path<'a>, dotted: &str) -> Path<'a> {
    dotted.split('.').fold(p.clone(), |q, name| q.sub(name))
}

/// A fully connected layer, `x W^T + b`.
#[derive(Debug)]
pub struct Linear {
    pub weight: Tensor,
    pub bias: Tensor,
}

impl Linear {
    /// PyTorch's default init: uniform in `±1/sqrt(fan_in)` for weight and bias.
    pub fn new(p: &Path, in_features: i64, out_features: i64) -> Self {
        Linear::named(p, "weight", "bias", in_features, out_features)
    }

    /// [`Linear::new`] with other names for the two tensors, for checkpoints that store a layer
    /// as bare matrices (`nn.MultiheadAttention`'s `in_proj_weight` / `in_proj_bias`).
    pub fn named(p: &Path, weight: &str, bias: &str, in_features: i64, out_features: i64) -> Self {
        let bound = 1.0 / (in_features as f64).sqrt();
        let init = Init::Uniform {
            lo: -bound,
            up: bound,
        };
        Linear {
            weight: p.var(weight, &[out_features, in_features], init),
            bias: p.var(bias, &[out_features], init),
        }
    }

    pub fn in_features(&self) -> i64 {
        self.weight.size()[1]
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.f_linear(&self.weight, Some(&self.bias))?)
    }
}

/// Layer normalisation over the last dimension (Ba et al. 2016), with PyTorch's `weight` and
/// `bias` names; shared by the text encoders and the vision transformers.
#[derive(Debug)]
pub struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl LayerNorm {
    pub fn new(p: &Path, dim: i64, eps: f64) -> Self {
        LayerNorm {
            weight: p.var("weight", &[dim], Init::Const(1.0)),
            bias: p.var("bias", &[dim], Init::Const(0.0)),
            eps,
        }
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let d = *x.size().last().unwrap_or(&0);
        Ok(x.f_layer_norm([d], Some(&self.weight), Some(&self.bias), self.eps, true)?)
    }
}

/// Global average pooling `(N, C, H, W) -> (N, C)`, as torchvision's
/// `AdaptiveAvgPool2d(1)` + `flatten(1)`.
pub fn global_avg_pool(x: &Tensor) -> Result<Tensor> {
    Ok(x.f_adaptive_avg_pool2d([1, 1])?.f_flatten(1, -1)?)
}

/// Checks that `x` is an `(N, C, H, W)` batch with the channel count the model takes, so that
/// a wrongly shaped input is reported in the model's terms rather than libtorch's.
pub fn check_image_batch(model: &str, x: &Tensor, channels: i64) -> Result<()> {
    let size = x.size();
    if size.len() != 4 || size[1] != channels {
        return Err(NnError::Invalid(format!(
            "model `{model}` takes images as an (N, {channels}, H, W) tensor; got shape {size:?}"
        )));
    }
    Ok(())
}

/// Checks that features handed to a head have the width it was built for.
pub fn check_features(model: &str, x: &Tensor, dim: i64) -> Result<()> {
    let size = x.size();
    if size.len() != 2 || size[1] != dim {
        return Err(NnError::Invalid(format!(
            "the head of model `{model}` takes (N, {dim}) features; got shape {size:?}"
        )));
    }
    Ok(())
}

/// The head a model was built with, or the error saying it has none.
pub fn require_head<'a, T>(model: &str, head: &'a Option<T>) -> Result<&'a T> {
    head.as_ref().ok_or_else(|| {
        NnError::Invalid(format!(
            "model `{model}` was built without a classifier head (features only); build it with a \
             number of classes to get logits"
        ))
    })
}

/// The logits of the classifier a model ends with, after `dropout` (its rate, applied when
/// training) where the model has one: with the errors for a model built without a head and
/// for features of the wrong width.
pub fn classify(
    model: &str,
    head: &Option<Linear>,
    features: &Tensor,
    dropout: Option<f64>,
    train: bool,
) -> Result<Tensor> {
    let fc = require_head(model, head)?;
    check_features(model, features, fc.in_features())?;
    match dropout {
        Some(p) => fc.forward(&features.f_dropout(p, train)?),
        None => fc.forward(features),
    }
}

/// The index of `stage` in `stages`, with the registry's error for an unknown name.
pub fn stage_index(
    model: &str,
    stages: &[crate::models::StageInfo],
    stage: Option<&str>,
) -> Result<usize> {
    match stage {
        None => Ok(stages.len() - 1),
        Some(name) => {
            stages
                .iter()
                .position(|s| s.name == name)
                .ok_or_else(|| NnError::UnknownStage {
                    model: model.to_string(),
                    stage: name.to_string(),
                    known: stages.iter().map(|s| s.name).collect::<Vec<_>>().join(", "),
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn channels_last_keeps_values_and_shape() {
        let x = Tensor::arange(2 * 3 * 4 * 5, (Kind::Float, Device::Cpu)).view([2, 3, 4, 5]);
        let y = channels_last(&x).unwrap();
        assert_eq!(y.size(), x.size());
        assert_eq!(y.stride(), vec![60, 1, 15, 3]);
        assert!(y.equal(&x));
        assert_eq!(
            channels_last(&x.view([6, 20])).unwrap().stride(),
            vec![20, 1]
        );
    }
}
