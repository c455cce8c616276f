//! Decoding a JPEG at 1/2, 1/4 or 1/8 of its size inside the inverse DCT, when the resize that
//! follows would throw that resolution away anyway (PIL `Image.draft` / libjpeg scaled DCT).
//!
//! A 12-megapixel photo resized to 256 px spends most of its time in the full-size decode and in
//! the antialiasing filter that averages dozens of source pixels per output pixel. Decoding at
//! 1/k makes both k² times cheaper. The reduction is chosen by PIL's rule for
//! `Image.thumbnail(reducing_gap=2.0)`: the reduced image must still be at least twice the
//! resize's output on each axis, so the antialiased resize still shrinks by 2x or more and the
//! result differs from the full-size path by a level or two, not visibly. Anything the scaled
//! decoder does not handle (CMYK, 12-bit, lossless, a decoding error) is left to the full-size
//! decoder, so no image that decoded before fails now.

use image::RgbImage;
use serde::{Deserialize, Serialize};

/// Whether a JPEG may be decoded at reduced size ahead of a shrinking resize.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecodeSize {
    /// Always decode at full size: pixels identical to torchvision on PIL without `draft`.
    Full,
    /// Decode JPEGs at the largest 1/k (k = 8, 4, 2) that keeps twice the resize's output size;
    /// other formats, small images and recipes without a resize are decoded at full size.
    Reduced,
}

/// Reduced: what a new run uses unless it asks for full-size decoding.
impl Default for DecodeSize {
    fn default() -> Self {
        DecodeSize::Reduced
    }
}

impl DecodeSize {
    pub fn name(self) -> &'static str {
        match self {
            DecodeSize::Full => "full",
            DecodeSize::Reduced => "reduced",
        }
    }
}

/// How much larger than the resize's output the reduced decode must stay, on each axis
/// (`Image.thumbnail`'s default `reducing_gap`).
pub const REDUCING_GAP: f64 = 2.0;

/// The DCT reduction k (1, 2, 4 or 8) PIL's `draft` picks for a `w` x `h` JPEG that will be
/// resized to `target_w` x `target_h`: the largest k with `k <= min(w // (2 * tw), h // (2 * th))`.
pub fn draft_reduction(w: u32, h: u32, (target_w, target_h): (u32, u32)) -> u32 {
    // PIL: requested = int(size * reducing_gap); scale = min(w // req_w, h // req_h).
    let req_w = (target_w as f64 * REDUCING_GAP) as u32;
    let req_h = (target_h as f64 * REDUCING_GAP) as u32;
    if req_w == 0 || req_h == 0 {
        return 1;
    }
    let scale = (w / req_w).min(h / req_h);
    [8, 4, 2].into_iter().find(|&k| scale >= k).unwrap_or(1)
}

/// Decodes the JPEG in `bytes` at 1/`k` of its size (`ceil(w / k)` x `ceil(h / k)`), grey
/// replicated to RGB. `None` when it is not an 8-bit DCT JPEG in grey, RGB or YCbCr, when the
/// decoder fails or panics, or when it does not produce the expected size: the caller then
/// decodes at full size.
///
/// 1/8 is decoded at 1/4 and averaged 2x2: jpeg-decoder's 1x1 IDCT truncates the DC value
/// instead of rounding it, which darkened every component by half a level on average (red and
/// blue by 1.2 and 1.4 levels after colour conversion); the 2x2 IDCT rounds, and the mean of its
/// four outputs is the block's DC value.
pub fn decode_reduced(bytes: &[u8], k: u32) -> Option<RgbImage> {
    let idct = match k {
        2 | 4 => k,
        8 => 4,
        _ => return None,
    };
    let img = std::panic::catch_unwind(|| decode_scaled(bytes, idct)).ok()??;
    Some(if k == idct { img } else { halve(&img) })
}

/// Each pixel the rounded mean of a 2x2 block (of what is left of it at an odd edge).
fn halve(img: &RgbImage) -> RgbImage {
    let (w, h) = img.dimensions();
    let src = img.as_raw();
    let stride = w as usize * 3;
    RgbImage::from_fn(w.div_ceil(2), h.div_ceil(2), |x, y| {
        let xs = (2 * x as usize)..(2 * x as usize + 2).min(w as usize);
        let ys = (2 * y as usize)..(2 * y as usize + 2).min(h as usize);
        let n = (xs.len() * ys.len()) as u32;
        let mut px = [0u8; 3];
        for (c, v) in px.iter_mut().enumerate() {
            let mut sum = 0u32;
            for yy in ys.clone() {
                for xx in xs.clone() {
                    sum += src[yy * stride + xx * 3 + c] as u32;
                }
            }
            *v = ((sum + n / 2) / n) as u8;
        }
        image::Rgb(px)
    })
}

/// Whether the last scan of a JPEG is followed by its end-of-image marker. jpeg-decoder fills
/// the missing part of a cut file with grey instead of failing, so a cut file is refused before
/// any decoder sees it ([`crate::image_io`]), as PIL refuses it ("image file is truncated").
/// Scan data stuffs every 0xFF with 0x00, so FF D9 after the last start-of-scan (FF DA) is the
/// real marker.
pub(crate) fn complete(bytes: &[u8]) -> bool {
    let last_scan = bytes.windows(2).rposition(|m| m == [0xFF, 0xDA]);
    last_scan.is_some_and(|s| bytes[s..].windows(2).any(|m| m == [0xFF, 0xD9]))
}

fn decode_scaled(bytes: &[u8], k: u32) -> Option<RgbImage> {
    use jpeg_decoder::{CodingProcess, Decoder, PixelFormat};
    if !complete(bytes) {
        return None;
    }
    let mut d = Decoder::new(std::io::Cursor::new(bytes));
    d.read_info().ok()?;
    let info = d.info()?;
    if !matches!(
        info.coding_process,
        CodingProcess::DctSequential | CodingProcess::DctProgressive
    ) || !matches!(info.pixel_format, PixelFormat::L8 | PixelFormat::RGB24)
    {
        return None;
    }
    let (w, h) = (info.width as u32, info.height as u32);
    let want = (w.div_ceil(k), h.div_ceil(k));
    // The decoder picks the smallest scale reaching the requested size on either axis: asking
    // for exactly ceil(n / k) gets 1/k.
    let got = d.scale(want.0 as u16, want.1 as u16).ok()?;
    if (got.0 as u32, got.1 as u32) != want {
        return None;
    }
    let pixels = d.decode().ok()?;
    let n = want.0 as usize * want.1 as usize;
    let rgb = match info.pixel_format {
        PixelFormat::RGB24 if pixels.len() == 3 * n => pixels,
        PixelFormat::L8 if pixels.len() == n => pixels.iter().flat_map(|&v| [v; 3]).collect(),
        _ => return None,
    };
    RgbImage::from_raw(want.0, want.1, rgb)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image_io::{decode_bytes_for, decode_rgb_bytes, Decoded, Preprocessor};
    use crate::preprocess::{ColorMode, Interpolation, Normalization, Preprocess};
    use std::path::Path;

    fn recipe(resize: u32, crop: Option<(u32, u32)>, interpolation: Interpolation) -> Preprocess {
        Preprocess {
            resize_shorter: Some(resize),
            crop,
            interpolation,
            color: ColorMode::Rgb,
            normalization: Normalization::UnitRange,
        }
    }

    /// A photo-like test card: smooth gradients, a slow wave, hard-edged blocks.
    fn card(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let (fx, fy) = (x as f32, y as f32);
            let wave = 128.0 + 100.0 * (fx / 97.0).sin() * (fy / 71.0).cos();
            let block = if (x / 128 + y / 96) % 2 == 0 { 200 } else { 40 };
            image::Rgb([wave as u8, (30 + 200 * x / w) as u8, block])
        })
    }

    fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
            .encode_image(img)
            .unwrap();
        out
    }

    fn decode(bytes: &[u8], p: &Preprocess, size: DecodeSize) -> Decoded {
        decode_bytes_for(bytes, Path::new("t.jpg"), p, size).unwrap()
    }

    /// Max and mean absolute difference, in 8-bit levels, of two unit-range tensors.
    fn level_diff(a: &[f32], b: &[f32]) -> (f32, f32) {
        assert_eq!(a.len(), b.len());
        let d: Vec<f32> = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs() * 255.0)
            .collect();
        let max = d.iter().cloned().fold(0.0, f32::max);
        (max, d.iter().sum::<f32>() / d.len() as f32)
    }

    #[test]
    fn reduction_follows_pil_draft_with_reducing_gap_two() {
        // 4000x3000 to 341x256: 3000 // 512 = 5 -> 4.
        assert_eq!(draft_reduction(4000, 3000, (341, 256)), 4);
        // 8192x6144 to 341x256 (truncated long side): min(8192 // 682, 6144 // 512) = 12 -> 8.
        assert_eq!(draft_reduction(8192, 6144, (341, 256)), 8);
        // Shorter side under 4x the resize: no reduction.
        assert_eq!(draft_reduction(1023, 2000, (256, 500)), 1);
        assert_eq!(draft_reduction(1024, 2000, (256, 500)), 2);
        // Both axes count: a wide target limits the reduction.
        assert_eq!(draft_reduction(4000, 3000, (1000, 10)), 2);
        // Upscaling, zero and degenerate sizes.
        assert_eq!(draft_reduction(100, 100, (256, 256)), 1);
        assert_eq!(draft_reduction(100, 100, (0, 0)), 1);
    }

    #[test]
    fn halving_rounds_the_mean_and_keeps_odd_edges() {
        let img = RgbImage::from_fn(3, 3, |x, y| image::Rgb([(x + 3 * y) as u8 * 10, 1, 2]));
        let h = halve(&img);
        assert_eq!(h.dimensions(), (2, 2));
        assert_eq!(h.get_pixel(0, 0).0, [20, 1, 2]); // (0 + 10 + 30 + 40) / 4
        assert_eq!(h.get_pixel(1, 0).0, [35, 1, 2]); // (20 + 50) / 2
        assert_eq!(h.get_pixel(0, 1).0, [65, 1, 2]); // (60 + 70) / 2
        assert_eq!(h.get_pixel(1, 1).0, [80, 1, 2]);
    }

    #[test]
    fn only_reductions_the_idct_supports() {
        assert_eq!(decode_reduced(b"not a jpeg", 4), None);
        assert_eq!(decode_reduced(b"", 3), None);
    }

    #[test]
    fn large_jpeg_is_decoded_reduced_and_matches_the_full_decode() {
        let bytes = jpeg(&card(2048, 1536), 90);
        // Shorter side 1536: S=256 -> 1536 // 512 = 3 -> 1/2; S=128 -> 1/4; S=64 -> 1/8.
        // Measured max / mean |diff| in 8-bit levels, bilinear and bicubic:
        // 1/2: 4 / 0.21, 3 / 0.20; 1/4: 4 / 0.34, 3 / 0.30; 1/8: 3 / 0.54, 3 / 0.46.
        for (s, crop, k) in [(256, 224, 2), (128, 112, 4), (64, 56, 8)] {
            for interp in [Interpolation::Bilinear, Interpolation::Bicubic] {
                let p = recipe(s, Some((crop, crop)), interp);
                let pre = Preprocessor::new(&p).unwrap();
                let reduced = decode(&bytes, &p, DecodeSize::Reduced);
                assert_eq!(reduced.reduction(), k, "S={s}");
                assert_eq!(reduced.full_size(), (2048, 1536));
                assert_eq!(
                    reduced.image().dimensions(),
                    (2048 / k, 1536 / k),
                    "decoded at 1/{k} inside the IDCT"
                );
                let full = decode(&bytes, &p, DecodeSize::Full);
                assert_eq!(full.reduction(), 1);
                let a = pre.run_decoded(&reduced).unwrap();
                let b = pre.run_decoded(&full).unwrap();
                let (max, mean) = level_diff(&a, &b);
                eprintln!("1/{k} {interp:?}: max {max:.0} mean {mean:.3} levels");
                assert!(max <= 5.0 && mean <= 0.6, "1/{k} {interp:?}: {max} {mean}");
            }
        }
    }

    #[test]
    fn odd_sizes_keep_the_full_size_geometry() {
        for (w, h) in [(2047, 1023), (1023, 2047), (1031, 1029)] {
            let bytes = jpeg(&card(w, h), 85);
            for crop in [Some((224, 224)), Some((300, 200)), None] {
                let p = recipe(128, crop, Interpolation::Bilinear);
                let pre = Preprocessor::new(&p).unwrap();
                let reduced = decode(&bytes, &p, DecodeSize::Reduced);
                assert!(reduced.reduction() >= 2, "{w}x{h}");
                let k = reduced.reduction();
                assert_eq!(reduced.image().dimensions(), (w.div_ceil(k), h.div_ceil(k)));
                let full = decode(&bytes, &p, DecodeSize::Full);
                let a = pre.run_decoded(&reduced).unwrap();
                let b = pre.run_decoded(&full).unwrap();
                let (c, oh, ow) = pre.output_shape(w, h);
                assert_eq!(a.len(), c * oh * ow);
                assert_eq!(a.len(), b.len(), "{w}x{h} {crop:?}");
                // Measured: max 2 (1/2), 8 (1/4, hard edges off the block grid), mean <= 0.34.
                // Framing the resize on the reduced size instead of full / k gives 14 / 0.38.
                let (max, mean) = level_diff(&a, &b);
                eprintln!("{w}x{h} 1/{k} {crop:?}: max {max:.0} mean {mean:.3} levels");
                assert!(max <= 9.0 && mean <= 0.4, "{w}x{h} {crop:?}: {max} {mean}");
            }
        }
    }

    #[test]
    fn small_images_and_full_decoding_are_untouched() {
        let p = recipe(256, Some((224, 224)), Interpolation::Bilinear);
        let pre = Preprocessor::new(&p).unwrap();
        // Shorter side 1023 < 4 * 256: no reduction; the bytes equal the plain decode's.
        for (w, h) in [(1500, 1023), (640, 480)] {
            let bytes = jpeg(&card(w, h), 90);
            let d = decode(&bytes, &p, DecodeSize::Reduced);
            assert_eq!(d.reduction(), 1);
            let plain = decode_rgb_bytes(&bytes, Path::new("t.jpg")).unwrap();
            assert_eq!(d.image(), &plain);
            assert_eq!(pre.run_decoded(&d).unwrap(), pre.run(&plain).unwrap());
        }
        // DecodeSize::Full and recipes without a resize never reduce.
        let bytes = jpeg(&card(2048, 1536), 90);
        assert_eq!(decode(&bytes, &p, DecodeSize::Full).reduction(), 1);
        let mut keep = p.clone();
        keep.resize_shorter = None;
        assert_eq!(decode(&bytes, &keep, DecodeSize::Reduced).reduction(), 1);
    }

    #[test]
    fn other_formats_and_cmyk_jpegs_fall_back_to_the_full_decode() {
        let p = recipe(4, None, Interpolation::Bilinear);
        let pre = Preprocessor::new(&p).unwrap();
        let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/image");
        // 48x32 with S=4: 32 // 8 = 4, so a JPEG the scaled decoder accepts is read at 1/4.
        let progressive = std::fs::read(seeds.join("seed-progressive48.jpg")).unwrap();
        let d = decode(&progressive, &p, DecodeSize::Reduced);
        assert_eq!((d.reduction(), d.image().dimensions()), (4, (12, 8)));
        let full = decode(&progressive, &p, DecodeSize::Full);
        let (max, _) = level_diff(
            &pre.run_decoded(&d).unwrap(),
            &pre.run_decoded(&full).unwrap(),
        );
        assert!(max <= 16.0, "{max}");
        // CMYK: declined by the scaled decoder, decoded as before.
        let cmyk = std::fs::read(seeds.join("seed-cmyk48.jpg")).unwrap();
        assert_eq!(decode_reduced(&cmyk, 4), None);
        let d = decode(&cmyk, &p, DecodeSize::Reduced);
        assert_eq!(d.reduction(), 1);
        assert_eq!(
            d.image(),
            &decode_rgb_bytes(&cmyk, Path::new("c.jpg")).unwrap()
        );
        // A PNG of a size that a JPEG would be reduced at.
        let mut png = Vec::new();
        card(2048, 1536)
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let p = recipe(64, Some((56, 56)), Interpolation::Bilinear);
        assert_eq!(decode(&png, &p, DecodeSize::Reduced).reduction(), 1);
        // A JPEG cut short (here, at half its length, or just before its end marker) is
        // refused, naming the file, at either size: jpeg-decoder would fill it with grey.
        let bytes = jpeg(&card(2048, 1536), 90);
        assert!(complete(&bytes));
        for cut in [
            &bytes[..bytes.len() / 3],
            &bytes[..bytes.len() / 2],
            &bytes[..bytes.len() - 2],
        ] {
            assert!(!complete(cut));
            assert_eq!(decode_reduced(cut, 8), None);
            for size in [DecodeSize::Reduced, DecodeSize::Full] {
                let e = decode_bytes_for(cut, Path::new("cut.jpg"), &p, size).unwrap_err();
                let e = e.to_string();
                assert!(e.contains("cut.jpg") && e.contains("truncated"), "{e}");
            }
        }
    }
}
