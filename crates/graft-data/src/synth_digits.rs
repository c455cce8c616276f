//! Synthetic digits in two domains, so that transfer can be shown end to end without a single
//! file: a clean **source** (light strokes on dark grey, like MNIST or SynDigits) and a shifted
//! **target** (coloured strokes blended into textured colour backgrounds, like MNIST-M; Ganin &
//! Lempitsky 2015, "Unsupervised Domain Adaptation by Backpropagation", Sec. 5).
//!
//! Both domains share one glyph renderer: each digit is a few pen strokes (lines and Bezier
//! curves, two or three handwriting styles per class) bent by a per-sample smooth warp, placed
//! by a random affine map (rotation ±15°, scale 0.75-1.1, shear ±0.3, a shift of a few pixels)
//! and drawn anti-aliased with a random pen width. Only the pen widths and how ink becomes
//! pixels differ between the domains, so what a model learns about digit shapes transfers and
//! what it learns about colours and textures does not.
//!
//! Sample `i` depends on `(domain, seed, i)` alone (its own ChaCha8 stream), so any subset
//! renders the same whatever the thread count, and labels cycle `i % 10`, balanced.

mod glyphs;
mod looks;
mod raster;
#[cfg(test)]
mod tests;
mod texture;

use crate::error::{DataError, Result};
use crate::image_io::luma;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::ops::Range;

/// The number of classes: the digits 0-9.
pub const CLASSES: usize = 10;

/// Which of the two domains to draw from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DigitDomain {
    /// Light grey strokes on a dark, nearly flat background.
    Source,
    /// Coloured strokes blended into textured colour backgrounds, sometimes inverted, blurred
    /// and noisier, with thinner or thicker pens.
    Target,
}

impl DigitDomain {
    /// The domain's name in graft's vocabulary: `"source"` or `"target"`.
    pub fn name(self) -> &'static str {
        match self {
            DigitDomain::Source => "source",
            DigitDomain::Target => "target",
        }
    }

    /// Separates the two domains' random streams for the same seed.
    fn tag(self) -> u64 {
        match self {
            DigitDomain::Source => 0x736f_7572_6365,
            DigitDomain::Target => 0x7461_7267_6574,
        }
    }
}

/// How [`render_with`] draws.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderOptions {
    /// Image side in pixels (square images). Glyph size, pen width and shifts scale with it;
    /// 28 matches MNIST.
    pub side: usize,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions { side: 28 }
    }
}

/// Smallest and largest side [`render_with`] accepts: below 12 px a digit is a blob, and above
/// 256 px the 28 px-era look (pen widths, blur) no longer makes sense.
pub const SIDE_RANGE: std::ops::RangeInclusive<usize> = 12..=256;

/// How [`DigitImages::write_chw`] lays out channels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Colour {
    /// One channel, PIL's `convert("L")` luma, as MNIST-trained models expect.
    Grey,
    /// Three channels, R, G, B.
    Rgb,
}

impl Colour {
    /// Channels per pixel.
    pub fn channels(self) -> usize {
        match self {
            Colour::Grey => 1,
            Colour::Rgb => 3,
        }
    }
}

/// A rendered set of digits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigitImages {
    /// Image side in pixels.
    pub side: usize,
    /// `N x side x side x 3` bytes: sample-major, then rows, columns, RGB (HWC).
    pub pixels: Vec<u8>,
    /// The digit shown by each image, 0-9.
    pub labels: Vec<i64>,
}

impl DigitImages {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Bytes of one image (`side x side x 3`, HWC RGB).
    ///
    /// # Panics
    /// If `i >= self.len()`, like slice indexing.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.side * self.side * 3;
        &self.pixels[i * n..(i + 1) * n]
    }

    /// Writes images `range` into `out` as `[len, C, side, side]` floats in [0, 1] (value / 255),
    /// the layout tensors take, so a training loop can fill its batch buffer without copies.
    pub fn write_chw(&self, range: Range<usize>, colour: Colour, out: &mut [f32]) -> Result<()> {
        if range.start > range.end || range.end > self.len() {
            return Err(DataError::Options(format!(
                "synthetic digits: image range {}..{} is outside the {} images rendered",
                range.start,
                range.end,
                self.len()
            )));
        }
        let (hw, c) = (self.side * self.side, colour.channels());
        let want = range.len() * c * hw;
        if out.len() != want {
            return Err(DataError::Options(format!(
                "synthetic digits: output buffer holds {} values, expected {want} \
                 ({} images x {c} channels x {} x {})",
                out.len(),
                range.len(),
                self.side,
                self.side
            )));
        }
        let src = &self.pixels[range.start * hw * 3..range.end * hw * 3];
        for (img, dst) in src.chunks_exact(hw * 3).zip(out.chunks_exact_mut(c * hw)) {
            match colour {
                Colour::Grey => {
                    for (d, px) in dst.iter_mut().zip(img.chunks_exact(3)) {
                        *d = luma(px) as f32 / 255.0;
                    }
                }
                Colour::Rgb => {
                    for (p, px) in img.chunks_exact(3).enumerate() {
                        for (k, &v) in px.iter().enumerate() {
                            dst[k * hw + p] = v as f32 / 255.0;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// `n` 28 x 28 images of `domain`, in parallel; labels cycle 0-9.
pub fn render(domain: DigitDomain, n: usize, seed: u64) -> DigitImages {
    render_side(domain, n, seed, RenderOptions::default().side)
}

/// [`render`] with options; fails on a side outside [`SIDE_RANGE`].
pub fn render_with(
    domain: DigitDomain,
    n: usize,
    seed: u64,
    options: &RenderOptions,
) -> Result<DigitImages> {
    if !SIDE_RANGE.contains(&options.side) {
        return Err(DataError::Options(format!(
            "synthetic digits: side must be {} to {} pixels, got {}",
            SIDE_RANGE.start(),
            SIDE_RANGE.end(),
            options.side
        )));
    }
    Ok(render_side(domain, n, seed, options.side))
}

fn render_side(domain: DigitDomain, n: usize, seed: u64, side: usize) -> DigitImages {
    let mut pixels = vec![0u8; n * side * side * 3];
    pixels
        .par_chunks_mut(side * side * 3)
        .enumerate()
        .for_each_init(Scratch::default, |s, (i, out)| {
            render_one(domain, seed, i, side, s, out)
        });
    DigitImages {
        side,
        pixels,
        labels: (0..n).map(|i| (i % CLASSES) as i64).collect(),
    }
}

/// Buffers reused across the images one thread renders.
#[derive(Default)]
struct Scratch {
    chords: Vec<[glyphs::P; 2]>,
    dist2: Vec<f32>,
    cover: Vec<f32>,
    rgb: Vec<texture::Rgb>,
    noise: Vec<f32>,
    mask: Vec<f32>,
    layer: Vec<texture::Rgb>,
    blur: Vec<texture::Rgb>,
}

/// The random stream of one sample: the ChaCha8 key is (seed, index, domain), so streams of
/// different samples, seeds and domains never overlap.
fn sample_rng(domain: DigitDomain, seed: u64, i: usize) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&(i as u64).to_le_bytes());
    key[16..24].copy_from_slice(&domain.tag().to_le_bytes());
    key[24..].copy_from_slice(b"digits\0\0");
    ChaCha8Rng::from_seed(key)
}

fn render_one(
    domain: DigitDomain,
    seed: u64,
    i: usize,
    side: usize,
    s: &mut Scratch,
    out: &mut [u8],
) {
    let mut rng = sample_rng(domain, seed, i);
    glyphs::sample(i % CLASSES, &mut rng, &mut s.chords);
    let pose = raster::Pose::sample(&mut rng, side);
    let px = side as f32 / 28.0;
    let width = px
        * match domain {
            DigitDomain::Source => looks::source_width(&mut rng),
            DigitDomain::Target => looks::target_width(&mut rng),
        };
    let mut cover = std::mem::take(&mut s.cover);
    let mut rgb = std::mem::take(&mut s.rgb);
    cover.resize(side * side, 0.0);
    rgb.resize(side * side, [0.0; 3]);
    raster::cover(&s.chords, &pose, width, side, &mut s.dist2, &mut cover);
    match domain {
        DigitDomain::Source => looks::source(&mut rng, &cover, side, &mut rgb),
        DigitDomain::Target => looks::target(&mut rng, &cover, side, s, &mut rgb),
    }
    for (o, p) in out.chunks_exact_mut(3).zip(&rgb) {
        for (b, &v) in o.iter_mut().zip(p) {
            *b = (v.clamp(0.0, 1.0) * 255.0 + 0.5) as u8;
        }
    }
    s.cover = cover;
    s.rgb = rgb;
}

/// Uniform in `[lo, hi)`.
fn uniform(rng: &mut ChaCha8Rng, lo: f32, hi: f32) -> f32 {
    lo + (hi - lo) * rng.random::<f32>()
}

/// Pixel noise: a SplitMix64 stream (Steele et al. 2014, "Fast splittable pseudorandom number
/// generators", Fig. 16) keyed from the sample's ChaCha8 stream, read as the Irwin-Hall sum of
/// four 16-bit uniforms, centred and scaled to unit variance. Pixel noise needs a bell shape,
/// not Gaussian tails or cryptographic quality, and this is several times cheaper than
/// Box-Muller on ChaCha8 over the millions of draws a demo makes.
struct PixelNoise(u64);

impl PixelNoise {
    fn new(rng: &mut ChaCha8Rng) -> Self {
        PixelNoise(rng.next_u64())
    }

    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        let sum = (z & 0xffff) + ((z >> 16) & 0xffff) + ((z >> 32) & 0xffff) + (z >> 48);
        // Sum of 4 U(0,1): mean 2, variance 4/12.
        (sum as f32 / 65536.0 - 2.0) * 3.0f32.sqrt()
    }
}
