//! The report of an instance-weights file from `graft reweight`: written beside it as
//! `<name>.report.html` (`weights.csv` gives `weights.report.html`), with the histogram of
//! the weights, Kish's effective sample size and the accuracy check.

use super::bars;
use super::html::{self, pct};
use std::path::{Path, PathBuf};

/// What `graft reweight` knows about its weights.
pub struct WeightsReport<'a> {
    pub method: &'a str,
    pub source: &'a str,
    pub target: &'a str,
    pub weights_file: &'a Path,
    pub weights: &'a [f64],
    pub n_target: usize,
    pub features: usize,
    /// Hyper-parameters chosen by cross-validation, and the method's notes.
    pub chosen: &'a [(String, String)],
    pub notes: &'a [String],
    /// Weighted and unweighted accuracy of the classifier, its name and the set.
    pub effect: Option<(f64, f64, String, String)>,
}

/// `weights.csv` -> `weights.report.html`, in the same folder.
pub fn report_path(weights_file: &Path) -> PathBuf {
    let stem = weights_file
        .file_stem()
        .map_or_else(|| "weights".into(), |s| s.to_string_lossy().into_owned());
    weights_file.with_file_name(format!("{stem}.report.html"))
}

pub fn page(r: &WeightsReport) -> anyhow::Result<String> {
    let n = r.weights.len();
    let ess = graft_shallow::instance::effective_sample_size(r.weights);
    let sum: f64 = r.weights.iter().sum();
    let max = r.weights.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let min = r.weights.iter().cloned().fold(f64::INFINITY, f64::min);
    let zeros = r.weights.iter().filter(|&&w| w == 0.0).count();
    let title = format!("graft reweight ({}): {} → {}", r.method, r.source, r.target);
    let mut body = format!("<h1>{}</h1>\n", html::esc(&title));
    body.push_str(&format!(
        "<p class=\"sub\">weights file {}</p>\n",
        html::esc(&r.weights_file.display().to_string())
    ));
    let mut cards = vec![
        (
            "effective sample size (Kish)".to_string(),
            format!("{ess:.1} of {n}"),
        ),
        (
            "effective share".into(),
            pct(if n > 0 { ess / n as f64 } else { 0.0 }),
        ),
        ("largest weight".into(), format!("{max:.4}")),
    ];
    if let Some((acc, base, _, _)) = &r.effect {
        cards.push(("accuracy weighted".into(), pct(*acc)));
        cards.push(("accuracy unweighted".into(), pct(*base)));
    }
    body.push_str(&html::cards(&cards));
    let hist = bars::histogram("Source sample weights", "weight", r.weights, 30)?;
    body.push_str(&html::section(
        "histogram",
        "Weights",
        &format!(
            "{}{}",
            html::figures(&[html::Figure::new(hist)]),
            html::note(
                "Kish's effective sample size (Σw)²/Σw² says how many unweighted samples the \
                 weighted source is worth: a small share means a few samples carry the \
                 training, and its variance grows accordingly."
            )
        ),
    ));
    let mut rows = vec![
        ("method".to_string(), r.method.to_string()),
        ("source".into(), r.source.to_string()),
        ("target".into(), r.target.to_string()),
        ("source samples".into(), n.to_string()),
        ("target samples".into(), r.n_target.to_string()),
        ("features".into(), r.features.to_string()),
        ("weight sum".into(), format!("{sum:.4}")),
        (
            "mean weight".into(),
            format!("{:.4}", sum / n.max(1) as f64),
        ),
        ("smallest weight".into(), format!("{min:.4}")),
        ("zero weights".into(), zeros.to_string()),
    ];
    for (k, v) in r.chosen {
        rows.push((format!("chosen {k}"), v.clone()));
    }
    if let Some((acc, base, clf, on)) = &r.effect {
        rows.push((
            format!("{clf} on {on}"),
            format!(
                "{} weighted vs {} unweighted{}",
                pct(*acc),
                pct(*base),
                if acc > base {
                    ""
                } else {
                    ": no gain (negative transfer)"
                }
            ),
        ));
    }
    let mut details = html::key_values(&rows);
    for n in r.notes {
        details.push_str(&html::note(n));
    }
    body.push_str(&html::section("details", "Details", &details));
    Ok(html::document(&title, &body))
}

/// Writes the report beside the weights file; returns its path.
pub fn write(r: &WeightsReport) -> anyhow::Result<PathBuf> {
    let path = report_path(r.weights_file);
    graft_data::atomic::write_atomic_bytes(&path, page(r)?.as_bytes())?;
    Ok(path)
}

/// [`write()`], a failure only warned about: the weights themselves are what matters.
pub fn write_or_warn(r: &WeightsReport, obs: &mut dyn crate::observe::Observer) -> Option<PathBuf> {
    match write(r) {
        Ok(p) => Some(p),
        Err(e) => {
            obs.warn(&format!(
                "could not write the report of {}: {e:#}",
                r.weights_file.display()
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kish_and_the_page() {
        assert_eq!(
            graft_shallow::instance::effective_sample_size(&[1.0; 8]),
            8.0
        );
        assert!(
            (graft_shallow::instance::effective_sample_size(&[1.0, 0.0, 0.0, 0.0]) - 1.0).abs()
                < 1e-12
        );
        assert_eq!(
            graft_shallow::instance::effective_sample_size(&[0.0, 0.0]),
            0.0
        );
        assert_eq!(
            report_path(Path::new("out/w.csv")),
            PathBuf::from("out/w.report.html")
        );
        let w = [0.5, 1.0, 1.5, 3.0];
        let page = page(&WeightsReport {
            method: "kmm",
            source: "s.npz",
            target: "t.npz",
            weights_file: Path::new("w.csv"),
            weights: &w,
            n_target: 10,
            features: 3,
            chosen: &[("gamma".into(), "0.5".into())],
            notes: &[],
            effect: Some((0.8, 0.7, "logreg".into(), "t.npz".into())),
        })
        .unwrap();
        assert!(
            page.contains("2.9 of 4") && page.contains("<svg") && page.contains("chosen gamma")
        );
    }
}
