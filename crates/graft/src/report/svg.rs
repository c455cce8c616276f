//! What every plot shares: drawing into an SVG string with plotters, the colours, and the
//! conversion of plotters' errors into a message that names the plot.

use plotters::coord::Shift;
use plotters::prelude::*;

/// The ten categorical colours of matplotlib's `tab10`, so that curves look familiar.
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Source and target domains in every projection.
pub const SOURCE: RGBColor = PALETTE[0];
pub const TARGET: RGBColor = PALETTE[1];

/// Font family for all text: the viewer's own sans-serif (the SVG carries no font).
pub const FONT: &str = "sans-serif";

/// Colour `i` of the palette, cycling.
pub fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// A colour as CSS `#rrggbb`.
pub fn hex(c: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

/// Draws a `width x height` SVG with `draw` and returns its markup; `what` names the plot in
/// errors.
pub fn render<F>(what: &str, width: u32, height: u32, draw: F) -> anyhow::Result<String>
where
    F: FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), Box<dyn std::error::Error>>,
{
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (width, height)).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| anyhow::anyhow!("drawing {what}: {e}"))?;
        draw(&root).map_err(|e| anyhow::anyhow!("drawing {what}: {e}"))?;
        root.present()
            .map_err(|e| anyhow::anyhow!("drawing {what}: {e}"))?;
    }
    Ok(out)
}

/// A readable tick label for a number: few digits, no trailing zeros.
pub fn tick(v: f64) -> String {
    let a = v.abs();
    // Round-off around zero (-1.1e-16) reads as zero.
    if a < 1e-10 {
        "0".into()
    } else if !(1e-3..1e5).contains(&a) {
        format!("{v:.1e}")
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// `lo..hi` widened by a margin (and to a unit interval when flat), for axes around data.
pub fn padded(lo: f64, hi: f64, margin: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        let d = if lo.abs() > 0.0 { lo.abs() * 0.1 } else { 0.5 };
        return (lo - d, hi + d);
    }
    let d = (hi - lo) * margin;
    (lo - d, hi + d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_short_and_ranges_never_flat() {
        assert_eq!(tick(0.25), "0.25");
        assert_eq!(tick(2.0), "2");
        assert_eq!(tick(1500.0), "1500");
        assert_eq!(tick(2e-5), "2.0e-5");
        assert_eq!(tick(-1.1e-16), "0");
        assert_eq!(hex(RGBColor(31, 119, 180)), "#1f77b4");
        assert_eq!(padded(1.0, 1.0, 0.05), (0.9, 1.1));
        let (a, b) = padded(0.0, 10.0, 0.1);
        assert!((a + 1.0).abs() < 1e-12 && (b - 11.0).abs() < 1e-12);
    }
}
