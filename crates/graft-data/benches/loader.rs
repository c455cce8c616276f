//! Throughput of the image path: decoding, preprocessing (resize 256 + crop 224, PIL-exact) and
//! the parallel batch loader. Uses the shared test photos when present (replicated to 192
//! files), else JPEGs it draws. Run: `cargo bench -p graft-data --bench loader`.

use graft_data::image_folder::ImageDataset;
use graft_data::image_io::{decode_rgb, Preprocessor};
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
