//! How raw pixels become a model's input tensor. Each backbone carries its own `Preprocess`
//! (the recipe its weights were trained with), so extraction never guesses.

use serde::{Deserialize, Serialize};

/// Resampling filter for the shorter-side resize. Both are antialiased as PIL does when
/// downscaling (the filter support grows with the scale factor), so graft's inputs match
/// torchvision's `Resize` on PIL images.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interpolation {
    Bilinear,
    Bicubic,
}

/// Channel layout of the input tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColorMode {
    Rgb,
    Bgr,
    /// One channel, ITU-R 601-2 luma as PIL's `convert("L")`.
    Gray,
}

/// Map from 8-bit pixel values to the network's input range.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Normalization {
    /// `(p / 255 - mean[c]) / std[c]`, torchvision's `ToTensor` + `Normalize`.
    MeanStd { mean: Vec<f32>, std: Vec<f32> },
    /// `(p - center) / scale` on raw 0..255 values; EfficientNet-Lite uses 127 / 128.
    Centered { center: f32, scale: f32 },
    /// `p / 255`, no further normalisation.
    UnitRange,
}

impl Normalization {
    pub fn imagenet() -> Self {
        Normalization::MeanStd {
            mean: vec![0.485, 0.456, 0.406],
            std: vec![0.229, 0.224, 0.225],
        }
    }
}

/// The whole preprocessing recipe: resize shorter side, centre crop, colour, normalise.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Preprocess {
    /// Resize so that the shorter side has this length (aspect ratio kept); `None` keeps the size.
    pub resize_shorter: Option<u32>,
    /// Centre crop to (height, width) after resizing; `None` keeps the resized image whole.
    pub crop: Option<(u32, u32)>,
    pub interpolation: Interpolation,
    pub color: ColorMode,
    pub normalization: Normalization,
}

impl Preprocess {
    /// RGB images with the shorter side resized to `resize`, then a centred `crop` x `crop`
    /// square: the ImageNet evaluation transform nearly every published recipe uses.
    pub fn resize_crop(
        resize: u32,
        crop: u32,
        interpolation: Interpolation,
        normalization: Normalization,
    ) -> Self {
        Preprocess {
            resize_shorter: Some(resize),
            crop: Some((crop, crop)),
            interpolation,
            color: ColorMode::Rgb,
            normalization,
        }
    }

    /// torchvision's `IMAGENET1K_V1` transforms: shorter side to `resize` (256 for ResNet and
    /// ViT-B/16, 236 for ConvNeXt), bilinear, crop 224, ImageNet statistics.
    pub fn torchvision(resize: u32) -> Self {
        Preprocess::resize_crop(
            resize,
            224,
            Interpolation::Bilinear,
            Normalization::imagenet(),
        )
    }

    /// timm's eval transform for a pretrained configuration (`input_size`, `crop_pct`):
    /// shorter side to `floor(size / crop_pct)`, bicubic, centre crop `size`.
    pub fn timm(size: u32, crop_pct: f64, normalization: Normalization) -> Self {
        let resize = (size as f64 / crop_pct).floor() as u32;
        Preprocess::resize_crop(resize, size, Interpolation::Bicubic, normalization)
    }

    /// Number of channels of the tensors this recipe produces.
    pub fn channels(&self) -> usize {
        match self.color {
            ColorMode::Gray => 1,
            ColorMode::Rgb | ColorMode::Bgr => 3,
        }
    }
}
