//! Multi-kernel maximum mean discrepancy (DAN): the distance between the mean embeddings of the
//! two domains under a sum of Gaussian kernels whose bandwidths follow the data.

use crate::transfer::check;
use crate::{NnError, Result};
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// TLlib's DAN kernels: `sigma^2 = m * mean squared distance` for `m = 2^k`, `k = -3..=1`.
pub const DAN_MULTIPLIERS: [f64; 5] = [0.125, 0.25, 0.5, 1.0, 2.0];

/// Long et al. 2015 (DAN), sec. 3, MK-MMD: the unbiased quadratic estimate and the linear-time
/// one, with TLlib's kernels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MkMmd {
    /// One Gaussian kernel `exp(-||a - b||^2 / (2 m mean_d))` per multiplier `m`, where `mean_d`
    /// is the mean squared distance over all pairs of the pooled batch (detached, as TLlib's
    /// `GaussianKernel`).
    pub multipliers: Vec<f64>,
    /// The linear-time estimate instead of the quadratic one.
    pub linear: bool,
}

impl Default for MkMmd {
    fn default() -> Self {
        MkMmd {
            multipliers: DAN_MULTIPLIERS.to_vec(),
            linear: false,
        }
    }
}

impl MkMmd {
    /// MK-MMD between `z_s` `(N_s, D)` and `z_t` `(N_t, D)` (higher-rank inputs are flattened
    /// per sample).
    ///
    /// Quadratic: `sum_{i != j} k(s_i, s_j) / (N_s (N_s - 1)) + (same for t) - 2 sum k(s_i, t_j) /
    /// (N_s N_t)`, TLlib's index matrix generalised to unequal batches. Linear (TLlib's cyclic
    /// pairing, `N_s = N_t = n`): `(1/n) sum_i [k(s_i, s_{i+1}) + k(t_i, t_{i+1}) - k(s_i, t_{i+1})
    /// - k(s_{i+1}, t_i)]`, indices mod n, computed in O(n D) without the pairwise matrix.
    /// TLlib adds the constant `2 / (n - 1)` to both; it is left out here (same gradient).
    pub fn loss(&self, z_s: &Tensor, z_t: &Tensor) -> Result<Tensor> {
        const LOSS: &str = "MK-MMD";
        if self.multipliers.is_empty() {
            return Err(NnError::Invalid(
                "MK-MMD: at least one kernel multiplier is needed".into(),
            ));
        }
        for &m in &self.multipliers {
            check::param(LOSS, "kernel multiplier", m, m > 0.0, "a positive number")?;
        }
        let s = flatten(z_s)?;
        let t = flatten(z_t)?;
        let (ns, ds) = check::matrix(LOSS, "source features", &s, 2)?;
        let (nt, dt) = check::matrix(LOSS, "target features", &t, 2)?;
        check::same_width(LOSS, ("source features", ds), ("target features", dt))?;
        if self.linear {
            if ns != nt {
                return Err(NnError::Invalid(format!(
                    "MK-MMD (linear): source and target batches must have the same size; got \
                     {ns} and {nt}"
                )));
            }
            self.linear_estimate(&s, &t)
        } else {
            self.quadratic_estimate(&s, &t)
        }
    }

    /// Sum over the kernels of `exp(-d2 / (2 m base))`.
    fn kernels(&self, d2: &Tensor, base: &Tensor) -> Result<Tensor> {
        let mut k: Option<Tensor> = None;
        for &m in &self.multipliers {
            let ki = d2.f_div(&base.f_mul_scalar(2.0 * m)?)?.f_neg()?.f_exp()?;
            k = Some(match k {
                None => ki,
                Some(acc) => acc.f_add(&ki)?,
            });
        }
        Ok(k.expect("at least one multiplier"))
    }

    fn quadratic_estimate(&self, s: &Tensor, t: &Tensor) -> Result<Tensor> {
        let (ns, nt) = (s.size()[0], t.size()[0]);
        let z = Tensor::f_cat(&[s, t], 0)?;
        let sq = z
            .f_square()?
            .f_sum_dim_intlist([1i64].as_slice(), true, None::<Kind>)?;
        let d2 = sq
            .f_add(&sq.f_tr()?)?
            .f_sub(&z.f_mm(&z.f_tr()?)?.f_mul_scalar(2.0)?)?
            .f_clamp_min(0.0)?;
        let base = d2.f_detach()?.f_mean(d2.kind())?;
        let k = self.kernels(&d2, &base)?;
        let m = ns + nt;
        let off_diag = Tensor::f_eye(m, (k.kind(), k.device()))?
            .f_neg()?
            .f_add_scalar(1.0)?;
        let k = k.f_mul(&off_diag)?;
        let kind = k.kind();
        let block = |r: i64, nr: i64, c: i64, nc: i64| -> Result<Tensor> {
            Ok(k.f_narrow(0, r, nr)?.f_narrow(1, c, nc)?.f_sum(kind)?)
        };
        let ss = block(0, ns, 0, ns)?.f_div_scalar((ns * (ns - 1)) as f64)?;
        let tt = block(ns, nt, ns, nt)?.f_div_scalar((nt * (nt - 1)) as f64)?;
        let st = block(0, ns, ns, nt)?.f_div_scalar((ns * nt) as f64 / 2.0)?;
        Ok(ss.f_add(&tt)?.f_sub(&st)?)
    }

    fn linear_estimate(&self, s: &Tensor, t: &Tensor) -> Result<Tensor> {
        let n = s.size()[0];
        // Mean squared distance over all (2n)^2 pairs of the pooled batch, diagonal included,
        // in O(n D): 2 * mean_i ||z_i - mean z||^2.
        let z = Tensor::f_cat(&[s, t], 0)?.f_detach()?;
        let zc = z.f_sub(&z.f_mean_dim([0i64].as_slice(), true, z.kind())?)?;
        let base = zc
            .f_square()?
            .f_sum(z.kind())?
            .f_mul_scalar(2.0 / (2 * n) as f64)?;
        let s1 = s.f_roll([-1i64].as_slice(), [0i64].as_slice())?;
        let t1 = t.f_roll([-1i64].as_slice(), [0i64].as_slice())?;
        let d2 = |a: &Tensor, b: &Tensor| -> Result<Tensor> {
            Ok(a.f_sub(b)?
                .f_square()?
                .f_sum_dim_intlist([1i64].as_slice(), false, None::<Kind>)?)
        };
        let kind = s.kind();
        let ksum = |d: Tensor| -> Result<Tensor> { Ok(self.kernels(&d, &base)?.f_sum(kind)?) };
        let total = ksum(d2(s, &s1)?)?
            .f_add(&ksum(d2(t, &t1)?)?)?
            .f_sub(&ksum(d2(s, &t1)?)?)?
            .f_sub(&ksum(d2(&s1, t)?)?)?;
        Ok(total.f_div_scalar(n as f64)?)
    }
}

fn flatten(z: &Tensor) -> Result<Tensor> {
    if z.dim() > 2 {
        Ok(z.f_flatten(1, -1)?)
    } else {
        Ok(z.shallow_clone())
    }
}
