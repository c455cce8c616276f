//! The one trait every architecture implements, so that freezing, feature extraction at any
//! stage and partial fine-tuning work the same for all of them.

use crate::models::ModelInput;
use crate::Result;
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
    ) -> Result<Tensor> {
        let last = self.stage_position(up_to_stage)?;
        let h = self.forward_stages(x, 0, last, train)?;
        self.pool_stage(&h, last)
    }
    /// Runs stages `from..=to` (indices into [`Backbone::stages`]) on `x`: the input images when
    /// `from` is 0, else the raw output of stage `from - 1`. Returns the raw (unpooled) output
    /// of stage `to`. Splitting the pass this way lets a frozen prefix run without autograd and
    /// the trainable rest with it, so no gradient is ever computed for frozen stages.
    fn forward_stages(&self, x: &Tensor, from: usize, to: usize, train: bool) -> Result<Tensor>;
    /// Turns the raw output of stage `stage` into features `(N, D)` (global average pooling of
    /// spatial maps; dense stages pass through).
    fn pool_stage(&self, h: &Tensor, stage: usize) -> Result<Tensor>;
    /// Classifier logits `(N, classes)` from the final features (dropout applies when `train`);
    /// an error when the model was built without a head.
    fn forward_head(&self, features: &Tensor, train: bool) -> Result<Tensor>;
    /// Prefix of the classifier's parameter names (`fc.`, `_fc.`), so a checkpoint's head can be
    /// left out when a new head is wanted.
    fn head_prefix(&self) -> &str;
    /// What the model reads: images with the preprocessing its weights expect, tokens, or
    /// feature vectors.
    fn input(&self) -> ModelInput;
    /// Folds every BatchNorm into the convolution before it, for inference only (extraction):
    /// the model can no longer train. `keep_grouped` leaves those after grouped (depthwise)
    /// convolutions: their scales reach ~75 in trained EfficientNets, and in bf16 the folded
    /// weights then move the features by 3e-2 in cosine distance instead of 3e-3. Returns how
    /// many pairs are folded now (earlier calls' included); models without such pairs keep the
    /// default, which folds none.
    fn fold_batch_norms(&mut self, keep_grouped: bool) -> Result<usize> {
        let _ = keep_grouped;
        Ok(0)
    }
    /// Whether the network runs channels-last ([`crate::models::layers::channels_last`]): a
    /// loader then hands it batches in HWC order, which it takes without a copy.
    fn channels_last(&self) -> bool {
        false
    }

    /// Pools a transformer's tokens another way (class token, mean of the patches, or both:
    /// DINOv2's linear-probe protocol). Only models without a head take it, since the head's
    /// width would change; the others have one pooling and say so.
    fn set_pool(&mut self, pool: crate::models::vit::Pool) -> Result<()> {
        Err(crate::NnError::Invalid(format!(
            "model `{}` pools one way; --pool {} applies to the vision transformers",
            self.arch(),
            pool.name()
        )))
    }

    /// How many linear layers carry LoRA adapters (none for models that take none).
    fn lora_adapters(&self) -> usize {
        0
    }

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
        Ok(&self.stages()[self.stage_position(name)?])
    }

    /// Index of a stage by name (the last when `None`), with an error listing the valid ones.
    fn stage_position(&self, name: Option<&str>) -> Result<usize> {
        crate::models::layers::stage_index(self.arch(), self.stages(), name)
    }

    /// Checks a stage range for [`Backbone::forward_stages`].
    fn check_stage_range(&self, from: usize, to: usize) -> Result<()> {
        let n = self.stages().len();
        if from > to || to >= n {
            return Err(crate::NnError::Invalid(format!(
                "model `{}`: stage range {from}..={to} is not within its {n} stages",
                self.arch()
            )));
        }
        Ok(())
    }
}
