//! Preprocesses one JPEG the way the loader does, with the full-size and the reduced decode, and
//! writes both 8-bit results (after resize + centre crop) for scripts/reference/jpeg_draft.py to
//! compare with PIL's `Image.draft`. Prints the reduction and the time per image of each path.
//!
//!   cargo run --release -p graft-data --example jpeg_draft -- IMAGE.jpg SHORTER CROP OUT_DIR \
//!       [bilinear|bicubic] [REPEATS]
//!
//! Writes OUT_DIR/graft_full.png and OUT_DIR/graft_reduced.png.

use graft_data::image_io::{decode_for, DecodeSize, Preprocessor};
use graft_data::preprocess::{ColorMode, Interpolation, Normalization, Preprocess};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 4 {
        eprintln!("usage: jpeg_draft IMAGE SHORTER CROP OUT_DIR [bilinear|bicubic] [REPEATS]");
        std::process::exit(2);
    }
    let path = PathBuf::from(&args[0]);
    let shorter: u32 = args[1].parse().expect("SHORTER is a number");
    let crop: u32 = args[2].parse().expect("CROP is a number");
    let out = Path::new(&args[3]);
    let interpolation = match args.get(4).map(String::as_str) {
        None | Some("bilinear") => Interpolation::Bilinear,
        Some("bicubic") => Interpolation::Bicubic,
        Some(other) => panic!("unknown interpolation {other}"),
    };
    let repeats: usize = args.get(5).map_or(10, |r| r.parse().expect("REPEATS"));
    let p = Preprocess {
        resize_shorter: Some(shorter),
        crop: Some((crop, crop)),
        interpolation,
        color: ColorMode::Rgb,
        normalization: Normalization::UnitRange,
    };
    let pre = Preprocessor::new(&p).unwrap();
    let mut tensor = vec![0f32; 3 * (crop * crop) as usize];
    for (size, name) in [
        (DecodeSize::Full, "graft_full"),
        (DecodeSize::Reduced, "graft_reduced"),
    ] {
        let mut times = Vec::with_capacity(repeats);
        let mut k = 0;
        for _ in 0..repeats.max(1) {
            let t = Instant::now();
            let d = decode_for(&path, &p, size).unwrap();
            pre.run_decoded_into(&d, &mut tensor, false).unwrap();
            times.push(t.elapsed().as_secs_f64() * 1e3);
            k = d.reduction();
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{name}: reduction 1/{k}, decode + preprocess median {:.1} ms, min {:.1} ms \
             ({} runs)",
            times[times.len() / 2],
            times[0],
            times.len()
        );
        // Unit-range values are level / 255: back to the 8-bit crop, HWC.
        let plane = (crop * crop) as usize;
        let img = image::RgbImage::from_fn(crop, crop, |x, y| {
            let i = (y * crop + x) as usize;
            image::Rgb(std::array::from_fn(|c| {
                (tensor[c * plane + i] * 255.0).round() as u8
            }))
        });
        img.save(out.join(format!("{name}.png"))).unwrap();
    }
}
