//! The Vision Transformer (Dosovitskiy et al. 2021, "An Image is Worth 16x16 Words", eqs. 1-4)
//! as one core that timm's `vit_*`, DINOv2 (Oquab et al. 2023; registers: Darcet et al. 2024)
//! and torchvision's `vit_b_16` are configurations of ([`VitConfig`]). Checkpoints load under
//! their own key names, and an image size other than the native one resizes the position
//! embeddings the way the checkpoint's family does, in the forward pass, so one model serves
//! every size.
//!
//! Stages are `patch_embed` and `blocks.0` .. `blocks.{depth-1}`. A block stage's features are
//! its tokens after the final norm, pooled as configured (DINOv2's `get_intermediate_layers`
//! applies the final norm to intermediate layers the same way); `patch_embed` gives the mean of
//! the embedded patches, since its class token does not depend on the image.

pub mod block;
pub mod config;
pub mod pos_embed;

pub use config::{Act, Layout, Pool, PosResize, Positions, VitConfig};

use crate::models::layers::{at, check_image_batch, classify, Conv2d, ConvSpec, LayerNorm, Linear};
use crate::models::lora::LoraSpec;
use crate::models::{Backbone, ModelInput, StageInfo};
use crate::{NnError, Result};
use block::Block;
use graft_data::preprocess::Preprocess;
use tch::nn::{Init, Path};
use tch::Tensor;

#[derive(Debug)]
pub struct Vit {
    config: VitConfig,
    patch_embed: Conv2d,
    cls_token: Tensor,
    reg_token: Option<Tensor>,
    pos_embed: Tensor,
    blocks: Vec<Block>,
    norm: LayerNorm,
    head: Option<Linear>,
    /// Parameters the checkpoints hold and the forward pass does not use (iBOT's
    /// `mask_token`, Hugging Face ViT's `pooler`), kept so loading stays strict.
    _unused: Vec<Tensor>,
    stages: Vec<StageInfo>,
    preprocess: Preprocess,
}

/// Where the non-block parts live, per layout.
struct TopNames {
    patch: &'static str,
    cls: &'static str,
    reg: &'static str,
    pos: &'static str,
    mask: Option<&'static str>,
    blocks: &'static str,
    norm: &'static str,
    head: &'static str,
}

fn top_names(layout: config::Layout) -> TopNames {
    use config::Layout as L;
    let timm = TopNames {
        patch: "patch_embed.proj",
        cls: "cls_token",
        reg: "reg_token",
        pos: "pos_embed",
        mask: None,
        blocks: "blocks",
        norm: "norm",
        head: "head",
    };
    let hf = TopNames {
        patch: "embeddings.patch_embeddings.projection",
        cls: "embeddings.cls_token",
        reg: "embeddings.register_tokens",
        pos: "embeddings.position_embeddings",
        mask: None,
        blocks: "encoder.layer",
        norm: "layernorm",
        head: "classifier",
    };
    match layout {
        L::Timm => timm,
        L::Dinov2 => TopNames {
            reg: "register_tokens",
            mask: Some("mask_token"),
            ..timm
        },
        L::Torchvision => TopNames {
            patch: "conv_proj",
            cls: "class_token",
            reg: "reg_token",
            pos: "encoder.pos_embedding",
            mask: None,
            blocks: "encoder.layers",
            norm: "encoder.ln",
            head: "heads.head",
        },
        L::HfVit => hf,
        L::HfDinov2 => TopNames {
            mask: Some("embeddings.mask_token"),
            ..hf
        },
    }
}

/// The variable at a dotted path under `p` (`embeddings.cls_token`).
fn var_at(p: &Path, dotted: &str, shape: &[i64], init: Init) -> Tensor {
    match dotted.rsplit_once('.') {
        Some((parent, name)) => at(p, parent).var(name, shape, init),
        None => p.var(dotted, shape, init),
    }
}

/// Tokens and position embeddings start as timm draws them: N(0, 0.02) (class token 1e-6 in
/// timm; the difference is immaterial when training from scratch and overwritten when loading).
fn token_init() -> Init {
    Init::Randn {
        mean: 0.0,
        stdev: 0.02,
    }
}

impl Vit {
    /// Builds the network under `p` with the key names of `c.layout`; `num_classes` adds a
    /// linear head on the pooled features. `preprocess` is what its weights were trained with.
    pub fn new(p: &Path, c: &VitConfig, num_classes: Option<i64>, preprocess: Preprocess) -> Self {
        Self::adapted(p, c, num_classes, preprocess, None)
    }

    /// [`Vit::new`] with LoRA adapters (Hu et al. 2021) on the linear layers `lora` targets.
    pub fn adapted(
        p: &Path,
        c: &VitConfig,
        num_classes: Option<i64>,
        preprocess: Preprocess,
        lora: Option<&LoraSpec>,
    ) -> Self {
        assert!(
            c.depth <= config::MAX_DEPTH,
            "ViT depth above {}",
            config::MAX_DEPTH
        );
        let d = c.dim;
        let conv = ConvSpec {
            bias: true,
            ..ConvSpec::new(3, d, c.patch, c.patch, 0)
        };
        let n = top_names(c.layout);
        let block_name = |i: usize| match c.layout {
            config::Layout::Torchvision => format!("encoder_layer_{i}"),
            _ => i.to_string(),
        };
        let blocks_path = at(p, n.blocks);
        let mut unused = Vec::new();
        if let Some(m) = n.mask {
            unused.push(var_at(p, m, &[1, d], Init::Const(0.0)));
        }
        if c.layout == config::Layout::HfVit {
            let pooler = at(p, "pooler.dense");
            unused.push(pooler.var("weight", &[d, d], token_init()));
            unused.push(pooler.var("bias", &[d], Init::Const(0.0)));
        }
        Vit {
            patch_embed: Conv2d::new(&at(p, n.patch), conv),
            cls_token: var_at(p, n.cls, &[1, 1, d], token_init()),
            reg_token: (c.reg_tokens > 0)
                .then(|| var_at(p, n.reg, &[1, c.reg_tokens, d], token_init())),
            pos_embed: var_at(p, n.pos, &[1, c.pos_rows(), d], token_init()),
            blocks: (0..c.depth)
                .map(|i| Block::new(&blocks_path.sub(block_name(i)), c, lora))
                .collect(),
            norm: LayerNorm::new(&at(p, n.norm), d, c.eps),
            head: num_classes.map(|k| Linear::new(&at(p, n.head), c.feature_dim(), k)),
            _unused: unused,
            stages: c.stages(),
            preprocess,
            config: c.clone(),
        }
    }

    pub fn config(&self) -> &VitConfig {
        &self.config
    }

    /// Patch embedding, prefix tokens and positions: `(N, 3, H, W)` to `(N, L, D)`.
    fn embed(&self, x: &Tensor) -> Result<Tensor> {
        let c = &self.config;
        check_image_batch(c.arch, x, 3)?;
        let (h, w) = (x.size()[2], x.size()[3]);
        if h % c.patch != 0 || w % c.patch != 0 || h == 0 || w == 0 {
            return Err(NnError::Invalid(format!(
                "model `{}` cuts images into {p}x{p} patches, so it takes sides that are \
                 multiples of {p}; got {h}x{w}",
                c.arch,
                p = c.patch
            )));
        }
        let n = x.size()[0];
        let t = self
            .patch_embed
            .forward(x)?
            .f_flatten(2, -1)?
            .f_transpose(1, 2)?;
        let pos = pos_embed::resize(
            &self.pos_embed,
            c.pos_prefix_rows(),
            (h / c.patch, w / c.patch),
            c.pos_resize,
        )?;
        let cls = self.cls_token.f_expand([n, 1, c.dim], false)?;
        let reg = match &self.reg_token {
            Some(r) => Some(r.f_expand([n, c.reg_tokens, c.dim], false)?),
            None => None,
        };
        let cat = |parts: Vec<&Tensor>| Tensor::f_cat(&parts, 1);
        Ok(match (c.positions, &reg) {
            (Positions::PatchesOnly, _) => {
                let t = t.f_add(&pos)?;
                cat([Some(&cls), reg.as_ref(), Some(&t)]
                    .into_iter()
                    .flatten()
                    .collect())?
            }
            (Positions::ClassAndPatches, Some(r)) => {
                let x = cat(vec![&cls, &t])?.f_add(&pos)?;
                let rest = x.f_narrow(1, 1, x.size()[1] - 1)?;
                cat(vec![&x.f_narrow(1, 0, 1)?, r, &rest])?
            }
            _ => cat([Some(&cls), reg.as_ref(), Some(&t)]
                .into_iter()
                .flatten()
                .collect())?
            .f_add(&pos)?,
        })
    }

    /// The patch tokens of `h` (prefix tokens left out).
    fn patches(&self, h: &Tensor) -> Result<Tensor> {
        let p = self.config.prefix_tokens();
        Ok(h.f_narrow(1, p, h.size()[1] - p)?)
    }
}

impl Backbone for Vit {
    fn arch(&self) -> &str {
        self.config.arch
    }

    fn stages(&self) -> &[StageInfo] {
        &self.stages
    }

    fn forward_stages(&self, x: &Tensor, from: usize, to: usize, train: bool) -> Result<Tensor> {
        self.check_stage_range(from, to)?;
        let mut h = x.shallow_clone();
        for stage in from..=to {
            h = match stage {
                0 => self.embed(&h)?,
                i => self.blocks[i - 1].forward(&h, train)?,
            };
        }
        Ok(h)
    }

    fn pool_stage(&self, h: &Tensor, stage: usize) -> Result<Tensor> {
        if stage == 0 {
            return Ok(self.patches(h)?.f_mean_dim(1, false, None)?);
        }
        let h = self.norm.forward(h)?;
        let token = || h.f_select(1, 0);
        let avg = || -> Result<Tensor> { Ok(self.patches(&h)?.f_mean_dim(1, false, None)?) };
        Ok(match self.config.pool {
            Pool::Token => token()?,
            Pool::Avg => avg()?,
            Pool::TokenAvg => Tensor::f_cat(&[token()?, avg()?], 1)?,
        })
    }

    fn forward_head(&self, features: &Tensor, train: bool) -> Result<Tensor> {
        classify(self.arch(), &self.head, features, None, train)
    }

    fn head_prefix(&self) -> &str {
        match self.config.layout {
            config::Layout::Timm | config::Layout::Dinov2 => "head.",
            config::Layout::Torchvision => "heads.",
            config::Layout::HfVit | config::Layout::HfDinov2 => "classifier.",
        }
    }

    fn input(&self) -> ModelInput {
        ModelInput::Pixels(self.preprocess.clone())
    }

    fn set_pool(&mut self, pool: Pool) -> Result<()> {
        if self.head.is_some() {
            return Err(NnError::Invalid(format!(
                "model `{}`: pooling is chosen on a model without a head (its width would change)",
                self.config.arch
            )));
        }
        self.config.pool = pool;
        self.stages = self.config.stages();
        Ok(())
    }

    fn lora_adapters(&self) -> usize {
        self.blocks.iter().map(Block::lora_adapters).sum()
    }
}
