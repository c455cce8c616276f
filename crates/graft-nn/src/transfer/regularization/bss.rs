//! Batch spectral shrinkage: damp the feature directions the source task did not need, which are
//! the ones that transfer negatively.

use crate::transfer::check;
use crate::{NnError, Result};
use serde::{Deserialize, Serialize};
use tch::Tensor;

/// Chen et al. 2019 (BSS), sec. 4, the L_bss term: `eta * sum_{i=1..k} sigma_{-i}^2`, the `k`
/// smallest singular values of the batch feature matrix `(B, D)` (TLlib `BatchSpectralShrinkage`,
/// with `torch.svd`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bss {
    pub eta: f64,
    pub k: usize,
}

impl Default for Bss {
    /// The paper's eta = 0.001 and k = 1.
    fn default() -> Self {
        Bss { eta: 0.001, k: 1 }
    }
}

impl Bss {
    pub fn penalty(&self, features: &Tensor) -> Result<Tensor> {
        Ok(bss_loss(features, self.k)?.f_mul_scalar(self.eta)?)
    }
}

/// `sum_{i=1..k} sigma_{-i}^2` of `features` `(B, D)`: `k` must not exceed `min(B, D)`.
/// (`Tensor::svd` rather than `linalg_svdvals`, which fails on CPU through tch.)
pub fn bss_loss(features: &Tensor, k: usize) -> Result<Tensor> {
    let (b, d) = check::matrix("BSS", "features", features, 1)?;
    let r = b.min(d) as usize;
    if k == 0 || k > r {
        return Err(NnError::Invalid(format!(
            "BSS: k must be between 1 and min(batch, width) = {r}; got {k}"
        )));
    }
    let (_, s, _) = features.f_tr()?.f_svd(true, true)?;
    // Singular values come in descending order: the last k are the smallest.
    let tail = s.f_narrow(0, (r - k) as i64, k as i64)?;
    Ok(tail.f_square()?.f_sum(tail.kind())?)
}
