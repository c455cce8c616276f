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

pub use config::{Act, Layout, Pool, PosResize, VitConfig};

use crate::models::layers::{
    check_features, check_image_batch, require_head, Conv2d, ConvSpec, LayerNorm, Linear,
};
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
    stages: Vec<StageInfo>,
    preprocess: Preprocess,
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
        let pos_shape = [1, c.pos_rows(), d];
        let (patch_embed, cls_token, pos_embed, blocks, norm, head) = match c.layout {
            config::Layout::Timm => (
                Conv2d::new(&p.sub("patch_embed").sub("proj"), conv),
                p.var("cls_token", &[1, 1, d], token_init()),
                p.var("pos_embed", &pos_shape, token_init()),
                (0..c.depth)
                    .map(|i| Block::new(&p.sub("blocks").sub(i.to_string()), c))
                    .collect(),
                LayerNorm::new(&p.sub("norm"), d, c.eps),
                p.sub("head"),
            ),
            config::Layout::Torchvision => {
                let e = p.sub("encoder");
                (
                    Conv2d::new(&p.sub("conv_proj"), conv),
                    p.var("class_token", &[1, 1, d], Init::Const(0.0)),
                    e.var("pos_embedding", &pos_shape, token_init()),
                    (0..c.depth)
                        .map(|i| Block::new(&e.sub("layers").sub(format!("encoder_layer_{i}")), c))
                        .collect(),
                    LayerNorm::new(&e.sub("ln"), d, c.eps),
                    p.sub("heads").sub("head"),
                )
            }
        };
        let reg_token =
            (c.reg_tokens > 0).then(|| p.var("reg_token", &[1, c.reg_tokens, d], token_init()));
        Vit {
            patch_embed,
            cls_token,
            reg_token,
            pos_embed,
            blocks,
            norm,
            head: num_classes.map(|k| Linear::new(&head, c.feature_dim(), k)),
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
        let table_prefix = if c.no_embed_class {
            0
        } else {
            c.prefix_tokens()
        };
        let pos = pos_embed::resize(
            &self.pos_embed,
            table_prefix,
            (h / c.patch, w / c.patch),
            c.pos_resize,
        )?;
        let mut prefix = vec![self.cls_token.f_expand([n, 1, c.dim], false)?];
        if let Some(r) = &self.reg_token {
            prefix.push(r.f_expand([n, c.reg_tokens, c.dim], false)?);
        }
        Ok(if c.no_embed_class {
            prefix.push(t.f_add(&pos)?);
            Tensor::f_cat(&prefix, 1)?
        } else {
            prefix.push(t);
            Tensor::f_cat(&prefix, 1)?.f_add(&pos)?
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
        let _ = train;
        self.check_stage_range(from, to)?;
        let mut h = x.shallow_clone();
        for stage in from..=to {
            h = match stage {
                0 => self.embed(&h)?,
                i => self.blocks[i - 1].forward(&h)?,
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
        let _ = train;
        let head = require_head(self.arch(), &self.head)?;
        check_features(self.arch(), features, head.in_features())?;
        head.forward(features)
    }

    fn head_prefix(&self) -> &str {
        match self.config.layout {
            config::Layout::Timm => "head.",
            config::Layout::Torchvision => "heads.",
        }
    }

    fn input(&self) -> ModelInput {
        ModelInput::Pixels(self.preprocess.clone())
    }
}
