//! The ten digits as pen strokes in a unit box (x to the right, y down, glyph height 1, width
//! about 0.6), with two or three handwriting variants per class so that no single template
//! solves the task. Each sample bends its strokes through a smooth random warp, so strokes that
//! meet keep meeting, and the inner control points of curves move a little more on their own.

use super::uniform;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// A point in glyph units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct P(pub f32, pub f32);

/// One pen movement: a straight line or a quadratic or cubic Bezier curve (endpoints first and
/// last, control points between).
#[derive(Clone, Debug)]
enum Seg {
    Line([P; 2]),
    Quad([P; 3]),
    Cubic([P; 4]),
}

/// Pieces a curve is cut into: at 20 px glyph height a cubic spans at most ~15 px, so eight
/// chords stay within a tenth of a pixel of the curve.
const CUBIC_PIECES: usize = 8;
const QUAD_PIECES: usize = 6;

/// Circle-by-cubics constant 4(sqrt 2 - 1)/3: four cubics through the axis points of an ellipse
/// with their handles this fraction of a radius long stay within 0.03% of it.
const KAPPA: f32 = 0.552_284_8;

/// Draws a glyph the way a pen does: `m` lifts the pen, the other moves draw from where it is.
struct Pen {
    segs: Vec<Seg>,
    at: P,
}

impl Pen {
    fn new() -> Self {
        Pen {
            segs: Vec::with_capacity(12),
            at: P(0.0, 0.0),
        }
    }
    fn m(mut self, x: f32, y: f32) -> Self {
        self.at = P(x, y);
        self
    }
    fn l(mut self, x: f32, y: f32) -> Self {
        let to = P(x, y);
        self.segs.push(Seg::Line([self.at, to]));
        self.at = to;
        self
    }
    fn q(mut self, cx: f32, cy: f32, x: f32, y: f32) -> Self {
        let to = P(x, y);
        self.segs.push(Seg::Quad([self.at, P(cx, cy), to]));
        self.at = to;
        self
    }
    #[allow(clippy::too_many_arguments)]
    fn c(mut self, c1x: f32, c1y: f32, c2x: f32, c2y: f32, x: f32, y: f32) -> Self {
        let to = P(x, y);
        self.segs
            .push(Seg::Cubic([self.at, P(c1x, c1y), P(c2x, c2y), to]));
        self.at = to;
        self
    }
    /// A closed ellipse, drawn clockwise on screen from its rightmost point.
    fn ellipse(self, cx: f32, cy: f32, rx: f32, ry: f32) -> Self {
        let (kx, ky) = (KAPPA * rx, KAPPA * ry);
        self.m(cx + rx, cy)
            .c(cx + rx, cy + ky, cx + kx, cy + ry, cx, cy + ry)
            .c(cx - kx, cy + ry, cx - rx, cy + ky, cx - rx, cy)
            .c(cx - rx, cy - ky, cx - kx, cy - ry, cx, cy - ry)
            .c(cx + kx, cy - ry, cx + rx, cy - ky, cx + rx, cy)
    }
}

/// How many styles each digit comes in.
const VARIANTS: [usize; 10] = [2, 3, 2, 2, 2, 2, 2, 3, 2, 3];

/// The strokes of `digit` (0-9) in style `variant` (< `VARIANTS[digit]`).
fn strokes(digit: usize, variant: usize) -> Vec<Seg> {
    let p = Pen::new();
    let pen = match (digit, variant) {
        // 0: a plain oval, or a single stroke that overshoots where it started.
        (0, 0) => p.ellipse(0.5, 0.5, 0.28, 0.48),
        (0, _) => p
            .m(0.56, 0.03)
            .c(0.16, 0.0, 0.16, 1.0, 0.5, 1.0)
            .c(0.86, 1.0, 0.84, 0.0, 0.44, 0.07),
        // 1: a bare stem, with a flag, or with flag and foot.
        (1, 0) => p.m(0.5, 0.0).l(0.5, 1.0),
        (1, 1) => p.m(0.3, 0.22).l(0.52, 0.0).l(0.52, 1.0),
        (1, _) => p
            .m(0.3, 0.2)
            .l(0.52, 0.0)
            .l(0.52, 1.0)
            .m(0.3, 1.0)
            .l(0.74, 1.0),
        // 2: straight or wavy base.
        (2, 0) => p
            .m(0.22, 0.25)
            .c(0.25, -0.03, 0.78, -0.04, 0.76, 0.28)
            .c(0.74, 0.5, 0.4, 0.72, 0.2, 1.0)
            .l(0.8, 1.0),
        (2, _) => p
            .m(0.24, 0.22)
            .c(0.3, -0.04, 0.8, -0.02, 0.74, 0.3)
            .c(0.7, 0.52, 0.36, 0.74, 0.2, 0.98)
            .q(0.5, 0.86, 0.82, 0.97),
        // 3: round top or flat top.
        (3, 0) => p
            .m(0.24, 0.15)
            .c(0.35, -0.04, 0.76, -0.03, 0.74, 0.24)
            .c(0.73, 0.42, 0.55, 0.47, 0.42, 0.48)
            .c(0.72, 0.48, 0.8, 0.62, 0.78, 0.74)
            .c(0.76, 1.02, 0.35, 1.04, 0.2, 0.86),
        (3, _) => p
            .m(0.24, 0.02)
            .l(0.76, 0.02)
            .l(0.44, 0.42)
            .c(0.74, 0.4, 0.8, 0.6, 0.78, 0.72)
            .c(0.76, 1.02, 0.35, 1.04, 0.2, 0.86),
        // 4: closed (printed) or open (handwritten).
        (4, 0) => p.m(0.64, 1.0).l(0.64, 0.0).l(0.18, 0.68).l(0.82, 0.68),
        (4, _) => p
            .m(0.3, 0.0)
            .l(0.24, 0.6)
            .l(0.82, 0.6)
            .m(0.66, 0.2)
            .l(0.66, 1.0),
        // 5: one stroke with the bar first, or the bar added last.
        (5, 0) => p
            .m(0.76, 0.02)
            .l(0.32, 0.02)
            .l(0.28, 0.45)
            .c(0.45, 0.34, 0.8, 0.38, 0.78, 0.68)
            .c(0.76, 1.0, 0.35, 1.05, 0.2, 0.88),
        (5, _) => p
            .m(0.3, 0.02)
            .l(0.27, 0.46)
            .c(0.5, 0.32, 0.82, 0.42, 0.78, 0.7)
            .c(0.74, 1.0, 0.38, 1.04, 0.22, 0.9)
            .m(0.3, 0.02)
            .l(0.78, 0.0),
        // 6: one sweeping stroke, or a straighter stem into a separate loop.
        (6, 0) => p
            .m(0.7, 0.04)
            .c(0.42, 0.08, 0.24, 0.38, 0.24, 0.68)
            .c(0.24, 0.94, 0.4, 1.0, 0.5, 1.0)
            .c(0.7, 1.0, 0.78, 0.86, 0.77, 0.73)
            .c(0.76, 0.52, 0.5, 0.44, 0.25, 0.62),
        (6, _) => p
            .m(0.64, 0.0)
            .q(0.3, 0.32, 0.25, 0.72)
            .ellipse(0.5, 0.74, 0.25, 0.26),
        // 7: plain, with a bar, or with a curved stem.
        (7, 0) => p.m(0.2, 0.03).l(0.8, 0.03).l(0.42, 1.0),
        (7, 1) => p
            .m(0.2, 0.03)
            .l(0.8, 0.03)
            .l(0.42, 1.0)
            .m(0.34, 0.52)
            .l(0.74, 0.52),
        (7, _) => p.m(0.2, 0.03).l(0.8, 0.03).q(0.5, 0.45, 0.45, 1.0),
        // 8: two stacked loops, or one figure-of-eight stroke.
        (8, 0) => p
            .ellipse(0.5, 0.25, 0.21, 0.24)
            .ellipse(0.5, 0.73, 0.26, 0.27),
        (8, _) => p
            .m(0.5, 0.5)
            .c(0.2, 0.4, 0.24, 0.02, 0.5, 0.02)
            .c(0.76, 0.02, 0.8, 0.4, 0.5, 0.5)
            .c(0.18, 0.6, 0.2, 1.0, 0.5, 1.0)
            .c(0.8, 1.0, 0.82, 0.6, 0.5, 0.5),
        // 9: loop with a straight stem, a curved stem, or loop and stem in one stroke.
        (9, 0) => p.ellipse(0.5, 0.3, 0.25, 0.28).m(0.75, 0.3).l(0.72, 1.0),
        (9, 1) => p
            .ellipse(0.5, 0.3, 0.25, 0.28)
            .m(0.75, 0.3)
            .c(0.76, 0.7, 0.62, 1.0, 0.35, 1.0),
        _ => p
            .m(0.75, 0.25)
            .c(0.7, 0.0, 0.25, 0.0, 0.26, 0.3)
            .c(0.27, 0.55, 0.7, 0.58, 0.75, 0.25)
            .l(0.7, 1.0),
    };
    pen.segs
}

/// Amplitude of the smooth warp, in glyph heights: enough to change proportions visibly (a 3's
/// bowls, a 9's loop) without merging a digit into its neighbour class.
const WARP: f32 = 0.04;
/// Extra independent movement of curve control points, in glyph heights.
const CONTROL_JITTER: f32 = 0.035;

/// A low-frequency displacement field, the same for every stroke of one sample.
struct Warp {
    k: [[f32; 2]; 2],
    phase: [f32; 2],
    amp: [f32; 2],
}

impl Warp {
    fn sample(rng: &mut ChaCha8Rng) -> Self {
        let tau = std::f32::consts::TAU;
        let mut k = [[0.0; 2]; 2];
        for row in &mut k {
            for v in row.iter_mut() {
                *v = tau * uniform(rng, -1.2, 1.2);
            }
        }
        Warp {
            k,
            phase: [uniform(rng, 0.0, tau), uniform(rng, 0.0, tau)],
            amp: [uniform(rng, 0.0, WARP), uniform(rng, 0.0, WARP)],
        }
    }
    fn apply(&self, p: P) -> P {
        let s = |i: usize| (self.k[i][0] * p.0 + self.k[i][1] * p.1 + self.phase[i]).sin();
        P(p.0 + self.amp[0] * s(0), p.1 + self.amp[1] * s(1))
    }
}

/// One sample of `digit`: a random style, warped and jittered, as straight chords `[from, to]`
/// in glyph units.
pub(super) fn sample(digit: usize, rng: &mut ChaCha8Rng, chords: &mut Vec<[P; 2]>) {
    let variant = rng.random_range(0..VARIANTS[digit]);
    let warp = Warp::sample(rng);
    let mut jitter = |p: P| {
        P(
            p.0 + uniform(rng, -CONTROL_JITTER, CONTROL_JITTER),
            p.1 + uniform(rng, -CONTROL_JITTER, CONTROL_JITTER),
        )
    };
    chords.clear();
    for seg in strokes(digit, variant) {
        match seg {
            Seg::Line([a, b]) => chords.push([warp.apply(a), warp.apply(b)]),
            Seg::Quad([a, c, b]) => {
                let pts = [warp.apply(a), warp.apply(jitter(c)), warp.apply(b)];
                flatten(chords, QUAD_PIECES, |t| {
                    let u = 1.0 - t;
                    [u * u, 2.0 * u * t, t * t]
                        .iter()
                        .zip(&pts)
                        .fold(P(0.0, 0.0), |s, (w, p)| P(s.0 + w * p.0, s.1 + w * p.1))
                });
            }
            Seg::Cubic([a, c1, c2, b]) => {
                let pts = [
                    warp.apply(a),
                    warp.apply(jitter(c1)),
                    warp.apply(jitter(c2)),
                    warp.apply(b),
                ];
                flatten(chords, CUBIC_PIECES, |t| {
                    let u = 1.0 - t;
                    [u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t]
                        .iter()
                        .zip(&pts)
                        .fold(P(0.0, 0.0), |s, (w, p)| P(s.0 + w * p.0, s.1 + w * p.1))
                });
            }
        }
    }
}

/// Cuts the curve `at(t)`, t in [0, 1], into `pieces` chords of equal parameter step.
fn flatten(chords: &mut Vec<[P; 2]>, pieces: usize, at: impl Fn(f32) -> P) {
    let mut prev = at(0.0);
    for i in 1..=pieces {
        let next = at(i as f32 / pieces as f32);
        chords.push([prev, next]);
        prev = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn every_style_stays_near_the_unit_box() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut chords = Vec::new();
        for digit in 0..10 {
            for _ in 0..50 {
                sample(digit, &mut rng, &mut chords);
                assert!(!chords.is_empty(), "digit {digit} has no strokes");
                for p in chords.iter().flatten() {
                    assert!(
                        (-0.15..=1.15).contains(&p.0) && (-0.15..=1.15).contains(&p.1),
                        "digit {digit} leaves the box at {p:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn ellipse_passes_through_its_axis_points() {
        let segs = Pen::new().ellipse(0.5, 0.5, 0.2, 0.4).segs;
        let ends: Vec<P> = segs
            .iter()
            .map(|s| match s {
                Seg::Cubic(p) => p[3],
                _ => unreachable!("ellipses are cubics"),
            })
            .collect();
        let want = [P(0.5, 0.9), P(0.3, 0.5), P(0.5, 0.1), P(0.7, 0.5)];
        for (e, w) in ends.iter().zip(&want) {
            assert!(
                (e.0 - w.0).abs() < 1e-6 && (e.1 - w.1).abs() < 1e-6,
                "{e:?} vs {w:?}"
            );
        }
    }
}
