//! Training data held in memory as one tensor of stored samples (pixels, tokens or vectors):
//! fine-tuning sets are small, and keeping decoded images lets every epoch draw new random
//! crops without decoding again.

use crate::{NnError, Result};
use graft_data::ArrayDataset;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tch::{Kind, Tensor};

/// What a set's samples are. Explicit, so that no code guesses it from a tensor's dtype or
/// shape: a kind added later (audio) gets its own arm wherever the kinds differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SampleKind {
    /// Images, `N x C x H x W`, bytes or floats in [0, 1].
    Pixels,
    /// Tokenised texts: ids, attention mask and token types packed as `N x 3 x 1 x L` int64.
    Tokens,
    /// Feature vectors, `N x D x 1 x 1` floats.
    Vectors,
}

/// A labelled (or unlabelled) set held as one tensor, of an explicit [`SampleKind`], that the
/// engine batches, augments (pixels only) and evaluates the same way whatever the kind.
/// Pixels are `u8` (0..255) or `f32` in [0, 1].
#[derive(Debug)]
pub struct Samples {
    pub kind: SampleKind,
    /// The samples, laid out as their kind says.
    pub images: Tensor,
    /// Class index per image, `i64`; -1 marks an unlabelled image.
    pub labels: Vec<i64>,
    pub class_names: Vec<String>,
    /// Where the data came from, for messages.
    pub source: String,
    /// Side fraction of the centred evaluation view: image folders are stored at the model's
    /// resize size (256) and evaluated on their centre crop (224/256); arrays whole (1.0).
    pub center_fraction: f64,
}

impl Samples {
    /// Wraps `N x H x W x C` bytes (HWC, as images are decoded).
    pub fn from_hwc_u8(
        pixels: &[u8],
        shape: [usize; 4],
        labels: Vec<i64>,
        class_names: Vec<String>,
        source: impl Into<String>,
    ) -> Result<Self> {
        let [n, h, w, c] = shape;
        let source = source.into();
        if pixels.len() != n * h * w * c || labels.len() != n {
            return Err(NnError::Invalid(format!(
                "{source}: {} pixel values and {} labels do not make {n} images of {h}x{w}x{c}",
                pixels.len(),
                labels.len()
            )));
        }
        let images = Tensor::from_slice(pixels)
            .f_view([n as i64, h as i64, w as i64, c as i64])?
            .f_permute([0, 3, 1, 2])?
            .f_contiguous()?;
        Self::new(images, labels, class_names, source)
    }

    /// Images, `N x C x H x W` (bytes, or floats in [0, 1]).
    pub fn new(
        images: Tensor,
        labels: Vec<i64>,
        class_names: Vec<String>,
        source: String,
    ) -> Result<Self> {
        Self::of_kind(SampleKind::Pixels, images, labels, class_names, source)
    }

    /// Samples of `kind` laid out as [`SampleKind`] describes.
    pub fn of_kind(
        kind: SampleKind,
        images: Tensor,
        labels: Vec<i64>,
        class_names: Vec<String>,
        source: String,
    ) -> Result<Self> {
        let size = images.size();
        if size.len() != 4 || size[0] as usize != labels.len() {
            return Err(NnError::Invalid(format!(
                "{source}: expected N x C x H x W images with one label each; got shape {size:?} \
                 and {} labels",
                labels.len()
            )));
        }
        if let Some(&bad) = labels
            .iter()
            .find(|&&l| l < -1 || l >= class_names.len() as i64)
        {
            return Err(NnError::Invalid(format!(
                "{source}: label {bad} is outside 0..{} (the classes are {})",
                class_names.len(),
                class_names.join(", ")
            )));
        }
        Ok(Samples {
            kind,
            images,
            labels,
            class_names,
            source,
            center_fraction: 1.0,
        })
    }

    /// Tokenised texts (ids, attention mask and token types, each `n x len` row-major) as `N`
    /// int64 "images" of shape `(3, 1, len)`, so the engine trains a text encoder with the same
    /// loop, checkpoints and metrics as an image model; [`Samples::batch_unit`] cuts each
    /// batch to its longest text.
    #[allow(clippy::too_many_arguments)]
    pub fn from_tokens(
        ids: &[i64],
        mask: &[i64],
        types: &[i64],
        n: usize,
        len: usize,
        labels: Vec<i64>,
        class_names: Vec<String>,
        source: impl Into<String>,
    ) -> Result<Self> {
        let t = crate::models::bert::pack_tokens(ids, mask, types, n, len)?
            .f_view([n as i64, 3, 1, len as i64])?;
        Self::of_kind(SampleKind::Tokens, t, labels, class_names, source.into())
    }

    /// True when the samples are token ids ([`Samples::from_tokens`]), not pixels.
    pub fn is_tokens(&self) -> bool {
        self.kind == SampleKind::Tokens
    }

    /// Feature vectors `(N, D)` as `N` one-pixel images of `D` channels, so the engine trains
    /// an MLP on them as it trains a CNN on images.
    pub fn from_features(
        x: &[f32],
        n: usize,
        d: usize,
        labels: Vec<i64>,
        class_names: Vec<String>,
        source: impl Into<String>,
    ) -> Result<Self> {
        let source = source.into();
        if x.len() != n * d {
            return Err(NnError::Invalid(format!(
                "{source}: {} values do not make {n} feature vectors of {d}",
                x.len()
            )));
        }
        let t = Tensor::from_slice(x).f_view([n as i64, d as i64, 1, 1])?;
        Self::of_kind(SampleKind::Vectors, t, labels, class_names, source)
    }

    /// Images from an array file: `sample_shape` `[H, W]`, `[C, H, W]`, `[H, W, C]` (C of 1 or 3)
    /// or a flat `[D]` with D a square (grey) or three squares (RGB, CHW). Values in 0..255 are
    /// kept as bytes; values in [0, 1] as floats.
    pub fn from_arrays(ds: &ArrayDataset) -> Result<Self> {
        let source = ds.source.display().to_string();
        let (c, h, w, hwc) = image_shape(&ds.sample_shape).ok_or_else(|| {
            NnError::Invalid(format!(
                "{source}: samples of shape {:?} are not images; expected [H, W], [C, H, W], \
                 [H, W, C] or a flat square size such as 256 (16x16)",
                ds.sample_shape
            ))
        })?;
        let labels = ds.y.clone().ok_or_else(|| {
            NnError::Invalid(format!("{source}: no labels found; training needs labels"))
        })?;
        if let Some(i) = ds.x.iter().position(|v| !v.is_finite()) {
            return Err(NnError::Invalid(format!(
                "{source}: sample {} has a non-finite value",
                i / ds.dim().max(1)
            )));
        }
        let max = ds.x.iter().cloned().fold(0.0f64, f64::max);
        let min = ds.x.iter().cloned().fold(0.0f64, f64::min);
        if min < 0.0 || max > 255.0 {
            return Err(NnError::Invalid(format!(
                "{source}: pixel values span {min}..{max}; expected 0..255 or 0..1"
            )));
        }
        let n = ds.n as i64;
        let t = if max > 1.0 {
            let bytes: Vec<u8> = ds.x.iter().map(|&v| v.round() as u8).collect();
            Tensor::from_slice(&bytes)
        } else {
            let f: Vec<f32> = ds.x.iter().map(|&v| v as f32).collect();
            Tensor::from_slice(&f)
        };
        let t = if hwc {
            t.f_view([n, h, w, c])?
                .f_permute([0, 3, 1, 2])?
                .f_contiguous()?
        } else {
            t.f_view([n, c, h, w])?
        };
        let k = ds.num_classes();
        let class_names = match &ds.class_names {
            Some(names) => names.clone(),
            None => (0..k).map(|i| i.to_string()).collect(),
        };
        Self::new(t, labels, class_names, source)
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }

    pub fn channels(&self) -> i64 {
        self.images.size()[1]
    }

    /// Stored height and width.
    pub fn hw(&self) -> (i64, i64) {
        let s = self.images.size();
        (s[2], s[3])
    }

    /// The images at `idx` as floats in [0, 1]; for texts, the packed tokens `(B, 3, L)` cut to
    /// the batch's longest text (padding beyond it changes nothing but costs time).
    pub fn batch_unit(&self, idx: &[i64]) -> Result<Tensor> {
        let t = self.images.f_index_select(0, &Tensor::from_slice(idx))?;
        if self.is_tokens() {
            let s = t.size();
            let t = t.f_view([s[0], 3, s[3]])?;
            let longest = t.f_select(1, 1)?.f_sum_dim_intlist(1, false, Kind::Int64)?;
            let longest = longest.f_max()?.int64_value(&[]).max(1);
            return Ok(t.f_narrow(2, 0, longest)?);
        }
        Ok(if t.kind() == Kind::Uint8 {
            t.f_to_kind(Kind::Float)?.f_div_scalar(255.0)?
        } else {
            t.f_to_kind(Kind::Float)?
        })
    }

    /// A new set holding the samples at `idx`, in that order.
    pub fn select(&self, idx: &[i64]) -> Result<Self> {
        Ok(Samples {
            kind: self.kind,
            images: self.images.f_index_select(0, &Tensor::from_slice(idx))?,
            labels: idx.iter().map(|&i| self.labels[i as usize]).collect(),
            class_names: self.class_names.clone(),
            source: self.source.clone(),
            center_fraction: self.center_fraction,
        })
    }

    /// Classes that have no labelled sample, for a clear error before training starts.
    pub fn empty_classes(&self) -> Vec<&str> {
        let mut seen = vec![false; self.num_classes()];
        for &l in &self.labels {
            if l >= 0 {
                seen[l as usize] = true;
            }
        }
        self.class_names
            .iter()
            .zip(seen)
            .filter(|(_, s)| !s)
            .map(|(n, _)| n.as_str())
            .collect()
    }
}

fn image_shape(shape: &[usize]) -> Option<(i64, i64, i64, bool)> {
    let sq = |d: usize| {
        let s = (d as f64).sqrt().round() as usize;
        (s * s == d).then_some(s as i64)
    };
    match *shape {
        [d] => match sq(d) {
            Some(s) => Some((1, s, s, false)),
            None if d % 3 == 0 => sq(d / 3).map(|s| (3, s, s, false)),
            None => None,
        },
        [h, w] => Some((1, h as i64, w as i64, false)),
        [c, h, w] if c == 1 || c == 3 => Some((c as i64, h as i64, w as i64, false)),
        [h, w, c] if c == 1 || c == 3 => Some((c as i64, h as i64, w as i64, true)),
        _ => None,
    }
}

/// Stacks two input batches, as the adaptation step stacks its source and target halves. Token
/// batches are each cut to their own longest text, so the shorter is padded (id 0, mask 0: a
/// padded position changes no kept token's state) to the other's length first.
pub fn cat_inputs(kind: SampleKind, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    if kind == SampleKind::Tokens && a.dim() == 3 && b.dim() == 3 {
        let (la, lb) = (a.size()[2], b.size()[2]);
        let pad = |t: &Tensor, by: i64| -> Result<Tensor> {
            Ok(if by > 0 {
                t.f_constant_pad_nd([0, by])?
            } else {
                t.shallow_clone()
            })
        };
        return Ok(Tensor::f_cat(&[pad(a, lb - la)?, pad(b, la - lb)?], 0)?);
    }
    Ok(Tensor::f_cat(&[a, b], 0)?)
}

/// Per class, the indices of the samples, in order.
fn by_class(labels: &[i64]) -> Vec<Vec<i64>> {
    let k = labels.iter().copied().max().map_or(0, |m| m + 1).max(0) as usize;
    let mut out = vec![Vec::new(); k];
    for (i, &l) in labels.iter().enumerate() {
        if l >= 0 {
            out[l as usize].push(i as i64);
        }
    }
    out
}

/// `k` samples of each class drawn at random (all of a class that has fewer), sorted. The
/// few-label budgets of transfer experiments ("10 labels per class") are drawn this way.
pub fn labels_per_class(labels: &[i64], k: usize, seed: u64) -> Vec<i64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    for mut idx in by_class(labels) {
        idx.shuffle(&mut rng);
        out.extend(idx.into_iter().take(k));
    }
    out.sort_unstable();
    out
}

/// Splits off `fraction` of every class (at least one sample of each class that has two or
/// more) as a validation set: `(train, validation)` indices, sorted.
pub fn stratified_split(labels: &[i64], fraction: f64, seed: u64) -> (Vec<i64>, Vec<i64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut train, mut val) = (Vec::new(), Vec::new());
    for mut idx in by_class(labels) {
        idx.shuffle(&mut rng);
        let n_val = if idx.len() < 2 {
            0
        } else {
            ((idx.len() as f64 * fraction).round() as usize).clamp(1, idx.len() - 1)
        };
        val.extend_from_slice(&idx[..n_val]);
        train.extend_from_slice(&idx[n_val..]);
    }
    train.sort_unstable();
    val.sort_unstable();
    (train, val)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_per_class_takes_k_of_each_deterministically() {
        let labels: Vec<i64> = (0..100).map(|i| i % 4).collect();
        let a = labels_per_class(&labels, 3, 7);
        assert_eq!(a.len(), 12);
        for c in 0..4 {
            assert_eq!(a.iter().filter(|&&i| labels[i as usize] == c).count(), 3);
        }
        assert_eq!(a, labels_per_class(&labels, 3, 7));
        assert_ne!(a, labels_per_class(&labels, 3, 8));
    }

    #[test]
    fn stratified_split_keeps_every_class_on_both_sides() {
        let labels: Vec<i64> = (0..50).map(|i| i % 5).collect();
        let (t, v) = stratified_split(&labels, 0.2, 1);
        assert_eq!(t.len() + v.len(), 50);
        assert_eq!(v.len(), 10);
        for c in 0..5 {
            assert!(v.iter().any(|&i| labels[i as usize] == c));
            assert!(t.iter().any(|&i| labels[i as usize] == c));
        }
    }

    #[test]
    fn flat_square_arrays_become_grey_images() {
        let ds = ArrayDataset {
            x: (0..2 * 16).map(|v| (v % 16) as f64 / 15.0).collect(),
            n: 2,
            sample_shape: vec![16],
            y: Some(vec![0, 1]),
            class_names: None,
            source: "t.npz".into(),
        };
        let t = Samples::from_arrays(&ds).unwrap();
        assert_eq!(t.images.size(), vec![2, 1, 4, 4]);
        assert_eq!(t.num_classes(), 2);
        let b = t.batch_unit(&[1]).unwrap();
        assert!((b.max().double_value(&[]) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn out_of_range_labels_are_refused() {
        let err = Samples::new(
            Tensor::zeros([2, 1, 2, 2], (Kind::Uint8, tch::Device::Cpu)),
            vec![0, 5],
            vec!["a".into(), "b".into()],
            "x".into(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("label 5"), "{err}");
    }
}
