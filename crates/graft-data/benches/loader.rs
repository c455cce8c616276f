//! Throughput of the image path: decoding, preprocessing (resize 256 + crop 224, PIL-exact) and
//! the parallel batch loader. Uses the shared test photos when present (replicated to 192
//! files), else JPEGs it draws; then a 12-megapixel JPEG decoded at full and at reduced size.
//! Run: `cargo bench -p graft-data --bench loader`.

use graft_data::image_folder::ImageDataset;
use graft_data::image_io::{decode_for, decode_rgb, DecodeSize, Preprocessor};
use graft_data::loader::{image_batches, LoaderOptions};
use graft_data::preprocess::{ColorMode, Interpolation, Normalization, Preprocess};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

fn sources(tmp: &Path) -> Vec<PathBuf> {
    let shared = graft_data::testdata::data_dir().join("test_images");
    let names = ["chelsea.png", "coffee.png", "rocket.jpg"];
    if names.iter().all(|n| shared.join(n).exists()) {
        return names.iter().map(|n| shared.join(n)).collect();
    }
    (0..3)
        .map(|k| {
            let img = image::RgbImage::from_fn(500, 375, |x, y| {
                image::Rgb([(x * 7 + k * 40) as u8, (y * 3) as u8, ((x ^ y) * 5) as u8])
            });
            let p = tmp.join(format!("drawn{k}.jpg"));
            img.save(&p).unwrap();
            p
        })
        .collect()
}

fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let srcs = sources(tmp.path());
    let recipe = Preprocess {
        resize_shorter: Some(256),
        crop: Some((224, 224)),
        interpolation: Interpolation::Bilinear,
        color: ColorMode::Rgb,
        normalization: Normalization::imagenet(),
    };
    let mut out = vec![0f32; 3 * 224 * 224];
    for s in &srcs {
        let reps = 30;
        let t = Instant::now();
        let mut img = None;
        for _ in 0..reps {
            img = Some(decode_rgb(s).unwrap());
        }
        let dec = t.elapsed().as_secs_f64() / reps as f64;
        let img = img.unwrap();
        for interp in [Interpolation::Bilinear, Interpolation::Bicubic] {
            let pre = Preprocessor::new(&Preprocess {
                interpolation: interp,
                ..recipe.clone()
            })
            .unwrap();
            let t = Instant::now();
            for _ in 0..reps {
                pre.run_into(&img, &mut out).unwrap();
            }
            let prep = t.elapsed().as_secs_f64() / reps as f64;
            println!(
                "{} ({}x{}): decode {:.2} ms, preprocess {interp:?} {:.2} ms",
                s.file_name().unwrap().to_string_lossy(),
                img.width(),
                img.height(),
                dec * 1e3,
                prep * 1e3
            );
        }
    }

    photo_sized_jpeg(tmp.path(), &recipe);

    let root = tmp.path().join("data");
    for c in 0..2 {
        std::fs::create_dir_all(root.join(format!("c{c}"))).unwrap();
    }
    for i in 0..192 {
        let s = &srcs[i % srcs.len()];
        let ext = s.extension().unwrap().to_string_lossy();
        std::fs::copy(
            s,
            root.join(format!("c{}", i % 2))
                .join(format!("{i:04}.{ext}")),
        )
        .unwrap();
    }
    let ds = Arc::new(ImageDataset::from_folder(&root).unwrap());
    for threads in [1, 2] {
        let t = Instant::now();
        let o = LoaderOptions {
            batch_size: 32,
            threads,
            ..Default::default()
        };
        let mut n = 0;
        for b in image_batches(ds.clone(), recipe.clone(), o).unwrap() {
            n += b.unwrap().shape[0];
        }
        let s = t.elapsed().as_secs_f64();
        println!(
            "loader, {threads} thread(s): {n} images in {s:.2} s = {:.0} images/s",
            n as f64 / s
        );
    }
}

/// A 4000x3000 quality-90 JPEG (a phone photo's size) to resize 256 + crop 224: decode +
/// preprocess per image with the full-size decode and with the 1/4 scaled-DCT decode.
fn photo_sized_jpeg(tmp: &Path, recipe: &Preprocess) {
    let (w, h) = (4000, 3000);
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let wave = 128.0 + 100.0 * (x as f32 / 97.0).sin() * (y as f32 / 71.0).cos();
        let block = if (x / 128 + y / 96) % 2 == 0 { 200 } else { 40 };
        let grain = ((x.wrapping_mul(2654435761) ^ y.wrapping_mul(40503)) >> 13) as u8 & 31;
        image::Rgb([
            wave as u8,
            (30 + 200 * x / w) as u8 + grain / 2,
            block + grain,
        ])
    });
    let path = tmp.join("photo.jpg");
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90)
        .encode_image(&img)
        .unwrap();
    std::fs::write(&path, &bytes).unwrap();
    let pre = Preprocessor::new(recipe).unwrap();
    let mut out = vec![0f32; 3 * 224 * 224];
    for size in [DecodeSize::Full, DecodeSize::Reduced] {
        let reps = 10;
        let t = Instant::now();
        let mut k = 0;
        for _ in 0..reps {
            let d = decode_for(&path, recipe, size).unwrap();
            pre.run_decoded_into(&d, &mut out, false).unwrap();
            k = d.reduction();
        }
        println!(
            "photo.jpg ({w}x{h}, q90, {:.1} MB), {size:?} decode (1/{k}) + preprocess: {:.1} ms",
            bytes.len() as f64 / 1e6,
            t.elapsed().as_secs_f64() * 1e3 / reps as f64
        );
    }
}
