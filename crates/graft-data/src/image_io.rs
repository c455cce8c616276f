//! Decoding image files and turning them into a network's input, the way torchvision does on PIL
//! images: `Resize(shorter side)` → `CenterCrop` → optional grey → `ToTensor` + normalisation.
//! The resize is PIL's own algorithm (see `resample`), the geometry follows torchvision's
//! rounding rules, so graft's inputs match PyTorch pipelines to the 8-bit level on PNGs.

use crate::error::{DataError, Result};
pub use crate::jpeg_reduced::DecodeSize;
use crate::jpeg_reduced::{decode_reduced, draft_reduction};
use crate::preprocess::{ColorMode, Interpolation, Normalization, Preprocess};
use crate::resample::{self, Filter, Weights};
use image::{DynamicImage, RgbImage};
use std::cell::RefCell;
use std::path::Path;

/// Reads and decodes `path` (JPEG, PNG, WebP or BMP, recognised by content) into 8-bit RGB.
/// Grey images are replicated to three channels, alpha is dropped (as PIL's `convert("RGB")`),
/// 16-bit images keep their high byte (as PIL does for 16-bit RGB PNGs). EXIF orientation is
/// ignored, as torchvision's loader ignores it.
pub fn decode_rgb(path: &Path) -> Result<RgbImage> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, "read", e))?;
    decode_rgb_bytes(&bytes, path)
}

/// [`decode_rgb`] for bytes already in memory; `path` is only used in error messages.
pub fn decode_rgb_bytes(bytes: &[u8], path: &Path) -> Result<RgbImage> {
    let (format, _) = check_header(bytes, path)?;
    decode_full(bytes, format, path)
}

/// An image decoded for a preprocessing recipe: at full size, or a JPEG decoded at 1/k of it
/// (see [`DecodeSize`]). Preprocessing takes its geometry from the full size, so the tensor has
/// the same shape and framing either way.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    image: RgbImage,
    full_size: (u32, u32),
    reduction: u32,
}

impl Decoded {
    /// An image decoded at full size.
    pub fn full(image: RgbImage) -> Self {
        Decoded {
            full_size: image.dimensions(),
            image,
            reduction: 1,
        }
    }

    /// The pixels decoded: `ceil(w / k)` x `ceil(h / k)` of the full size.
    pub fn image(&self) -> &RgbImage {
        &self.image
    }

    /// (width, height) the file declares.
    pub fn full_size(&self) -> (u32, u32) {
        self.full_size
    }

    /// The DCT reduction k the image was decoded at: 1 (full size), 2, 4 or 8.
    pub fn reduction(&self) -> u32 {
        self.reduction
    }
}

/// Reads and decodes `path` for recipe `p`: as [`decode_rgb`], except that with
/// [`DecodeSize::Reduced`] a JPEG the recipe shrinks at least 4x is decoded at 1/2, 1/4 or 1/8
/// of its size (PIL `Image.draft` / libjpeg scaled DCT), several times faster.
pub fn decode_for(path: &Path, p: &Preprocess, size: DecodeSize) -> Result<Decoded> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, "read", e))?;
    decode_bytes_for(&bytes, path, p, size)
}

/// [`decode_for`] for bytes already in memory; `path` is only used in error messages.
pub fn decode_bytes_for(
    bytes: &[u8],
    path: &Path,
    p: &Preprocess,
    size: DecodeSize,
) -> Result<Decoded> {
    let (format, declared) = check_header(bytes, path)?;
    if let (DecodeSize::Reduced, image::ImageFormat::Jpeg, Some((w, h)), Some(_)) =
        (size, format, declared, p.resize_shorter)
    {
        let k = draft_reduction(w, h, resized_wh(w, h, p.resize_shorter));
        if k > 1 {
            // The header the size came from and the decoder's must agree, or the framing would
            // be off: anything else goes the full-size way.
            let reduced = decode_reduced(bytes, k)
                .filter(|i| i.dimensions() == (w.div_ceil(k), h.div_ceil(k)));
            if let Some(image) = reduced {
                return Ok(Decoded {
                    image,
                    full_size: (w, h),
                    reduction: k,
                });
            }
        }
    }
    decode_full(bytes, format, path).map(Decoded::full)
}

/// The format of `bytes` and the size it declares, refusing decompression bombs before any
/// pixel is decoded.
fn check_header(bytes: &[u8], path: &Path) -> Result<(image::ImageFormat, Option<(u32, u32)>)> {
    let err = |reason: String| DataError::Image {
        path: path.to_path_buf(),
        reason,
    };
    let format = image::guess_format(bytes).map_err(|_| {
        err("not a recognised image format (expected JPEG, PNG, WebP or BMP)".into())
    })?;
    if format == image::ImageFormat::Jpeg && !crate::jpeg_reduced::complete(bytes) {
        return Err(err(
            "truncated: the JPEG ends before its end-of-image marker (a cut download or copy); \
             graft refuses it as PIL does rather than decode the missing part as grey \
             (--skip-bad leaves such files out and counts them)"
                .into(),
        ));
    }
    let declared = declared_size(bytes);
    if let Some((w, h)) = declared {
        let pixels = w as u64 * h as u64;
        if pixels > MAX_IMAGE_PIXELS {
            return Err(err(format!(
                "declares {w}x{h} = {pixels} pixels, more than the {MAX_IMAGE_PIXELS} graft \
                 decodes (PIL's decompression-bomb limit); a file this size is more likely \
                 hostile than a photo"
            )));
        }
    }
    Ok((format, declared))
}

fn decode_full(bytes: &[u8], format: image::ImageFormat, path: &Path) -> Result<RgbImage> {
    let img = image::load_from_memory_with_format(bytes, format).map_err(|e| DataError::Image {
        path: path.to_path_buf(),
        reason: format!("{format:?}: {e}"),
    })?;
    Ok(to_rgb8(img))
}

/// PIL's decompression-bomb limit (twice `Image.MAX_IMAGE_PIXELS` = 89,478,485): an image that
/// declares more pixels is refused before decoding, so a few hostile bytes cannot make the
/// loader allocate and fill gigabytes.
pub const MAX_IMAGE_PIXELS: u64 = 2 * 89_478_485;

/// The (width, height) an encoded image declares in its header, read without decoding it; `None`
/// when the header does not parse. Decoding time grows with this size, not with the file's.
pub fn declared_size(bytes: &[u8]) -> Option<(u32, u32)> {
    image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .ok()?
        .into_dimensions()
        .ok()
}

fn to_rgb8(img: DynamicImage) -> RgbImage {
    fn high_byte<const N: usize>(
        w: u32,
        h: u32,
        raw: &[u16],
        map: impl Fn(&[u16]) -> [u8; 3],
    ) -> RgbImage {
        let data: Vec<u8> = raw.chunks_exact(N).flat_map(map).collect();
        RgbImage::from_raw(w, h, data).expect("3 bytes per pixel")
    }
    let (w, h) = (img.width(), img.height());
    match img {
        DynamicImage::ImageRgb8(i) => i,
        DynamicImage::ImageRgb16(i) => high_byte::<3>(w, h, i.as_raw(), |p| {
            [(p[0] >> 8) as u8, (p[1] >> 8) as u8, (p[2] >> 8) as u8]
        }),
        DynamicImage::ImageRgba16(i) => high_byte::<4>(w, h, i.as_raw(), |p| {
            [(p[0] >> 8) as u8, (p[1] >> 8) as u8, (p[2] >> 8) as u8]
        }),
        DynamicImage::ImageLuma16(i) => {
            high_byte::<1>(w, h, i.as_raw(), |p| [(p[0] >> 8) as u8; 3])
        }
        DynamicImage::ImageLumaA16(i) => {
            high_byte::<2>(w, h, i.as_raw(), |p| [(p[0] >> 8) as u8; 3])
        }
        other => other.into_rgb8(),
    }
}

/// Size (height, width) of every tensor `p` produces, when that does not depend on the image
/// (a crop is set).
pub fn output_hw(p: &Preprocess) -> Option<(u32, u32)> {
    p.crop
}

/// Size (width, height) after torchvision's `Resize(size)` of a `w` x `h` image: the shorter
/// side becomes `size`, the longer `int(size * long / short)` (truncated, as torchvision does).
pub fn resized_wh(w: u32, h: u32, resize_shorter: Option<u32>) -> (u32, u32) {
    let Some(s) = resize_shorter else {
        return (w, h);
    };
    let (short, long) = if w <= h { (w, h) } else { (h, w) };
    // Python: int(size * long / short): exact integer product, correctly rounded division.
    let new_long = ((s as u64 * long as u64) as f64 / short as f64) as u32;
    if w <= h {
        (s, new_long)
    } else {
        (new_long, s)
    }
}

/// First kept coordinate of torchvision's `CenterCrop` along one axis, in the (unpadded) image:
/// `int(round((size - crop) / 2))` with Python's round-half-to-even; when the crop is larger
/// torchvision pads `(crop - size) // 2` zeros before the image, so the start is negative.
fn crop_start(size: u32, crop: u32) -> i64 {
    if crop > size {
        -(((crop - size) / 2) as i64)
    } else {
        let d = (size - crop) as i64;
        let half = d / 2;
        if d % 2 == 1 && half % 2 == 1 {
            half + 1
        } else {
            half
        }
    }
}

/// A validated recipe with its normalisation tables, ready to run on many images.
#[derive(Clone, Debug)]
pub struct Preprocessor {
    p: Preprocess,
    /// Per output channel, the float value of each 8-bit level: one table look-up per value
    /// and bit-identical to torchvision's float32 arithmetic.
    lut: Vec<[f32; 256]>,
}

impl Preprocessor {
    /// Checks `p` (non-zero sizes, one mean/std per channel or one for all, non-zero scales).
    pub fn new(p: &Preprocess) -> Result<Self> {
        let bad = |m: String| Err(DataError::Preprocess(m));
        if p.resize_shorter == Some(0) {
            return bad("resize_shorter must be at least 1".into());
        }
        if let Some((h, w)) = p.crop {
            if h == 0 || w == 0 {
                return bad(format!("crop must be at least 1x1, got {h}x{w}"));
            }
        }
        let c = p.channels();
        let mut lut = vec![[0f32; 256]; c];
        match &p.normalization {
            Normalization::MeanStd { mean, std } => {
                for (name, v) in [("mean", mean), ("std", std)] {
                    if v.len() != c && v.len() != 1 {
                        return bad(format!(
                            "normalization {name} has {} values; expected {c} (one per channel) or 1",
                            v.len()
                        ));
                    }
                }
                if let Some(s) = std.iter().find(|s| **s == 0.0 || !s.is_finite()) {
                    return bad(format!(
                        "normalization std must be finite and non-zero, got {s}"
                    ));
                }
                for (ch, t) in lut.iter_mut().enumerate() {
                    let (m, s) = (mean[ch.min(mean.len() - 1)], std[ch.min(std.len() - 1)]);
                    for (v, x) in t.iter_mut().enumerate() {
                        *x = (v as f32 / 255.0 - m) / s;
                    }
                }
            }
            Normalization::Centered { center, scale } => {
                if *scale == 0.0 || !scale.is_finite() {
                    return bad(format!(
                        "normalization scale must be finite and non-zero, got {scale}"
                    ));
                }
                for t in lut.iter_mut() {
                    for (v, x) in t.iter_mut().enumerate() {
                        *x = (v as f32 - center) / scale;
                    }
                }
            }
            Normalization::UnitRange => {
                for t in lut.iter_mut() {
                    for (v, x) in t.iter_mut().enumerate() {
                        *x = v as f32 / 255.0;
                    }
                }
            }
        }
        Ok(Preprocessor { p: p.clone(), lut })
    }

    pub fn recipe(&self) -> &Preprocess {
        &self.p
    }

    /// (channels, height, width) of the tensor produced from a `w` x `h` image.
    pub fn output_shape(&self, w: u32, h: u32) -> (usize, usize, usize) {
        let (rw, rh) = resized_wh(w, h, self.p.resize_shorter);
        let (ch, cw) = self.p.crop.unwrap_or((rh, rw));
        (self.p.channels(), ch as usize, cw as usize)
    }

    /// CHW float tensor of `img`.
    pub fn run(&self, img: &RgbImage) -> Result<Vec<f32>> {
        let (c, h, w) = self.output_shape(img.width(), img.height());
        let mut out = vec![0f32; c * h * w];
        self.run_into(img, &mut out)?;
        Ok(out)
    }

    /// Writes the CHW tensor of `img` into `out`, whose length must be the product of
    /// [`Self::output_shape`]. Converts 8-bit to float in the same pass, so a batch loader can
    /// fill its buffer without intermediate copies.
    pub fn run_into(&self, img: &RgbImage, out: &mut [f32]) -> Result<()> {
        self.run_scaled_into(img, img.dimensions(), 1, out, false)
    }

    /// CHW float tensor of an image from [`decode_for`]; its shape is
    /// [`Self::output_shape`] of the full size, whatever the reduction.
    pub fn run_decoded(&self, d: &Decoded) -> Result<Vec<f32>> {
        let (c, h, w) = self.output_shape(d.full_size.0, d.full_size.1);
        let mut out = vec![0f32; c * h * w];
        self.run_decoded_into(d, &mut out, false)?;
        Ok(out)
    }

    /// [`Self::run_into`] for an image from [`decode_for`], in either memory order: CHW, or HWC
    /// (`channels_last`), the order a decoded image already has and the one channels-last
    /// networks consume, so a batch can become their input tensor without a copy or a
    /// transpose.
    pub fn run_decoded_into(
        &self,
        d: &Decoded,
        out: &mut [f32],
        channels_last: bool,
    ) -> Result<()> {
        self.run_scaled_into(&d.image, d.full_size, d.reduction, out, channels_last)
    }

    /// `img` is a `full` image decoded at 1/`k`: the resize's size and crop come from `full`,
    /// and the resize maps the `full / k` pixels the original covers onto them.
    fn run_scaled_into(
        &self,
        img: &RgbImage,
        full: (u32, u32),
        k: u32,
        out: &mut [f32],
        channels_last: bool,
    ) -> Result<()> {
        let (c, h, w) = self.output_shape(full.0, full.1);
        if out.len() != c * h * w {
            return Err(DataError::Preprocess(format!(
                "output buffer holds {} values; a {}x{} image needs {c}x{h}x{w} = {}",
                out.len(),
                full.0,
                full.1,
                c * h * w
            )));
        }
        SCRATCH.with(|s| {
            let s = &mut *s.borrow_mut();
            resize_crop_into(img, full, k, &self.p, s);
            if channels_last {
                self.normalise_hwc(&s.crop, out);
            } else {
                self.normalise(&s.crop, h * w, out);
            }
        });
        Ok(())
    }

    /// Source channel of each output channel.
    fn channel_order(&self) -> [usize; 3] {
        if self.p.color == ColorMode::Bgr {
            [2, 1, 0]
        } else {
            [0, 1, 2]
        }
    }

    fn normalise_hwc(&self, hwc: &[u8], out: &mut [f32]) {
        match self.p.color {
            ColorMode::Rgb | ColorMode::Bgr => {
                let order = self.channel_order();
                let (l0, l1, l2) = (&self.lut[0], &self.lut[1], &self.lut[2]);
                for (o, px) in out.chunks_exact_mut(3).zip(hwc.chunks_exact(3)) {
                    o[0] = l0[px[order[0]] as usize];
                    o[1] = l1[px[order[1]] as usize];
                    o[2] = l2[px[order[2]] as usize];
                }
            }
            // One channel: HWC and CHW are the same order.
            ColorMode::Gray => self.normalise(hwc, hwc.len() / 3, out),
        }
    }

    fn normalise(&self, hwc: &[u8], plane: usize, out: &mut [f32]) {
        match self.p.color {
            ColorMode::Rgb | ColorMode::Bgr => {
                let order = self.channel_order();
                let (o0, rest) = out.split_at_mut(plane);
                let (o1, o2) = rest.split_at_mut(plane);
                let (l0, l1, l2) = (&self.lut[0], &self.lut[1], &self.lut[2]);
                for (i, px) in hwc.chunks_exact(3).enumerate() {
                    o0[i] = l0[px[order[0]] as usize];
                    o1[i] = l1[px[order[1]] as usize];
                    o2[i] = l2[px[order[2]] as usize];
                }
            }
            ColorMode::Gray => {
                let l = &self.lut[0];
                for (o, px) in out.iter_mut().zip(hwc.chunks_exact(3)) {
                    *o = l[luma(px) as usize];
                }
            }
        }
    }
}

/// PIL's `convert("L")`: ITU-R 601-2 luma in 16-bit fixed point, rounded.
#[inline(always)]
pub fn luma(px: &[u8]) -> u8 {
    ((px[0] as u32 * 19595 + px[1] as u32 * 38470 + px[2] as u32 * 7471 + 0x8000) >> 16) as u8
}

/// Per-thread buffers, reused across images so the hot path allocates only the decoded image.
#[derive(Default)]
struct Scratch {
    tmp: Vec<u8>,
    acc: Vec<i32>,
    crop: Vec<u8>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Resize + centre crop into `s.crop` (packed RGB, crop-sized, zero where torchvision pads) of
/// `img`, a `full`-sized image decoded at 1/`k`.
fn resize_crop_into(img: &RgbImage, full: (u32, u32), k: u32, p: &Preprocess, s: &mut Scratch) {
    let size = resized_wh(full.0, full.1, p.resize_shorter);
    let extent = (full.0 as f64 / k as f64, full.1 as f64 / k as f64);
    resize_to_crop_into(img, extent, size, p.crop, p.interpolation, s);
}

/// Resize to exactly `(rw, rh)` (PIL's `Image.resize(box=(0, 0, extent.0, extent.1))`; the
/// extent is the image's size unless it was decoded at reduced size), then centre crop to
/// `crop`.
fn resize_to_crop_into(
    img: &RgbImage,
    extent: (f64, f64),
    (rw, rh): (u32, u32),
    crop: Option<(u32, u32)>,
    interpolation: Interpolation,
    s: &mut Scratch,
) {
    let (w, h) = (img.width(), img.height());
    let (ch, cw) = crop.unwrap_or((rh, rw));
    let filter = match interpolation {
        Interpolation::Bilinear => Filter::Bilinear,
        Interpolation::Bicubic => Filter::Bicubic,
    };
    let (top, left) = (crop_start(rh, ch), crop_start(rw, cw));
    // Kept output rows/cols in crop coordinates, and the resized coordinates they come from.
    let keep = |start: i64, crop: u32, size: u32| {
        let lo = (-start).max(0) as usize;
        let hi = ((size as i64 - start).min(crop as i64)).max(lo as i64) as usize;
        (
            lo..hi,
            (start + lo as i64) as usize..(start + hi as i64) as usize,
        )
    };
    let (ys, rows) = keep(top, ch, rh);
    let (xs, cols) = keep(left, cw, rw);
    let out_stride = cw as usize * 3;
    s.crop.clear();
    s.crop.resize(ch as usize * out_stride, 0);
    if rows.is_empty() || cols.is_empty() {
        return;
    }
    let src = img.as_raw();
    let src_stride = w as usize * 3;
    // PIL resamples an axis when its size changes or the box is not the whole image.
    let hx = (rw != w || extent.0 != w as f64)
        .then(|| Weights::with_extent(w as usize, extent.0, rw as usize, filter, cols.clone()));
    let vy = (rh != h || extent.1 != h as f64)
        .then(|| Weights::with_extent(h as usize, extent.1, rh as usize, filter, rows.clone()));
    let in_rows = vy.as_ref().map_or(rows.clone(), |v| v.input_range());
    let row_bytes = cols.len() * 3;

    // Horizontal pass into tmp (rows in_rows, columns `cols`), or read the source directly.
    let (buf, stride, col_off): (&[u8], usize, usize) = match &hx {
        Some(hw) => {
            s.tmp.clear();
            s.tmp.resize(in_rows.len() * row_bytes, 0);
            let first = in_rows.start;
            resample::horizontal(
                &src[first * src_stride..],
                src_stride,
                0..in_rows.len(),
                hw,
                &mut s.tmp,
            );
            (&s.tmp, row_bytes, 0)
        }
        None => (
            &src[in_rows.start * src_stride..],
            src_stride,
            cols.start * 3,
        ),
    };
    let dst = &mut s.crop[ys.start * out_stride + xs.start * 3..];
    match &vy {
        Some(vw) => resample::vertical(
            buf,
            stride,
            in_rows.start,
            col_off,
            row_bytes,
            vw,
            dst,
            out_stride,
            &mut s.acc,
        ),
        None => {
            for (i, y) in rows.clone().enumerate() {
                let from = (y - in_rows.start) * stride + col_off;
                dst[i * out_stride..i * out_stride + row_bytes]
                    .copy_from_slice(&buf[from..from + row_bytes]);
            }
        }
    }
}

/// The 8-bit image after resize and centre crop, before colour conversion and normalisation:
/// what PIL holds just before `ToTensor`.
pub fn resize_and_crop(img: &RgbImage, p: &Preprocess) -> Result<RgbImage> {
    Preprocessor::new(p)?;
    let (rw, rh) = resized_wh(img.width(), img.height(), p.resize_shorter);
    let (ch, cw) = p.crop.unwrap_or((rh, rw));
    let mut s = Scratch::default();
    resize_crop_into(img, img.dimensions(), 1, p, &mut s);
    Ok(RgbImage::from_raw(cw, ch, s.crop).expect("crop buffer is ch*cw*3"))
}

/// `img` resized to exactly `w` x `h` with PIL's `Image.resize(size, BILINEAR | BICUBIC)`
/// (aspect ratio not kept); torchvision's `Resize((h, w))` on PIL images.
pub fn resize_exact(
    img: &RgbImage,
    w: u32,
    h: u32,
    interpolation: Interpolation,
) -> Result<RgbImage> {
    if w == 0 || h == 0 {
        return Err(DataError::Preprocess(format!("cannot resize to {w}x{h}")));
    }
    let mut s = Scratch::default();
    let extent = (img.width() as f64, img.height() as f64);
    resize_to_crop_into(img, extent, (w, h), None, interpolation, &mut s);
    Ok(RgbImage::from_raw(w, h, s.crop).expect("buffer is w*h*3"))
}

/// CHW float tensor of `img` under recipe `p`, in `p`'s channel order and normalisation.
pub fn preprocess(img: &RgbImage, p: &Preprocess) -> Result<Vec<f32>> {
    Preprocessor::new(p)?.run(img)
}

/// [`decode_for`] at the default [`DecodeSize`] (reduced), then [`preprocess`].
pub fn load_preprocessed(path: &Path, p: &Preprocess) -> Result<Vec<f32>> {
    load_preprocessed_with(path, p, DecodeSize::default())
}

/// [`decode_for`] then [`preprocess`]; [`DecodeSize::Full`] gives PIL's pixels exactly.
pub fn load_preprocessed_with(path: &Path, p: &Preprocess, size: DecodeSize) -> Result<Vec<f32>> {
    let pre = Preprocessor::new(p)?;
    pre.run_decoded(&decode_for(path, p, size)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipe(resize: Option<u32>, crop: Option<(u32, u32)>) -> Preprocess {
        Preprocess {
            resize_shorter: resize,
            crop,
            interpolation: Interpolation::Bilinear,
            color: ColorMode::Rgb,
            normalization: Normalization::UnitRange,
        }
    }

    #[test]
    fn resize_follows_torchvision_truncation() {
        assert_eq!(resized_wh(451, 300, Some(256)), (384, 256)); // 384.85 -> 384
        assert_eq!(resized_wh(300, 451, Some(256)), (256, 384));
        assert_eq!(resized_wh(640, 427, Some(256)), (383, 256)); // 383.70 -> 383
        assert_eq!(resized_wh(100, 100, Some(256)), (256, 256));
        assert_eq!(resized_wh(100, 50, None), (100, 50));
    }

    #[test]
    fn channels_last_output_is_the_same_tensor_in_hwc_order() {
        let img = RgbImage::from_fn(37, 29, |x, y| {
            image::Rgb([(x * 7) as u8, (y * 9) as u8, ((x * y) % 251) as u8])
        });
        for color in [ColorMode::Rgb, ColorMode::Bgr, ColorMode::Gray] {
            let p = Preprocess {
                color,
                // Per-channel statistics, so a channel put in the wrong place shows.
                normalization: if color == ColorMode::Gray {
                    Normalization::MeanStd {
                        mean: vec![0.5],
                        std: vec![0.25],
                    }
                } else {
                    Normalization::imagenet()
                },
                ..recipe(Some(20), Some((16, 18)))
            };
            let pre = Preprocessor::new(&p).unwrap();
            let (c, h, w) = pre.output_shape(37, 29);
            let chw = pre.run(&img).unwrap();
            let mut hwc = vec![0f32; c * h * w];
            pre.run_decoded_into(&Decoded::full(img.clone()), &mut hwc, true)
                .unwrap();
            for ch in 0..c {
                for i in 0..h * w {
                    assert_eq!(hwc[i * c + ch], chw[ch * h * w + i], "{color:?} {ch} {i}");
                }
            }
        }
    }

    #[test]
    fn crop_start_rounds_half_to_even_like_python() {
        assert_eq!(crop_start(256, 224), 16);
        assert_eq!(crop_start(160, 99), 30); // 30.5 -> 30
        assert_eq!(crop_start(95, 56), 20); // 19.5 -> 20
        assert_eq!(crop_start(10, 10), 0);
        assert_eq!(crop_start(107, 120), -6); // padded: (13) // 2 before
    }

    #[test]
    fn luma_matches_pil_on_extremes() {
        assert_eq!(luma(&[255, 255, 255]), 255);
        assert_eq!(luma(&[0, 0, 0]), 0);
        assert_eq!(luma(&[255, 0, 0]), 76);
        assert_eq!(luma(&[0, 255, 0]), 150);
        assert_eq!(luma(&[0, 0, 255]), 29);
    }

    #[test]
    fn crop_without_resize_is_a_plain_window_and_pads_with_zero() {
        let img = RgbImage::from_fn(5, 4, |x, y| image::Rgb([(x * 10 + y) as u8, 1, 2]));
        let out = resize_and_crop(&img, &recipe(None, Some((2, 3)))).unwrap();
        // top = round(2/2) = 1, left = round(2/2) = 1
        assert_eq!(out.get_pixel(0, 0)[0], 11);
        assert_eq!(out.get_pixel(2, 1)[0], 32);
        let padded = resize_and_crop(&img, &recipe(None, Some((6, 5)))).unwrap();
        assert_eq!(padded.get_pixel(0, 0).0, [0, 0, 0]);
        assert_eq!(padded.get_pixel(0, 1)[0], 0);
        assert_eq!(padded.get_pixel(1, 1)[1], 1);
    }

    #[test]
    fn normalisations_and_channel_orders() {
        let img = RgbImage::from_pixel(2, 2, image::Rgb([255, 0, 51]));
        let mut p = recipe(None, None);
        assert_eq!(
            preprocess(&img, &p).unwrap()[..9],
            [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.2]
        );
        p.color = ColorMode::Bgr;
        assert_eq!(preprocess(&img, &p).unwrap()[0], 0.2);
        p.normalization = Normalization::Centered {
            center: 127.0,
            scale: 128.0,
        };
        assert_eq!(preprocess(&img, &p).unwrap()[8], 1.0);
        p.color = ColorMode::Gray;
        let g = preprocess(&img, &p).unwrap();
        assert_eq!(g.len(), 4);
        let l = luma(&[255, 0, 51]) as f32;
        assert_eq!(g[0], (l - 127.0) / 128.0);
    }

    #[test]
    fn invalid_recipes_are_rejected_with_the_reason() {
        let img = RgbImage::new(4, 4);
        let mut p = recipe(Some(0), None);
        assert!(preprocess(&img, &p)
            .unwrap_err()
            .to_string()
            .contains("resize_shorter"));
        p = recipe(None, Some((0, 3)));
        assert!(preprocess(&img, &p)
            .unwrap_err()
            .to_string()
            .contains("crop"));
        p = recipe(None, None);
        p.normalization = Normalization::MeanStd {
            mean: vec![0.5, 0.5],
            std: vec![0.5],
        };
        let e = preprocess(&img, &p).unwrap_err().to_string();
        assert!(e.contains("mean has 2 values"), "{e}");
        p.normalization = Normalization::MeanStd {
            mean: vec![0.5],
            std: vec![0.0],
        };
        assert!(preprocess(&img, &p)
            .unwrap_err()
            .to_string()
            .contains("std"));
    }

    #[test]
    fn corrupt_and_unknown_files_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("notes.jpg");
        std::fs::write(&p, b"hello, not an image").unwrap();
        let e = decode_rgb(&p).unwrap_err().to_string();
        assert!(
            e.contains("notes.jpg") && e.contains("not a recognised image format"),
            "{e}"
        );
        let mut png = Vec::new();
        RgbImage::new(8, 8)
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let t = dir.path().join("cut.png");
        std::fs::write(&t, &png[..png.len() / 2]).unwrap();
        let e = decode_rgb(&t).unwrap_err().to_string();
        assert!(e.contains("cut.png") && e.contains("Png"), "{e}");
        let e = decode_rgb(&dir.path().join("absent.png"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("absent.png") && e.contains("cannot read"), "{e}");
    }

    /// A BMP header declaring `w` x `h` 24-bit pixels, with no pixel data.
    fn bmp_header(w: i32, h: i32) -> Vec<u8> {
        let mut b = b"BM".to_vec();
        b.extend(54u32.to_le_bytes()); // file size (of the header; the data is missing)
        b.extend([0u8; 4]);
        b.extend(54u32.to_le_bytes()); // offset of the pixels
        b.extend(40u32.to_le_bytes()); // BITMAPINFOHEADER
        b.extend(w.to_le_bytes());
        b.extend(h.to_le_bytes());
        b.extend(1u16.to_le_bytes());
        b.extend(24u16.to_le_bytes());
        b.extend([0u8; 24]);
        b
    }

    #[test]
    fn decompression_bombs_are_refused_before_decoding() {
        let path = Path::new("bomb.bmp");
        assert_eq!(
            declared_size(&bmp_header(20_000, 20_000)),
            Some((20_000, 20_000))
        );
        let e = decode_rgb_bytes(&bmp_header(20_000, 20_000), path)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("bomb.bmp") && e.contains("20000x20000") && e.contains("decompression-bomb"),
            "{e}"
        );
        // Under the limit the header passes and the missing data is what fails.
        let e = decode_rgb_bytes(&bmp_header(100, 100), path)
            .unwrap_err()
            .to_string();
        assert!(!e.contains("decompression-bomb"), "{e}");
    }

    #[test]
    fn a_tiny_jpeg_declaring_sixteen_megapixels_is_refused_as_truncated() {
        // Found by the image fuzz target (a timeout under the sanitizer): 451 bytes declaring a
        // 63226x260 progressive JPEG, whose scans stop without an end-of-image marker. It used to
        // decode (linear in the declared size, 0.2 s in a release build) with the missing part
        // grey; as a cut file it is now refused before decoding.
        let bytes = include_bytes!(
            "../../../fuzz/artifacts-kept/image/timeout-d6d6b19ee891984af52df92af067f9dd6ebc60ee"
        );
        assert_eq!(declared_size(bytes), Some((63226, 260)));
        let e = decode_rgb_bytes(bytes, Path::new("t.jpg")).unwrap_err();
        assert!(e.to_string().contains("truncated"), "{e}");
    }

    #[test]
    fn bmp_webp_and_jpeg_decode() {
        let dir = tempfile::tempdir().unwrap();
        let img = RgbImage::from_fn(9, 7, |x, y| {
            image::Rgb([(x * 20) as u8, (y * 30) as u8, 77])
        });
        for ext in ["bmp", "webp", "png"] {
            let p = dir.path().join(format!("i.{ext}"));
            img.save(&p).unwrap();
            assert_eq!(decode_rgb(&p).unwrap(), img, "{ext} is lossless");
        }
        let p = dir.path().join("i.jpg");
        img.save(&p).unwrap();
        let back = decode_rgb(&p).unwrap();
        assert_eq!(back.dimensions(), (9, 7));
        // Decoded by content, whatever the extension says.
        std::fs::rename(&p, dir.path().join("really_a_jpeg.png")).unwrap();
        assert_eq!(
            decode_rgb(&dir.path().join("really_a_jpeg.png")).unwrap(),
            back
        );
    }

    #[test]
    fn resize_exact_keeps_flat_colours_and_sizes() {
        let img = RgbImage::from_pixel(31, 17, image::Rgb([10, 200, 30]));
        for interp in [Interpolation::Bilinear, Interpolation::Bicubic] {
            for (w, h) in [(7, 5), (64, 40), (31, 17), (1, 1)] {
                let r = resize_exact(&img, w, h, interp).unwrap();
                assert_eq!(r.dimensions(), (w, h));
                assert!(
                    r.pixels().all(|p| p.0 == [10, 200, 30]),
                    "{interp:?} {w}x{h}"
                );
            }
        }
        assert!(resize_exact(&img, 0, 3, Interpolation::Bilinear).is_err());
    }

    #[test]
    fn grey_alpha_and_16_bit_images_become_rgb8() {
        let dir = tempfile::tempdir().unwrap();
        let la = image::GrayAlphaImage::from_pixel(3, 2, image::LumaA([90, 10]));
        let p = dir.path().join("la.png");
        la.save(&p).unwrap();
        assert_eq!(decode_rgb(&p).unwrap().get_pixel(1, 1).0, [90, 90, 90]);
        let rgb16 = image::ImageBuffer::<image::Rgb<u16>, _>::from_pixel(
            2,
            2,
            image::Rgb([0x12ff, 0xff00, 0x0080]),
        );
        let p = dir.path().join("deep.png");
        rgb16.save(&p).unwrap();
        assert_eq!(
            decode_rgb(&p).unwrap().get_pixel(0, 0).0,
            [0x12, 0xff, 0x00]
        );
    }
}
