//! Deep CORAL: align the second-order statistics of source and target features.

use crate::transfer::check;
use crate::Result;
use tch::Tensor;

/// Unbiased covariance `(D, D)` of the rows of `x` `(N, D)`.
fn covariance(x: &Tensor) -> Result<Tensor> {
    let n = x.size()[0];
    let mean = x.f_mean_dim([0i64].as_slice(), true, x.kind())?;
    let xc = x.f_sub(&mean)?;
    Ok(xc.f_tr()?.f_mm(&xc)?.f_div_scalar((n - 1) as f64)?)
}

/// Sun & Saenko 2016, eq. 1-2: `||C_S - C_T||_F^2 / (4 d^2)` with `C` the unbiased covariance of
/// each domain's `(N, d)` features (each batch needs at least two rows).
pub fn coral_loss(f_s: &Tensor, f_t: &Tensor) -> Result<Tensor> {
    let (_, ds) = check::matrix("CORAL", "source features", f_s, 2)?;
    let (_, dt) = check::matrix("CORAL", "target features", f_t, 2)?;
    check::same_width("CORAL", ("source features", ds), ("target features", dt))?;
    let diff = covariance(f_s)?.f_sub(&covariance(f_t)?)?;
    Ok(diff
        .f_square()?
        .f_sum(diff.kind())?
        .f_div_scalar(4.0 * (ds * ds) as f64)?)
}
