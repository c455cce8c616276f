//! EfficientNet-Lite, the mobile variant of EfficientNet (ReLU6, no squeeze-excitation, fixed
//! stem and head), under the parameter names of `efficientnet_pytorch`, which the published
//! PyTorch conversions of Google's TF checkpoints use. The network is generated from a block
//! table and width/depth multipliers, so the larger Lite variants differ only in their
//! [`LiteConfig`].

use crate::models::layers::{
    channels_last, check_image_batch, classify, fold_pairs, global_avg_pool, BatchNorm2d, Conv2d,
    ConvSpec, Linear, Padding,
};
use crate::models::{Backbone, StageInfo};
use crate::Result;
use graft_data::preprocess::{Interpolation, Normalization, Preprocess};
use tch::nn::Path;
use tch::Tensor;

/// TF's BatchNorm settings: epsilon 1e-3, decay 0.99 (PyTorch momentum 0.01).
const BN_EPS: f64 = 1e-3;
const BN_MOMENTUM: f64 = 0.01;
/// Lite keeps the stem and head widths fixed whatever the width multiplier.
const STEM_CHANNELS: i64 = 32;
const HEAD_CHANNELS: i64 = 1280;
const STAGE_NAMES: [&str; 7] = [
    "stage1", "stage2", "stage3", "stage4", "stage5", "stage6", "stage7",
];

/// One row of the block table: `repeats` MBConv blocks, the first of which strides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StageArgs {
    pub repeats: usize,
    pub kernel: i64,
    pub stride: i64,
    pub expand: i64,
    pub in_channels: i64,
    pub out_channels: i64,
}

const fn row(repeats: usize, kernel: i64, stride: i64, expand: i64, i: i64, o: i64) -> StageArgs {
    StageArgs {
        repeats,
        kernel,
        stride,
        expand,
        in_channels: i,
        out_channels: o,
    }
}

/// EfficientNet-B0's block table, the base every Lite variant scales.
pub const BASE_STAGES: [StageArgs; 7] = [
    row(1, 3, 1, 1, 32, 16),
    row(2, 3, 2, 6, 16, 24),
    row(2, 5, 2, 6, 24, 40),
    row(3, 3, 2, 6, 40, 80),
    row(3, 5, 1, 6, 80, 112),
    row(4, 5, 2, 6, 112, 192),
    row(1, 3, 1, 6, 192, 320),
];

/// What distinguishes Lite0..Lite4 from each other.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LiteConfig {
    pub name: &'static str,
    pub width_mult: f64,
    pub depth_mult: f64,
    /// Input resolution the weights were trained at (centre crop size).
    pub resolution: u32,
    /// Dropout before the classifier (training only).
    pub dropout: f64,
    /// Stochastic-depth rate of the last block (scaled linearly from 0 at the first; training
    /// only).
    pub drop_connect: f64,
}

pub const LITE0: LiteConfig = LiteConfig {
    name: "efficientnet_lite0",
    width_mult: 1.0,
    depth_mult: 1.0,
    resolution: 224,
    dropout: 0.2,
    drop_connect: 0.2,
};

/// TF's `round_filters`: scale by the width multiplier, round to a multiple of 8, never more
/// than 10% below the scaled value.
fn round_filters(c: i64, width: f64) -> i64 {
    let scaled = c as f64 * width;
    let mut r = ((scaled + 4.0) as i64 / 8 * 8).max(8);
    if (r as f64) < 0.9 * scaled {
        r += 8;
    }
    r
}

/// One MBConv block, fully specified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockArgs {
    pub kernel: i64,
    pub stride: i64,
    pub expand: i64,
    pub in_channels: i64,
    pub out_channels: i64,
    /// Index into [`BASE_STAGES`] (and the stage names).
    pub stage: usize,
}

/// The flat block list of a variant. Lite does not scale the first and last rows' repeats
/// (`fix_head_stem` in the TF builder); the others are scaled by `ceil(depth * repeats)`.
pub fn blocks(cfg: &LiteConfig) -> Vec<BlockArgs> {
    let mut out = Vec::new();
    let mut in_c = STEM_CHANNELS;
    for (s, a) in BASE_STAGES.iter().enumerate() {
        let fixed = s == 0 || s == BASE_STAGES.len() - 1;
        let repeats = if fixed {
            a.repeats
        } else {
            (cfg.depth_mult * a.repeats as f64).ceil() as usize
        };
        let out_c = round_filters(a.out_channels, cfg.width_mult);
        for r in 0..repeats {
            out.push(BlockArgs {
                kernel: a.kernel,
                stride: if r == 0 { a.stride } else { 1 },
                expand: a.expand,
                in_channels: in_c,
                out_channels: out_c,
                stage: s,
            });
            in_c = out_c;
        }
    }
    out
}

/// `stem`, `stage1`..`stage7` (the block table's rows) and `head` (the 1280-d features).
pub fn stages(cfg: &LiteConfig) -> Vec<StageInfo> {
    let blocks = blocks(cfg);
    let mut out = vec![StageInfo {
        name: "stem",
        dim: STEM_CHANNELS,
        param_prefixes: vec!["_conv_stem.".into(), "_bn0.".into()],
    }];
    for (s, name) in STAGE_NAMES.into_iter().enumerate() {
        let members: Vec<(usize, &BlockArgs)> = blocks
            .iter()
            .enumerate()
            .filter(|(_, b)| b.stage == s)
            .collect();
        out.push(StageInfo {
            name,
            dim: members.last().map_or(0, |(_, b)| b.out_channels),
            param_prefixes: members
                .iter()
                .map(|(i, _)| format!("_blocks.{i}."))
                .collect(),
        });
    }
    out.push(StageInfo {
        name: "head",
        dim: HEAD_CHANNELS,
        param_prefixes: vec!["_conv_head.".into(), "_bn1.".into()],
    });
    out
}

/// The TF Lite recipe: resize to `resolution * 8/7` (256 for 224), centre crop, `(p - 127) /
/// 128`. It gives these weights more confident predictions than ImageNet mean/std.
pub fn preprocess(cfg: &LiteConfig) -> Preprocess {
    Preprocess::resize_crop(
        (cfg.resolution as f64 * 8.0 / 7.0).round() as u32,
        cfg.resolution,
        Interpolation::Bilinear,
        Normalization::Centered {
            center: 127.0,
            scale: 128.0,
        },
    )
}

fn bn(p: &Path, c: i64) -> BatchNorm2d {
    BatchNorm2d::new(p, c, BN_EPS, BN_MOMENTUM)
}

fn relu6(x: Tensor) -> Result<Tensor> {
    let mut x = x;
    Ok(x.f_relu6_()?)
}

/// Inverted residual: 1x1 expand, depthwise kxk (TF SAME), 1x1 project; identity skip when the
/// shape is kept.
#[derive(Debug)]
struct MbConv {
    expand: Option<(Conv2d, BatchNorm2d)>,
    depthwise: Conv2d,
    bn1: BatchNorm2d,
    project: Conv2d,
    bn2: BatchNorm2d,
    skip: bool,
    drop_connect: f64,
}

impl MbConv {
    fn new(p: &Path, a: &BlockArgs, drop_connect: f64) -> MbConv {
        let mid = a.in_channels * a.expand;
        let expand = (a.expand != 1).then(|| {
            let conv = ConvSpec::new(a.in_channels, mid, 1, 1, 0);
            (
                Conv2d::new(&p.sub("_expand_conv"), conv),
                bn(&p.sub("_bn0"), mid),
            )
        });
        let dw = ConvSpec {
            in_channels: mid,
            out_channels: mid,
            kernel: a.kernel,
            stride: a.stride,
            padding: Padding::TfSame,
            groups: mid,
            bias: false,
        };
        MbConv {
            expand,
            depthwise: Conv2d::new(&p.sub("_depthwise_conv"), dw),
            bn1: bn(&p.sub("_bn1"), mid),
            project: Conv2d::new(
                &p.sub("_project_conv"),
                ConvSpec::new(mid, a.out_channels, 1, 1, 0),
            ),
            bn2: bn(&p.sub("_bn2"), a.out_channels),
            skip: a.stride == 1 && a.in_channels == a.out_channels,
            drop_connect,
        }
    }

    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let h = match &self.expand {
            Some((conv, bn0)) => relu6(bn0.forward(&conv.forward(x)?, train)?)?,
            None => x.shallow_clone(),
        };
        let h = relu6(self.bn1.forward(&self.depthwise.forward(&h)?, train)?)?;
        let mut h = self.bn2.forward(&self.project.forward(&h)?, train)?;
        if self.skip {
            if train && self.drop_connect > 0.0 {
                h = drop_connect(&h, self.drop_connect)?;
            }
            h = h.f_add_(x)?;
        }
        Ok(h)
    }
}

/// Stochastic depth: zeroes the residual branch of whole samples with probability `rate` and
/// rescales the survivors, as `efficientnet_pytorch` does when training.
fn drop_connect(x: &Tensor, rate: f64) -> Result<Tensor> {
    let keep = 1.0 - rate;
    let n = x.size()[0];
    let mask = Tensor::f_rand([n, 1, 1, 1], (x.kind(), x.device()))?
        .f_add_scalar(keep)?
        .f_floor()?;
    Ok(x.f_div_scalar(keep)?.f_mul(&mask)?)
}

/// An EfficientNet-Lite network; `_fc` is absent when built for features only.
#[derive(Debug)]
pub struct EfficientNetLite {
    cfg: LiteConfig,
    conv_stem: Conv2d,
    bn0: BatchNorm2d,
    blocks: Vec<MbConv>,
    /// For each stage name after `stem`, one past the index of its last block.
    stage_ends: Vec<usize>,
    conv_head: Conv2d,
    bn1: BatchNorm2d,
    fc: Option<Linear>,
    stages: Vec<StageInfo>,
}

impl EfficientNetLite {
    /// Builds the network under `p` (the VarStore root for `efficientnet_pytorch` key names).
    pub fn new(p: &Path, cfg: LiteConfig, num_classes: Option<i64>) -> EfficientNetLite {
        let stem = ConvSpec {
            padding: Padding::TfSame,
            ..ConvSpec::new(3, STEM_CHANNELS, 3, 2, 0)
        };
        let args = blocks(&cfg);
        let n = args.len();
        let bp = p.sub("_blocks");
        let blocks = args
            .iter()
            .enumerate()
            .map(|(i, a)| MbConv::new(&bp.sub(i), a, cfg.drop_connect * i as f64 / n as f64))
            .collect();
        let stage_ends = (0..STAGE_NAMES.len())
            .map(|s| args.iter().rposition(|b| b.stage == s).map_or(0, |i| i + 1))
            .collect();
        let last = args.last().map_or(STEM_CHANNELS, |b| b.out_channels);
        EfficientNetLite {
            cfg,
            conv_stem: Conv2d::new(&p.sub("_conv_stem"), stem),
            bn0: bn(&p.sub("_bn0"), STEM_CHANNELS),
            blocks,
            stage_ends,
            conv_head: Conv2d::new(
                &p.sub("_conv_head"),
                ConvSpec::new(last, HEAD_CHANNELS, 1, 1, 0),
            ),
            bn1: bn(&p.sub("_bn1"), HEAD_CHANNELS),
            fc: num_classes.map(|k| Linear::new(&p.sub("_fc"), HEAD_CHANNELS, k)),
            stages: stages(&cfg),
        }
    }
}

impl Backbone for EfficientNetLite {
    fn arch(&self) -> &str {
        self.cfg.name
    }

    fn stages(&self) -> &[StageInfo] {
        &self.stages
    }

    fn forward_stages(&self, x: &Tensor, from: usize, to: usize, train: bool) -> Result<Tensor> {
        self.check_stage_range(from, to)?;
        // Stage 0 is the stem, 1..=7 the MBConv stages, the last one the 1x1 head convolution.
        let head = self.stages.len() - 1;
        let mut h = if from == 0 {
            check_image_batch(self.arch(), x, 3)?;
            let x = channels_last(x)?;
            relu6(self.bn0.forward(&self.conv_stem.forward(&x)?, train)?)?
        } else {
            x.shallow_clone()
        };
        let block_end = |s: usize| match s {
            0 => 0,
            s if s <= self.stage_ends.len() => self.stage_ends[s - 1],
            _ => self.blocks.len(),
        };
        let first_block = if from == 0 { 0 } else { block_end(from - 1) };
        for block in &self.blocks[first_block..block_end(to).max(first_block)] {
            h = block.forward(&h, train)?;
        }
        if to == head {
            h = relu6(self.bn1.forward(&self.conv_head.forward(&h)?, train)?)?;
        }
        Ok(h)
    }

    fn pool_stage(&self, h: &Tensor, _stage: usize) -> Result<Tensor> {
        global_avg_pool(h)
    }

    fn forward_head(&self, features: &Tensor, train: bool) -> Result<Tensor> {
        classify(
            self.arch(),
            &self.fc,
            features,
            Some(self.cfg.dropout),
            train,
        )
    }

    fn head_prefix(&self) -> &str {
        "_fc."
    }

    fn channels_last(&self) -> bool {
        true
    }

    fn fold_batch_norms(&mut self, keep_grouped: bool) -> Result<usize> {
        let mut pairs: Vec<(&mut BatchNorm2d, &mut Conv2d)> = vec![
            (&mut self.bn0, &mut self.conv_stem),
            (&mut self.bn1, &mut self.conv_head),
        ];
        for b in &mut self.blocks {
            if let Some((conv, bn)) = &mut b.expand {
                pairs.push((bn, conv));
            }
            pairs.extend([(&mut b.bn1, &mut b.depthwise), (&mut b.bn2, &mut b.project)]);
        }
        fold_pairs(pairs, keep_grouped)
    }

    fn input(&self) -> crate::models::ModelInput {
        crate::models::ModelInput::Pixels(preprocess(&self.cfg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    #[test]
    fn lite0_block_table_is_the_published_one() {
        // (k, s, expand, in, out) of the 16 blocks, as listed for the released weights.
        let want = [
            (3, 1, 1, 32, 16),
            (3, 2, 6, 16, 24),
            (3, 1, 6, 24, 24),
            (5, 2, 6, 24, 40),
            (5, 1, 6, 40, 40),
            (3, 2, 6, 40, 80),
            (3, 1, 6, 80, 80),
            (3, 1, 6, 80, 80),
            (5, 1, 6, 80, 112),
            (5, 1, 6, 112, 112),
            (5, 1, 6, 112, 112),
            (5, 2, 6, 112, 192),
            (5, 1, 6, 192, 192),
            (5, 1, 6, 192, 192),
            (5, 1, 6, 192, 192),
            (3, 1, 6, 192, 320),
        ];
        let got: Vec<_> = blocks(&LITE0)
            .iter()
            .map(|b| (b.kernel, b.stride, b.expand, b.in_channels, b.out_channels))
            .collect();
        assert_eq!(got, want);
        let groups: Vec<Vec<String>> = stages(&LITE0)[1..8]
            .iter()
            .map(|s| s.param_prefixes.clone())
            .collect();
        assert_eq!(groups[3], vec!["_blocks.5.", "_blocks.6.", "_blocks.7."]);
        assert_eq!(groups[6], vec!["_blocks.15."]);
    }

    #[test]
    fn round_filters_matches_tf() {
        assert_eq!(round_filters(32, 1.0), 32);
        assert_eq!(round_filters(16, 1.1), 16);
        assert_eq!(round_filters(24, 1.2), 32);
        assert_eq!(round_filters(320, 1.4), 448);
    }

    #[test]
    fn tf_same_padding_is_asymmetric_at_even_sizes() {
        let vs = tch::nn::VarStore::new(tch::Device::Cpu);
        let spec = ConvSpec {
            padding: Padding::TfSame,
            ..ConvSpec::new(1, 1, 3, 2, 0)
        };
        let conv = Conv2d::new(&vs.root(), spec);
        tch::no_grad(|| {
            let _ = conv.weight.shallow_clone().fill_(1.0);
        });
        // With (0, 1) padding the first output sums rows/cols 0..3 = 9 ones, the last one sees
        // the bottom/right zero pad: 2 x 2 = 4 ones.
        let x = Tensor::ones([1, 1, 4, 4], (Kind::Float, tch::Device::Cpu));
        let y = conv.forward(&x).unwrap();
        assert_eq!(y.size(), vec![1, 1, 2, 2]);
        assert_eq!(y.double_value(&[0, 0, 0, 0]), 9.0);
        assert_eq!(y.double_value(&[0, 0, 1, 1]), 4.0);
    }
}
