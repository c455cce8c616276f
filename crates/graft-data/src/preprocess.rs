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
    /// Number of channels of the tensors this recipe produces.
    pub fn channels(&self) -> usize {
        match self.color {
            ColorMode::Gray => 1,
            ColorMode::Rgb | ColorMode::Bgr => 3,
        }
    }
}
