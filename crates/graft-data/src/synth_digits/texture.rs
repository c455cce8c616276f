//! Photo-like colour backgrounds for the target domain. MNIST-M puts digits on crops of BSDS500
//! photographs (Ganin & Lempitsky 2015, "Unsupervised Domain Adaptation by Backpropagation",
//! Sec. 5); without photos we stand in random blends of what such crops show at 28 px: smooth
//! colour gradients (value noise), periodic structure (stripes) and flat regions with edges
//! (patches), plus fine grain.

use super::{uniform, Scratch};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// One pixel, channels in [0, 1].
pub(super) type Rgb = [f32; 3];

/// HSV to RGB, all in [0, 1] (Smith 1978, "Color gamut transform pairs", hexcone model).
pub(super) fn hsv(h: f32, s: f32, v: f32) -> Rgb {
    let h6 = (h.fract() + 1.0).fract() * 6.0;
    let f = h6.fract();
    let (p, q, t) = (v * (1.0 - s), v * (1.0 - s * f), v * (1.0 - s * (1.0 - f)));
    match h6 as u32 {
        0 => [v, t, p],
        1 => [q, v, p],
        2 => [p, v, t],
        3 => [p, q, v],
        4 => [t, p, v],
        _ => [v, p, q],
    }
}

/// A colour as photographs have them: any hue, mostly muted.
fn colour(rng: &mut ChaCha8Rng) -> Rgb {
    let s = uniform(rng, 0.0, 1.0);
    hsv(
        rng.random(),
        0.05 + 0.85 * s.powf(1.5),
        uniform(rng, 0.1, 1.0),
    )
}

fn lerp(a: Rgb, b: Rgb, t: f32) -> Rgb {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

fn smoothstep(t: f32) -> f32 {
    let t = t.clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Lattice value noise in [0, 1] with `cells` cells across the image (Perlin 1985, "An image
/// synthesizer", Sec. 3, with smoothstep-eased bilinear interpolation), added into `out` times
/// `amp`.
fn value_noise(rng: &mut ChaCha8Rng, side: usize, cells: usize, amp: f32, out: &mut [f32]) {
    let n = cells + 1;
    debug_assert!(n <= 17, "at most 16 noise cells");
    let mut lattice = [0.0f32; 17 * 17];
    for v in lattice.iter_mut().take(n * n) {
        *v = rng.random();
    }
    // Cell index and eased position within it, the same for every row (and column).
    let step = cells as f32 / side as f32;
    let axis: Vec<(usize, f32)> = (0..side)
        .map(|x| {
            let f = (x as f32 + 0.5) * step;
            let i = (f as usize).min(cells - 1);
            (i, smoothstep(f - i as f32))
        })
        .collect();
    for (&(iy, ty), row) in axis.iter().zip(out.chunks_exact_mut(side)) {
        let (above, below) = (&lattice[iy * n..], &lattice[(iy + 1) * n..]);
        for (&(ix, tx), o) in axis.iter().zip(row.iter_mut()) {
            let top = above[ix] + (above[ix + 1] - above[ix]) * tx;
            let bottom = below[ix] + (below[ix + 1] - below[ix]) * tx;
            *o += amp * (top + (bottom - top) * ty);
        }
    }
}

/// Two octaves of value noise stretched to fill [0, 1].
fn fractal_noise(rng: &mut ChaCha8Rng, side: usize, out: &mut Vec<f32>) {
    out.clear();
    out.resize(side * side, 0.0);
    let cells = rng.random_range(2..=4);
    value_noise(rng, side, cells, 1.0, out);
    value_noise(rng, side, cells * 3, 0.45, out);
    let (lo, hi) = out
        .iter()
        .fold((f32::MAX, f32::MIN), |(l, h), &v| (l.min(v), h.max(v)));
    let scale = if hi > lo { 1.0 / (hi - lo) } else { 0.0 };
    out.iter_mut().for_each(|v| *v = (*v - lo) * scale);
}

/// One texture layer of a random kind into `out`.
fn layer(rng: &mut ChaCha8Rng, side: usize, noise: &mut Vec<f32>, out: &mut [Rgb]) {
    fractal_noise(rng, side, noise);
    match rng.random_range(0..3) {
        // Smooth colour field: the noise read through a three-colour gradient.
        0 => {
            let c = [colour(rng), colour(rng), colour(rng)];
            for (o, &t) in out.iter_mut().zip(noise.iter()) {
                *o = if t < 0.5 {
                    lerp(c[0], c[1], 2.0 * t)
                } else {
                    lerp(c[1], c[2], 2.0 * t - 1.0)
                };
            }
        }
        // Stripes bent by the noise, soft or hard-edged.
        1 => {
            let (c0, c1) = (colour(rng), colour(rng));
            let theta = uniform(rng, 0.0, std::f32::consts::PI);
            let freq = std::f32::consts::TAU * uniform(rng, 1.0, 3.5) / side as f32;
            let (dx, dy) = (theta.cos() * freq, theta.sin() * freq);
            let phase = uniform(rng, 0.0, std::f32::consts::TAU);
            let bend = uniform(rng, 0.0, 3.0);
            let hard = rng.random_bool(0.5);
            for (i, o) in out.iter_mut().enumerate() {
                let (x, y) = ((i % side) as f32, (i / side) as f32);
                let s = 0.5 + 0.5 * (x * dx + y * dy + phase + bend * noise[i]).sin();
                let s = if hard { smoothstep((s - 0.4) * 5.0) } else { s };
                *o = lerp(c0, c1, s);
            }
        }
        // Flat regions with sharp borders (nearest of a few seeds), shaded by the noise.
        _ => {
            let k = rng.random_range(3..=7);
            let mut seeds = [([0.0f32; 2], [0.0f32; 3]); 7];
            for s in seeds.iter_mut().take(k) {
                let at = [
                    uniform(rng, 0.0, side as f32),
                    uniform(rng, 0.0, side as f32),
                ];
                *s = (at, colour(rng));
            }
            let shade = uniform(rng, 0.0, 0.5);
            for (i, o) in out.iter_mut().enumerate() {
                let (x, y) = ((i % side) as f32 + 0.5, (i / side) as f32 + 0.5);
                let (mut best, mut nearest) = (f32::INFINITY, [0.0; 3]);
                for (at, c) in &seeds[..k] {
                    let d = (at[0] - x) * (at[0] - x) + (at[1] - y) * (at[1] - y);
                    if d < best {
                        (best, nearest) = (d, *c);
                    }
                }
                let f = 1.0 - shade * (noise[i] - 0.5);
                *o = [nearest[0] * f, nearest[1] * f, nearest[2] * f];
            }
        }
    }
}

/// A random background into `out` (`side * side` pixels, row-major): one to three layers, each
/// laid over the last through a soft noise mask, then fine grain, then toned to a dark or a
/// light mean at reduced contrast. The tone keeps the digit readable: the MNIST-M blend
/// `|b - ink|` vanishes where the background is mid-grey, and real photo crops rarely are
/// mid-grey everywhere.
pub(super) fn background(rng: &mut ChaCha8Rng, side: usize, s: &mut Scratch, out: &mut [Rgb]) {
    layer(rng, side, &mut s.noise, out);
    s.layer.resize(side * side, [0.0; 3]);
    for _ in 0..rng.random_range(0..=2) {
        layer(rng, side, &mut s.noise, &mut s.layer);
        fractal_noise(rng, side, &mut s.mask);
        let cut = uniform(rng, 0.3, 0.7);
        for ((o, &l), &m) in out.iter_mut().zip(s.layer.iter()).zip(s.mask.iter()) {
            *o = lerp(*o, l, smoothstep((m - cut) * 4.0 + 0.5));
        }
    }
    s.noise.clear();
    s.noise.resize(side * side, 0.0);
    value_noise(rng, side, (side / 4).clamp(2, 16), 1.0, &mut s.noise);
    let grain = uniform(rng, 0.0, 0.3);
    for (o, &g) in out.iter_mut().zip(s.noise.iter()) {
        let f = 1.0 + grain * (g - 0.5);
        *o = o.map(|c| c * f);
    }
    let mean = out.iter().map(|p| luma(*p)).sum::<f32>() / out.len().max(1) as f32;
    let level = if rng.random_bool(0.5) {
        uniform(rng, 0.05, 0.35)
    } else {
        uniform(rng, 0.65, 0.95)
    };
    let contrast = uniform(rng, 0.45, 0.9);
    // Brightness is compressed, colour (each channel's offset from luma) kept.
    for o in out.iter_mut() {
        let l = luma(*o);
        let to = level + contrast * (l - mean);
        *o = o.map(|c| (to + c - l).clamp(0.0, 1.0));
    }
}

/// ITU-R 601-2 luma, as PIL's `convert("L")`.
pub(super) fn luma(p: Rgb) -> f32 {
    0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn hsv_primaries_and_grey() {
        assert_eq!(hsv(0.0, 1.0, 1.0), [1.0, 0.0, 0.0]);
        assert_eq!(hsv(1.0 / 3.0, 1.0, 1.0)[1], 1.0);
        assert_eq!(hsv(2.0 / 3.0, 1.0, 1.0)[2], 1.0);
        assert_eq!(hsv(0.7, 0.0, 0.4), [0.4, 0.4, 0.4]);
    }

    #[test]
    fn value_noise_is_continuous_and_in_range() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let side = 28;
        let mut out = vec![0.0; side * side];
        value_noise(&mut rng, side, 3, 1.0, &mut out);
        assert!(out.iter().all(|v| (0.0..=1.0).contains(v)));
        // Three cells over 28 px: neighbours differ by at most a fraction of the range.
        for y in 0..side {
            for x in 1..side {
                assert!((out[y * side + x] - out[y * side + x - 1]).abs() < 0.2);
            }
        }
    }

    #[test]
    fn backgrounds_are_coloured_and_varied() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let side = 28;
        let mut s = Scratch::default();
        let mut img = vec![[0.0; 3]; side * side];
        let mut spread = 0.0;
        for _ in 0..20 {
            background(&mut rng, side, &mut s, &mut img);
            assert!(img.iter().flatten().all(|v| (0.0..=1.0).contains(v)));
            let mean = img.iter().map(|p| p[0]).sum::<f32>() / img.len() as f32;
            spread += img.iter().map(|p| (p[0] - mean).abs()).sum::<f32>() / img.len() as f32;
        }
        assert!(
            spread / 20.0 > 0.03,
            "backgrounds too flat: {}",
            spread / 20.0
        );
    }
}
