//! CORAL: re-colour the whitened source with the target's covariance.

use super::aligned::{project, Aligned, TargetMap};
use super::covariance::{covariance, numerical_rank, RANK_TOL};
use super::domains::Domains;
use super::eigen::{self, mul};
use crate::error::{LinalgError, Result};
use faer::Mat;

/// Sun, Feng & Saenko 2016, "Return of frustratingly easy domain adaptation", Algorithm 1:
/// `Ds <- Ds (Cs + lambda I)^(-1/2) (Ct + lambda I)^(1/2)`; the target is left as it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Coral {
    /// Added to both covariances, as [`Coral::scale`] says: 1 in the paper, whose features are
    /// standardised (unit variance), so its `lambda I` equals the mean variance. ADAPT's
    /// `CORAL` defaults to an absolute 1e-5.
    pub lambda: f64,
    pub scale: LambdaScale,
}

/// What `lambda` is measured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LambdaScale {
    /// `lambda` times the mean per-feature variance of source and target: the paper's
    /// `lambda = 1` on standardised features, and the same strength on features of any scale
    /// (unit-length embeddings have variances near `1 / d`, which an absolute 1 swamps,
    /// leaving the map close to a constant factor).
    MeanVariance,
    /// `lambda` as it is.
    Absolute,
}

impl Default for Coral {
    fn default() -> Self {
        Coral {
            lambda: 1.0,
            scale: LambdaScale::MeanVariance,
        }
    }
}

impl Coral {
    /// As Algorithm 1, rows are not centred: the map is purely multiplicative.
    pub fn fit(&self, d: &Domains) -> Result<Aligned> {
        let features = d.check()?;
        if !(self.lambda.is_finite() && self.lambda >= 0.0) {
            return Err(LinalgError::param(
                "coral.lambda",
                self.lambda,
                "a finite number >= 0",
            ));
        }
        for (input, x) in [
            ("coral: source rows", d.source),
            ("coral: target rows", d.target),
        ] {
            if x.rows() < 2 {
                return Err(LinalgError::param(
                    input,
                    x.rows(),
                    "at least 2 rows to estimate a covariance",
                ));
            }
        }
        // The two domains are independent until the final product: one thread each.
        let ((_, cs), (_, ct)) = rayon::join(|| covariance(d.source), || covariance(d.target));
        let mean_var =
            (0..features).map(|i| cs[(i, i)] + ct[(i, i)]).sum::<f64>() / (2 * features) as f64;
        let lambda = match self.scale {
            LambdaScale::Absolute => self.lambda,
            LambdaScale::MeanVariance => self.lambda * mean_var,
        };
        let (s, t) = rayon::join(
            || side(cs, lambda, -0.5, "source"),
            || side(ct, lambda, 0.5, "target"),
        );
        let (s, t) = (s?, t?);
        let w = mul(s.power.as_ref(), t.power.as_ref());
        let source = project(d.source, &w);
        let mut notes = vec![format!(
            "coral: lambda = {lambda:.4e} ({}; mean feature variance {mean_var:.4e})",
            match self.scale {
                LambdaScale::Absolute => "as given".to_string(),
                LambdaScale::MeanVariance => format!("{} x the mean variance", self.lambda),
            }
        )];
        notes.extend([s.note, t.note].into_iter().flatten());
        notes.push(format!(
            "coral: mean |Cs - Ct| = {:.6} before alignment",
            mean_abs_diff(&s.cov, &t.cov)
        ));
        Ok(Aligned {
            source,
            target: d.target.clone(),
            target_labelled: d.target_labelled.map(|(x, _)| x.clone()),
            notes,
            map: TargetMap::Identity,
            input_dim: features,
            pseudo_labels: None,
        })
    }
}

/// `(C + lambda I)^p` of one domain's covariance `cov`, with a note when that is still
/// singular (lambda = 0 on rank-deficient data): the paper's remedy is then applied, a ridge
/// of 1e-6 times the mean variance.
fn side(cov: Mat<f64>, lambda: f64, p: f64, domain: &str) -> Result<Side> {
    let d = cov.nrows();
    let mut reg = cov.clone();
    for i in 0..d {
        reg[(i, i)] += lambda;
    }
    let (mut values, v) = eigen::symmetric(reg.as_ref(), "coral")?;
    let max = values.iter().copied().fold(0.0, f64::max);
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let mut note = None;
    if min <= max * RANK_TOL {
        let mean_var = (0..d).map(|i| cov[(i, i)]).sum::<f64>() / d as f64;
        let ridge = 1e-6 * mean_var.max(f64::MIN_POSITIVE);
        note = Some(format!(
            "coral: {domain} covariance + lambda I is singular (rank {} of {d}); added \
             {ridge:.3e} I, as the paper's lambda I does",
            numerical_rank(&values)
        ));
        // Adding ridge I moves every eigenvalue by ridge and keeps the eigenvectors.
        values.iter_mut().for_each(|s| *s = s.max(0.0) + ridge);
    }
    let power = eigen::function(&values, &v, |s| s.max(0.0).powf(p));
    Ok(Side { cov, power, note })
}

/// One domain's covariance, its regularised power, and what regularisation it needed.
struct Side {
    cov: Mat<f64>,
    power: Mat<f64>,
    note: Option<String>,
}

fn mean_abs_diff(a: &Mat<f64>, b: &Mat<f64>) -> f64 {
    let d = a.nrows();
    let mut s = 0.0;
    for j in 0..d {
        for i in 0..d {
            s += (a[(i, j)] - b[(i, j)]).abs();
        }
    }
    s / (d * d) as f64
}
