//! The models graft knows by name: how to build each, what input it takes, its stages and the
//! preprocessing its published weights expect. Everything here is known without building a
//! network, so listing models costs nothing.

use crate::models::efficientnet_lite::{self, EfficientNetLite, LITE0};
use crate::models::lenet::{self, LeNet};
use crate::models::resnet::{self, ResNet, ResNetDepth};
use crate::models::vit::{config as vit_config, Vit};
use crate::models::{Backbone, StageInfo};
use crate::{NnError, Result};
use graft_data::preprocess::Preprocess;
use tch::nn::Path;

/// A registry entry.
pub struct ModelSpec {
    pub name: &'static str,
    pub summary: &'static str,
    /// Input tensor shape of one sample (C, H, W) at the weights' native resolution.
    pub input: (i64, i64, i64),
    /// Classes of the published head (ImageNet-1k, or 10 digits); 0 when the published weights
    /// have none (DINOv2).
    pub default_classes: i64,
    /// Builds the network under `path` (the VarStore root gives checkpoint key names);
    /// `None` builds it without a classifier head. Prefer [`ModelSpec::build_checked`].
    pub build: fn(&Path, Option<i64>) -> Box<dyn Backbone>,
    /// Key prefix of the classifier (`fc.`, `_fc.`).
    pub head_prefix: &'static str,
    stages: fn() -> Vec<StageInfo>,
    preprocess: fn() -> Preprocess,
}

impl std::fmt::Debug for ModelSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelSpec")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl ModelSpec {
    /// Stages in forward order, with feature widths and parameter prefixes.
    pub fn stages(&self) -> Vec<StageInfo> {
        (self.stages)()
    }

    pub fn stage_names(&self) -> Vec<&'static str> {
        self.stages().iter().map(|s| s.name).collect()
    }

    /// Feature width at `stage` (the last when `None`).
    pub fn feature_dim(&self, stage: Option<&str>) -> Result<i64> {
        let stages = self.stages();
        let found = match stage {
            None => stages.last(),
            Some(n) => stages.iter().find(|s| s.name == n),
        };
        found.map(|s| s.dim).ok_or_else(|| NnError::UnknownStage {
            model: self.name.to_string(),
            stage: stage.unwrap_or_default().to_string(),
            known: self.stage_names().join(", "),
        })
    }

    /// The preprocessing the published weights were trained with.
    pub fn preprocess(&self) -> Preprocess {
        (self.preprocess)()
    }

    /// Builds the network after checking the class count, which would otherwise reach libtorch
    /// as a negative or zero tensor size.
    pub fn build_checked(
        &self,
        path: &Path,
        num_classes: Option<i64>,
    ) -> Result<Box<dyn Backbone>> {
        if let Some(k) = num_classes {
            if k < 1 {
                return Err(NnError::Invalid(format!(
                    "model `{}`: number of classes must be at least 1, got {k}",
                    self.name
                )));
            }
        }
        Ok((self.build)(path, num_classes))
    }
}

static REGISTRY: [ModelSpec; 15] = [
    ModelSpec {
        name: "resnet18",
        summary: "ResNet-18 (torchvision), 11.7M parameters, 512-d features",
        input: (3, 224, 224),
        default_classes: 1000,
        build: |p, k| Box::new(ResNet::new(p, ResNetDepth::R18, k)),
        head_prefix: "fc.",
        stages: || resnet::stages(ResNetDepth::R18),
        preprocess: resnet::preprocess,
    },
    ModelSpec {
        name: "resnet34",
        summary: "ResNet-34 (torchvision), 21.8M parameters, 512-d features",
        input: (3, 224, 224),
        default_classes: 1000,
        build: |p, k| Box::new(ResNet::new(p, ResNetDepth::R34, k)),
        head_prefix: "fc.",
        stages: || resnet::stages(ResNetDepth::R34),
        preprocess: resnet::preprocess,
    },
    ModelSpec {
        name: "resnet50",
        summary: "ResNet-50 (torchvision, v1.5), 25.6M parameters, 2048-d features",
        input: (3, 224, 224),
        default_classes: 1000,
        build: |p, k| Box::new(ResNet::new(p, ResNetDepth::R50, k)),
        head_prefix: "fc.",
        stages: || resnet::stages(ResNetDepth::R50),
        preprocess: resnet::preprocess,
    },
    ModelSpec {
        name: "efficientnet_lite0",
        summary:
            "EfficientNet-Lite0 (efficientnet_pytorch names), 4.7M parameters, 1280-d features",
        input: (3, 224, 224),
        default_classes: 1000,
        build: |p, k| Box::new(EfficientNetLite::new(p, LITE0, k)),
        head_prefix: "_fc.",
        stages: || efficientnet_lite::stages(&LITE0),
        preprocess: || efficientnet_lite::preprocess(&LITE0),
    },
    ModelSpec {
        name: "vit_tiny_patch16_224",
        summary: "ViT-Ti/16 (timm names), 5.7M parameters, 192-d class token",
        input: (3, 224, 224),
        default_classes: 1000,
        build: |p, k| {
            Box::new(Vit::new(
                p,
                &vit_config::VIT_TI16,
                k,
                vit_config::augreg_preprocess(),
            ))
        },
        head_prefix: "head.",
        stages: || vit_config::VIT_TI16.stages(),
        preprocess: vit_config::augreg_preprocess,
    },
    ModelSpec {
        name: "vit_small_patch16_224",
        summary: "ViT-S/16 (timm names), 22M parameters, 384-d class token",
        input: (3, 224, 224),
        default_classes: 1000,
        build: |p, k| {
            Box::new(Vit::new(
                p,
                &vit_config::VIT_S16,
                k,
                vit_config::augreg_preprocess(),
            ))
        },
        head_prefix: "head.",
        stages: || vit_config::VIT_S16.stages(),
        preprocess: vit_config::augreg_preprocess,
    },
    ModelSpec {
        name: "vit_base_patch16_224",
        summary: "ViT-B/16 (timm names), 86M parameters, 768-d class token",
        input: (3, 224, 224),
        default_classes: 1000,
        build: |p, k| {
            Box::new(Vit::new(
                p,
                &vit_config::VIT_B16,
                k,
                vit_config::augreg_preprocess(),
            ))
        },
        head_prefix: "head.",
        stages: || vit_config::VIT_B16.stages(),
        preprocess: vit_config::augreg_preprocess,
    },
    ModelSpec {
        name: "vit_small_patch14_dinov2",
        summary: "DINOv2 ViT-S/14 (timm names), 22M parameters, 384-d class token, 518 px",
        input: (3, 518, 518),
        default_classes: 0,
        build: |p, k| {
            Box::new(Vit::new(
                p,
                &vit_config::DINOV2_S14,
                k,
                vit_config::dinov2_preprocess(),
            ))
        },
        head_prefix: "head.",
        stages: || vit_config::DINOV2_S14.stages(),
        preprocess: vit_config::dinov2_preprocess,
    },
    ModelSpec {
        name: "vit_small_patch14_reg4_dinov2",
        summary: "DINOv2 ViT-S/14 with 4 registers (timm names), 22M parameters, 518 px",
        input: (3, 518, 518),
        default_classes: 0,
        build: |p, k| {
            Box::new(Vit::new(
                p,
                &vit_config::DINOV2_S14_REG4,
                k,
                vit_config::dinov2_preprocess(),
            ))
        },
        head_prefix: "head.",
        stages: || vit_config::DINOV2_S14_REG4.stages(),
        preprocess: vit_config::dinov2_preprocess,
    },
    ModelSpec {
        name: "dinov2_vits14",
        summary: "DINOv2 ViT-S/14 (its own torch.hub names), 22M parameters, 384-d class token",
        input: (3, 224, 224),
        default_classes: 0,
        build: |p, k| {
            Box::new(Vit::new(
                p,
                &vit_config::HUB_DINOV2_S14,
                k,
                vit_config::dinov2_eval_preprocess(),
            ))
        },
        head_prefix: "head.",
        stages: || vit_config::HUB_DINOV2_S14.stages(),
        preprocess: vit_config::dinov2_eval_preprocess,
    },
    ModelSpec {
        name: "dinov2_vits14_reg",
        summary: "DINOv2 ViT-S/14 with 4 registers (its own torch.hub names), 22M parameters",
        input: (3, 224, 224),
        default_classes: 0,
        build: |p, k| {
            Box::new(Vit::new(
                p,
                &vit_config::HUB_DINOV2_S14_REG,
                k,
                vit_config::dinov2_eval_preprocess(),
            ))
        },
        head_prefix: "head.",
        stages: || vit_config::HUB_DINOV2_S14_REG.stages(),
        preprocess: vit_config::dinov2_eval_preprocess,
    },
    ModelSpec {
        name: "hf_dinov2_small",
        summary: "DINOv2 ViT-S/14 (Hugging Face Dinov2Model names), 22M parameters",
        input: (3, 224, 224),
        default_classes: 0,
        build: |p, k| {
            Box::new(Vit::new(
                p,
                &vit_config::HF_DINOV2_S14,
                k,
                vit_config::dinov2_eval_preprocess(),
            ))
        },
        head_prefix: "classifier.",
        stages: || vit_config::HF_DINOV2_S14.stages(),
        preprocess: vit_config::dinov2_eval_preprocess,
    },
    ModelSpec {
        name: "hf_dinov2_with_registers_small",
        summary: "DINOv2 ViT-S/14 with 4 registers (Hugging Face names), 22M parameters",
        input: (3, 224, 224),
        default_classes: 0,
        build: |p, k| {
            Box::new(Vit::new(
                p,
                &vit_config::HF_DINOV2_S14_REG,
                k,
                vit_config::dinov2_eval_preprocess(),
            ))
        },
        head_prefix: "classifier.",
        stages: || vit_config::HF_DINOV2_S14_REG.stages(),
        preprocess: vit_config::dinov2_eval_preprocess,
    },
    ModelSpec {
        name: "vit_b_16",
        summary: "ViT-B/16 (torchvision), 86M parameters, 768-d class token",
        input: (3, 224, 224),
        default_classes: 1000,
        build: |p, k| {
            Box::new(Vit::new(
                p,
                &vit_config::TV_VIT_B16,
                k,
                vit_config::torchvision_preprocess(),
            ))
        },
        head_prefix: "heads.",
        stages: || vit_config::TV_VIT_B16.stages(),
        preprocess: vit_config::torchvision_preprocess,
    },
    ModelSpec {
        name: "lenet",
        summary: "LeNet digit encoder (ADDA), 1x28x28 input, 500-d features",
        input: (1, lenet::INPUT_SIDE, lenet::INPUT_SIDE),
        default_classes: 10,
        build: |p, k| Box::new(LeNet::new(p, k)),
        head_prefix: "fc.",
        stages: lenet::stages,
        preprocess: lenet::preprocess,
    },
];

/// All registered models, in the order `graft models` lists them.
pub fn registry() -> &'static [ModelSpec] {
    &REGISTRY
}

/// The model called `name`, or an error listing the known names.
pub fn find(name: &str) -> Result<&'static ModelSpec> {
    REGISTRY
        .iter()
        .find(|m| m.name == name)
        .ok_or_else(|| NnError::UnknownModel {
            name: name.to_string(),
            known: REGISTRY
                .iter()
                .map(|m| m.name)
                .collect::<Vec<_>>()
                .join(", "),
        })
}
