//! ResNet-18/34/50 exactly as torchvision builds them (v1.5: a Bottleneck block strides on its
//! 3x3 convolution), under torchvision's parameter names, so its checkpoints load unchanged.

use crate::models::layers::{
    channels_last, check_image_batch, classify, fold_pairs, global_avg_pool, BatchNorm2d, Conv2d,
    ConvSpec, Linear,
};
use crate::models::{Backbone, StageInfo};
use crate::Result;
use graft_data::preprocess::Preprocess;
use tch::nn::Path;
use tch::Tensor;

const BN_EPS: f64 = 1e-5;
const BN_MOMENTUM: f64 = 0.1;

/// Which residual block a ResNet is made of and how many per stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResNetDepth {
    R18,
    R34,
    R50,
}

impl ResNetDepth {
    fn name(self) -> &'static str {
        match self {
            ResNetDepth::R18 => "resnet18",
            ResNetDepth::R34 => "resnet34",
            ResNetDepth::R50 => "resnet50",
        }
    }

    fn blocks(self) -> [usize; 4] {
        match self {
            ResNetDepth::R18 => [2, 2, 2, 2],
            ResNetDepth::R34 | ResNetDepth::R50 => [3, 4, 6, 3],
        }
    }

    /// Output channels of a block relative to its width (4 for Bottleneck).
    fn expansion(self) -> i64 {
        match self {
            ResNetDepth::R18 | ResNetDepth::R34 => 1,
            ResNetDepth::R50 => 4,
        }
    }
}

/// The stages of a ResNet (`stem`, `layer1`..`layer4`) with their feature widths.
pub fn stages(depth: ResNetDepth) -> Vec<StageInfo> {
    let e = depth.expansion();
    let mut out = vec![StageInfo {
        name: "stem",
        dim: 64,
        param_prefixes: vec!["conv1.".into(), "bn1.".into()],
    }];
    for (i, name) in ["layer1", "layer2", "layer3", "layer4"]
        .into_iter()
        .enumerate()
    {
        out.push(StageInfo {
            name,
            dim: (64 << i) * e,
            param_prefixes: vec![format!("{name}.")],
        });
    }
    out
}

/// torchvision's IMAGENET1K_V1 transform: resize 256 (bilinear), centre crop 224, ImageNet
/// mean/std.
pub fn preprocess() -> Preprocess {
    Preprocess::torchvision(256)
}

/// 1x1 convolution + BatchNorm that matches the identity to a block's output shape.
#[derive(Debug)]
struct Downsample {
    conv: Conv2d,
    bn: BatchNorm2d,
}

#[derive(Debug)]
enum Block {
    /// Two 3x3 convolutions (ResNet-18/34).
    Basic {
        conv1: Conv2d,
        bn1: BatchNorm2d,
        conv2: Conv2d,
        bn2: BatchNorm2d,
        downsample: Option<Downsample>,
    },
    /// 1x1 reduce, 3x3 (strided), 1x1 expand (ResNet-50).
    Bottleneck {
        conv1: Conv2d,
        bn1: BatchNorm2d,
        conv2: Conv2d,
        bn2: BatchNorm2d,
        conv3: Conv2d,
        bn3: BatchNorm2d,
        downsample: Option<Downsample>,
    },
}

fn bn(p: &Path, c: i64) -> BatchNorm2d {
    BatchNorm2d::new(p, c, BN_EPS, BN_MOMENTUM)
}

impl Block {
    fn new(p: &Path, depth: ResNetDepth, in_c: i64, width: i64, stride: i64) -> Block {
        let out_c = width * depth.expansion();
        let downsample = (stride != 1 || in_c != out_c).then(|| {
            let d = p.sub("downsample");
            Downsample {
                conv: Conv2d::new(&d.sub("0"), ConvSpec::new(in_c, out_c, 1, stride, 0)),
                bn: bn(&d.sub("1"), out_c),
            }
        });
        match depth {
            ResNetDepth::R18 | ResNetDepth::R34 => Block::Basic {
                conv1: Conv2d::new(&p.sub("conv1"), ConvSpec::new(in_c, width, 3, stride, 1)),
                bn1: bn(&p.sub("bn1"), width),
                conv2: Conv2d::new(&p.sub("conv2"), ConvSpec::new(width, width, 3, 1, 1)),
                bn2: bn(&p.sub("bn2"), width),
                downsample,
            },
            ResNetDepth::R50 => Block::Bottleneck {
                conv1: Conv2d::new(&p.sub("conv1"), ConvSpec::new(in_c, width, 1, 1, 0)),
                bn1: bn(&p.sub("bn1"), width),
                conv2: Conv2d::new(&p.sub("conv2"), ConvSpec::new(width, width, 3, stride, 1)),
                bn2: bn(&p.sub("bn2"), width),
                conv3: Conv2d::new(&p.sub("conv3"), ConvSpec::new(width, out_c, 1, 1, 0)),
                bn3: bn(&p.sub("bn3"), out_c),
                downsample,
            },
        }
    }

    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let (mut out, downsample) = match self {
            Block::Basic {
                conv1,
                bn1,
                conv2,
                bn2,
                downsample,
            } => {
                let h = bn1.forward(&conv1.forward(x)?, train)?.f_relu_()?;
                (bn2.forward(&conv2.forward(&h)?, train)?, downsample)
            }
            Block::Bottleneck {
                conv1,
                bn1,
                conv2,
                bn2,
                conv3,
                bn3,
                downsample,
            } => {
                let h = bn1.forward(&conv1.forward(x)?, train)?.f_relu_()?;
                let h = bn2.forward(&conv2.forward(&h)?, train)?.f_relu_()?;
                (bn3.forward(&conv3.forward(&h)?, train)?, downsample)
            }
        };
        let mut out = match downsample {
            Some(d) => out.f_add_(&d.bn.forward(&d.conv.forward(x)?, train)?)?,
            None => out.f_add_(x)?,
        };
        Ok(out.f_relu_()?)
    }
}

/// A torchvision ResNet; `fc` is absent when built for features only.
#[derive(Debug)]
pub struct ResNet {
    depth: ResNetDepth,
    conv1: Conv2d,
    bn1: BatchNorm2d,
    layers: Vec<Vec<Block>>,
    fc: Option<Linear>,
    stages: Vec<StageInfo>,
}

impl ResNet {
    /// Builds the network under `p` (use the VarStore root for torchvision's key names).
    /// `num_classes: None` leaves the classifier out.
    pub fn new(p: &Path, depth: ResNetDepth, num_classes: Option<i64>) -> ResNet {
        let conv1 = Conv2d::new(&p.sub("conv1"), ConvSpec::new(3, 64, 7, 2, 3));
        let bn1 = bn(&p.sub("bn1"), 64);
        let mut in_c = 64;
        let mut layers = Vec::with_capacity(4);
        for (i, n) in depth.blocks().into_iter().enumerate() {
            let lp = p.sub(format!("layer{}", i + 1));
            let width = 64 << i;
            let stride = if i == 0 { 1 } else { 2 };
            let mut blocks = Vec::with_capacity(n);
            for b in 0..n {
                let s = if b == 0 { stride } else { 1 };
                blocks.push(Block::new(&lp.sub(b), depth, in_c, width, s));
                in_c = width * depth.expansion();
            }
            layers.push(blocks);
        }
        let fc = num_classes.map(|k| Linear::new(&p.sub("fc"), in_c, k));
        ResNet {
            depth,
            conv1,
            bn1,
            layers,
            fc,
            stages: stages(depth),
        }
    }

    fn stem(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let h = self
            .bn1
            .forward(&self.conv1.forward(x)?, train)?
            .f_relu_()?;
        Ok(h.f_max_pool2d([3, 3], [2, 2], [1, 1], [1, 1], false)?)
    }
}

impl Backbone for ResNet {
    fn arch(&self) -> &str {
        self.depth.name()
    }

    fn stages(&self) -> &[StageInfo] {
        &self.stages
    }

    fn forward_stages(&self, x: &Tensor, from: usize, to: usize, train: bool) -> Result<Tensor> {
        self.check_stage_range(from, to)?;
        let mut h = if from == 0 {
            check_image_batch(self.arch(), x, 3)?;
            self.stem(&channels_last(x)?, train)?
        } else {
            x.shallow_clone()
        };
        for layer in &self.layers[from.max(1) - 1..to] {
            for block in layer {
                h = block.forward(&h, train)?;
            }
        }
        Ok(h)
    }

    fn pool_stage(&self, h: &Tensor, _stage: usize) -> Result<Tensor> {
        global_avg_pool(h)
    }

    /// torchvision's ResNet has no dropout before `fc`.
    fn forward_head(&self, features: &Tensor, train: bool) -> Result<Tensor> {
        classify(self.arch(), &self.fc, features, None, train)
    }

    fn head_prefix(&self) -> &str {
        "fc."
    }

    fn channels_last(&self) -> bool {
        true
    }

    fn fold_batch_norms(&mut self, keep_grouped: bool) -> Result<usize> {
        let mut pairs: Vec<(&mut BatchNorm2d, &mut Conv2d)> =
            vec![(&mut self.bn1, &mut self.conv1)];
        for block in self.layers.iter_mut().flatten() {
            let downsample = match block {
                Block::Basic {
                    conv1,
                    bn1,
                    conv2,
                    bn2,
                    downsample,
                } => {
                    pairs.extend([(bn1, conv1), (bn2, conv2)]);
                    downsample
                }
                Block::Bottleneck {
                    conv1,
                    bn1,
                    conv2,
                    bn2,
                    conv3,
                    bn3,
                    downsample,
                } => {
                    pairs.extend([(bn1, conv1), (bn2, conv2), (bn3, conv3)]);
                    downsample
                }
            };
            if let Some(d) = downsample {
                pairs.push((&mut d.bn, &mut d.conv));
            }
        }
        fold_pairs(pairs, keep_grouped)
    }

    fn input(&self) -> crate::models::ModelInput {
        crate::models::ModelInput::Pixels(preprocess())
    }
}
