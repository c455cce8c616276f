//! Position embeddings at an image size other than the one they were trained at: the grid of
//! patch positions is resized as an image, the prefix tokens' rows kept as they are
//! (Dosovitskiy et al. 2021, sec. 3.2, "2D interpolation of the pre-trained position
//! embeddings"). Each family resizes differently, and the results differ by up to 1e-1, so the
//! filter is the family's.

use super::config::PosResize;
use crate::Result;
use tch::Tensor;

/// `pos`: `(1, prefix + g*g, D)` for a square `g x g` training grid. Returns the table for an
/// `h x w` grid; the same tensor when the grid is unchanged.
pub fn resize(pos: &Tensor, prefix: i64, grid: (i64, i64), how: PosResize) -> Result<Tensor> {
    let (_, rows, d) = pos.size3()?;
    let old = ((rows - prefix) as f64).sqrt().round() as i64;
    if grid == (old, old) {
        return Ok(pos.shallow_clone());
    }
    let head = pos.f_narrow(1, 0, prefix)?;
    let img = pos
        .f_narrow(1, prefix, rows - prefix)?
        .f_reshape([1, old, old, d])?
        .f_permute([0, 3, 1, 2])?;
    // Interpolation runs in f32 whatever the model's precision, as timm does.
    let kind = pos.kind();
    let img = img.f_to_kind(tch::Kind::Float)?;
    let size = [grid.0, grid.1];
    let out = match how {
        PosResize::BicubicAntialias => {
            img.f_internal_upsample_bicubic2d_aa(size, false, None::<f64>, None::<f64>)?
        }
        PosResize::BicubicAlignCorners => {
            img.f_upsample_bicubic2d(size, true, None::<f64>, None::<f64>)?
        }
        PosResize::Bicubic => img.f_upsample_bicubic2d(size, false, None::<f64>, None::<f64>)?,
        PosResize::BicubicOffset => {
            // PyTorch's `interpolate(scale_factor=s)`: the output is floor(old * s) = new, and
            // the kernel samples with the scale itself, not new / old.
            let scale = |n: i64| (n as f64 + 0.1) / old as f64;
            img.f_upsample_bicubic2d(size, false, scale(grid.0), scale(grid.1))?
        }
    };
    let out = out
        .f_permute([0, 2, 3, 1])?
        .f_reshape([1, grid.0 * grid.1, d])?
        .f_to_kind(kind)?;
    Ok(Tensor::f_cat(&[head, out], 1)?)
}
