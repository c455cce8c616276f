//! The pieces of a BERT-family encoder, each created under the key names of its checkpoints
//! (Devlin et al. 2019, sec. 3; Vaswani et al. 2017, eq. 1 for the attention).

use super::config::{Activation, BertConfig, Family};
use crate::models::layers::{LayerNorm, Linear};
use crate::models::lora::{AdaptedLinear, LoraSpec};
use crate::Result;
use tch::nn::{Init, Path};
use tch::Tensor;

/// Hugging Face's `initializer_range`: weights of fresh layers are N(0, 0.02), as
/// `BertPreTrainedModel._init_weights` draws them.
const INIT_STD: f64 = 0.02;

fn normal() -> Init {
    Init::Randn {
        mean: 0.0,
        stdev: INIT_STD,
    }
}

/// A dense layer initialised as BERT's (normal weights, zero bias).
pub fn dense(p: &Path, in_features: i64, out_features: i64) -> Linear {
    Linear {
        weight: p.var("weight", &[out_features, in_features], normal()),
        bias: p.var("bias", &[out_features], Init::Const(0.0)),
    }
}

/// Word + position (+ token type) embeddings, then LayerNorm and dropout.
#[derive(Debug)]
pub struct Embeddings {
    word: Tensor,
    position: Tensor,
    token_type: Option<Tensor>,
    norm: LayerNorm,
    dropout: f64,
}

impl Embeddings {
    pub fn new(p: &Path, c: &BertConfig) -> Self {
        let d = c.hidden_size;
        Embeddings {
            word: p
                .sub("word_embeddings")
                .var("weight", &[c.vocab_size, d], normal()),
            position: p.sub("position_embeddings").var(
                "weight",
                &[c.max_position_embeddings, d],
                normal(),
            ),
            token_type: (c.type_vocab_size > 0).then(|| {
                p.sub("token_type_embeddings")
                    .var("weight", &[c.type_vocab_size, d], normal())
            }),
            norm: LayerNorm::new(&p.sub("LayerNorm"), d, c.layer_norm_eps),
            dropout: c.hidden_dropout,
        }
    }

    /// `ids`, `type_ids`: `(N, L)` int64.
    pub fn forward(&self, ids: &Tensor, type_ids: &Tensor, train: bool) -> Result<Tensor> {
        let len = ids.size()[1];
        let positions = Tensor::f_arange(len, (tch::Kind::Int64, ids.device()))?;
        let mut h = Tensor::f_embedding(&self.word, ids, -1, false, false)?.f_add(
            &Tensor::f_embedding(&self.position, &positions, -1, false, false)?,
        )?;
        if let Some(tt) = &self.token_type {
            h = h.f_add(&Tensor::f_embedding(tt, type_ids, -1, false, false)?)?;
        }
        Ok(self.norm.forward(&h)?.f_dropout(self.dropout, train)?)
    }

    pub fn max_positions(&self) -> i64 {
        self.position.size()[0]
    }

    pub fn vocab_size(&self) -> i64 {
        self.word.size()[0]
    }

    pub fn type_vocab_size(&self) -> i64 {
        self.token_type.as_ref().map_or(0, |t| t.size()[0])
    }
}

/// Multi-head self-attention with its output projection.
#[derive(Debug)]
pub struct SelfAttention {
    query: AdaptedLinear,
    key: AdaptedLinear,
    value: AdaptedLinear,
    out: AdaptedLinear,
    heads: i64,
    dropout: f64,
}

impl SelfAttention {
    /// The four projections, already wrapped (their names differ by family:
    /// `attention.self.query` / `attention.q_lin`).
    fn new(
        q: AdaptedLinear,
        k: AdaptedLinear,
        v: AdaptedLinear,
        out: AdaptedLinear,
        c: &BertConfig,
    ) -> Self {
        SelfAttention {
            query: q,
            key: k,
            value: v,
            out,
            heads: c.num_heads,
            dropout: c.attention_dropout,
        }
    }

    /// `x` `(N, L, D)`; `bias` `(N, 1, 1, L)` is 0 for kept keys and the most negative float for
    /// padding, added to the scores as Transformers' extended attention mask is.
    fn forward(&self, x: &Tensor, bias: &Tensor, train: bool) -> Result<Tensor> {
        let (n, l, d) = x.size3()?;
        let split = |t: Tensor| -> Result<Tensor> {
            Ok(t.f_view([n, l, self.heads, d / self.heads])?
                .f_transpose(1, 2)?)
        };
        let q = split(self.query.forward(x, train)?)?;
        let k = split(self.key.forward(x, train)?)?;
        let v = split(self.value.forward(x, train)?)?;
        let p = if train { self.dropout } else { 0.0 };
        let ctx =
            Tensor::f_scaled_dot_product_attention(&q, &k, &v, Some(bias), p, false, None, false)?;
        let ctx = ctx.f_transpose(1, 2)?.f_contiguous()?.f_view([n, l, d])?;
        self.out.forward(&ctx, train)
    }
}

/// One transformer encoder layer (post-LayerNorm, as BERT and DistilBERT).
#[derive(Debug)]
pub struct EncoderLayer {
    attention: SelfAttention,
    attention_norm: LayerNorm,
    intermediate: AdaptedLinear,
    output: AdaptedLinear,
    output_norm: LayerNorm,
    activation: Activation,
    dropout: f64,
}

impl EncoderLayer {
    /// `p` is the layer's own path (`encoder.layer.3`, `transformer.layer.3`); `lora` adds
    /// adapters to the linear layers it targets.
    pub fn new(p: &Path, c: &BertConfig, lora: Option<&LoraSpec>) -> Self {
        let (d, f, eps) = (c.hidden_size, c.intermediate_size, c.layer_norm_eps);
        // Adapters target modules by the last part of their name, as PEFT's `target_modules`
        // does (`dense` names the attention output and both feed-forward layers of BERT).
        let wrap = |parent: &Path, name: &str, i: i64, o: i64| {
            let q = parent.sub(name);
            AdaptedLinear::new(&q, name, dense(&q, i, o), lora)
        };
        // The two families differ only in key names: where the projections live and what
        // they, the norms and the feed-forward layers are called.
        let a = p.sub("attention");
        let (qkv_parent, out_parent, [q, k, v, out]) = match c.family {
            Family::Bert => (
                a.sub("self"),
                a.sub("output"),
                ["query", "key", "value", "dense"],
            ),
            Family::DistilBert => (a.clone(), a, ["q_lin", "k_lin", "v_lin", "out_lin"]),
        };
        let (attention_norm, (ffn_in, ffn_in_name), (ffn_out, ffn_out_name), output_norm) =
            match c.family {
                Family::Bert => (
                    out_parent.sub("LayerNorm"),
                    (p.sub("intermediate"), "dense"),
                    (p.sub("output"), "dense"),
                    p.sub("output").sub("LayerNorm"),
                ),
                Family::DistilBert => (
                    p.sub("sa_layer_norm"),
                    (p.sub("ffn"), "lin1"),
                    (p.sub("ffn"), "lin2"),
                    p.sub("output_layer_norm"),
                ),
            };
        EncoderLayer {
            attention: SelfAttention::new(
                wrap(&qkv_parent, q, d, d),
                wrap(&qkv_parent, k, d, d),
                wrap(&qkv_parent, v, d, d),
                wrap(&out_parent, out, d, d),
                c,
            ),
            attention_norm: LayerNorm::new(&attention_norm, d, eps),
            intermediate: wrap(&ffn_in, ffn_in_name, d, f),
            output: wrap(&ffn_out, ffn_out_name, f, d),
            output_norm: LayerNorm::new(&output_norm, d, eps),
            activation: c.activation,
            dropout: c.hidden_dropout,
        }
    }

    pub fn forward(&self, x: &Tensor, bias: &Tensor, train: bool) -> Result<Tensor> {
        let a = self
            .attention
            .forward(x, bias, train)?
            .f_dropout(self.dropout, train)?;
        let h = self.attention_norm.forward(&a.f_add(x)?)?;
        let i = self.intermediate.forward(&h, train)?;
        let i = match self.activation {
            Activation::Gelu => i.f_gelu("none")?,
            Activation::GeluTanh => i.f_gelu("tanh")?,
            Activation::Relu => i.f_relu()?,
        };
        let o = self
            .output
            .forward(&i, train)?
            .f_dropout(self.dropout, train)?;
        self.output_norm.forward(&o.f_add(&h)?)
    }
}
