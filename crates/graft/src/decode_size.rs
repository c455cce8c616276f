//! Which JPEG decode size a run uses. A trained model has seen its images decoded one way;
//! resuming it, evaluating it or predicting with it decodes the same way, so a run records its
//! decode size in its recipe and later calls follow the recipe. A size given in the
//! [`crate::Runtime`] wins (with a warning when it departs from the run's); a new run without
//! one decodes at reduced size. Runs recorded before the setting existed decoded at full size.

use crate::observe::Observer;
use graft_data::image_io::DecodeSize;

/// The decode size of a new run (to record in its recipe): the one asked for, else reduced.
pub fn for_new_run(asked: Option<DecodeSize>) -> DecodeSize {
    asked.unwrap_or(DecodeSize::Reduced)
}

/// The decode size for a run that recorded `recorded` (`None`: recorded before the setting
/// existed, so full). `what` names the run in the warning sent to `obs`.
pub fn for_recorded_run(
    asked: Option<DecodeSize>,
    recorded: Option<DecodeSize>,
    what: &str,
    obs: &mut dyn Observer,
) -> DecodeSize {
    let recorded = recorded.unwrap_or(DecodeSize::Full);
    match asked {
        Some(f) if f != recorded => {
            obs.warn(&format!(
                "{what} decoded its JPEGs with --decode-size {}; using {} as asked",
                recorded.name(),
                f.name()
            ));
            f
        }
        _ => recorded,
    }
}
