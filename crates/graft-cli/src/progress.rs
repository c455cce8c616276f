//! Progress bars with rate and ETA on stderr; hidden when stderr is not a terminal or `--json`
//! asks for machine-readable output only.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar counting `unit`s (images, batches) up to `total`.
pub fn bar(total: u64, unit: &str, quiet: bool) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(
        Some(total),
        if quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        },
    );
    let template = format!(
        "{{spinner}} {{msg}} [{{bar:30}}] {{pos}}/{{len}} {unit} ({{per_sec}}, ETA {{eta}})"
    );
    pb.set_style(
        ProgressStyle::with_template(&template)
            .expect("the template is a constant")
            .progress_chars("=> "),
    );
    pb
}

/// The bars of a training run: one bar of steps per epoch, labelled `[label: ]epoch i/n`.
pub struct EpochBars {
    label: String,
    quiet: bool,
    bar: Option<ProgressBar>,
}

impl EpochBars {
    pub fn new(label: impl Into<String>, quiet: bool) -> Self {
        EpochBars {
            label: label.into(),
            quiet,
            bar: None,
        }
    }

    /// Starts, advances or clears the bar for one engine event.
    pub fn observe(&mut self, e: &graft_nn::train::Event<'_>) {
        use graft_nn::train::Event;
        match e {
            Event::EpochStart {
                epoch,
                epochs,
                steps,
            } => {
                let pb = bar(*steps as u64, "steps", self.quiet);
                let prefix = if self.label.is_empty() {
                    String::new()
                } else {
                    format!("{}: ", self.label)
                };
                pb.set_message(format!("{prefix}epoch {}/{epochs}", epoch + 1));
                self.bar = Some(pb);
            }
            Event::Step { .. } => {
                if let Some(pb) = &self.bar {
                    pb.inc(1);
                }
            }
            Event::EpochEnd(_) => {
                if let Some(pb) = self.bar.take() {
                    pb.finish_and_clear();
                }
            }
        }
    }
}

/// Renders a library run's [`graft::Event`]s on the terminal: counted tasks as bars, training
/// epochs as bars of steps with a line per finished epoch, information and warnings on stderr.
/// With `quiet` (`--json`), only warnings are shown.
pub struct CliObserver {
    quiet: bool,
    task: Option<ProgressBar>,
    epochs: EpochBars,
    /// Print one line per finished training epoch.
    epoch_lines: bool,
}

impl CliObserver {
    pub fn new(quiet: bool) -> CliObserver {
        CliObserver {
            quiet,
            task: None,
            epochs: EpochBars::new("", quiet),
            epoch_lines: true,
        }
    }

    /// Leaves the plain line per epoch out, for runs whose own epoch record is printed
    /// instead (adaptation).
    pub fn without_epoch_lines(mut self) -> CliObserver {
        self.epoch_lines = false;
        self
    }
}

impl graft::Observer for CliObserver {
    fn event(&mut self, e: graft::Event<'_>) {
        use graft::Event;
        match e {
            Event::TaskStart { label, total, unit } => {
                let pb = bar(total, unit, self.quiet);
                pb.set_message(label.to_string());
                self.task = Some(pb);
            }
            Event::TaskAdvance(n) => {
                if let Some(pb) = &self.task {
                    pb.inc(n);
                }
            }
            Event::TaskEnd => {
                if let Some(pb) = self.task.take() {
                    pb.finish_and_clear();
                }
            }
            Event::Stage(label) => self.epochs = EpochBars::new(label, self.quiet),
            Event::Train(e) => {
                self.epochs.observe(e);
                if let graft_nn::train::Event::EpochEnd(r) = e {
                    if self.epoch_lines && !self.quiet {
                        eprintln!("{}", graft::observe::epoch_line(r));
                    }
                }
            }
            Event::AdaptEpochEnd(r) => {
                if !self.quiet {
                    eprintln!("{}", graft::observe::adapt_epoch_line(r));
                }
            }
            Event::Info(s) => {
                if !self.quiet {
                    eprintln!("{s}");
                }
            }
            Event::Warning(s) => eprintln!("warning: {s}"),
        }
    }
}
