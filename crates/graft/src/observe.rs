//! How a run tells its caller what it is doing. The library never prints: a run sends
//! [`Event`]s to an [`Observer`], and the caller decides what to show (the `graft` executable
//! draws progress bars and prints warnings; a Rust program or the Python package may log them
//! or ignore them). [`Silent`] is the default.

/// Something a run reports while it works.
#[derive(Debug)]
pub enum Event<'a> {
    /// A counted piece of work begins: `total` `unit`s (images, texts, steps), described by
    /// `label` (e.g. `decoding data/train`).
    TaskStart {
        label: &'a str,
        total: u64,
        unit: &'a str,
    },
    /// `n` more units of the current task are done.
    TaskAdvance(u64),
    /// The current task is finished.
    TaskEnd,
    /// A named part of a longer run begins (a row of the demo, a trial of auto): the training
    /// events that follow belong to it.
    Stage(&'a str),
    /// An event of the training engine (epoch start, step, epoch end with its record).
    Train(&'a graft_nn::train::Event<'a>),
    /// An adaptation epoch's record (domain loss, discriminator accuracy, pseudo-labels, DEV
    /// risk), after the engine's own [`Event::Train`] end of epoch.
    AdaptEpochEnd(&'a graft_nn::train::adapt::AdaptRecord),
    /// A line worth showing a person as the run goes (what is being trained, where it is saved).
    Info(&'a str),
    /// Something the caller should know that does not stop the run (a random-init backbone,
    /// a precision that is slow on this device, a report that could not be written).
    Warning(&'a str),
}

/// Receives a run's [`Event`]s, on the thread that runs it.
pub trait Observer {
    fn event(&mut self, e: Event<'_>);

    /// Shorthand for [`Event::Info`].
    fn info(&mut self, s: &str) {
        self.event(Event::Info(s));
    }

    /// Shorthand for [`Event::Warning`].
    fn warn(&mut self, s: &str) {
        self.event(Event::Warning(s));
    }
}

/// Ignores every event.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl Observer for Silent {
    fn event(&mut self, _: Event<'_>) {}
}

/// Any `FnMut(Event)` observes.
impl<F: FnMut(Event<'_>)> Observer for F {
    fn event(&mut self, e: Event<'_>) {
        self(e)
    }
}

/// A counted task on an observer that ends itself when dropped, so an early `?` return still
/// closes the caller's progress bar.
pub struct Task<'o> {
    obs: &'o mut dyn Observer,
}

impl<'o> Task<'o> {
    pub fn start(obs: &'o mut dyn Observer, label: &str, total: u64, unit: &str) -> Task<'o> {
        obs.event(Event::TaskStart { label, total, unit });
        Task { obs }
    }

    pub fn advance(&mut self, n: u64) {
        self.obs.event(Event::TaskAdvance(n));
    }
}

impl Drop for Task<'_> {
    fn drop(&mut self) {
        self.obs.event(Event::TaskEnd);
    }
}

/// The line a person reads for a finished epoch, the same in a terminal and in a log:
/// `epoch   3  loss 0.1234  train 95.00%  val 90.00%  (1.2 s)`.
pub fn epoch_line(r: &graft_nn::train::EpochRecord) -> String {
    let val = r.val.as_ref().map_or(String::new(), |m| {
        format!("  val {:.2}%", 100.0 * m.accuracy)
    });
    format!(
        "epoch {:>3}  loss {:.4}  train {:.2}%{val}  ({:.1} s)",
        r.epoch,
        r.train_loss,
        100.0 * r.train_accuracy,
        r.seconds
    )
}

/// An adaptation epoch: the plain line's figures with the domain loss, discriminator accuracy,
/// pseudo-labels, DEV risk and the monitored target accuracy when the run has them.
pub fn adapt_epoch_line(r: &graft_nn::train::adapt::AdaptRecord) -> String {
    let opt = |name: &str, v: Option<f64>, pct: bool| {
        v.map_or(String::new(), |v| {
            if pct {
                format!("  {name} {:.2}%", 100.0 * v)
            } else {
                format!("  {name} {v:.4}")
            }
        })
    };
    format!(
        "epoch {:>3}  loss {:.4}  train {:.2}%{}{}{}{}{}{}  ({:.1} s)",
        r.base.epoch,
        r.base.train_loss,
        100.0 * r.base.train_accuracy,
        opt("val", r.base.val.as_ref().map(|m| m.accuracy), true),
        opt("domain", r.domain_loss, false),
        opt("disc acc", r.domain_accuracy, true),
        r.pseudo_labels
            .map_or(String::new(), |p| format!("  pseudo {p}")),
        opt("dev", r.dev_risk, false),
        opt("target test (monitor)", r.monitor_accuracy, true),
        r.base.seconds
    )
}
