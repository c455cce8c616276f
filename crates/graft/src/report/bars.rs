//! Bar charts: accuracy per class (horizontal, one bar per class, worst classes kept when there
//! are too many to show) and the histogram of instance weights.

use super::svg::{self, FONT};
use plotters::prelude::*;

/// Above this many classes only the worst ones are drawn.
const MAX_BARS: usize = 40;

/// Accuracy (recall) per class; a class with no sample is listed as "no sample". Returns the
/// SVG and a note on what was left out, if anything.
pub fn per_class(
    title: &str,
    accuracy: &[Option<f64>],
    classes: &[String],
) -> anyhow::Result<(String, String)> {
    let mut rows: Vec<(String, f64)> = accuracy
        .iter()
        .enumerate()
        .filter_map(|(i, a)| {
            a.map(|a| {
                let name = classes.get(i).cloned().unwrap_or_else(|| i.to_string());
                (name, a)
            })
        })
        .collect();
    let absent = accuracy.len() - rows.len();
    let mut note = String::new();
    if rows.len() > MAX_BARS {
        note = format!(
            "The {MAX_BARS} classes with the lowest accuracy of {}.",
            rows.len()
        );
        rows.sort_by(|a, b| a.1.total_cmp(&b.1));
        rows.truncate(MAX_BARS);
    }
    if absent > 0 {
        note.push_str(&format!(
            "{}{absent} class(es) had no sample in this set.",
            if note.is_empty() { "" } else { " " }
        ));
    }
    let n = rows.len().max(1) as i32;
    let longest = rows
        .iter()
        .map(|r| r.0.chars().count().min(24))
        .max()
        .unwrap_or(1);
    let height = (60 + 22 * n as u32).max(160);
    let svg = svg::render(title, 560, height, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 17))
            .margin(10)
            .x_label_area_size(34)
            .y_label_area_size((14 + 7 * longest) as u32)
            // Room right of 100 % for the value; a discrete range holds its end.
            .build_cartesian_2d(0f64..112f64, (0..n - 1).into_segmented())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc("accuracy (%)")
            .x_label_formatter(&|v| {
                if *v <= 100.0 {
                    svg::tick(*v)
                } else {
                    String::new()
                }
            })
            .y_labels(n as usize)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) if (0..n).contains(i) => rows
                    .get((n - 1 - i) as usize)
                    .map(|r| r.0.chars().take(24).collect())
                    .unwrap_or_default(),
                _ => String::new(),
            })
            .light_line_style(RGBColor(238, 240, 244))
            .label_style((FONT, 12))
            .axis_desc_style((FONT, 13))
            .draw()?;
        for (i, (_, a)) in rows.iter().enumerate() {
            let y = n - 1 - i as i32;
            // Red at 0 %, amber at 50 %, green at 100 %.
            let c = if *a < 0.5 {
                RGBColor(214, (39.0 + 2.0 * a * 150.0) as u8, 40)
            } else {
                RGBColor((214.0 - (a - 0.5) * 2.0 * 170.0) as u8, 160, 44)
            };
            let mut bar = Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(y)),
                    (100.0 * a, SegmentValue::Exact(y + 1)),
                ],
                c.filled(),
            );
            // A gap between neighbouring bars.
            bar.set_margin(2, 2, 0, 0);
            chart.draw_series(std::iter::once(bar))?;
            chart.draw_series(std::iter::once(Text::new(
                format!("{:.1}", 100.0 * a),
                (100.0 * a + 1.0, SegmentValue::CenterOf(y)),
                TextStyle::from((FONT, 11).into_font()).pos(
                    plotters::style::text_anchor::Pos::new(
                        plotters::style::text_anchor::HPos::Left,
                        plotters::style::text_anchor::VPos::Center,
                    ),
                ),
            )))?;
        }
        Ok(())
    })?;
    Ok((svg, note))
}

/// A histogram of `values` with `n` bins.
pub fn histogram(title: &str, x_desc: &str, values: &[f64], n: usize) -> anyhow::Result<String> {
    let h = graft_shallow::instance::histogram(values, n.max(1));
    if h.is_empty() {
        anyhow::bail!("{title}: no finite value to draw");
    }
    let (lo, hi) = (h[0].0, h[h.len() - 1].1);
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        svg::padded(lo, hi, 0.0)
    };
    let top = h.iter().map(|b| b.2).max().unwrap_or(1).max(1) as f64;
    svg::render(title, 560, 320, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 17))
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(lo..hi, 0f64..top * 1.08)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc(x_desc)
            .y_desc("samples")
            .x_label_formatter(&|v| svg::tick(*v))
            .y_label_formatter(&|v| svg::tick(*v))
            .light_line_style(RGBColor(238, 240, 244))
            .label_style((FONT, 12))
            .axis_desc_style((FONT, 13))
            .draw()?;
        chart.draw_series(h.iter().map(|&(l, r, c)| {
            let (l, r) = if r > l { (l, r) } else { (lo, hi) };
            Rectangle::new([(l, 0.0), (r, c as f64)], svg::SOURCE.filled())
        }))?;
        chart.draw_series(
            h.iter()
                .filter(|b| b.1 > b.0)
                .map(|&(l, r, c)| Rectangle::new([(l, 0.0), (r, c as f64)], WHITE.stroke_width(1))),
        )?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_draws_bars() {
        assert!(histogram("w", "weight", &[1.0, 1.0, 3.0], 10)
            .unwrap()
            .contains("<rect"));
    }

    #[test]
    fn per_class_bars_name_classes_and_note_absent_ones() {
        let names: Vec<String> = ["zero", "one", "two"].map(String::from).to_vec();
        let (svg, note) = per_class("Per class", &[Some(0.9), None, Some(0.25)], &names).unwrap();
        let drawn = |t: &str| svg.contains(&format!(">\n{t}\n</text>"));
        assert!(drawn("zero") && drawn("two") && !drawn("one"));
        assert!(note.contains("1 class(es) had no sample"), "{note}");
        let many: Vec<Option<f64>> = (0..100).map(|i| Some(i as f64 / 100.0)).collect();
        let (_, note) = per_class("Per class", &many, &[]).unwrap();
        assert!(
            note.contains("40 classes with the lowest accuracy of 100"),
            "{note}"
        );
    }
}
