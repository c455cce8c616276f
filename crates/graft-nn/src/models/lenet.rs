//! The LeNet encoder of the digit domain-adaptation papers (ADDA, DANN experiments): two 5x5
//! convolutions with max pooling, a 500-unit dense layer, a 10-way classifier.
//!
//! The network takes 1x28x28 inputs only. 16x16 digits (USPS) are brought to 28x28 by the
//! model's preprocessing (bilinear resize of the whole digit), not padded: both domains then
//! fill the frame the same way, which is what the MNIST<->USPS protocols do, and the 800-wide
//! `fc1` input (50 maps of 4x4) is the one published models have. Pixels are mapped to [-1, 1]
//! (mean 0.5, std 0.5), a domain-neutral choice: neither MNIST's nor USPS's statistics.

use crate::models::layers::{
    check_image_batch, classify, global_avg_pool, Conv2d, ConvSpec, Linear,
};
use crate::models::{Backbone, StageInfo};
use crate::{NnError, Result};
use graft_data::preprocess::{ColorMode, Interpolation, Normalization, Preprocess};
use tch::nn::Path;
use tch::Tensor;

/// Side of the square input the dense layer is sized for.
pub const INPUT_SIDE: i64 = 28;
/// Dropout of the ADDA encoder after `conv2` (whole maps) and before the classifier.
const DROPOUT: f64 = 0.5;

pub fn stages() -> Vec<StageInfo> {
    let stage = |name: &'static str, dim| StageInfo {
        name,
        dim,
        param_prefixes: vec![format!("{name}.")],
    };
    vec![stage("conv1", 20), stage("conv2", 50), stage("fc1", 500)]
}

/// Grey, resized to 28x28 (see the module docs), scaled to [-1, 1].
pub fn preprocess() -> Preprocess {
    Preprocess {
        resize_shorter: Some(INPUT_SIDE as u32),
        crop: Some((INPUT_SIDE as u32, INPUT_SIDE as u32)),
        interpolation: Interpolation::Bilinear,
        color: ColorMode::Gray,
        normalization: Normalization::MeanStd {
            mean: vec![0.5],
            std: vec![0.5],
        },
    }
}

#[derive(Debug)]
pub struct LeNet {
    conv1: Conv2d,
    conv2: Conv2d,
    fc1: Linear,
    fc: Option<Linear>,
    stages: Vec<StageInfo>,
}

impl LeNet {
    pub fn new(p: &Path, num_classes: Option<i64>) -> LeNet {
        let conv = |name, i, o| {
            Conv2d::new(
                &p.sub(name),
                ConvSpec {
                    bias: true,
                    ..ConvSpec::new(i, o, 5, 1, 0)
                },
            )
        };
        LeNet {
            conv1: conv("conv1", 1, 20),
            conv2: conv("conv2", 20, 50),
            fc1: Linear::new(&p.sub("fc1"), 50 * 4 * 4, 500),
            fc: num_classes.map(|k| Linear::new(&p.sub("fc"), 500, k)),
            stages: stages(),
        }
    }
}

impl Backbone for LeNet {
    fn arch(&self) -> &str {
        "lenet"
    }

    fn stages(&self) -> &[StageInfo] {
        &self.stages
    }

    fn forward_stages(&self, x: &Tensor, from: usize, to: usize, train: bool) -> Result<Tensor> {
        self.check_stage_range(from, to)?;
        let mut h = x.shallow_clone();
        if from == 0 {
            check_image_batch(self.arch(), x, 1)?;
            let size = x.size();
            if size[2] != INPUT_SIDE || size[3] != INPUT_SIDE {
                return Err(NnError::Invalid(format!(
                    "model `lenet` takes 1x{INPUT_SIDE}x{INPUT_SIDE} digits; got {}x{} (its \
                     preprocessing resizes smaller digits such as USPS's 16x16 to {INPUT_SIDE}x{INPUT_SIDE})",
                    size[2], size[3]
                )));
            }
        }
        let pool = |h: &Tensor| h.f_max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], false);
        for stage in from..=to {
            h = match stage {
                0 => pool(&self.conv1.forward(&h)?)?.f_relu_()?,
                1 => {
                    let c = self.conv2.forward(&h)?.f_feature_dropout(DROPOUT, train)?;
                    pool(&c)?.f_relu_()?
                }
                _ => self.fc1.forward(&h.f_flatten(1, -1)?)?.f_relu_()?,
            };
        }
        Ok(h)
    }

    /// The convolutional stages give maps (pooled); `fc1` gives the 500 units themselves.
    fn pool_stage(&self, h: &Tensor, stage: usize) -> Result<Tensor> {
        if stage < 2 {
            global_avg_pool(h)
        } else {
            Ok(h.shallow_clone())
        }
    }

    fn forward_head(&self, features: &Tensor, train: bool) -> Result<Tensor> {
        classify(self.arch(), &self.fc, features, Some(DROPOUT), train)
    }

    fn head_prefix(&self) -> &str {
        "fc."
    }

    fn input(&self) -> crate::models::ModelInput {
        crate::models::ModelInput::Pixels(preprocess())
    }
}
