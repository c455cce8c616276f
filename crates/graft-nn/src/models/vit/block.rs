//! One pre-norm transformer block (Dosovitskiy et al. 2021, eqs. 2-3):
//! `x + ls1 * MSA(LN(x))`, then `x + ls2 * MLP(LN(x))`, under either layout's key names.

use super::config::{Act, Layout, VitConfig};
use crate::models::layers::{LayerNorm, Linear};
use crate::Result;
use tch::nn::{Init, Path};
use tch::Tensor;

/// The fused query-key-value projection, stored as one `(3D, D)` matrix by both layouts (timm
/// `attn.qkv.weight`, torchvision `self_attention.in_proj_weight`).
#[derive(Debug)]
struct Attention {
    qkv: Linear,
    proj: Linear,
    heads: i64,
}

impl Attention {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (n, l, d) = x.size3()?;
        let head_dim = d / self.heads;
        let qkv = self
            .qkv
            .forward(x)?
            .f_view([n, l, 3, self.heads, head_dim])?
            .f_permute([2, 0, 3, 1, 4])?;
        let (q, k, v) = (qkv.get(0), qkv.get(1), qkv.get(2));
        let ctx = Tensor::f_scaled_dot_product_attention(
            &q,
            &k,
            &v,
            None::<Tensor>,
            0.0,
            false,
            None,
            false,
        )?;
        let ctx = ctx.f_transpose(1, 2)?.f_reshape([n, l, d])?;
        self.proj.forward(&ctx)
    }
}

#[derive(Debug)]
pub struct Block {
    norm1: LayerNorm,
    attn: Attention,
    ls1: Option<Tensor>,
    norm2: LayerNorm,
    fc1: Linear,
    fc2: Linear,
    ls2: Option<Tensor>,
    act: Act,
}

/// A `(rows, cols)` matrix and its bias under `p`, named `weight` / `bias` (or the given names).
fn linear_named(p: &Path, w: &str, b: &str, cols: i64, rows: i64) -> Linear {
    let bound = 1.0 / (cols as f64).sqrt();
    let init = Init::Uniform {
        lo: -bound,
        up: bound,
    };
    Linear {
        weight: p.var(w, &[rows, cols], init),
        bias: p.var(b, &[rows], init),
    }
}

impl Block {
    /// `p` is the block's own path (`blocks.3`, `encoder.layers.encoder_layer_3`).
    pub fn new(p: &Path, c: &VitConfig) -> Self {
        let (d, f) = (c.dim, c.mlp_dim);
        let linear = |q: Path, i, o| linear_named(&q, "weight", "bias", i, o);
        let scale = |q: Path| {
            c.layer_scale
                .then(|| q.var("gamma", &[d], Init::Const(1e-5)))
        };
        match c.layout {
            Layout::Timm => Block {
                norm1: LayerNorm::new(&p.sub("norm1"), d, c.eps),
                attn: Attention {
                    qkv: linear(p.sub("attn").sub("qkv"), d, 3 * d),
                    proj: linear(p.sub("attn").sub("proj"), d, d),
                    heads: c.heads,
                },
                ls1: scale(p.sub("ls1")),
                norm2: LayerNorm::new(&p.sub("norm2"), d, c.eps),
                fc1: linear(p.sub("mlp").sub("fc1"), d, f),
                fc2: linear(p.sub("mlp").sub("fc2"), f, d),
                ls2: scale(p.sub("ls2")),
                act: c.act,
            },
            Layout::Torchvision => {
                let a = p.sub("self_attention");
                Block {
                    norm1: LayerNorm::new(&p.sub("ln_1"), d, c.eps),
                    attn: Attention {
                        qkv: linear_named(&a, "in_proj_weight", "in_proj_bias", d, 3 * d),
                        proj: linear(a.sub("out_proj"), d, d),
                        heads: c.heads,
                    },
                    ls1: None,
                    norm2: LayerNorm::new(&p.sub("ln_2"), d, c.eps),
                    fc1: linear(p.sub("mlp").sub("0"), d, f),
                    fc2: linear(p.sub("mlp").sub("3"), f, d),
                    ls2: None,
                    act: c.act,
                }
            }
        }
    }

    /// `x`: `(N, L, D)` tokens. Dropout and stochastic depth are not applied: the published
    /// ViT and DINOv2 recipes fine-tune without dropout, and stochastic depth is left out.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let scaled = |h: Tensor, ls: &Option<Tensor>| -> Result<Tensor> {
            Ok(match ls {
                Some(g) => h.f_mul(g)?,
                None => h,
            })
        };
        let a = self.attn.forward(&self.norm1.forward(x)?)?;
        let x = x.f_add(&scaled(a, &self.ls1)?)?;
        let h = self.fc1.forward(&self.norm2.forward(&x)?)?;
        let h = match self.act {
            Act::Gelu => h.f_gelu("none")?,
            Act::QuickGelu => h.f_mul(&h.f_mul_scalar(1.702)?.f_sigmoid()?)?,
        };
        let m = self.fc2.forward(&h)?;
        Ok(x.f_add(&scaled(m, &self.ls2)?)?)
    }
}
