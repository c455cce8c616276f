//! `graft`: transfer learning from the command line. One module per subcommand under `cmd/`;
//! each turns its flags into calls of the `graft` library and prints what they return.

mod allocator;
mod cmd;
mod interrupt;
mod progress;

use clap::Parser;
use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: allocator::MappedLarge = allocator::MappedLarge;

fn main() -> ExitCode {
    // `graft ... --json | head` closes the pipe early: end quietly as other command-line tools
    // do (the default SIGPIPE action) instead of panicking in `println!`.
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = cmd::Cli::parse();
    // Parsing starts no thread, so the allocator is still single-threaded here.
    allocator::configure(cli.workload());
    cmd::runtime_args::set_decode_size(cli.decode_size());
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GRAFT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .without_time()
        .init();
    match cmd::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One readable message with its causes, never a backtrace.
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}
