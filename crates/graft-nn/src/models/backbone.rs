//! The one trait every architecture implements, so that freezing, feature extraction at any
//! stage and partial fine-tuning work the same for all of them.

use crate::Result;
use graft_data::preprocess::Preprocess;
use tch::Tensor;

/// A named stage of a backbone (`stem`, `layer1`, `blocks.3`, ...): the unit of freezing and of
/// feature extraction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageInfo {
    pub name: &'static str,
    /// Width of the features taken at the end of this stage (channels, or units for dense stages).
    pub dim: i64,
    /// Prefixes of the parameter names that belong to this stage (`layer1.`, `_blocks.0.`).
    pub param_prefixes: Vec<String>,
}

pub trait Backbone: std::fmt::Debug + Send {
    /// Registry name (`resnet18`, `efficientnet_lite0`, `lenet`).
    fn arch(&self) -> &str;
    /// Stages in forward order; the last one gives the default features.
    fn stages(&self) -> &[StageInfo];
    /// Pooled features `(N, D)` taken at the end of `up_to_stage` (the last stage when `None`),
    /// without running any later stage. Spatial maps are globally average-pooled.
    fn forward_features(
        &self,
        x: &Tensor,
        up_to_stage: Option<&str>,
        train: bool,
    ) -> Result<Tensor>;
    /// Classifier logits `(N, classes)` from the final features (dropout applies when `train`);
    /// an error when the model was built without a head.
    fn forward_head(&self, features: &Tensor, train: bool) -> Result<Tensor>;
    /// Prefix of the classifier's parameter names (`fc.`, `_fc.`), so a checkpoint's head can be
    /// left out when a new head is wanted.
    fn head_prefix(&self) -> &str;
    /// The preprocessing these weights expect.
    fn preprocess(&self) -> Preprocess;

    /// Full forward pass: features, then head.
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let f = self.forward_features(x, None, train)?;
        self.forward_head(&f, train)
    }

    /// Feature width at a stage (the last when `None`).
    fn feature_dim(&self, stage: Option<&str>) -> Result<i64> {
        Ok(self.stage(stage)?.dim)
    }

    /// Looks a stage up by name, with an error that lists the valid ones.
    fn stage(&self, name: Option<&str>) -> Result<&StageInfo> {
        let stages = self.stages();
        match name {
            None => Ok(stages.last().expect("a backbone has at least one stage")),
            Some(n) => {
                stages
                    .iter()
                    .find(|s| s.name == n)
                    .ok_or_else(|| crate::NnError::UnknownStage {
                        model: self.arch().to_string(),
                        stage: n.to_string(),
                        known: stages.iter().map(|s| s.name).collect::<Vec<_>>().join(", "),
                    })
            }
        }
    }
}
