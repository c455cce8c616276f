//! Which JPEG decode size a command uses. A trained model has seen its images decoded one way;
//! resuming it, evaluating it or predicting with it decodes the same way, so a run records its
//! decode size in its recipe and later commands follow the recipe. `--decode-size` given on the
//! command line wins (with a warning when it departs from the run's); a new run without the
//! flag decodes at reduced size. Runs recorded before the setting existed decoded at full size.

use graft_data::image_io::DecodeSize;
use std::sync::OnceLock;

/// `--decode-size` as given on the command line (`None`: not given).
static FLAG: OnceLock<Option<DecodeSize>> = OnceLock::new();

/// Records the command line's choice and makes it (or reduced) the process's default; called
/// once, at start-up.
pub fn init(flag: Option<DecodeSize>) {
    let _ = FLAG.set(flag);
    DecodeSize::set_process_default(for_new_run());
}

fn flag() -> Option<DecodeSize> {
    FLAG.get().copied().flatten()
}

/// The decode size of a new run (to record in its recipe, then apply with
/// [`for_recorded_run`]): the flag's, else reduced.
pub fn for_new_run() -> DecodeSize {
    flag().unwrap_or(DecodeSize::Reduced)
}

/// The decode size for a run that recorded `recorded` (`None`: recorded before the setting
/// existed, so full), made the process's default. `what` names the run in the warning.
pub fn for_recorded_run(recorded: Option<DecodeSize>, what: &str) -> DecodeSize {
    let recorded = recorded.unwrap_or(DecodeSize::Full);
    let d = match flag() {
        Some(f) if f != recorded => {
            eprintln!(
                "warning: {what} decoded its JPEGs with --decode-size {}; using {} as asked",
                recorded.name(),
                f.name()
            );
            f
        }
        _ => recorded,
    };
    DecodeSize::set_process_default(d);
    d
}
