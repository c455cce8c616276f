//! Subspace alignment: map the source's principal subspace onto the target's.

use super::aligned::{project, Aligned, TargetMap};
use super::covariance::{covariance, numerical_rank};
use super::domains::{check_dim, Domains};
use super::eigen::{self, mul};
use crate::error::Result;
use faer::Mat;

/// Fernando et al. 2013, "Unsupervised visual domain adaptation using subspace alignment",
/// `M* = argmin ||Ps M - Pt||_F = Ps^T Pt`; source rows `Xs Ps Ps^T Pt`, target rows `Xt Pt`.
#[derive(Debug, Clone, PartialEq)]
pub struct SubspaceAlignment {
    /// Subspace dimension `d`. The paper picks it with its stability bound; 100 matches the
    /// subspace size of the JDA benchmark.
    pub dim: usize,
}

impl Default for SubspaceAlignment {
    fn default() -> Self {
        SubspaceAlignment { dim: 100 }
    }
}

impl SubspaceAlignment {
    /// `Ps`, `Pt` are the leading principal axes of each domain; as the paper's code, rows are
    /// projected without centring (ADAPT's `SA` centres each domain on its own mean first, which
    /// shifts every projected row of a domain by the same vector).
    pub fn fit(&self, d: &Domains) -> Result<Aligned> {
        let features = d.check()?;
        let max = features.min(d.source.rows()).min(d.target.rows());
        check_dim(
            "sa.dim",
            self.dim,
            max,
            "at most min(feature count, source rows, target rows)",
        )?;
        let mut notes = Vec::new();
        let ps = self.basis(d.source, "source", &mut notes)?;
        let pt = self.basis(d.target, "target", &mut notes)?;
        let m = mul(ps.transpose(), pt.as_ref());
        let xa = mul(ps.as_ref(), m.as_ref());
        let gap: f64 = (0..xa.nrows())
            .flat_map(|i| (0..xa.ncols()).map(move |j| (i, j)))
            .map(|(i, j)| (xa[(i, j)] - pt[(i, j)]).powi(2))
            .sum();
        notes.push(format!(
            "sa: ||Ps M - Pt||_F^2 = {gap:.4} after alignment, {:.4} before (||Ps - Pt||_F^2)",
            (0..ps.nrows())
                .flat_map(|i| (0..ps.ncols()).map(move |j| (i, j)))
                .map(|(i, j)| (ps[(i, j)] - pt[(i, j)]).powi(2))
                .sum::<f64>()
        ));
        let map = TargetMap::Linear {
            mean: None,
            projection: pt,
        };
        Ok(Aligned {
            source: project(d.source, &xa),
            target: map.apply(d.target)?,
            target_labelled: d.target_labelled.map(|(x, _)| map.apply(x)).transpose()?,
            notes,
            map,
            input_dim: features,
            pseudo_labels: None,
        })
    }

    fn basis(&self, x: &crate::Matrix, domain: &str, notes: &mut Vec<String>) -> Result<Mat<f64>> {
        let (_, cov) = covariance(x);
        let (values, vectors) = eigen::symmetric(cov.as_ref(), "subspace alignment")?;
        let rank = numerical_rank(&values);
        if self.dim > rank {
            notes.push(format!(
                "sa: the {domain} covariance has rank {rank}; axes {}..{} are arbitrary \
                 directions of its null space",
                rank + 1,
                self.dim
            ));
        }
        Ok(eigen::leading(&values, vectors.as_ref(), self.dim).vectors)
    }
}
