//! Ctrl-C: the first press asks the running job to stop at the next step boundary, where it
//! saves a checkpoint; a second press quits at once.

use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

/// Installs the handler (once) and returns the flag the training loop polls.
pub fn stop_flag() -> &'static AtomicBool {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            if STOP.swap(true, Ordering::SeqCst) {
                eprintln!("\ninterrupted again: quitting without saving");
                std::process::exit(130);
            }
            eprintln!(
                "\nstopping after this step and saving a checkpoint (Ctrl-C again to quit now)"
            );
        });
    });
    &STOP
}
