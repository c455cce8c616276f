//! The models graft knows by name: how to build each, what input it takes, its stages and the
//! preprocessing its published weights expect. Everything here is known without building a
//! network, so listing models costs nothing.

use crate::models::convnext::{self, ConvNext};
use crate::models::efficientnet_lite::{self, EfficientNetLite, LITE0};
use crate::models::lenet::{self, LeNet};
use crate::models::lora::LoraSpec;
use crate::models::resnet::{self, ResNet, ResNetDepth};
use crate::models::vit::{config as vit_config, Vit};
use crate::models::{Backbone, StageInfo};
use crate::{NnError, Result};
use graft_data::preprocess::Preprocess;
use tch::nn::Path;

/// How a registry entry builds its network: under a path, with a head of so many classes (or
/// none), with LoRA adapters (or none).
pub type BuildFn = fn(&Path, Option<i64>, Option<&LoraSpec>) -> Box<dyn Backbone>;

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
    /// `None` builds it without a classifier head; LoRA adapters where the spec targets a
    /// layer. Prefer [`ModelSpec::build_checked`] / [`ModelSpec::build_adapted`].
    pub build: BuildFn,
    /// Key prefix of the classifier (`fc.`, `_fc.`).
    pub head_prefix: &'static str,
    /// PEFT's usual `target_modules` for the model, the default of `--lora-targets`; empty
    /// when the model takes no adapters (the CNNs, torchvision's ViT).
    pub lora_targets: &'static [&'static str],
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
        self.build_adapted(path, num_classes, None)
    }

    /// [`ModelSpec::build_checked`] with LoRA adapters on the layers `lora` targets (its
    /// targets empty: the model's [`ModelSpec::lora_targets`]). An error when the model takes
    /// no adapters or no layer is targeted, so a misspelt target never trains nothing.
    pub fn build_adapted(
        &self,
        path: &Path,
        num_classes: Option<i64>,
        lora: Option<&LoraSpec>,
    ) -> Result<Box<dyn Backbone>> {
        let lora = lora.map(|l| self.lora_spec(l)).transpose()?;
        if let Some(k) = num_classes {
            if k < 1 {
                return Err(NnError::Invalid(format!(
                    "model `{}`: number of classes must be at least 1, got {k}",
                    self.name
                )));
            }
        }
        let model = (self.build)(path, num_classes, lora.as_ref());
        if let Some(l) = &lora {
            if model.lora_adapters() == 0 {
                return Err(NnError::Invalid(format!(
                    "model `{}`: no layer is called {} (LoRA targets are the last part of a \
                     linear layer's name; this model's usual ones: {})",
                    self.name,
                    l.targets.join(", "),
                    self.lora_targets.join(", ")
                )));
            }
        }
        Ok(model)
    }

    /// `lora` with the model's default targets when it names none, or the error saying the
    /// model takes no adapters.
    pub fn lora_spec(&self, lora: &LoraSpec) -> Result<LoraSpec> {
        if self.lora_targets.is_empty() {
            return Err(NnError::Invalid(format!(
                "model `{}` takes no LoRA adapters (they apply to the vision transformers' and \
                 text encoders' linear layers)",
                self.name
            )));
        }
        let mut l = lora.clone();
        if l.targets.is_empty() {
            l.targets = self.lora_targets.iter().map(|t| t.to_string()).collect();
        }
        l.validate()?;
        Ok(l)
    }
}

static REGISTRY: [ModelSpec; 19] = [
    ModelSpec {
        name: "resnet18",
        summary: "ResNet-18 (torchvision), 11.7M parameters, 512-d features",
        input: (3, 224, 224),
        default_classes: 1000,
        build: |p, k, _| Box::new(ResNet::new(p, ResNetDepth::R18, k)),
        head_prefix: "fc.",
        lora_targets: &[],
        stages: || resnet::stages(ResNetDepth::R18),
        preprocess: resnet::preprocess,
    },
    ModelSpec {
        name: "resnet34",
        summary: "ResNet-34 (torchvision), 21.8M parameters, 512-d features",
        input: (3, 224, 224),
        default_classes: 1000,
        build: |p, k, _| Box::new(ResNet::new(p, ResNetDepth::R34, k)),
        head_prefix: "fc.",
        lora_targets: &[],
        stages: || resnet::stages(ResNetDepth::R34),
        preprocess: resnet::preprocess,
    },
    ModelSpec {
        name: "resnet50",
        summary: "ResNet-50 (torchvision, v1.5), 25.6M parameters, 2048-d features",
        input: (3, 224, 224),
        default_classes: 1000,
        build: |p, k, _| Box::new(ResNet::new(p, ResNetDepth::R50, k)),
        head_prefix: "fc.",
        lora_targets: &[],
        stages: || resnet::stages(ResNetDepth::R50),
        preprocess: resnet::preprocess,
    },
    ModelSpec {
        name: "efficientnet_lite0",
        summary:
            "EfficientNet-Lite0 (efficientnet_pytorch names), 4.7M parameters, 1280-d features",
        input: (3, 224, 224),
        default_classes: 1000,
        build: |p, k, _| Box::new(EfficientNetLite::new(p, LITE0, k)),
        head_prefix: "_fc.",
        lora_targets: &[],
        stages: || efficientnet_lite::stages(&LITE0),
        preprocess: || efficientnet_lite::preprocess(&LITE0),
    },
    ModelSpec {
        name: "convnext_atto",
        summary:
            "ConvNeXt-Atto (timm names, 1x1-convolution MLPs), 3.7M parameters, 320-d features",
        input: (3, 224, 224),
        default_classes: 1000,
        build: |p, k, _| {
            Box::new(ConvNext::new(
                p,
                &convnext::ATTO,
                k,
                convnext::timm_preprocess(0.875),
            ))
        },
        head_prefix: "head.fc.",
        lora_targets: &[],
        stages: || convnext::ATTO.stages(),
        preprocess: || convnext::timm_preprocess(0.875),
    },
    ModelSpec {
        name: "convnext_nano",
        summary:
            "ConvNeXt-Nano (timm names, 1x1-convolution MLPs), 15.6M parameters, 640-d features",
        input: (3, 224, 224),
        default_classes: 1000,
        build: |p, k, _| {
            Box::new(ConvNext::new(
                p,
                &convnext::NANO,
                k,
                convnext::timm_preprocess(0.95),
            ))
        },
        head_prefix: "head.fc.",
        lora_targets: &[],
        stages: || convnext::NANO.stages(),
        preprocess: || convnext::timm_preprocess(0.95),
    },
    ModelSpec {
        name: "convnext_tiny.in12k_ft_in1k",
        summary: "ConvNeXt-T (timm names, ImageNet-12k then 1k), 28.6M parameters, 768-d features",
        input: (3, 224, 224),
        default_classes: 1000,
        build: |p, k, _| {
            Box::new(ConvNext::new(
                p,
                &convnext::TINY_TIMM,
                k,
                convnext::timm_preprocess(0.95),
            ))
        },
        head_prefix: "head.fc.",
        lora_targets: &[],
        stages: || convnext::TINY_TIMM.stages(),
        preprocess: || convnext::timm_preprocess(0.95),
    },
    ModelSpec {
        name: "convnext_tiny",
        summary: "ConvNeXt-T (torchvision), 28.6M parameters, 768-d features",
        input: (3, 224, 224),
        default_classes: 1000,
        build: |p, k, _| {
            Box::new(ConvNext::new(
                p,
                &convnext::TINY_TV,
                k,
                Preprocess::torchvision(236),
            ))
        },
        head_prefix: "classifier.2.",
        lora_targets: &[],
        stages: || convnext::TINY_TV.stages(),
        preprocess: || Preprocess::torchvision(236),
    },
    ModelSpec {
        name: "vit_tiny_patch16_224",
        summary: "ViT-Ti/16 (timm names), 5.7M parameters, 192-d class token",
        input: (3, 224, 224),
        default_classes: 1000,
        build: |p, k, l| {
            Box::new(Vit::adapted(
                p,
                &vit_config::VIT_TI16,
                k,
                vit_config::augreg_preprocess(),
                l,
            ))
        },
        head_prefix: "head.",
        lora_targets: &["qkv"],
        stages: || vit_config::VIT_TI16.stages(),
        preprocess: vit_config::augreg_preprocess,
    },
    ModelSpec {
        name: "vit_small_patch16_224",
        summary: "ViT-S/16 (timm names), 22M parameters, 384-d class token",
        input: (3, 224, 224),
        default_classes: 1000,
        build: |p, k, l| {
            Box::new(Vit::adapted(
                p,
                &vit_config::VIT_S16,
                k,
                vit_config::augreg_preprocess(),
                l,
            ))
        },
        head_prefix: "head.",
        lora_targets: &["qkv"],
        stages: || vit_config::VIT_S16.stages(),
        preprocess: vit_config::augreg_preprocess,
    },
    ModelSpec {
        name: "vit_base_patch16_224",
        summary: "ViT-B/16 (timm names), 86M parameters, 768-d class token",
        input: (3, 224, 224),
        default_classes: 1000,
        build: |p, k, l| {
            Box::new(Vit::adapted(
                p,
                &vit_config::VIT_B16,
                k,
                vit_config::augreg_preprocess(),
                l,
            ))
        },
        head_prefix: "head.",
        lora_targets: &["qkv"],
        stages: || vit_config::VIT_B16.stages(),
        preprocess: vit_config::augreg_preprocess,
    },
    ModelSpec {
        name: "vit_small_patch14_dinov2",
        summary: "DINOv2 ViT-S/14 (timm names), 22M parameters, 384-d class token, 518 px",
        input: (3, 518, 518),
        default_classes: 0,
        build: |p, k, l| {
            Box::new(Vit::adapted(
                p,
                &vit_config::DINOV2_S14,
                k,
                vit_config::dinov2_preprocess(),
                l,
            ))
        },
        head_prefix: "head.",
        lora_targets: &["qkv"],
        stages: || vit_config::DINOV2_S14.stages(),
        preprocess: vit_config::dinov2_preprocess,
    },
    ModelSpec {
        name: "vit_small_patch14_reg4_dinov2",
        summary: "DINOv2 ViT-S/14 with 4 registers (timm names), 22M parameters, 518 px",
        input: (3, 518, 518),
        default_classes: 0,
        build: |p, k, l| {
            Box::new(Vit::adapted(
                p,
                &vit_config::DINOV2_S14_REG4,
                k,
                vit_config::dinov2_preprocess(),
                l,
            ))
        },
        head_prefix: "head.",
        lora_targets: &["qkv"],
        stages: || vit_config::DINOV2_S14_REG4.stages(),
        preprocess: vit_config::dinov2_preprocess,
    },
    ModelSpec {
        name: "dinov2_vits14",
        summary: "DINOv2 ViT-S/14 (its own torch.hub names), 22M parameters, 384-d class token",
        input: (3, 224, 224),
        default_classes: 0,
        build: |p, k, l| {
            Box::new(Vit::adapted(
                p,
                &vit_config::HUB_DINOV2_S14,
                k,
                vit_config::dinov2_eval_preprocess(),
                l,
            ))
        },
        head_prefix: "head.",
        lora_targets: &["qkv"],
        stages: || vit_config::HUB_DINOV2_S14.stages(),
        preprocess: vit_config::dinov2_eval_preprocess,
    },
    ModelSpec {
        name: "dinov2_vits14_reg",
        summary: "DINOv2 ViT-S/14 with 4 registers (its own torch.hub names), 22M parameters",
        input: (3, 224, 224),
        default_classes: 0,
        build: |p, k, l| {
            Box::new(Vit::adapted(
                p,
                &vit_config::HUB_DINOV2_S14_REG,
                k,
                vit_config::dinov2_eval_preprocess(),
                l,
            ))
        },
        head_prefix: "head.",
        lora_targets: &["qkv"],
        stages: || vit_config::HUB_DINOV2_S14_REG.stages(),
        preprocess: vit_config::dinov2_eval_preprocess,
    },
    ModelSpec {
        name: "hf_dinov2_small",
        summary: "DINOv2 ViT-S/14 (Hugging Face Dinov2Model names), 22M parameters",
        input: (3, 224, 224),
        default_classes: 0,
        build: |p, k, l| {
            Box::new(Vit::adapted(
                p,
                &vit_config::HF_DINOV2_S14,
                k,
                vit_config::dinov2_eval_preprocess(),
                l,
            ))
        },
        head_prefix: "classifier.",
        lora_targets: &["query", "value"],
        stages: || vit_config::HF_DINOV2_S14.stages(),
        preprocess: vit_config::dinov2_eval_preprocess,
    },
    ModelSpec {
        name: "hf_dinov2_with_registers_small",
        summary: "DINOv2 ViT-S/14 with 4 registers (Hugging Face names), 22M parameters",
        input: (3, 224, 224),
        default_classes: 0,
        build: |p, k, l| {
            Box::new(Vit::adapted(
                p,
                &vit_config::HF_DINOV2_S14_REG,
                k,
                vit_config::dinov2_eval_preprocess(),
                l,
            ))
        },
        head_prefix: "classifier.",
        lora_targets: &["query", "value"],
        stages: || vit_config::HF_DINOV2_S14_REG.stages(),
        preprocess: vit_config::dinov2_eval_preprocess,
    },
    ModelSpec {
        name: "vit_b_16",
        summary: "ViT-B/16 (torchvision), 86M parameters, 768-d class token",
        input: (3, 224, 224),
        default_classes: 1000,
        build: |p, k, l| {
            Box::new(Vit::adapted(
                p,
                &vit_config::TV_VIT_B16,
                k,
                Preprocess::torchvision(256),
                l,
            ))
        },
        head_prefix: "heads.",
        lora_targets: &[],
        stages: || vit_config::TV_VIT_B16.stages(),
        preprocess: || Preprocess::torchvision(256),
    },
    ModelSpec {
        name: "lenet",
        summary: "LeNet digit encoder (ADDA), 1x28x28 input, 500-d features",
        input: (1, lenet::INPUT_SIDE, lenet::INPUT_SIDE),
        default_classes: 10,
        build: |p, k, _| Box::new(LeNet::new(p, k)),
        head_prefix: "fc.",
        lora_targets: &[],
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
