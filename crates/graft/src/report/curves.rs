//! Line charts over epochs: learning curves of one run, or one quantity of several runs
//! overlaid for comparison.

use super::svg::{self, FONT};
use plotters::prelude::*;

/// One named line: `(epoch, value)` points.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub colour: RGBColor,
}

/// How the y axis reads its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Fractions shown as percentages, the axis kept within 0..100.
    Percent,
    /// Values as they are, the axis fitted around them.
    Plain,
}

pub const WIDTH: u32 = 560;
pub const HEIGHT: u32 = 320;

/// The legend of `series` for [`super::html::Figure`]: names with their colours.
pub fn legend(series: &[Series]) -> Vec<(String, String)> {
    series
        .iter()
        .map(|s| (s.name.clone(), svg::hex(s.colour)))
        .collect()
}

/// A chart of `series` against the epoch (its legend goes beside it, in HTML, where it can
/// hide no point); `None` when no series has a point.
pub fn line_chart(
    title: &str,
    y_desc: &str,
    series: &[Series],
    scale: Scale,
) -> anyhow::Result<Option<String>> {
    let k = if scale == Scale::Percent { 100.0 } else { 1.0 };
    let all: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|&(x, y)| (x, y * k)))
        .filter(|p| p.0.is_finite() && p.1.is_finite())
        .collect();
    if all.is_empty() {
        return Ok(None);
    }
    let fold = |f: fn(&(f64, f64)) -> f64| {
        all.iter()
            .map(f)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            })
    };
    let (x0, x1) = fold(|p| p.0);
    let (x0, x1) = if x1 - x0 < 1.0 {
        (x0 - 0.5, x1 + 0.5)
    } else {
        (x0, x1)
    };
    let (y0, y1) = fold(|p| p.1);
    let (mut y0, mut y1) = svg::padded(y0, y1, 0.08);
    if scale == Scale::Percent {
        y0 = y0.max(0.0);
        y1 = y1.min(100.0).max(y0 + 1.0);
    }
    let epochs = (x1 - x0).round() as usize + 1;
    svg::render(title, WIDTH, HEIGHT, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 17))
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc(y_desc)
            .x_labels(epochs.clamp(2, 11))
            .x_label_formatter(&|v| {
                if (v - v.round()).abs() < 1e-6 {
                    format!("{}", v.round())
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|v| svg::tick(*v))
            .light_line_style(RGBColor(238, 240, 244))
            .label_style((FONT, 12))
            .axis_desc_style((FONT, 13))
            .draw()?;
        for s in series {
            let pts: Vec<(f64, f64)> = s
                .points
                .iter()
                .map(|&(x, y)| (x, y * k))
                .filter(|p| p.0.is_finite() && p.1.is_finite())
                .collect();
            if pts.is_empty() {
                continue;
            }
            let c = s.colour;
            chart.draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))?;
            // Markers keep a run of one epoch visible.
            if pts.len() <= 60 {
                chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.filled())))?;
            }
        }
        Ok(())
    })
    .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_lines_with_their_legend_and_skips_empty_charts() {
        let s = vec![
            Series {
                name: "train".into(),
                points: vec![(1.0, 0.5), (2.0, 0.75), (3.0, 0.9)],
                colour: svg::colour(0),
            },
            Series {
                name: "validation <held out>".into(),
                points: vec![(1.0, 0.4), (2.0, f64::NAN), (3.0, 0.8)],
                colour: svg::colour(1),
            },
        ];
        let out = line_chart("Accuracy", "%", &s, Scale::Percent)
            .unwrap()
            .unwrap();
        assert!(out.starts_with("<svg") && out.contains("Accuracy"));
        assert_eq!(
            legend(&s)[1],
            ("validation <held out>".to_string(), "#ff7f0e".to_string())
        );
        assert!(out.contains("<polyline"), "a line is drawn");
        let none = line_chart("x", "y", &[], Scale::Plain).unwrap();
        assert!(none.is_none());
        let one = vec![Series {
            name: "loss".into(),
            points: vec![(1.0, 2.3)],
            colour: svg::colour(0),
        }];
        assert!(line_chart("Loss", "", &one, Scale::Plain)
            .unwrap()
            .is_some());
    }
}
