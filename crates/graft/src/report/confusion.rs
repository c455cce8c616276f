//! The confusion matrix as a heatmap: rows are true classes, columns predicted ones; each
//! cell's colour is its share of the row (per-class recall on the diagonal) so that rare
//! classes read as clearly as common ones, and the cell shows its count.

use super::svg::{self, FONT};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Above this many classes the counts no longer fit in their cells and are left out.
const MAX_COUNTS: usize = 20;
/// Above this many classes the class names no longer fit along the axes.
const MAX_NAMES: usize = 40;

/// White to a dark blue by `t` in 0..1.
fn shade(t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0);
    let lerp = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    RGBColor(lerp(255.0, 8.0), lerp(255.0, 48.0), lerp(255.0, 107.0))
}

/// A class name short enough for an axis.
fn short(name: &str) -> String {
    if name.chars().count() > 14 {
        format!("{}…", name.chars().take(13).collect::<String>())
    } else {
        name.to_string()
    }
}

/// The heatmap of `confusion` (rows: truth) with `classes` along both axes.
pub fn heatmap(
    title: &str,
    confusion: &[Vec<usize>],
    classes: &[String],
) -> anyhow::Result<String> {
    let k = confusion.len();
    if k == 0 || confusion.iter().any(|r| r.len() != k) {
        anyhow::bail!("{title}: the confusion matrix is not square ({k} rows)");
    }
    let names: Vec<String> = (0..k)
        .map(|i| classes.get(i).map_or_else(|| i.to_string(), |c| short(c)))
        .collect();
    let longest = names.iter().map(|n| n.chars().count()).max().unwrap_or(1);
    // Tick labels plus room for the axis description.
    let label_area = if k <= MAX_NAMES {
        (34 + 7 * longest).min(130) as u32
    } else {
        34
    };
    let cell = (520 / k.max(1)).clamp(6, 56) as u32;
    let side = cell * k as u32;
    let (w, h) = (side + label_area + 40, side + label_area + 60);
    let ki = k as i32;
    svg::render(title, w, h, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 17))
            .margin(10)
            .x_label_area_size(label_area)
            .y_label_area_size(label_area)
            // A discrete range holds its end: 0..k-1 has the k classes.
            .build_cartesian_2d((0..ki - 1).into_segmented(), (0..ki - 1).into_segmented())?;
        let name_at = |v: &SegmentValue<i32>, flip: bool| -> String {
            match v {
                SegmentValue::CenterOf(i) if k <= MAX_NAMES && (0..ki).contains(i) => {
                    let i = if flip { ki - 1 - i } else { *i };
                    names[i as usize].clone()
                }
                _ => String::new(),
            }
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("predicted")
            .y_desc("true")
            .x_labels(k.min(MAX_NAMES))
            .y_labels(k.min(MAX_NAMES))
            .x_label_formatter(&|v| name_at(v, false))
            .y_label_formatter(&|v| name_at(v, true))
            .label_style((FONT, 12))
            .axis_desc_style((FONT, 13))
            .x_label_style((FONT, 12).into_font().transform(if longest > 3 {
                FontTransform::Rotate90
            } else {
                FontTransform::None
            }))
            .draw()?;
        let at = |v: i32| SegmentValue::Exact(v);
        for (i, row) in confusion.iter().enumerate() {
            let total: usize = row.iter().sum();
            let y = ki - 1 - i as i32;
            for (j, &c) in row.iter().enumerate() {
                let j = j as i32;
                let t = if total > 0 {
                    c as f64 / total as f64
                } else {
                    0.0
                };
                // Empty cells keep the background: with many classes most are empty, and a
                // rectangle each would make the page megabytes.
                if c > 0 {
                    chart.draw_series(std::iter::once(Rectangle::new(
                        [(at(j), at(y)), (at(j + 1), at(y + 1))],
                        shade(t).filled(),
                    )))?;
                }
                if k <= MAX_COUNTS && c > 0 {
                    let colour = if t > 0.5 { WHITE } else { BLACK };
                    let size = if k <= 10 { 13 } else { 10 };
                    let style = TextStyle::from((FONT, size).into_font())
                        .color(&colour)
                        .pos(Pos::new(HPos::Center, VPos::Center));
                    chart.draw_series(std::iter::once(Text::new(
                        c.to_string(),
                        (SegmentValue::CenterOf(j), SegmentValue::CenterOf(y)),
                        style,
                    )))?;
                }
            }
        }
        // A frame around the matrix.
        chart.draw_series(std::iter::once(Rectangle::new(
            [(at(0), at(0)), (at(ki), at(ki))],
            RGBColor(120, 120, 120).stroke_width(1),
        )))?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_show_counts_and_names() {
        let c = vec![vec![5, 1, 0], vec![0, 7, 2], vec![1, 0, 9]];
        let names = vec![
            "cat".to_string(),
            "dog".into(),
            "a_very_long_class_name".into(),
        ];
        let svg = heatmap("Confusion", &c, &names).unwrap();
        let drawn = |t: &str| svg.contains(&format!(">\n{t}\n</text>"));
        assert!(drawn("cat") && drawn("dog") && drawn("a_very_long_c…"));
        assert!(
            drawn("9") && drawn("7") && !drawn("0"),
            "counts, zeros left blank"
        );
        assert_eq!(shade(0.0), RGBColor(255, 255, 255));
        assert!(heatmap("x", &[vec![1, 2]], &names).is_err());
    }
}
