//! CORAL: re-colour the whitened source with the target's covariance.

use super::aligned::{project, Aligned, TargetMap};
use super::covariance::{covariance, numerical_rank, RANK_TOL};
use super::domains::Domains;
use super::eigen::{self, mul};
use crate::error::{LinalgError, Result};
use crate::matrix::Matrix;
use faer::Mat;

/// Sun, Feng & Saenko 2016, "Return of frustratingly easy domain adaptation", Algorithm 1:
/// `Ds <- Ds (Cs + lambda I)^(-1/2) (Ct + lambda I)^(1/2)`; the target is left as it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Coral {
    /// Added to both covariances; 1 in the paper (ADAPT's `CORAL` defaults to 1e-5).
    pub lambda: f64,
}

impl Default for Coral {
    fn default() -> Self {
        Coral { lambda: 1.0 }
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
        let (s, t) = rayon::join(
            || self.side(d.source, -0.5, "source"),
            || self.side(d.target, 0.5, "target"),
        );
        let (s, t) = (s?, t?);
        let w = mul(s.power.as_ref(), t.power.as_ref());
        let source = project(d.source, &w);
        let mut notes: Vec<String> = [s.note, t.note].into_iter().flatten().collect();
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

    /// The covariance of `x` and `(C + lambda I)^p`, with a note when that is still singular
    /// (lambda = 0 on rank-deficient data): the paper's remedy is then applied, a ridge of
    /// 1e-6 times the mean variance.
    fn side(&self, x: &Matrix, p: f64, domain: &str) -> Result<Side> {
        let (_, cov) = covariance(x);
        let d = cov.nrows();
        let mut reg = cov.clone();
        for i in 0..d {
            reg[(i, i)] += self.lambda;
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
