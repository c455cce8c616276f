//! The features the report projects: up to N source and N target samples, drawn with the run's
//! seed, passed through the initial model when the run starts and through the final model when
//! it ends (see `report::projection`).

use super::data::draw;
use crate::report::projection::Features;
use graft_nn::models::Backbone;
use graft_nn::train::{features, InputSpec, Samples};
use graft_shallow::Matrix;
use tch::Device;

/// Draw streams of the samples, apart from those of --source-samples / --target-samples.
const SOURCE_STREAM: u64 = 20;
const TARGET_STREAM: u64 = 21;
/// Samples passed through the model at once (a chunk is copied out of the set first).
const CHUNK: usize = 256;

/// The drawn samples of both sets and their features under the initial model.
pub struct Sample {
    source: Vec<i64>,
    target: Vec<i64>,
    source_before: Matrix,
    target_before: Matrix,
}

/// Penultimate features of `data`'s samples `idx`, in that order.
fn features_of(
    model: &dyn Backbone,
    input: &InputSpec,
    data: &Samples,
    idx: &[i64],
    device: Device,
) -> anyhow::Result<Matrix> {
    let mut values: Vec<f32> = Vec::new();
    let mut dim = 0;
    for chunk in idx.chunks(CHUNK) {
        let part = data.select(chunk)?;
        let f = features(model, input, &part, device, CHUNK)?;
        dim = f.size()[1] as usize;
        values.extend(Vec::<f32>::try_from(f.f_flatten(0, -1)?)?);
    }
    Ok(Matrix::from_f32(idx.len(), dim, &values)?)
}

impl Sample {
    /// Draws up to `n` samples of each set and passes them through the initial `model`.
    pub fn before(
        model: &dyn Backbone,
        input: &InputSpec,
        source: &Samples,
        target: &Samples,
        n: usize,
        seed: u64,
        device: Device,
    ) -> anyhow::Result<Sample> {
        let s = draw(source.len(), n, seed, SOURCE_STREAM);
        let t = draw(target.len(), n, seed, TARGET_STREAM);
        Ok(Sample {
            source_before: features_of(model, input, source, &s, device)?,
            target_before: features_of(model, input, target, &t, device)?,
            source: s,
            target: t,
        })
    }

    /// The proxy A-distance between the drawn samples' inputs: feature vectors as they are,
    /// images average-pooled to at most 16 x 16 per channel (a few hundred dimensions, as the
    /// features the distance is usually measured on); `None` for token ids.
    pub fn input_distance(
        &self,
        source: &Samples,
        target: &Samples,
        seed: u64,
    ) -> anyhow::Result<Option<f64>> {
        if source.kind == graft_nn::train::SampleKind::Tokens {
            return Ok(None);
        }
        let rows = |data: &Samples, idx: &[i64]| -> anyhow::Result<Matrix> {
            let x = data.batch_unit(idx)?;
            let x = if x.size()[2] > 16 || x.size()[3] > 16 {
                x.f_adaptive_avg_pool2d([16, 16])?
            } else {
                x
            };
            let x = x
                .f_flatten(1, -1)?
                .f_to_kind(tch::Kind::Float)?
                .f_contiguous()?;
            let (n, d) = (x.size()[0] as usize, x.size()[1] as usize);
            Ok(Matrix::from_f32(
                n,
                d,
                &Vec::<f32>::try_from(x.f_flatten(0, -1)?)?,
            )?)
        };
        let (s, t) = (rows(source, &self.source)?, rows(target, &self.target)?);
        Ok(Some(
            crate::report::pad::proxy_a_distance(&s, &t, seed)?.pad,
        ))
    }

    /// The same samples through the final `model`.
    pub fn after(
        self,
        model: &dyn Backbone,
        input: &InputSpec,
        source: &Samples,
        target: &Samples,
        device: Device,
    ) -> anyhow::Result<Features> {
        Ok(Features {
            source_after: features_of(model, input, source, &self.source, device)?,
            target_after: features_of(model, input, target, &self.target, device)?,
            source_labels: self
                .source
                .iter()
                .map(|&i| source.labels[i as usize])
                .collect(),
            target_labels: self
                .target
                .iter()
                .map(|&i| target.labels[i as usize])
                .collect(),
            source_before: self.source_before,
            target_before: self.target_before,
        })
    }
}
