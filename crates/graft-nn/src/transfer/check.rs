//! Shape checks shared by the transfer losses, so that a wrongly shaped input is reported in the
//! loss's own terms (which input, what was expected) instead of as a libtorch error.

use crate::{NnError, Result};
use tch::{Kind, Tensor};

/// `(rows, cols)` of `t`, which must be a 2-d floating-point matrix with at least `min_rows` rows.
pub(crate) fn matrix(loss: &str, what: &str, t: &Tensor, min_rows: i64) -> Result<(i64, i64)> {
    let size = t.size();
    if size.len() != 2 || size[0] < min_rows || size[1] < 1 {
        return Err(NnError::Invalid(format!(
            "{loss}: {what} must be an (N, D) matrix with N >= {min_rows} and D >= 1; got shape \
             {size:?}"
        )));
    }
    floating(loss, what, t)?;
    Ok((size[0], size[1]))
}

/// Checks that `t` holds floating-point values (losses and their gradients need them).
pub(crate) fn floating(loss: &str, what: &str, t: &Tensor) -> Result<()> {
    match t.kind() {
        Kind::Float | Kind::Double | Kind::Half | Kind::BFloat16 => Ok(()),
        k => Err(NnError::Invalid(format!(
            "{loss}: {what} must hold floating-point values; got {k:?}"
        ))),
    }
}

/// Checks that two matrices have the same number of columns.
pub(crate) fn same_width(loss: &str, a: (&str, i64), b: (&str, i64)) -> Result<()> {
    if a.1 != b.1 {
        return Err(NnError::Invalid(format!(
            "{loss}: {} and {} must have the same width; got {} and {}",
            a.0, b.0, a.1, b.1
        )));
    }
    Ok(())
}

/// Per-sample weights of a batch of `n` as a length-`n` vector of `like`'s kind and device.
pub(crate) fn weights(loss: &str, what: &str, w: &Tensor, n: i64, like: &Tensor) -> Result<Tensor> {
    if w.numel() as i64 != n || w.dim() > 2 {
        return Err(NnError::Invalid(format!(
            "{loss}: {what} must hold one weight per sample ({n}); got shape {:?}",
            w.size()
        )));
    }
    Ok(w.f_reshape([n])?
        .f_to_kind(like.kind())?
        .f_to_device(like.device())?)
}

/// A logit column `(N, 1)` or vector `(N)` as a vector `(N)`.
pub(crate) fn logit_vector(loss: &str, what: &str, d: &Tensor) -> Result<Tensor> {
    let size = d.size();
    let ok = match size.as_slice() {
        [n] => *n >= 1,
        [n, 1] => *n >= 1,
        _ => false,
    };
    if !ok {
        return Err(NnError::Invalid(format!(
            "{loss}: {what} must be discriminator logits of shape (N, 1) or (N); got {size:?}"
        )));
    }
    floating(loss, what, d)?;
    Ok(d.f_reshape([-1])?)
}

/// Checks that a hyper-parameter is finite and within `ok`, naming it in the error.
pub(crate) fn param(loss: &str, name: &str, value: f64, ok: bool, expected: &str) -> Result<()> {
    if !value.is_finite() || !ok {
        return Err(NnError::Invalid(format!(
            "{loss}: {name} must be {expected}; got {value}"
        )));
    }
    Ok(())
}

/// A detached copy of `t` with its own storage (tch has no fallible `copy`).
pub(crate) fn detached_copy(t: &Tensor) -> Result<Tensor> {
    let src = t.f_detach()?;
    let mut out = src.f_zeros_like()?;
    out.f_copy_(&src)?;
    Ok(out)
}
