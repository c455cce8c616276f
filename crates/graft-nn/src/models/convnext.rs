//! ConvNeXt (Liu et al. 2022, "A ConvNet for the 2020s", fig. 4 and sec. 2): a 4x4 patchify
//! stem, four stages of blocks `x + gamma * Linear(GELU(Linear(LN(dwconv7x7(x)))))` joined by
//! LayerNorm + 2x2 stride-2 convolutions, and a head that pools, normalises and classifies.
//! Built under timm's key names (both MLP forms: Linear layers over channels-last maps for tiny
//! and up, 1x1 convolutions with a channels-first norm for atto to nano) or torchvision's.
//!
//! Stages are `stem`, `stages.0` .. `stages.3` (each stage's downsampling belongs to it, as in
//! timm). Every stage's features are its maps globally average-pooled; the last stage's then go
//! through the head's LayerNorm, as timm's `forward_head(pre_logits=True)` and torchvision's
//! classifier do, so the features are the ones the published classifier reads.

use crate::models::layers::{at, check_image_batch, classify, Conv2d, ConvSpec, LayerNorm, Linear};
use crate::models::{Backbone, ModelInput, StageInfo};
use crate::Result;
use graft_data::preprocess::{Normalization, Preprocess};
use tch::nn::{Init, Path};
use tch::Tensor;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvNextLayout {
    /// timm: `stem.0`, `stages.N.downsample`, `stages.N.blocks.M.{conv_dw,norm,mlp,gamma}`,
    /// `head.norm`, `head.fc`.
    Timm,
    /// torchvision: `features.0`, `features.2N+1.M.block.{0,2,3,5}`, `layer_scale`,
    /// downsampling in `features.2N`, `classifier.0` / `classifier.2`.
    Torchvision,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ConvNextConfig {
    pub arch: &'static str,
    pub depths: [usize; 4],
    pub dims: [i64; 4],
    /// The MLP as 1x1 convolutions and the block norm channels-first (timm's `conv_mlp`).
    pub conv_mlp: bool,
    pub layout: ConvNextLayout,
}

impl ConvNextConfig {
    pub fn stages(&self) -> Vec<StageInfo> {
        let tv = self.layout == ConvNextLayout::Torchvision;
        // A stage's blocks and the downsampling before them; the head's norm goes with the
        // last stage, so freezing and new heads keep it with the features it normalises.
        let stage = |i: usize| -> Vec<String> {
            let mut v = if tv {
                vec![format!("features.{}.", 2 * i + 1)]
            } else {
                vec![format!("stages.{i}.")]
            };
            if tv && i > 0 {
                v.push(format!("features.{}.", 2 * i));
            }
            if i == 3 {
                v.push(if tv { "classifier.0." } else { "head.norm." }.to_string());
            }
            v
        };
        let mut out = vec![StageInfo {
            name: "stem",
            dim: self.dims[0],
            param_prefixes: vec![if tv { "features.0." } else { "stem." }.to_string()],
        }];
        for (i, name) in STAGE_NAMES.into_iter().enumerate() {
            out.push(StageInfo {
                name,
                dim: self.dims[i],
                param_prefixes: stage(i),
            });
        }
        out
    }
}

const STAGE_NAMES: [&str; 4] = ["stages.0", "stages.1", "stages.2", "stages.3"];

/// timm `convnext_atto` (d2 weights): 3.7M parameters, 1x1-convolution MLPs.
pub const ATTO: ConvNextConfig = ConvNextConfig {
    arch: "convnext_atto",
    depths: [2, 2, 6, 2],
    dims: [40, 80, 160, 320],
    conv_mlp: true,
    layout: ConvNextLayout::Timm,
};
/// timm `convnext_nano`: 15.6M parameters, 1x1-convolution MLPs.
pub const NANO: ConvNextConfig = ConvNextConfig {
    arch: "convnext_nano",
    depths: [2, 2, 8, 2],
    dims: [80, 160, 320, 640],
    conv_mlp: true,
    layout: ConvNextLayout::Timm,
};
/// timm `convnext_tiny.in12k_ft_in1k`: 28.6M parameters, Linear MLPs.
pub const TINY_TIMM: ConvNextConfig = ConvNextConfig {
    arch: "convnext_tiny.in12k_ft_in1k",
    depths: [3, 3, 9, 3],
    dims: [96, 192, 384, 768],
    conv_mlp: false,
    layout: ConvNextLayout::Timm,
};
/// torchvision `convnext_tiny`.
pub const TINY_TV: ConvNextConfig = ConvNextConfig {
    arch: "convnext_tiny",
    layout: ConvNextLayout::Torchvision,
    ..TINY_TIMM
};

/// timm's pretrained configuration: crop 224 at `crop_pct`, bicubic, ImageNet statistics
/// (`convnext_atto.d2_in1k` 0.875; nano and tiny 0.95).
pub fn timm_preprocess(crop_pct: f64) -> Preprocess {
    Preprocess::timm(224, crop_pct, Normalization::imagenet())
}

const EPS: f64 = 1e-6;

/// LayerNorm over the channels of an `(N, C, H, W)` map (timm's and torchvision's
/// `LayerNorm2d`).
fn norm_2d(norm: &LayerNorm, x: &Tensor) -> Result<Tensor> {
    norm.forward(&x.f_permute([0, 2, 3, 1])?)?
        .f_permute([0, 3, 1, 2])
        .map_err(Into::into)
}

/// The block's pointwise MLP: Linear layers over channels-last maps, or 1x1 convolutions.
#[derive(Debug)]
enum Mlp {
    Linear(Linear, Linear),
    Conv(Conv2d, Conv2d),
}

#[derive(Debug)]
struct Block {
    conv_dw: Conv2d,
    norm: LayerNorm,
    mlp: Mlp,
    gamma: Tensor,
}

impl Block {
    fn new(p: &Path, c: &ConvNextConfig, dim: i64) -> Self {
        let dw = ConvSpec {
            bias: true,
            groups: dim,
            ..ConvSpec::new(dim, dim, 7, 1, 3)
        };
        let pw = |i, o| ConvSpec {
            bias: true,
            ..ConvSpec::new(i, o, 1, 1, 0)
        };
        let hidden = 4 * dim;
        let (conv_dw, norm, fc1, fc2, gamma) = match c.layout {
            ConvNextLayout::Timm => ("conv_dw", "norm", "mlp.fc1", "mlp.fc2", "gamma"),
            ConvNextLayout::Torchvision => ("block.0", "block.2", "block.3", "block.5", ""),
        };
        let mlp = if c.conv_mlp {
            Mlp::Conv(
                Conv2d::new(&at(p, fc1), pw(dim, hidden)),
                Conv2d::new(&at(p, fc2), pw(hidden, dim)),
            )
        } else {
            Mlp::Linear(
                Linear::new(&at(p, fc1), dim, hidden),
                Linear::new(&at(p, fc2), hidden, dim),
            )
        };
        let gamma = match c.layout {
            ConvNextLayout::Timm => p.var(gamma, &[dim], Init::Const(1e-6)),
            ConvNextLayout::Torchvision => p.var("layer_scale", &[dim, 1, 1], Init::Const(1e-6)),
        };
        Block {
            conv_dw: Conv2d::new(&at(p, conv_dw), dw),
            norm: LayerNorm::new(&at(p, norm), dim, EPS),
            mlp,
            gamma,
        }
    }

    /// Stochastic depth is left out (inference-equivalent; the published fine-tuning recipes
    /// use it, graft does not yet).
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = self.conv_dw.forward(x)?;
        let h = match &self.mlp {
            Mlp::Linear(fc1, fc2) => {
                let h = self.norm.forward(&h.f_permute([0, 2, 3, 1])?)?;
                let h = fc2.forward(&fc1.forward(&h)?.f_gelu("none")?)?;
                h.f_permute([0, 3, 1, 2])?
            }
            Mlp::Conv(fc1, fc2) => {
                let h = norm_2d(&self.norm, &h)?;
                fc2.forward(&fc1.forward(&h)?.f_gelu("none")?)?
            }
        };
        let dim = self.gamma.numel() as i64;
        let h = h.f_mul(&self.gamma.f_reshape([1, dim, 1, 1])?)?;
        Ok(x.f_add(&h)?)
    }
}

#[derive(Debug)]
struct Stage {
    /// LayerNorm2d + 2x2 stride-2 convolution (none in the first stage).
    downsample: Option<(LayerNorm, Conv2d)>,
    blocks: Vec<Block>,
}

#[derive(Debug)]
pub struct ConvNext {
    config: ConvNextConfig,
    stem: (Conv2d, LayerNorm),
    stages: Vec<Stage>,
    head_norm: LayerNorm,
    head: Option<Linear>,
    stage_info: Vec<StageInfo>,
    preprocess: Preprocess,
}

impl ConvNext {
    pub fn new(
        p: &Path,
        c: &ConvNextConfig,
        num_classes: Option<i64>,
        preprocess: Preprocess,
    ) -> Self {
        let conv = |q: &str, i, o, k| {
            Conv2d::new(
                &at(p, q),
                ConvSpec {
                    bias: true,
                    ..ConvSpec::new(i, o, k, k, 0)
                },
            )
        };
        let d = c.dims;
        let tv = c.layout == ConvNextLayout::Torchvision;
        let stem = if tv {
            (
                conv("features.0.0", 3, d[0], 4),
                LayerNorm::new(&at(p, "features.0.1"), d[0], EPS),
            )
        } else {
            (
                conv("stem.0", 3, d[0], 4),
                LayerNorm::new(&at(p, "stem.1"), d[0], EPS),
            )
        };
        let stages = (0..4)
            .map(|i| {
                let (down, blocks) = if tv {
                    (
                        format!("features.{}", 2 * i),
                        format!("features.{}", 2 * i + 1),
                    )
                } else {
                    (
                        format!("stages.{i}.downsample"),
                        format!("stages.{i}.blocks"),
                    )
                };
                let downsample = (i > 0).then(|| {
                    (
                        LayerNorm::new(&at(p, &format!("{down}.0")), d[i - 1], EPS),
                        conv(&format!("{down}.1"), d[i - 1], d[i], 2),
                    )
                });
                Stage {
                    downsample,
                    blocks: (0..c.depths[i])
                        .map(|j| Block::new(&at(p, &format!("{blocks}.{j}")), c, d[i]))
                        .collect(),
                }
            })
            .collect();
        let (head_norm, head) = if tv {
            ("classifier.0", "classifier.2")
        } else {
            ("head.norm", "head.fc")
        };
        ConvNext {
            stem,
            stages,
            head_norm: LayerNorm::new(&at(p, head_norm), d[3], EPS),
            head: num_classes.map(|k| Linear::new(&at(p, head), d[3], k)),
            stage_info: c.stages(),
            preprocess,
            config: c.clone(),
        }
    }
}

impl Backbone for ConvNext {
    fn arch(&self) -> &str {
        self.config.arch
    }

    fn stages(&self) -> &[StageInfo] {
        &self.stage_info
    }

    fn forward_stages(&self, x: &Tensor, from: usize, to: usize, train: bool) -> Result<Tensor> {
        let _ = train;
        self.check_stage_range(from, to)?;
        if from == 0 {
            check_image_batch(self.arch(), x, 3)?;
        }
        let mut h = x.shallow_clone();
        for stage in from..=to {
            h = match stage {
                0 => norm_2d(&self.stem.1, &self.stem.0.forward(&h)?)?,
                i => {
                    let s = &self.stages[i - 1];
                    if let Some((norm, conv)) = &s.downsample {
                        h = conv.forward(&norm_2d(norm, &h)?)?;
                    }
                    for b in &s.blocks {
                        h = b.forward(&h)?;
                    }
                    h
                }
            };
        }
        Ok(h)
    }

    fn pool_stage(&self, h: &Tensor, stage: usize) -> Result<Tensor> {
        let pooled = h.f_mean_dim([2, 3].as_slice(), false, None)?;
        if stage == 4 {
            self.head_norm.forward(&pooled)
        } else {
            Ok(pooled)
        }
    }

    fn forward_head(&self, features: &Tensor, train: bool) -> Result<Tensor> {
        classify(self.arch(), &self.head, features, None, train)
    }

    fn head_prefix(&self) -> &str {
        match self.config.layout {
            ConvNextLayout::Timm => "head.fc.",
            ConvNextLayout::Torchvision => "classifier.2.",
        }
    }

    fn input(&self) -> ModelInput {
        ModelInput::Pixels(self.preprocess.clone())
    }
}
