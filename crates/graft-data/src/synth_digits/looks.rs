//! What makes the two domains differ: how ink coverage becomes pixels. The source is clean
//! light-on-dark grey like MNIST; the target follows MNIST-M's recipe of blending the digit into
//! a colour texture (Ganin & Lempitsky 2015, Sec. 5: `out = |background - digit|` per channel),
//! with coloured ink, inversion, other pen widths, blur and noise on top.

use super::texture::{self, hsv, luma, Rgb};
use super::{uniform, PixelNoise, Scratch};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Pen width in pixels at 28 px: MNIST's strokes are 2-3 px wide.
pub(super) fn source_width(rng: &mut ChaCha8Rng) -> f32 {
    uniform(rng, 1.7, 3.0)
}

/// Pen width in pixels at 28 px: both thinner and thicker than the source.
pub(super) fn target_width(rng: &mut ChaCha8Rng) -> f32 {
    if rng.random_bool(0.5) {
        uniform(rng, 1.2, 1.8)
    } else {
        uniform(rng, 2.8, 4.2)
    }
}

/// Light grey ink on a dark, almost flat, almost grey background, with light noise.
pub(super) fn source(rng: &mut ChaCha8Rng, cover: &[f32], side: usize, out: &mut [Rgb]) {
    let bg = uniform(rng, 0.0, 0.15);
    let ink = uniform(rng, 0.75, 1.0);
    let tint: [f32; 3] = std::array::from_fn(|_| 1.0 + uniform(rng, -0.04, 0.04));
    // A faint linear gradient, so the background is not one constant.
    let (gx, gy) = (uniform(rng, -0.04, 0.04), uniform(rng, -0.04, 0.04));
    let sigma = uniform(rng, 0.005, 0.025);
    let mut noise = PixelNoise::new(rng);
    for (i, (o, &c)) in out.iter_mut().zip(cover).enumerate() {
        let (x, y) = (
            (i % side) as f32 / side as f32 - 0.5,
            (i / side) as f32 / side as f32 - 0.5,
        );
        let base = (bg + gx * x + gy * y).max(0.0);
        let v = base + (ink - base) * c + sigma * noise.next();
        *o = std::array::from_fn(|k| v * tint[k]);
    }
}

/// A digit blended into a colour texture, in one of two ways, then degraded.
pub(super) fn target(
    rng: &mut ChaCha8Rng,
    cover: &[f32],
    side: usize,
    scratch: &mut Scratch,
    out: &mut [Rgb],
) {
    texture::background(rng, side, scratch, out);
    if rng.random_bool(0.5) {
        // MNIST-M: the digit inverts the background where it lies.
        for (o, &c) in out.iter_mut().zip(cover) {
            *o = o.map(|b| (b - c).abs());
        }
    } else {
        // Coloured ink that contrasts with the background's mean brightness.
        let mean = out.iter().map(|p| luma(*p)).sum::<f32>() / out.len().max(1) as f32;
        let v = if mean > 0.5 {
            uniform(rng, 0.0, 0.3)
        } else {
            uniform(rng, 0.7, 1.0)
        };
        let ink = hsv(rng.random(), uniform(rng, 0.2, 1.0), v);
        let alpha = uniform(rng, 0.75, 1.0);
        for (o, &c) in out.iter_mut().zip(cover) {
            let t = alpha * c;
            *o = std::array::from_fn(|k| o[k] + (ink[k] - o[k]) * t);
        }
    }
    if rng.random_bool(0.2) {
        out.iter_mut().for_each(|p| *p = p.map(|c| 1.0 - c));
    }
    if rng.random_bool(0.7) {
        blur(out, side, uniform(rng, 0.4, 1.0), &mut scratch.blur);
    }
    let sigma = uniform(rng, 0.01, 0.05);
    let mut noise = PixelNoise::new(rng);
    for o in out.iter_mut() {
        *o = o.map(|c| c + sigma * noise.next());
    }
}

/// Separable Gaussian blur with standard deviation `sigma` px (radius 2, edges clamped).
fn blur(img: &mut [Rgb], side: usize, sigma: f32, tmp: &mut Vec<Rgb>) {
    let mut k = [0.0f32; 5];
    for (i, w) in k.iter_mut().enumerate() {
        let d = i as f32 - 2.0;
        *w = (-d * d / (2.0 * sigma * sigma)).exp();
    }
    let sum: f32 = k.iter().sum();
    k.iter_mut().for_each(|w| *w /= sum);
    let at = |i: usize, d: usize| (i + d).saturating_sub(2).min(side - 1);
    tmp.clear();
    tmp.resize(side * side, [0.0; 3]);
    for y in 0..side {
        for x in 0..side {
            let mut acc = [0.0; 3];
            for (d, w) in k.iter().enumerate() {
                let p = img[y * side + at(x, d)];
                (0..3).for_each(|c| acc[c] += w * p[c]);
            }
            tmp[y * side + x] = acc;
        }
    }
    for y in 0..side {
        for x in 0..side {
            let mut acc = [0.0; 3];
            for (d, w) in k.iter().enumerate() {
                let p = tmp[at(y, d) * side + x];
                (0..3).for_each(|c| acc[c] += w * p[c]);
            }
            img[y * side + x] = acc;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blur_keeps_flat_images_and_spreads_a_dot() {
        let side = 7;
        let mut img = vec![[0.25; 3]; side * side];
        blur(&mut img, side, 0.8, &mut Vec::new());
        assert!(img.iter().flatten().all(|v| (v - 0.25).abs() < 1e-6));
        let mut dot = vec![[0.0; 3]; side * side];
        dot[3 * side + 3] = [1.0; 3];
        blur(&mut dot, side, 0.8, &mut Vec::new());
        let total: f32 = dot.iter().map(|p| p[0]).sum();
        assert!((total - 1.0).abs() < 1e-5, "blur must keep mass: {total}");
        assert!(dot[3 * side + 3][0] < 0.5 && dot[3 * side + 4][0] > 0.05);
        assert_eq!(dot[3 * side + 4], dot[3 * side + 2]);
    }
}
