//! What distinguishes one Vision Transformer family from another, as data: the families are
//! configurations of one core (Dosovitskiy et al. 2021, eqs. 1-4), differing in tokens, layer
//! scale, key names and how the position grid is resized.

use crate::models::StageInfo;
use graft_data::preprocess::{Normalization, Preprocess};

/// Whose checkpoint key names the model is built with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// timm's `VisionTransformer` (`patch_embed.proj`, `blocks.N.attn.qkv`, `head`).
    Timm,
    /// DINOv2's own (facebookresearch, torch.hub): timm's names with `register_tokens` and an
    /// unused `mask_token` (iBOT's), and no head.
    Dinov2,
    /// torchvision's `VisionTransformer` (`conv_proj`, `encoder.layers.encoder_layer_N`
    /// with `self_attention.in_proj_weight`, `heads.head`).
    Torchvision,
    /// Hugging Face `ViTModel` as its hub files hold it (`embeddings.*`,
    /// `encoder.layer.N.attention.attention.query`, `layernorm_before`, an unused `pooler`).
    HfVit,
    /// Hugging Face `Dinov2Model` / `Dinov2WithRegistersModel` as their hub files hold them
    /// (`embeddings.*`, split `query` / `key` / `value`, `layer_scale1.lambda1`).
    HfDinov2,
}

/// Which tokens the position table covers. The families differ, and a checkpoint's table has
/// the rows of its own rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Positions {
    /// Every prefix token and the patches; prefix tokens are concatenated first, then the
    /// table is added (timm's default, torchvision, Hugging Face ViT).
    All,
    /// The patches only; the class token's position is folded into it (timm's DeiT-III and
    /// DINOv2-with-registers checkpoints: `no_embed_class`).
    PatchesOnly,
    /// The class token and the patches; register tokens are inserted after the positions are
    /// added, without one (DINOv2's own code and Hugging Face's `Dinov2WithRegisters`).
    ClassAndPatches,
}

/// How the features of the last block become one vector per image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pool {
    /// The class token after the final norm (timm's `global_pool='token'`, torchvision).
    Token,
    /// The mean of the patch tokens after the final norm, prefix tokens left out (timm's
    /// `global_pool='avg'` without `fc_norm`).
    Avg,
    /// The two concatenated: DINOv2's linear-probe protocol (Oquab et al. 2023, sec. 7.1).
    TokenAvg,
}

impl Pool {
    /// The names `--pool` takes.
    pub const NAMES: [&'static str; 3] = ["token", "avg", "token+avg"];

    pub fn name(self) -> &'static str {
        match self {
            Pool::Token => "token",
            Pool::Avg => "avg",
            Pool::TokenAvg => "token+avg",
        }
    }
}

impl std::str::FromStr for Pool {
    type Err = crate::NnError;

    fn from_str(s: &str) -> crate::Result<Pool> {
        match s {
            "token" => Ok(Pool::Token),
            "avg" => Ok(Pool::Avg),
            "token+avg" => Ok(Pool::TokenAvg),
            other => Err(crate::NnError::Invalid(format!(
                "pooling `{other}`: expected one of {}",
                Pool::NAMES.join(", ")
            ))),
        }
    }
}

/// The activation inside the feed-forward layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    /// Exact (erf) GELU, as `nn.GELU()`.
    Gelu,
    /// `x * sigmoid(1.702 x)`, OpenAI CLIP's.
    QuickGelu,
}

/// How the position embeddings follow an image size other than the native one: all bicubic,
/// but the filters and sampling grids differ, by up to 1e-1 in the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PosResize {
    /// To the new grid, antialiased, corners not aligned: timm's `resample_abs_pos_embed`,
    /// DINOv2-with-registers (its own code and Hugging Face's).
    BicubicAntialias,
    /// To the new grid with aligned corners: torchvision's `interpolate_embeddings`.
    BicubicAlignCorners,
    /// To the new grid, plain: Hugging Face ViT and Dinov2.
    Bicubic,
    /// By the scale factor `(new + 0.1) / old`, plain: DINOv2's own code without registers
    /// (the offset of facebookresearch/dino issue 8), whose sampling grid differs from the
    /// size-based one.
    BicubicOffset,
}

#[derive(Clone, Debug, PartialEq)]
pub struct VitConfig {
    pub arch: &'static str,
    /// Native input side: the position grid covers `image_size / patch` patches a side.
    pub image_size: i64,
    pub patch: i64,
    pub dim: i64,
    pub depth: usize,
    pub heads: i64,
    /// Hidden width of the feed-forward layers.
    pub mlp_dim: i64,
    pub reg_tokens: i64,
    pub positions: Positions,
    /// Per-channel scales on each residual branch (`ls1.gamma`, `ls2.gamma`; Touvron et al.
    /// 2021, CaiT sec. 3).
    pub layer_scale: bool,
    pub act: Act,
    pub eps: f64,
    pub pool: Pool,
    pub layout: Layout,
    pub pos_resize: PosResize,
}

impl VitConfig {
    /// Tokens before the patches: the class token, then the registers.
    pub fn prefix_tokens(&self) -> i64 {
        1 + self.reg_tokens
    }

    /// Patches a side at the native size.
    pub fn grid(&self) -> i64 {
        self.image_size / self.patch
    }

    /// Width of the pooled features.
    pub fn feature_dim(&self) -> i64 {
        match self.pool {
            Pool::TokenAvg => 2 * self.dim,
            Pool::Token | Pool::Avg => self.dim,
        }
    }

    /// Rows of the position table before the patches'.
    pub fn pos_prefix_rows(&self) -> i64 {
        match self.positions {
            Positions::All => self.prefix_tokens(),
            Positions::PatchesOnly => 0,
            Positions::ClassAndPatches => 1,
        }
    }

    /// Rows of the position table.
    pub fn pos_rows(&self) -> i64 {
        self.grid() * self.grid() + self.pos_prefix_rows()
    }

    /// `patch_embed`, then one stage per block. The parameter prefixes follow the layout, so
    /// freezing up to a stage freezes exactly those tensors.
    pub fn stages(&self) -> Vec<StageInfo> {
        let (embed, block): (Vec<&str>, fn(usize) -> String) = match self.layout {
            Layout::Timm | Layout::Dinov2 => (
                vec![
                    "patch_embed.",
                    "cls_token",
                    "reg_token",
                    "register_tokens",
                    "mask_token",
                    "pos_embed",
                ],
                |i| format!("blocks.{i}."),
            ),
            Layout::Torchvision => (
                vec!["conv_proj.", "class_token", "encoder.pos_embedding"],
                |i| format!("encoder.layers.encoder_layer_{i}."),
            ),
            Layout::HfVit | Layout::HfDinov2 => {
                (vec!["embeddings."], |i| format!("encoder.layer.{i}."))
            }
        };
        let mut stages = vec![StageInfo {
            name: "patch_embed",
            dim: self.dim,
            param_prefixes: embed.into_iter().map(String::from).collect(),
        }];
        // The final norm (and Hugging Face ViT's unused pooler) train with the last block.
        let last: &[&str] = match self.layout {
            Layout::Timm | Layout::Dinov2 => &["norm."],
            Layout::Torchvision => &["encoder.ln."],
            Layout::HfVit => &["layernorm.", "pooler."],
            Layout::HfDinov2 => &["layernorm."],
        };
        for (i, name) in BLOCK_NAMES.iter().take(self.depth).enumerate() {
            let mut prefixes = vec![block(i)];
            if i + 1 == self.depth {
                prefixes.extend(last.iter().map(|p| p.to_string()));
            }
            stages.push(StageInfo {
                name,
                dim: self.feature_dim(),
                param_prefixes: prefixes,
            });
        }
        stages
    }
}

/// Stage names must be `'static`; 48 blocks covers ViT-g.
pub const MAX_DEPTH: usize = 48;
const BLOCK_NAMES: [&str; MAX_DEPTH] = [
    "blocks.0",
    "blocks.1",
    "blocks.2",
    "blocks.3",
    "blocks.4",
    "blocks.5",
    "blocks.6",
    "blocks.7",
    "blocks.8",
    "blocks.9",
    "blocks.10",
    "blocks.11",
    "blocks.12",
    "blocks.13",
    "blocks.14",
    "blocks.15",
    "blocks.16",
    "blocks.17",
    "blocks.18",
    "blocks.19",
    "blocks.20",
    "blocks.21",
    "blocks.22",
    "blocks.23",
    "blocks.24",
    "blocks.25",
    "blocks.26",
    "blocks.27",
    "blocks.28",
    "blocks.29",
    "blocks.30",
    "blocks.31",
    "blocks.32",
    "blocks.33",
    "blocks.34",
    "blocks.35",
    "blocks.36",
    "blocks.37",
    "blocks.38",
    "blocks.39",
    "blocks.40",
    "blocks.41",
    "blocks.42",
    "blocks.43",
    "blocks.44",
    "blocks.45",
    "blocks.46",
    "blocks.47",
];

const fn timm(arch: &'static str, patch: i64, dim: i64, heads: i64) -> VitConfig {
    VitConfig {
        arch,
        image_size: 224,
        patch,
        dim,
        depth: 12,
        heads,
        mlp_dim: 4 * dim,
        reg_tokens: 0,
        positions: Positions::All,
        layer_scale: false,
        act: Act::Gelu,
        eps: 1e-6,
        pool: Pool::Token,
        layout: Layout::Timm,
        pos_resize: PosResize::BicubicAntialias,
    }
}

/// timm `vit_tiny_patch16_224` (DeiT-Ti's shape).
pub const VIT_TI16: VitConfig = timm("vit_tiny_patch16_224", 16, 192, 3);
/// timm `vit_small_patch16_224`.
pub const VIT_S16: VitConfig = timm("vit_small_patch16_224", 16, 384, 6);
/// timm `vit_base_patch16_224`.
pub const VIT_B16: VitConfig = timm("vit_base_patch16_224", 16, 768, 12);
/// timm `vit_small_patch14_dinov2`: 518 px native (a 37x37 grid), layer scale.
pub const DINOV2_S14: VitConfig = VitConfig {
    image_size: 518,
    layer_scale: true,
    ..timm("vit_small_patch14_dinov2", 14, 384, 6)
};
/// timm `vit_small_patch14_reg4_dinov2`: four registers, positions for the patches only.
pub const DINOV2_S14_REG4: VitConfig = VitConfig {
    reg_tokens: 4,
    positions: Positions::PatchesOnly,
    ..DINOV2_S14.renamed("vit_small_patch14_reg4_dinov2")
};
/// torchvision `vit_b_16`.
pub const TV_VIT_B16: VitConfig = VitConfig {
    mlp_dim: 3072,
    layout: Layout::Torchvision,
    pos_resize: PosResize::BicubicAlignCorners,
    ..timm("vit_b_16", 16, 768, 12)
};
/// DINOv2 ViT-S/14 in its own layout (torch.hub `dinov2_vits14`).
pub const HUB_DINOV2_S14: VitConfig = VitConfig {
    layout: Layout::Dinov2,
    pos_resize: PosResize::BicubicOffset,
    ..DINOV2_S14.renamed("dinov2_vits14")
};
/// `dinov2_vits14_reg`: four registers without positions, antialiased resize, no offset.
pub const HUB_DINOV2_S14_REG: VitConfig = VitConfig {
    reg_tokens: 4,
    positions: Positions::ClassAndPatches,
    pos_resize: PosResize::BicubicAntialias,
    ..HUB_DINOV2_S14.renamed("dinov2_vits14_reg")
};
/// Hugging Face `facebook/dinov2-small`.
pub const HF_DINOV2_S14: VitConfig = VitConfig {
    layout: Layout::HfDinov2,
    pos_resize: PosResize::Bicubic,
    ..DINOV2_S14.renamed("hf_dinov2_small")
};
/// Hugging Face `facebook/dinov2-with-registers-small`.
pub const HF_DINOV2_S14_REG: VitConfig = VitConfig {
    reg_tokens: 4,
    positions: Positions::ClassAndPatches,
    pos_resize: PosResize::BicubicAntialias,
    ..HF_DINOV2_S14.renamed("hf_dinov2_with_registers_small")
};
/// Hugging Face `google/vit-base-patch16-224-in21k` (`ViTModel`, with its pooler).
pub const HF_VIT_B16: VitConfig = VitConfig {
    eps: 1e-12,
    layout: Layout::HfVit,
    pos_resize: PosResize::Bicubic,
    ..timm("hf_vit_base_patch16_224_in21k", 16, 768, 12)
};

impl VitConfig {
    const fn renamed(self, arch: &'static str) -> VitConfig {
        VitConfig { arch, ..self }
    }
}

/// The default pretrained tag of timm's `vit_{tiny,small,base}_patch16_224`
/// (`augreg_in21k_ft_in1k`; `augreg2_in21k_ft_in1k` for base): crop 0.9, mean and std 0.5.
pub fn augreg_preprocess() -> Preprocess {
    Preprocess::timm(
        224,
        0.9,
        Normalization::MeanStd {
            mean: vec![0.5; 3],
            std: vec![0.5; 3],
        },
    )
}

/// `vit_small_patch14_dinov2.lvd142m`: 518 px, no crop margin, ImageNet statistics.
pub fn dinov2_preprocess() -> Preprocess {
    Preprocess::timm(518, 1.0, Normalization::imagenet())
}

/// DINOv2's own evaluation transform (`make_classification_eval_transform`) and Hugging Face's
/// `BitImageProcessor` for its DINOv2 models: resize 256 bicubic, crop 224, ImageNet statistics.
pub fn dinov2_eval_preprocess() -> Preprocess {
    Preprocess::timm(224, 224.0 / 256.0, Normalization::imagenet())
}
