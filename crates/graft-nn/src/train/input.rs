//! From stored pixels to a network's input batch: augmentation for training (random resized
//! crop, horizontal flip, light colour jitter, as torchvision's transforms define them), a
//! centre view for evaluation, resizing to the model's input size and normalisation. All of
//! it runs as tensor operations on whole batches, on the training device.

use crate::train::SampleKind;
use crate::Result;
use graft_data::preprocess::{Normalization, Preprocess};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// Training-time augmentation; each part can be switched off.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Augment {
    /// RandomResizedCrop's area range (torchvision default 0.08..1); `None` switches it off.
    pub crop_scale: Option<(f64, f64)>,
    /// Aspect-ratio range of the crop (torchvision default 3/4..4/3).
    pub crop_ratio: (f64, f64),
    pub hflip: bool,
    /// Brightness, contrast and saturation factors drawn from [1 - j, 1 + j].
    pub jitter: f64,
}

impl Augment {
    /// torchvision's ImageNet fine-tuning recipe, with mild jitter.
    pub fn standard() -> Self {
        Augment {
            crop_scale: Some((0.08, 1.0)),
            crop_ratio: (3.0 / 4.0, 4.0 / 3.0),
            hflip: true,
            jitter: 0.1,
        }
    }

    /// For digits and other small images where a flip changes the class and tiny crops erase it.
    pub fn digits() -> Self {
        Augment {
            crop_scale: Some((0.7, 1.0)),
            crop_ratio: (0.9, 1.1),
            hflip: false,
            jitter: 0.0,
        }
    }

    pub fn none() -> Self {
        Augment {
            crop_scale: None,
            crop_ratio: (1.0, 1.0),
            hflip: false,
            jitter: 0.0,
        }
    }
}

/// What the network takes: channels, size and normalisation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputSpec {
    pub channels: i64,
    pub height: i64,
    pub width: i64,
    pub normalization: Normalization,
}

impl InputSpec {
    /// The input a model's preprocessing describes, optionally at another square `size`.
    pub fn from_preprocess(p: &Preprocess, size: Option<i64>) -> Self {
        let (h, w) = p.crop.map_or((224, 224), |(h, w)| (h as i64, w as i64));
        let (h, w) = size.map_or((h, w), |s| (s, s));
        InputSpec {
            channels: p.channels() as i64,
            height: h,
            width: w,
            normalization: p.normalization.clone(),
        }
    }

    /// The input of a text model: token ids pass through untouched (the sizes here are unused).
    pub fn tokens() -> Self {
        InputSpec {
            channels: 1,
            height: 1,
            width: 1,
            normalization: Normalization::UnitRange,
        }
    }

    /// The input of the MLP: feature vectors of `d` values, stored as `d x 1 x 1` (taken as
    /// they are).
    pub fn vectors(d: i64) -> Self {
        InputSpec {
            channels: d,
            height: 1,
            width: 1,
            normalization: Normalization::UnitRange,
        }
    }

    /// The evaluation view: centre crop of `fraction` of each side (the stored images' own
    /// [`crate::train::Samples::center_fraction`]), resized to the input size, channels
    /// matched, normalised. `x` holds floats in [0, 1]; a batch of `kind` tokens passes as
    /// it is.
    pub fn eval_view(&self, kind: SampleKind, x: &Tensor, fraction: f64) -> Result<Tensor> {
        if kind == SampleKind::Tokens {
            return Ok(x.shallow_clone()); // token ids: no pixels to crop or normalise
        }
        let s = x.size();
        let (h, w) = (s[2], s[3]);
        let ch = ((h as f64 * fraction).round() as i64).clamp(1, h);
        let cw = ((w as f64 * fraction).round() as i64).clamp(1, w);
        let top = (h - ch) / 2;
        let left = (w - cw) / 2;
        let x = x.f_narrow(2, top, ch)?.f_narrow(3, left, cw)?;
        self.finish(&x)
    }

    /// The training view: augmentation drawn from `rng`, then as [`InputSpec::eval_view`] of the
    /// whole stored image. The crops and flips of the whole batch are one affine resampling
    /// (bilinear, as torchvision's tensor `resized_crop`, without antialiasing: the crops are
    /// rarely shrunk by more than a few percent), and jitter is per-sample factors, so
    /// augmentation costs a few kernels per batch, not per image.
    pub fn train_view(
        &self,
        kind: SampleKind,
        x: &Tensor,
        aug: &Augment,
        rng: &mut ChaCha8Rng,
    ) -> Result<Tensor> {
        if kind == SampleKind::Tokens {
            return Ok(x.shallow_clone()); // token ids: no pixel augmentation applies
        }
        let s = x.size();
        let (n, c, h, w) = (s[0], s[1], s[2], s[3]);
        if aug.crop_scale.is_none() && !aug.hflip && aug.jitter <= 0.0 {
            // Nothing random to draw: feature vectors, or augmentation switched off.
            return self.finish(x);
        }
        let mut theta = Vec::with_capacity(n as usize * 6);
        for _ in 0..n {
            let (top, left, ch, cw) = match aug.crop_scale {
                Some(scale) => random_resized_crop_box(h, w, scale, aug.crop_ratio, rng),
                None => (0, 0, h, w),
            };
            let flip = aug.hflip && rng.random_bool(0.5);
            // Output coordinate u in [-1, 1] reads input x = sx * u + tx (align_corners=False).
            let sx = cw as f64 / w as f64 * if flip { -1.0 } else { 1.0 };
            let tx = (2 * left + cw) as f64 / w as f64 - 1.0;
            let sy = ch as f64 / h as f64;
            let ty = (2 * top + ch) as f64 / h as f64 - 1.0;
            theta.extend_from_slice(&[sx as f32, 0.0, tx as f32, 0.0, sy as f32, ty as f32]);
        }
        let theta = Tensor::from_slice(&theta)
            .f_view([n, 2, 3])?
            .f_to_device(x.device())?;
        let grid = Tensor::f_affine_grid_generator(&theta, [n, c, self.height, self.width], false)?;
        // Bilinear (0), border padding (1).
        let mut v = x.f_grid_sampler_2d(&grid, 0, 1, false)?;
        if aug.jitter > 0.0 {
            v = jitter(&v, aug.jitter, rng)?;
        }
        self.channels_and_normalise(&v)
    }

    fn finish(&self, x: &Tensor) -> Result<Tensor> {
        let s = x.size();
        let x = if s[2] != self.height || s[3] != self.width {
            resize(x, self.height, self.width)?
        } else {
            x.shallow_clone()
        };
        self.channels_and_normalise(&x)
    }

    fn channels_and_normalise(&self, x: &Tensor) -> Result<Tensor> {
        let c = x.size()[1];
        let x = match (c, self.channels) {
            (a, b) if a == b => x.shallow_clone(),
            (1, 3) => x.f_expand([-1, 3, -1, -1], false)?,
            (3, 1) => luma(x)?,
            (a, b) => {
                return Err(crate::NnError::Invalid(format!(
                    "images have {a} channels and the model takes {b}"
                )))
            }
        };
        normalise(&x, &self.normalization)
    }
}

/// torchvision's `RandomResizedCrop.get_params`: up to 10 draws of area and log-uniform aspect
/// ratio, then a centre crop of the closest valid aspect as fallback.
fn random_resized_crop_box(
    h: i64,
    w: i64,
    scale: (f64, f64),
    ratio: (f64, f64),
    rng: &mut ChaCha8Rng,
) -> (i64, i64, i64, i64) {
    let area = (h * w) as f64;
    let (lr0, lr1) = (ratio.0.ln(), ratio.1.ln());
    for _ in 0..10 {
        let target = area * rng.random_range(scale.0..=scale.1);
        let aspect = if lr1 > lr0 {
            rng.random_range(lr0..lr1).exp()
        } else {
            ratio.0
        };
        let cw = (target * aspect).sqrt().round() as i64;
        let ch = (target / aspect).sqrt().round() as i64;
        if 0 < cw && cw <= w && 0 < ch && ch <= h {
            let top = rng.random_range(0..=h - ch);
            let left = rng.random_range(0..=w - cw);
            return (top, left, ch, cw);
        }
    }
    let in_ratio = w as f64 / h as f64;
    let (ch, cw) = if in_ratio < ratio.0 {
        ((w as f64 / ratio.0).round() as i64, w)
    } else if in_ratio > ratio.1 {
        (h, (h as f64 * ratio.1).round() as i64)
    } else {
        (h, w)
    };
    ((h - ch) / 2, (w - cw) / 2, ch, cw)
}

/// Bilinear resize, antialiased when shrinking (as torchvision's tensor `Resize`).
fn resize(x: &Tensor, h: i64, w: i64) -> Result<Tensor> {
    Ok(x.f_internal_upsample_bilinear2d_aa([h, w], false, None, None)?)
}

/// ITU-R 601-2 luma, PIL's `convert("L")` weights.
fn luma(x: &Tensor) -> Result<Tensor> {
    let wts = Tensor::from_slice(&[0.299f32, 0.587, 0.114])
        .f_to_device(x.device())?
        .f_view([1, 3, 1, 1])?;
    Ok(x.f_mul(&wts)?
        .f_sum_dim_intlist([1i64].as_slice(), true, Kind::Float)?)
}

/// torchvision's ColorJitter brightness, contrast and saturation (in that order), with one
/// factor per sample drawn from [1 - j, 1 + j].
fn jitter(x: &Tensor, j: f64, rng: &mut ChaCha8Rng) -> Result<Tensor> {
    let n = x.size()[0];
    let factors = |rng: &mut ChaCha8Rng| -> Result<Tensor> {
        let f: Vec<f32> = (0..n)
            .map(|_| rng.random_range(1.0 - j..=1.0 + j) as f32)
            .collect();
        Ok(Tensor::from_slice(&f)
            .f_view([n, 1, 1, 1])?
            .f_to_device(x.device())?)
    };
    let (b, c, s) = (factors(rng)?, factors(rng)?, factors(rng)?);
    let x = x.f_mul(&b)?.f_clamp(0.0, 1.0)?;
    let grey = if x.size()[1] == 3 {
        luma(&x)?
    } else {
        x.shallow_clone()
    };
    let mean = grey.f_mean_dim([1i64, 2, 3].as_slice(), true, Kind::Float)?;
    let x = x.f_sub(&mean)?.f_mul(&c)?.f_add(&mean)?.f_clamp(0.0, 1.0)?;
    if x.size()[1] != 3 {
        return Ok(x);
    }
    let g = luma(&x)?;
    Ok(x.f_sub(&g)?.f_mul(&s)?.f_add(&g)?.f_clamp(0.0, 1.0)?)
}

/// Maps [0, 1] pixels to the network's range.
pub fn normalise(x: &Tensor, n: &Normalization) -> Result<Tensor> {
    Ok(match n {
        Normalization::MeanStd { mean, std } => {
            let c = mean.len() as i64;
            let m = Tensor::from_slice(mean)
                .f_to_device(x.device())?
                .f_view([1, c, 1, 1])?;
            let s = Tensor::from_slice(std)
                .f_to_device(x.device())?
                .f_view([1, c, 1, 1])?;
            x.f_sub(&m)?.f_div(&s)?
        }
        Normalization::Centered { center, scale } => x
            .f_mul_scalar(255.0)?
            .f_sub_scalar(*center as f64)?
            .f_div_scalar(*scale as f64)?,
        Normalization::UnitRange => x.shallow_clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn crop_boxes_stay_inside_and_follow_the_seed() {
        let mut a = ChaCha8Rng::seed_from_u64(3);
        let mut b = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..200 {
            let (t, l, h, w) =
                random_resized_crop_box(40, 60, (0.08, 1.0), (0.75, 4.0 / 3.0), &mut a);
            assert!(t >= 0 && l >= 0 && h > 0 && w > 0 && t + h <= 40 && l + w <= 60);
            assert_eq!(
                (t, l, h, w),
                random_resized_crop_box(40, 60, (0.08, 1.0), (0.75, 4.0 / 3.0), &mut b)
            );
        }
    }

    #[test]
    fn eval_view_centre_crops_resizes_and_normalises() {
        let spec = InputSpec {
            channels: 3,
            height: 7,
            width: 7,
            normalization: Normalization::MeanStd {
                mean: vec![0.5; 3],
                std: vec![0.5; 3],
            },
        };
        let x = Tensor::ones([2, 1, 8, 8], (Kind::Float, tch::Device::Cpu));
        let y = spec.eval_view(SampleKind::Pixels, &x, 0.875).unwrap();
        assert_eq!(y.size(), vec![2, 3, 7, 7]);
        assert!((y.mean(Kind::Float).double_value(&[]) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn train_view_has_the_input_size_and_varies() {
        let spec = InputSpec {
            channels: 1,
            height: 12,
            width: 12,
            normalization: Normalization::UnitRange,
        };
        let x = Tensor::rand([4, 1, 16, 16], (Kind::Float, tch::Device::Cpu));
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let px = SampleKind::Pixels;
        let a = spec
            .train_view(px, &x, &Augment::standard(), &mut rng)
            .unwrap();
        let b = spec
            .train_view(px, &x, &Augment::standard(), &mut rng)
            .unwrap();
        assert_eq!(a.size(), vec![4, 1, 12, 12]);
        assert!(a.f_sub(&b).unwrap().abs().max().double_value(&[]) > 1e-3);
    }
}
