//! Draws 10 x 10 synthetic digits of each domain side by side (source left, target right; one
//! column per class) into a PNG, to judge by eye what `graft demo` trains on, and times
//! rendering 20,000 images per domain.
//!
//! `cargo run --release -p graft-data --example digits_grid -- OUT.png [SEED] [ZOOM]`

use graft_data::atomic::write_atomic;
use graft_data::synth_digits::{render, DigitDomain, DigitImages, CLASSES};
use image::{ImageFormat, Rgb, RgbImage};
use std::error::Error;
use std::path::PathBuf;
use std::time::Instant;

/// Pixels between the two grids.
const GAP: u32 = 12;

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: digits_grid OUT.png [SEED] [ZOOM]";
    let out = PathBuf::from(args.next().ok_or(usage)?);
    let seed: u64 = args.next().map_or(Ok(0), |s| s.parse())?;
    let zoom: u32 = args.next().map_or(Ok(3), |s| s.parse())?;
    if zoom == 0 {
        return Err("ZOOM must be at least 1".into());
    }

    let n = 20_000;
    for domain in [DigitDomain::Source, DigitDomain::Target] {
        let start = Instant::now();
        let d = render(domain, n, seed);
        println!(
            "{}: {n} images in {:.3} s on {} threads",
            domain.name(),
            start.elapsed().as_secs_f64(),
            rayon::current_num_threads()
        );
        std::hint::black_box(d);
    }

    let grids = [
        render(DigitDomain::Source, CLASSES * CLASSES, seed),
        render(DigitDomain::Target, CLASSES * CLASSES, seed),
    ];
    let cell = 28 * zoom;
    let width = 2 * CLASSES as u32 * cell + GAP;
    let mut img = RgbImage::from_pixel(width, CLASSES as u32 * cell, Rgb([255, 255, 255]));
    for (g, d) in grids.iter().enumerate() {
        let left = g as u32 * (CLASSES as u32 * cell + GAP);
        paste(&mut img, d, left, zoom);
    }
    write_atomic(&out, |w| {
        img.write_to(w, ImageFormat::Png)
            .map_err(std::io::Error::other)
    })?;
    println!("wrote {}", out.display());
    Ok(())
}

/// Copies image `i` of `d` to row `i / 10`, column `i % 10` (its class), each pixel as a
/// `zoom x zoom` block.
fn paste(img: &mut RgbImage, d: &DigitImages, left: u32, zoom: u32) {
    let side = d.side as u32;
    for i in 0..d.len() {
        let (row, col) = ((i / CLASSES) as u32, (i % CLASSES) as u32);
        let src = d.image(i);
        for y in 0..side * zoom {
            for x in 0..side * zoom {
                let p = ((y / zoom) * side + x / zoom) as usize * 3;
                img.put_pixel(
                    left + col * side * zoom + x,
                    row * side * zoom + y,
                    Rgb([src[p], src[p + 1], src[p + 2]]),
                );
            }
        }
    }
}
