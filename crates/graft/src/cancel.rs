//! Stopping a run from outside: a cheap, clonable flag that a run polls at its step
//! boundaries. A training run that sees it saves a checkpoint and returns
//! [`crate::Error::Cancelled`]; resuming from that checkpoint gives the result the run would
//! have had uninterrupted. The `graft` executable sets it from Ctrl-C; a Rust program may set
//! it from any thread, or from its own observer.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// Asks the run to stop at its next step boundary.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// The flag itself, as the training engine polls it.
    pub fn flag(&self) -> &AtomicBool {
        &self.0
    }
}
