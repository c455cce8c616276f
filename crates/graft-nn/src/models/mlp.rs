//! A multilayer perceptron over feature vectors: the small trainable head of feature
//! extraction (`graft probe --head mlp`) and the network of the shallow domain-adaptation
//! experiments on vector data (the DANN paper's Amazon reviews: one hidden layer of 50).
//! Each hidden layer is a stage, so freezing and the domain losses see it as they see a CNN's.

use crate::models::layers::{check_features, classify, Linear};
use crate::models::{Backbone, StageInfo};
use crate::{NnError, Result};
use tch::nn::Path;
use tch::Tensor;

const STAGE_NAMES: [&str; 8] = [
    "hidden.0", "hidden.1", "hidden.2", "hidden.3", "hidden.4", "hidden.5", "hidden.6", "hidden.7",
];

#[derive(Debug)]
pub struct Mlp {
    input: i64,
    hidden: Vec<Linear>,
    dropout: f64,
    fc: Option<Linear>,
    stages: Vec<StageInfo>,
}

impl Mlp {
    /// `input -> hidden[0] -> ... -> classes`, ReLU and dropout after each hidden layer; key names
    /// `hidden.I.weight` and `fc.weight`.
    pub fn new(
        p: &Path,
        input: i64,
        hidden: &[i64],
        dropout: f64,
        classes: Option<i64>,
    ) -> Result<Mlp> {
        if input < 1
            || hidden.is_empty()
            || hidden.len() > STAGE_NAMES.len()
            || hidden.iter().any(|&h| h < 1)
        {
            return Err(NnError::Invalid(format!(
                "an MLP needs an input width of at least 1 and 1 to {} hidden layers of at least 1 \
                 unit; got input {input}, hidden {hidden:?}",
                STAGE_NAMES.len()
            )));
        }
        if !(0.0..1.0).contains(&dropout) {
            return Err(NnError::Invalid(format!(
                "dropout must be in [0, 1), got {dropout}"
            )));
        }
        let mut layers = Vec::new();
        let mut stages = Vec::new();
        let mut width = input;
        for (i, &h) in hidden.iter().enumerate() {
            layers.push(Linear::new(&p.sub("hidden").sub(i), width, h));
            stages.push(StageInfo {
                name: STAGE_NAMES[i],
                dim: h,
                param_prefixes: vec![format!("hidden.{i}.")],
            });
            width = h;
        }
        Ok(Mlp {
            input,
            hidden: layers,
            dropout,
            fc: classes.map(|k| Linear::new(&p.sub("fc"), width, k)),
            stages,
        })
    }
}

impl Backbone for Mlp {
    fn arch(&self) -> &str {
        "mlp"
    }

    fn stages(&self) -> &[StageInfo] {
        &self.stages
    }

    /// Takes `(N, D)` or `(N, D, 1, 1)` (feature vectors stored as 1x1 images).
    fn forward_stages(&self, x: &Tensor, from: usize, to: usize, train: bool) -> Result<Tensor> {
        self.check_stage_range(from, to)?;
        let mut h = if x.dim() == 4 {
            x.f_flatten(1, -1)?
        } else {
            x.shallow_clone()
        };
        if from == 0 {
            check_features(self.arch(), &h, self.input)?;
        }
        for layer in &self.hidden[from..=to] {
            h = layer
                .forward(&h)?
                .f_relu()?
                .f_dropout(self.dropout, train)?;
        }
        Ok(h)
    }

    fn pool_stage(&self, h: &Tensor, _stage: usize) -> Result<Tensor> {
        Ok(h.shallow_clone())
    }

    fn forward_head(&self, features: &Tensor, train: bool) -> Result<Tensor> {
        classify(self.arch(), &self.fc, features, None, train)
    }

    fn head_prefix(&self) -> &str {
        "fc."
    }

    fn input(&self) -> crate::models::ModelInput {
        crate::models::ModelInput::Vectors { width: self.input }
    }
}
