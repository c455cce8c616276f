//! `graft demo`: the whole feature-extraction path on data it makes itself, so a new user sees
//! graft work before they have any files. It draws a small three-class image folder (circles,
//! squares, stripes on noisy backgrounds), extracts backbone features with `graft extract`'s own
//! code, and measures how well the classes separate in feature space (leave-one-out
//! nearest-centroid accuracy against chance).

use anyhow::Context;
use graft_data::features::FeatureSet;
use image::{Rgb, RgbImage};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Folder for the demo's images and features
    #[arg(long, default_value = "runs/demo")]
    out: PathBuf,
    /// Images per class
    #[arg(long, default_value_t = 24)]
    per_class: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long)]
    threads: Option<usize>,
}

const CLASSES: [&str; 3] = ["circle", "square", "stripes"];

pub fn run(args: Args) -> anyhow::Result<()> {
    let images = args.out.join("images");
    draw_dataset(&images, args.per_class, args.seed)
        .with_context(|| format!("writing demo images under {}", images.display()))?;

    let lite0 =
        graft_data::testdata::data_dir().join("efficientnet_lite0/efficientnet_lite0.safetensors");
    let (model, weights) = if lite0.exists() {
        ("efficientnet_lite0", Some(lite0.display().to_string()))
    } else {
        eprintln!(
            "demo: pretrained EfficientNet-Lite0 weights not found at {} (set GRAFT_DATA); \
             using a randomly initialised resnet18 instead",
            lite0.display()
        );
        ("resnet18", None)
    };
    println!(
        "demo: {} images of {} classes in {}; backbone {model}{}",
        args.per_class * CLASSES.len(),
        CLASSES.len(),
        images.display(),
        if weights.is_some() {
            " (ImageNet weights)"
        } else {
            " (random weights)"
        }
    );
    let out = args.out.join("features.safetensors");
    super::extract::run(super::extract::Args {
        model: model.to_string(),
        weights,
        data: images,
        stage: None,
        out: out.clone(),
        format: None,
        batch_size: 16,
        threads: args.threads,
        seed: args.seed,
        device: "cpu".to_string(),
        skip_bad: false,
        json: false,
    })?;

    let set = FeatureSet::read(&out)?;
    let acc = loo_nearest_centroid(&set);
    println!(
        "demo: leave-one-out nearest-centroid accuracy on the features: {:.1} % (chance {:.1} %)",
        acc * 100.0,
        100.0 / CLASSES.len() as f64
    );
    Ok(())
}

/// Draws `per_class` 128x128 images of each class with random colours, sizes and positions.
fn draw_dataset(root: &Path, per_class: usize, seed: u64) -> anyhow::Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for (k, class) in CLASSES.iter().enumerate() {
        let dir = root.join(class);
        std::fs::create_dir_all(&dir)?;
        for i in 0..per_class {
            let img = draw(k, &mut rng);
            let path = dir.join(format!("{i:03}.png"));
            let tmp = dir.join(format!(".{i:03}.png.tmp"));
            img.save_with_format(&tmp, image::ImageFormat::Png)?;
            std::fs::rename(&tmp, &path)?;
        }
    }
    Ok(())
}

fn draw(class: usize, rng: &mut ChaCha8Rng) -> RgbImage {
    const S: i32 = 128;
    let bg: [u8; 3] = [
        rng.random_range(0..120),
        rng.random_range(0..120),
        rng.random_range(0..120),
    ];
    let fg: [u8; 3] = [
        rng.random_range(130..=255),
        rng.random_range(130..=255),
        rng.random_range(130..=255),
    ];
    let r = rng.random_range(18..40);
    let (cx, cy) = (rng.random_range(r..S - r), rng.random_range(r..S - r));
    let period = rng.random_range(8..20);
    let mut img = RgbImage::new(S as u32, S as u32);
    for y in 0..S {
        for x in 0..S {
            let inside = match class {
                0 => (x - cx).pow(2) + (y - cy).pow(2) <= r * r,
                1 => (x - cx).abs() <= r && (y - cy).abs() <= r,
                _ => (x / (period / 2)) % 2 == 0,
            };
            let base = if inside { fg } else { bg };
            let px = base.map(|c| (c as i32 + rng.random_range(-20..=20)).clamp(0, 255) as u8);
            img.put_pixel(x as u32, y as u32, Rgb(px));
        }
    }
    img
}

/// Fraction of samples whose nearest class centroid (cosine, the sample itself left out of its
/// own class's centroid) has the right label.
fn loo_nearest_centroid(set: &FeatureSet) -> f64 {
    let (n, d) = (set.n, set.d);
    let k = set.class_names.len();
    let mut sums = vec![0f64; k * d];
    let mut counts = vec![0usize; k];
    for i in 0..n {
        let c = set.labels[i] as usize;
        counts[c] += 1;
        for j in 0..d {
            sums[c * d + j] += set.features[i * d + j] as f64;
        }
    }
    let mut correct = 0;
    for i in 0..n {
        let x = &set.features[i * d..(i + 1) * d];
        let own = set.labels[i] as usize;
        let mut best = (f64::NEG_INFINITY, usize::MAX);
        for c in 0..k {
            let m = if c == own { counts[c] - 1 } else { counts[c] };
            if m == 0 {
                continue;
            }
            let (mut dot, mut nc, mut nx) = (0.0f64, 0.0f64, 0.0f64);
            for j in 0..d {
                let mut cj = sums[c * d + j];
                if c == own {
                    cj -= x[j] as f64;
                }
                cj /= m as f64;
                dot += cj * x[j] as f64;
                nc += cj * cj;
                nx += (x[j] as f64).powi(2);
            }
            let cos = dot / (nc.sqrt() * nx.sqrt()).max(1e-12);
            if cos > best.0 {
                best = (cos, c);
            }
        }
        if best.1 == own {
            correct += 1;
        }
    }
    correct as f64 / n as f64
}
