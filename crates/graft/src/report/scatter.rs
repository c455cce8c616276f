//! Scatter plots of 2-D projections of features, source and target in their two colours:
//! overlapping clouds are what domain adaptation aims for.

use super::svg::{self, FONT, SOURCE, TARGET};
use plotters::prelude::*;

pub const SIZE: (u32, u32) = (520, 420);
/// Points are translucent so that dense regions read darker.
const OPACITY: f64 = 0.55;

/// The legend of a projection: the two domains with their sample counts.
pub fn legend(source: usize, target: usize) -> Vec<(String, String)> {
    vec![
        (format!("source ({source})"), svg::hex(SOURCE)),
        (format!("target ({target})"), svg::hex(TARGET)),
    ]
}

/// Source points and target points (each `[x, y]`) in one chart titled `title`; `axes` names
/// the axes when they mean something (PCA), `None` hides their numbers (t-SNE).
pub fn domains(
    title: &str,
    source: &[[f64; 2]],
    target: &[[f64; 2]],
    axes: Option<(&str, &str)>,
) -> anyhow::Result<String> {
    let all = source
        .iter()
        .chain(target)
        .filter(|p| p.iter().all(|v| v.is_finite()));
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for p in all {
        x0 = x0.min(p[0]);
        x1 = x1.max(p[0]);
        y0 = y0.min(p[1]);
        y1 = y1.max(p[1]);
    }
    let (x0, x1) = svg::padded(x0, x1, 0.04);
    let (y0, y1) = svg::padded(y0, y1, 0.04);
    svg::render(title, SIZE.0, SIZE.1, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 16))
            .margin(10)
            .x_label_area_size(if axes.is_some() { 42 } else { 10 })
            .y_label_area_size(if axes.is_some() { 62 } else { 10 })
            .build_cartesian_2d(x0..x1, y0..y1)?;
        let mut mesh = chart.configure_mesh();
        mesh.light_line_style(RGBColor(242, 243, 246))
            .label_style((FONT, 11))
            .axis_desc_style((FONT, 12));
        match axes {
            Some((xd, yd)) => {
                mesh.x_desc(xd)
                    .y_desc(yd)
                    .x_label_formatter(&|v| svg::tick(*v))
                    .y_label_formatter(&|v| svg::tick(*v))
                    .draw()?;
            }
            None => {
                mesh.x_labels(0).y_labels(0).disable_mesh().draw()?;
            }
        }
        let draw = |pts: &[[f64; 2]], c: RGBColor| {
            pts.iter()
                .filter(|p| p.iter().all(|v| v.is_finite()))
                .map(move |p| Circle::new((p[0], p[1]), 2, c.mix(OPACITY).filled()))
                .collect::<Vec<_>>()
        };
        chart.draw_series(draw(source, SOURCE))?;
        chart.draw_series(draw(target, TARGET))?;
        Ok(())
    })
    .map(compact)
}

/// Thousands of points repeat one style each: given once as a class in the SVG's own style
/// sheet, a report with four projections of 2,000 points shrinks by about half. (Matches
/// plotters' way of writing a filled circle; any other form is left as it is.)
fn compact(svg: String) -> String {
    let tail = |c: RGBColor| {
        format!(
            " opacity=\"{OPACITY}\" fill=\"#{:02X}{:02X}{:02X}\" stroke=\"none\" stroke-width=\"1\"/>",
            c.0, c.1, c.2
        )
    };
    let style = format!(
        "<style>.gs{{fill:{};opacity:{OPACITY}}}.gt{{fill:{};opacity:{OPACITY}}}</style>",
        svg::hex(SOURCE),
        svg::hex(TARGET)
    );
    let out = svg
        .replace(&tail(SOURCE), " class=\"gs\"/>")
        .replace(&tail(TARGET), " class=\"gt\"/>");
    match out.find('>') {
        Some(i) if out.starts_with("<svg") => format!("{}{style}{}", &out[..=i], &out[i + 1..]),
        _ => out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_domains_are_drawn_with_a_legend() {
        let s = [[0.0, 0.0], [1.0, 1.0]];
        let t = [[2.0, 0.5], [f64::NAN, 1.0], [3.0, 3.0]];
        let svg = domains("PCA", &s, &t, Some(("PC 1", "PC 2"))).unwrap();
        assert_eq!(legend(2, 3)[1].0, "target (3)");
        assert_eq!(
            svg.matches("<circle").count(),
            4,
            "the NaN point is left out"
        );
        assert_eq!(svg.matches("class=\"gs\"").count(), 2, "{svg}");
        assert_eq!(svg.matches("class=\"gt\"").count(), 2);
        assert!(svg.contains("<style>.gs{fill:#1f77b4;opacity:0.55}"));
        assert!(domains("t-SNE", &s, &[], None).is_ok());
    }
}
