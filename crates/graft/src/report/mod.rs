//! Reports: a self-contained `report.html` in every run directory (headline metrics, learning
//! curves, confusion matrix, per-class accuracy, the recipe and the environment, and for
//! `graft adapt` the features of source and target projected before and after adaptation with
//! their proxy A-distance), a side-by-side comparison of runs, and the report of a
//! `graft reweight` weights file. Plain HTML with inline SVG drawn by plotters and a short
//! inline style sheet: no script, nothing fetched, so a report opens anywhere and can be
//! mailed or archived as one file.

mod bars;
mod compare;
mod confusion;
mod curves;
pub mod environment;
mod html;
pub mod pad;
pub mod projection;
mod run_data;
mod run_page;
mod scatter;
mod svg;
pub mod weights;

pub use compare::{write_comparison, DEFAULT_FILE as COMPARE_FILE};
pub use run_page::write_run_report;

use crate::observe::Observer;
use std::path::{Path, PathBuf};

/// Builds `dir/report.html` at the end of a run. A report that cannot be built is a warning:
/// the run itself succeeded and its files are complete.
pub fn after_run(dir: &Path, obs: &mut dyn Observer) -> Option<PathBuf> {
    match write_run_report(dir, None) {
        Ok(p) => {
            obs.info(&format!("report: {}", p.display()));
            Some(p)
        }
        Err(e) => {
            obs.warn(&format!(
                "could not build the report of {}: {e:#} (rebuild it with `graft report {}`)",
                dir.display(),
                dir.display()
            ));
            None
        }
    }
}
