//! Feature augmentation: one shared copy of every feature and one copy per domain, so a linear
//! model can learn which weights transfer.

use super::aligned::{Aligned, TargetMap};
use super::domains::Domains;
use crate::error::{LinalgError, Result};
use crate::matrix::Matrix;
use rayon::prelude::*;

/// Daume III 2007, "Frustratingly easy domain adaptation" (ACL), eq. (1):
/// source `x -> [x, x, 0]`, target `x -> [x, 0, x]` (general, source-only, target-only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FeatureAugmentation;

impl FeatureAugmentation {
    /// Supervised: the labelled target rows are the point (without them a model can only
    /// use the general and source copies, i.e. it is trained on the source alone).
    /// Unlabelled target rows get the target map as well. ADAPT's `FA` orders the blocks
    /// `[source-only, target-only, general]`; the paper's order is kept here.
    pub fn fit(&self, d: &Domains) -> Result<Aligned> {
        let features = d.check()?;
        let Some((xl, _)) = d.target_labelled else {
            return Err(LinalgError::param(
                "target_labelled",
                "none",
                "labelled target rows: feature augmentation is supervised",
            ));
        };
        Ok(Aligned {
            source: augment(d.source, true),
            target: augment(d.target, false),
            target_labelled: Some(augment(xl, false)),
            notes: vec![format!(
                "fa: {features} features -> {} ([general, source, target])",
                3 * features
            )],
            map: TargetMap::Augment,
            input_dim: features,
            pseudo_labels: None,
        })
    }
}

/// `[x, x, 0]` for source rows, `[x, 0, x]` for target rows.
pub(crate) fn augment(x: &Matrix, source: bool) -> Matrix {
    let d = x.cols();
    let mut out = Matrix::zeros(x.rows(), 3 * d);
    if d == 0 {
        return out;
    }
    let block = if source { d..2 * d } else { 2 * d..3 * d };
    out.data_mut()
        .par_chunks_mut(3 * d)
        .zip(x.data().par_chunks(d))
        .for_each(|(dst, row)| {
            dst[..d].copy_from_slice(row);
            dst[block.clone()].copy_from_slice(row);
        });
    out
}
