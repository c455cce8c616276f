//! Image decoding as graft's loader does it (`decode_rgb_bytes`, JPEG/PNG/WebP/BMP by content),
//! then the torchvision-style preprocessing of a typical backbone recipe on the decoded image;
//! and the loader's default path, which decodes JPEGs at 1/2..1/8 size for a recipe with a small
//! resize (`decode_bytes_for`), checked to give the full-size path's tensor shape.
#![no_main]

use graft_data::image_io::{
    declared_size, decode_bytes_for, decode_rgb_bytes, DecodeSize, Decoded, Preprocessor,
};
use graft_data::preprocess::{ColorMode, Interpolation, Normalization, Preprocess};
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use std::sync::OnceLock;

/// Decoded images larger than this are not preprocessed: resizing them is slow but not
/// interesting, and the fuzzer would spend its time there.
const MAX_PIXELS: u64 = 1 << 20;
/// Images declaring more pixels than this are not decoded: decoding time grows with the declared
/// size, so a few hundred bytes declaring 16 megapixels take seconds under the sanitizer (a
/// timeout, not a bug: see the regression test in image_io.rs) and test nothing new. graft's own
/// limit (`MAX_IMAGE_PIXELS`) is checked by the unit tests.
const MAX_DECODE_PIXELS: u64 = 1 << 22;

fn recipes() -> &'static [Preprocessor; 3] {
    static R: OnceLock<[Preprocessor; 3]> = OnceLock::new();
    R.get_or_init(|| {
        let bicubic = Preprocess {
            resize_shorter: Some(36),
            crop: Some((32, 32)),
            interpolation: Interpolation::Bicubic,
            color: ColorMode::Rgb,
            normalization: Normalization::imagenet(),
        };
        let gray = Preprocess {
            resize_shorter: Some(7),
            crop: None,
            interpolation: Interpolation::Bilinear,
            color: ColorMode::Gray,
            normalization: Normalization::UnitRange,
        };
        // Shrinks anything 16 px or more at least 4x: reduced JPEG decoding on small inputs.
        let tiny = Preprocess {
            resize_shorter: Some(4),
            crop: Some((4, 4)),
            interpolation: Interpolation::Bilinear,
            color: ColorMode::Rgb,
            normalization: Normalization::UnitRange,
        };
        [
            Preprocessor::new(&bicubic).expect("valid recipe"),
            Preprocessor::new(&gray).expect("valid recipe"),
            Preprocessor::new(&tiny).expect("valid recipe"),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    if declared_size(data).is_some_and(|(w, h)| w as u64 * h as u64 > MAX_DECODE_PIXELS) {
        return;
    }
    let path = Path::new("fuzz.img");
    for p in recipes() {
        let Ok(d) = decode_bytes_for(data, path, p.recipe(), DecodeSize::Reduced) else {
            // The reduced path falls back to the full decoder, so it fails only where that does.
            assert!(decode_rgb_bytes(data, path).is_err());
            return;
        };
        check_reduced(p, &d);
    }
    let Ok(img) = decode_rgb_bytes(data, path) else {
        return;
    };
    assert_eq!(
        img.as_raw().len(),
        img.width() as usize * img.height() as usize * 3
    );
    if img.width() as u64 * img.height() as u64 > MAX_PIXELS {
        return;
    }
    for p in recipes() {
        let (c, h, w) = p.output_shape(img.width(), img.height());
        if (c * h * w) as u64 > 4 * MAX_PIXELS {
            continue;
        }
        let out = p.run(&img).expect("preprocessing a decoded image");
        assert_eq!(out.len(), c * h * w);
    }
});

fn check_reduced(p: &Preprocessor, d: &Decoded) {
    let (w, h) = d.full_size();
    let k = d.reduction();
    assert!(matches!(k, 1 | 2 | 4 | 8));
    assert_eq!(d.image().dimensions(), (w.div_ceil(k), h.div_ceil(k)));
    if d.image().width() as u64 * d.image().height() as u64 > MAX_PIXELS {
        return;
    }
    let (c, oh, ow) = p.output_shape(w, h);
    if (c * oh * ow) as u64 > 4 * MAX_PIXELS {
        return;
    }
    let out = p.run_decoded(d).expect("preprocessing a decoded image");
    assert_eq!(out.len(), c * oh * ow);
}
