//! Ctrl-C: the first press cancels the running job through the library's
//! [`graft::CancelToken`], so it stops at the next step boundary and saves a checkpoint; a
//! second press quits at once.

use std::sync::OnceLock;

/// Installs the handler (once) and returns the token that library calls poll.
pub fn token() -> &'static graft::CancelToken {
    static TOKEN: OnceLock<graft::CancelToken> = OnceLock::new();
    TOKEN.get_or_init(|| {
        let token = graft::CancelToken::new();
        let t = token.clone();
        let _ = ctrlc::set_handler(move || {
            if t.is_cancelled() {
                eprintln!("\ninterrupted again: quitting without saving");
                std::process::exit(130);
            }
            t.cancel();
            eprintln!(
                "\nstopping after this step and saving a checkpoint (Ctrl-C again to quit now)"
            );
        });
        token
    })
}

/// Prints how a cancelled run continues and exits with 130, as a shell expects of Ctrl-C.
pub fn exit_cancelled(message: &str) -> ! {
    eprintln!("{message}");
    std::process::exit(130);
}
