//! Places a glyph on the pixel grid and draws it with a round pen: each pixel's ink is the
//! area-coverage estimate `clamp(w/2 + 1/2 - d, 0, 1)` from its centre's distance `d` to the
//! nearest chord, which anti-aliases edges and gives round caps and joins for free.

use super::glyphs::P;
use super::uniform;
use rand_chacha::ChaCha8Rng;

/// Glyph height as a fraction of the image side at scale 1: MNIST's digits fill a 20 px box of
/// the 28 px frame (LeCun et al. 1998, "Gradient-based learning applied to document
/// recognition", Sec. III-A).
const HEIGHT: f32 = 20.0 / 28.0;

/// A random placement: glyph units to pixel coordinates (pixel centres at `x + 0.5`).
pub(super) struct Pose {
    m: [[f32; 2]; 2],
    t: [f32; 2],
}

impl Pose {
    /// Rotation within ±15°, scale 0.75-1.1, shear within ±0.3, a width/height ratio varied by
    /// ±15% and a shift of up to 2 px (at 28 px) each way.
    pub(super) fn sample(rng: &mut ChaCha8Rng, side: usize) -> Self {
        let px = side as f32 / 28.0;
        let theta = uniform(rng, -15.0, 15.0).to_radians();
        let h = HEIGHT * side as f32 * uniform(rng, 0.75, 1.1);
        let w = h * uniform(rng, 0.85, 1.15);
        let shear = uniform(rng, -0.3, 0.3);
        let (s, c) = theta.sin_cos();
        // R(theta) * [[1, shear], [0, 1]] * diag(w, h)
        let m = [[c * w, (c * shear - s) * h], [s * w, (s * shear + c) * h]];
        let half = side as f32 / 2.0;
        let t = [
            half + uniform(rng, -2.0, 2.0) * px,
            half + uniform(rng, -2.0, 2.0) * px,
        ];
        Pose { m, t }
    }

    fn apply(&self, p: P) -> P {
        let (x, y) = (p.0 - 0.5, p.1 - 0.5);
        P(
            self.m[0][0] * x + self.m[0][1] * y + self.t[0],
            self.m[1][0] * x + self.m[1][1] * y + self.t[1],
        )
    }
}

/// Ink coverage in [0, 1] of each pixel of a `side x side` image (row-major, into `cover`) for
/// `chords` in glyph units placed by `pose` and drawn `width` pixels wide. `dist2` is scratch.
pub(super) fn cover(
    chords: &[[P; 2]],
    pose: &Pose,
    width: f32,
    side: usize,
    dist2: &mut Vec<f32>,
    cover: &mut [f32],
) {
    let reach = width / 2.0 + 0.5;
    dist2.clear();
    dist2.resize(side * side, f32::INFINITY);
    for chord in chords {
        let (a, b) = (pose.apply(chord[0]), pose.apply(chord[1]));
        // Only pixels whose centre can be within `reach` of the chord are visited.
        let lo = |u: f32, v: f32| ((u.min(v) - reach - 0.5).floor().max(0.0)) as usize;
        let hi = |u: f32, v: f32| ((u.max(v) + reach - 0.5).ceil().min(side as f32 - 1.0)) as isize;
        let (x0, x1, y0, y1) = (lo(a.0, b.0), hi(a.0, b.0), lo(a.1, b.1), hi(a.1, b.1));
        if x1 < x0 as isize || y1 < y0 as isize {
            continue;
        }
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len2 = dx * dx + dy * dy;
        let inv = if len2 > 0.0 { 1.0 / len2 } else { 0.0 };
        for y in y0..=y1 as usize {
            let py = y as f32 + 0.5 - a.1;
            let row = &mut dist2[y * side..(y + 1) * side];
            for (x, d) in row.iter_mut().enumerate().take(x1 as usize + 1).skip(x0) {
                let px = x as f32 + 0.5 - a.0;
                let t = ((px * dx + py * dy) * inv).clamp(0.0, 1.0);
                let (ex, ey) = (px - t * dx, py - t * dy);
                *d = d.min(ex * ex + ey * ey);
            }
        }
    }
    for (c, d) in cover.iter_mut().zip(dist2.iter()) {
        *c = (reach - d.sqrt()).clamp(0.0, 1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Glyph units read as pixels: p_px = (p - 0.5) + 0.5 = p.
    fn identity() -> Pose {
        Pose {
            m: [[1.0, 0.0], [0.0, 1.0]],
            t: [0.5, 0.5],
        }
    }

    #[test]
    fn horizontal_line_covers_its_rows_fully_and_fades_at_the_edge() {
        let side = 10;
        let chords = [[P(2.0, 5.0), P(8.0, 5.0)]];
        let mut c = vec![0.0; side * side];
        cover(&chords, &identity(), 2.0, side, &mut Vec::new(), &mut c);
        // Row 4 and 5 have centres 0.5 px from the line: full ink; row 6 is 1.5 px away:
        // reach 1.5, so zero; row 3 likewise.
        for x in 2..8 {
            assert_eq!(c[4 * side + x], 1.0);
            assert_eq!(c[5 * side + x], 1.0);
            assert_eq!(c[6 * side + x], 0.0);
            assert_eq!(c[3 * side + x], 0.0);
        }
        // Round cap: the pixel left of the start, centre (1.5, 4.5), is sqrt(0.5) px away.
        assert!((c[4 * side + 1] - (1.5 - 0.5f32.sqrt())).abs() < 1e-6);
    }

    #[test]
    fn coverage_falls_linearly_with_distance() {
        let side = 8;
        let chords = [[P(0.0, 4.0), P(8.0, 4.0)]];
        let mut c = vec![0.0; side * side];
        cover(&chords, &identity(), 1.5, side, &mut Vec::new(), &mut c);
        // Centres 0.5 px away: 1.25 - 0.5 = 0.75 ink.
        assert!((c[3 * side + 4] - 0.75).abs() < 1e-6);
        assert!((c[4 * side + 4] - 0.75).abs() < 1e-6);
        assert_eq!(c[2 * side + 4], 0.0);
    }
}
