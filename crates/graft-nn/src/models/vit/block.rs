//! One pre-norm transformer block (Dosovitskiy et al. 2021, eqs. 2-3):
//! `x + ls1 * MSA(LN(x))`, then `x + ls2 * MLP(LN(x))`, under either layout's key names.

use super::config::{Act, Layout, VitConfig};
use crate::models::layers::{at, LayerNorm, Linear};
use crate::models::lora::{AdaptedLinear, LoraSpec};
use crate::Result;
use tch::nn::{Init, Path};
use tch::Tensor;

/// The query, key and value projections: one `(3D, D)` matrix (timm `attn.qkv`, torchvision
/// `self_attention.in_proj_weight`) or three (Hugging Face `query` / `key` / `value`).
#[derive(Debug)]
enum Qkv {
    Fused(AdaptedLinear),
    Split([AdaptedLinear; 3]),
}

#[derive(Debug)]
struct Attention {
    qkv: Qkv,
    proj: AdaptedLinear,
    heads: i64,
}

impl Attention {
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let (n, l, d) = x.size3()?;
        let head_dim = d / self.heads;
        let heads = |t: Tensor| -> Result<Tensor> {
            Ok(t.f_view([n, l, self.heads, head_dim])?.f_transpose(1, 2)?)
        };
        let (q, k, v) = match &self.qkv {
            Qkv::Fused(lin) => {
                let qkv = lin
                    .forward(x, train)?
                    .f_view([n, l, 3, self.heads, head_dim])?
                    .f_permute([2, 0, 3, 1, 4])?;
                (qkv.get(0), qkv.get(1), qkv.get(2))
            }
            Qkv::Split([q, k, v]) => (
                heads(q.forward(x, train)?)?,
                heads(k.forward(x, train)?)?,
                heads(v.forward(x, train)?)?,
            ),
        };
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
        self.proj.forward(&ctx, train)
    }
}

#[derive(Debug)]
pub struct Block {
    norm1: LayerNorm,
    attn: Attention,
    ls1: Option<Tensor>,
    norm2: LayerNorm,
    fc1: AdaptedLinear,
    fc2: AdaptedLinear,
    ls2: Option<Tensor>,
    act: Act,
}

/// Where each part of a block lives, per layout.
struct Names {
    norm1: &'static str,
    qkv: QkvNames,
    proj: &'static str,
    /// Layer-scale module and its vector's name (`ls1`, `gamma`; `layer_scale1`, `lambda1`).
    ls: Option<([&'static str; 2], &'static str)>,
    norm2: &'static str,
    fc1: &'static str,
    fc2: &'static str,
}

enum QkvNames {
    /// A module with `weight`/`bias`, or a parent with named matrices (torchvision).
    Fused {
        module: &'static str,
        weight: &'static str,
        bias: &'static str,
    },
    Split([&'static str; 3]),
}

fn names(layout: Layout) -> Names {
    let timm = Names {
        norm1: "norm1",
        qkv: QkvNames::Fused {
            module: "attn.qkv",
            weight: "weight",
            bias: "bias",
        },
        proj: "attn.proj",
        ls: Some((["ls1", "ls2"], "gamma")),
        norm2: "norm2",
        fc1: "mlp.fc1",
        fc2: "mlp.fc2",
    };
    let hf_qkv = QkvNames::Split([
        "attention.attention.query",
        "attention.attention.key",
        "attention.attention.value",
    ]);
    match layout {
        Layout::Timm | Layout::Dinov2 => timm,
        Layout::Torchvision => Names {
            norm1: "ln_1",
            qkv: QkvNames::Fused {
                module: "self_attention",
                weight: "in_proj_weight",
                bias: "in_proj_bias",
            },
            proj: "self_attention.out_proj",
            ls: None,
            norm2: "ln_2",
            fc1: "mlp.0",
            fc2: "mlp.3",
        },
        Layout::HfVit => Names {
            norm1: "layernorm_before",
            qkv: hf_qkv,
            proj: "attention.output.dense",
            ls: None,
            norm2: "layernorm_after",
            fc1: "intermediate.dense",
            fc2: "output.dense",
        },
        Layout::HfDinov2 => Names {
            qkv: hf_qkv,
            proj: "attention.output.dense",
            ls: Some((["layer_scale1", "layer_scale2"], "lambda1")),
            ..timm
        },
    }
}

impl Block {
    /// `p` is the block's own path (`blocks.3`, `encoder.layer.3`). `lora` adds adapters to the
    /// linear layers it targets by the last part of their name, as PEFT's `target_modules`
    /// does (`qkv`, `proj`, `fc1`, `fc2` in timm's layout; `query`, `value`, `dense` in Hugging
    /// Face's). torchvision's fused projection is a bare matrix of `nn.MultiheadAttention`,
    /// not a module, and takes none.
    pub fn new(p: &Path, c: &VitConfig, lora: Option<&LoraSpec>) -> Self {
        let (d, f) = (c.dim, c.mlp_dim);
        let n = names(c.layout);
        let adapted = |name: &str, base: Linear, spec: Option<&LoraSpec>| {
            let last = name.rsplit('.').next().unwrap_or(name);
            AdaptedLinear::new(&at(p, name), last, base, spec)
        };
        let linear = |name: &str, i, o| adapted(name, Linear::new(&at(p, name), i, o), lora);
        let scale = |k: usize| {
            n.ls.filter(|_| c.layer_scale)
                .map(|(m, v)| at(p, m[k]).var(v, &[d], Init::Const(1e-5)))
        };
        let qkv = match n.qkv {
            QkvNames::Fused {
                module,
                weight,
                bias,
            } => {
                let base = Linear::named(&at(p, module), weight, bias, d, 3 * d);
                let spec = lora.filter(|_| weight == "weight");
                Qkv::Fused(adapted(module, base, spec))
            }
            QkvNames::Split(names) => Qkv::Split(names.map(|m| linear(m, d, d))),
        };
        Block {
            norm1: LayerNorm::new(&at(p, n.norm1), d, c.eps),
            attn: Attention {
                qkv,
                proj: linear(n.proj, d, d),
                heads: c.heads,
            },
            ls1: scale(0),
            norm2: LayerNorm::new(&at(p, n.norm2), d, c.eps),
            fc1: linear(n.fc1, d, f),
            fc2: linear(n.fc2, f, d),
            ls2: scale(1),
            act: c.act,
        }
    }

    /// How many of the block's linear layers carry adapters.
    pub fn lora_adapters(&self) -> usize {
        let qkv: Vec<&AdaptedLinear> = match &self.attn.qkv {
            Qkv::Fused(l) => vec![l],
            Qkv::Split(ls) => ls.iter().collect(),
        };
        qkv.into_iter()
            .chain([&self.attn.proj, &self.fc1, &self.fc2])
            .filter(|l| l.is_adapted())
            .count()
    }

    /// `x`: `(N, L, D)` tokens. Dropout and stochastic depth are not applied: the published
    /// ViT and DINOv2 recipes fine-tune without dropout, and stochastic depth is left out;
    /// `train` reaches the adapters' dropout only.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let scaled = |h: Tensor, ls: &Option<Tensor>| -> Result<Tensor> {
            Ok(match ls {
                Some(g) => h.f_mul(g)?,
                None => h,
            })
        };
        let a = self.attn.forward(&self.norm1.forward(x)?, train)?;
        let x = x.f_add(&scaled(a, &self.ls1)?)?;
        let h = self.fc1.forward(&self.norm2.forward(&x)?, train)?;
        let h = match self.act {
            Act::Gelu => h.f_gelu("none")?,
            Act::QuickGelu => h.f_mul(&h.f_mul_scalar(1.702)?.f_sigmoid()?)?,
        };
        let m = self.fc2.forward(&h, train)?;
        Ok(x.f_add(&scaled(m, &self.ls2)?)?)
    }
}
