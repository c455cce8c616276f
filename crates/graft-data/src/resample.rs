//! PIL's antialiased convolution resampling (`Image.resize` with BILINEAR or BICUBIC), bit for
//! bit. Models are trained on inputs that PIL resized, and a resize that differs by a level or
//! two shifts features measurably, so this follows Pillow's `Resample.c` exactly: filter support
//! scaled by the downscale factor, weights normalised in `f64` and rounded to 22-bit fixed point,
//! a horizontal pass rounded to 8 bits, then a vertical pass.
//!
//! Unlike PIL it computes only the output pixels a centre crop keeps (each output pixel depends
//! only on its own weights, so the result is identical) and only the input rows they need.

use std::ops::Range;

const PRECISION_BITS: u32 = 32 - 8 - 2;
const HALF: i32 = 1 << (PRECISION_BITS - 1);

/// The two resampling kernels graft's recipes use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Filter {
    /// Triangle, support 1.
    Bilinear,
    /// Keys cubic with a = -0.5 (Catmull-Rom), support 2.
    Bicubic,
}

impl Filter {
    fn support(self) -> f64 {
        match self {
            Filter::Bilinear => 1.0,
            Filter::Bicubic => 2.0,
        }
    }

    fn eval(self, x: f64) -> f64 {
        let x = x.abs();
        match self {
            Filter::Bilinear => {
                if x < 1.0 {
                    1.0 - x
                } else {
                    0.0
                }
            }
            Filter::Bicubic => {
                const A: f64 = -0.5;
                if x < 1.0 {
                    ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
                } else if x < 2.0 {
                    (((x - 5.0) * x + 8.0) * x - 4.0) * A
                } else {
                    0.0
                }
            }
        }
    }
}

/// Fixed-point weights of a run of consecutive output positions along one axis.
#[derive(Debug)]
pub(crate) struct Weights {
    /// Per output position: first input index and number of taps.
    bounds: Vec<(usize, usize)>,
    /// `bounds.len() * ksize` weights, row per output position.
    k: Vec<i32>,
    ksize: usize,
}

impl Weights {
    /// PIL's `precompute_coeffs` + `normalize_coeffs_8bpc` for resizing `in_size` to `out_size`,
    /// restricted to the output positions `outputs`.
    #[cfg(test)]
    pub(crate) fn new(
        in_size: usize,
        out_size: usize,
        filter: Filter,
        outputs: Range<usize>,
    ) -> Self {
        Self::with_extent(in_size, in_size as f64, out_size, filter, outputs)
    }

    /// [`Self::new`] where the output spans only the first `in_extent` input pixels (PIL's
    /// `resize(box=(0, 0, in_extent, ..))`), taps still reaching up to `in_size`. A JPEG decoded
    /// at 1/k is `ceil(n / k)` pixels wide but the original `n` pixels cover `n / k` of them:
    /// this keeps every output pixel centred where it is in the full-size resize.
    pub(crate) fn with_extent(
        in_size: usize,
        in_extent: f64,
        out_size: usize,
        filter: Filter,
        outputs: Range<usize>,
    ) -> Self {
        let scale = in_extent / out_size as f64;
        let filterscale = scale.max(1.0);
        let support = filter.support() * filterscale;
        let ksize = support.ceil() as usize * 2 + 1;
        let ss = 1.0 / filterscale;
        let mut bounds = Vec::with_capacity(outputs.len());
        let mut k = vec![0i32; outputs.len() * ksize];
        let mut w = vec![0f64; ksize];
        for (i, xx) in outputs.enumerate() {
            let center = (xx as f64 + 0.5) * scale;
            // C's (int) truncates toward zero; negative values clamp to 0 either way.
            let xmin = ((center - support + 0.5) as i64).max(0) as usize;
            let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize;
            let len = xmax.saturating_sub(xmin).min(ksize);
            let mut ww = 0.0;
            for (x, wx) in w.iter_mut().enumerate().take(len) {
                *wx = filter.eval(((x + xmin) as f64 - center + 0.5) * ss);
                ww += *wx;
            }
            let row = &mut k[i * ksize..(i + 1) * ksize];
            for (kx, &wx) in row.iter_mut().zip(&w).take(len) {
                let wx = if ww != 0.0 { wx / ww } else { wx };
                let fixed = wx * (1i64 << PRECISION_BITS) as f64;
                *kx = if wx < 0.0 {
                    (fixed - 0.5) as i32
                } else {
                    (fixed + 0.5) as i32
                };
            }
            bounds.push((xmin, len));
        }
        Weights { bounds, k, ksize }
    }

    /// Input indices that any of these outputs reads.
    pub(crate) fn input_range(&self) -> Range<usize> {
        let start = self.bounds.iter().map(|b| b.0).min().unwrap_or(0);
        let end = self.bounds.iter().map(|b| b.0 + b.1).max().unwrap_or(start);
        start..end
    }

    fn taps(&self, i: usize) -> (usize, &[i32]) {
        let (start, len) = self.bounds[i];
        (start, &self.k[i * self.ksize..i * self.ksize + len])
    }
}

#[inline(always)]
fn clip8(v: i32) -> u8 {
    (v >> PRECISION_BITS).clamp(0, 255) as u8
}

/// Horizontal pass over RGB rows: `src` rows of `src_stride` bytes, output one row of
/// `w.bounds.len()` pixels per input row into `dst` (packed).
pub(crate) fn horizontal(
    src: &[u8],
    src_stride: usize,
    rows: Range<usize>,
    w: &Weights,
    dst: &mut [u8],
) {
    let out_w = w.bounds.len();
    for (r, y) in rows.enumerate() {
        let line = &src[y * src_stride..(y + 1) * src_stride];
        let out = &mut dst[r * out_w * 3..(r + 1) * out_w * 3];
        for (i, px) in out.chunks_exact_mut(3).enumerate() {
            let (start, k) = w.taps(i);
            let (mut s0, mut s1, mut s2) = (HALF, HALF, HALF);
            for (p, &kx) in line[start * 3..(start + k.len()) * 3]
                .chunks_exact(3)
                .zip(k)
            {
                s0 += p[0] as i32 * kx;
                s1 += p[1] as i32 * kx;
                s2 += p[2] as i32 * kx;
            }
            px[0] = clip8(s0);
            px[1] = clip8(s1);
            px[2] = clip8(s2);
        }
    }
}

/// Vertical pass: output row `i` of `w` combines rows of `src` (row `y` of the full image is at
/// byte `(y - first_row) * stride + col_offset`, `row_bytes` long); results go to `dst` rows of
/// `dst_stride` bytes. `acc` is scratch.
#[allow(clippy::too_many_arguments)]
pub(crate) fn vertical(
    src: &[u8],
    stride: usize,
    first_row: usize,
    col_offset: usize,
    row_bytes: usize,
    w: &Weights,
    dst: &mut [u8],
    dst_stride: usize,
    acc: &mut Vec<i32>,
) {
    acc.clear();
    acc.resize(row_bytes, 0);
    for i in 0..w.bounds.len() {
        acc.fill(HALF);
        let (start, k) = w.taps(i);
        for (y, &ky) in (start..start + k.len()).zip(k) {
            let off = (y - first_row) * stride + col_offset;
            for (a, &p) in acc.iter_mut().zip(&src[off..off + row_bytes]) {
                *a += p as i32 * ky;
            }
        }
        for (d, &a) in dst[i * dst_stride..i * dst_stride + row_bytes]
            .iter_mut()
            .zip(acc.iter())
        {
            *d = clip8(a);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_to_one_in_fixed_point() {
        for filter in [Filter::Bilinear, Filter::Bicubic] {
            for (i, o) in [(451, 256), (300, 256), (100, 256), (7, 3), (3, 7)] {
                let w = Weights::new(i, o, filter, 0..o);
                for j in 0..o {
                    let s: i32 = w.taps(j).1.iter().sum();
                    assert!(
                        (s - (1 << PRECISION_BITS)).abs() <= 8,
                        "{filter:?} {i}->{o} pos {j}: {s}"
                    );
                }
            }
        }
    }

    #[test]
    fn same_size_is_the_identity() {
        for filter in [Filter::Bilinear, Filter::Bicubic] {
            let w = Weights::new(5, 5, filter, 0..5);
            let src: Vec<u8> = (0..15).map(|v| (v * 17) as u8).collect();
            let mut dst = vec![0u8; 15];
            horizontal(&src, 15, 0..1, &w, &mut dst);
            assert_eq!(src, dst);
        }
    }

    #[test]
    fn downscale_by_two_bilinear_averages_a_window() {
        // PIL: a 4-pixel row halved with BILINEAR gives the triangle-weighted mean of 4 pixels
        // (support 2 around each centre): [1/8, 3/8, 3/8, 1/8] clipped at the border.
        let w = Weights::new(4, 2, Filter::Bilinear, 0..2);
        let src = [0u8, 0, 0, 80, 80, 80, 160, 160, 160, 240, 240, 240];
        let mut dst = [0u8; 6];
        horizontal(&src, 12, 0..1, &w, &mut dst);
        // Centre 1.0: taps 0,1,2 with weights 3/8+... normalised: (0*.75 + 80*.75 + 160*.25)/1.75
        assert_eq!(
            dst[0],
            ((80.0 * 0.75 + 160.0 * 0.25) / 1.75f64).round() as u8
        );
        assert_eq!(
            dst[3],
            ((80.0 * 0.25 + 160.0 * 0.75 + 240.0 * 0.75) / 1.75f64).round() as u8
        );
    }
}
