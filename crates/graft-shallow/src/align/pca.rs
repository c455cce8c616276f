//! Principal component analysis of source and target together: the PCA baseline of the JDA
//! benchmark.

use super::aligned::{Aligned, TargetMap};
use super::covariance::{covariance, numerical_rank};
use super::domains::{check_dim, Domains};
use super::eigen;
use crate::error::Result;

/// Long et al. 2013 (JDA, ICCV), their PCA objective: `max tr(A^T X H X^T A)` s.t.
/// `A^T A = I` on `X = [Xs; Xt]`, i.e. the `dim` leading principal axes of the union.
#[derive(Debug, Clone, PartialEq)]
pub struct Pca {
    /// Components kept; the JDA benchmark uses 100.
    pub dim: usize,
}

impl Default for Pca {
    fn default() -> Self {
        Pca { dim: 100 }
    }
}

impl Pca {
    /// Rows are centred on the joint mean and projected on the leading axes. The benchmark's
    /// PCA figures come from L2-normalised input rows (`l2_normalise_rows`) and a 1-NN
    /// classifier on the projections as they are.
    pub fn fit(&self, d: &Domains) -> Result<Aligned> {
        let features = d.check()?;
        let x = d.stacked()?;
        check_dim(
            "pca.dim",
            self.dim,
            features.min(x.rows()),
            "at most min(feature count, source rows + target rows)",
        )?;
        let (mean, cov) = covariance(&x);
        let (values, vectors) = eigen::symmetric(cov.as_ref(), "pca")?;
        let total: f64 = values.iter().map(|v| v.max(0.0)).sum();
        let rank = numerical_rank(&values);
        let e = eigen::leading(&values, vectors.as_ref(), self.dim);
        let kept: f64 = e.values.iter().map(|v| v.max(0.0)).sum();
        let mut notes = vec![format!(
            "pca: {} components keep {:.2} % of the variance of source + target",
            self.dim,
            if total > 0.0 {
                100.0 * kept / total
            } else {
                0.0
            }
        )];
        if self.dim > rank {
            notes.push(format!(
                "pca: the joint covariance has rank {rank}; components {}..{} are arbitrary \
                 directions of its null space",
                rank + 1,
                self.dim
            ));
        }
        let map = TargetMap::Linear {
            mean: Some(mean),
            projection: e.vectors,
        };
        Ok(Aligned {
            source: map.apply(d.source)?,
            target: map.apply(d.target)?,
            target_labelled: d.target_labelled.map(|(x, _)| map.apply(x)).transpose()?,
            notes,
            map,
            input_dim: features,
            pseudo_labels: None,
        })
    }
}
