//! The wall-clock budget of `graft auto`, and what each kind of training costs per sample,
//! learned from the trials already run, to skip a trial that could not finish in time.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// `90s`, `10m`, `1h`, `1h30m` or a plain number of seconds.
pub fn parse(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let bad = || format!("`{s}`: expected a duration such as 90s, 10m, 1h or 1h30m");
    if let Ok(v) = t.parse::<f64>() {
        return (v > 0.0)
            .then(|| Duration::try_from_secs_f64(v).ok())
            .flatten()
            .ok_or_else(bad);
    }
    let (mut total, mut num) = (0.0f64, String::new());
    for c in t.chars() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600.0,
            'm' => 60.0,
            's' => 1.0,
            _ => return Err(bad()),
        };
        let v: f64 = num.parse().map_err(|_| bad())?;
        total += v * unit;
        num.clear();
    }
    if !num.is_empty() || total <= 0.0 {
        return Err(bad());
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad())
}

pub struct Budget {
    start: Instant,
    total: Duration,
    /// Seconds per (sample x epoch), by kind of command, from the trials that finished.
    rates: BTreeMap<&'static str, f64>,
}

impl Budget {
    pub fn new(total: Duration) -> Budget {
        Budget {
            start: Instant::now(),
            total,
            rates: BTreeMap::new(),
        }
    }

    pub fn used(&self) -> Duration {
        self.start.elapsed()
    }

    pub fn left(&self) -> Duration {
        self.total.saturating_sub(self.start.elapsed())
    }

    pub fn total(&self) -> Duration {
        self.total
    }

    /// Records a finished trial of `kind` that took `seconds` over `work` sample-epochs.
    pub fn learn(&mut self, kind: &'static str, work: f64, seconds: f64) {
        if work > 0.0 && seconds > 0.0 {
            let r = seconds / work;
            let e = self.rates.entry(kind).or_insert(r);
            *e = e.max(r);
        }
    }

    /// Estimated seconds of `work` sample-epochs of `kind`, from its own finished trials;
    /// unknown before the first (the kinds differ too much per sample to guess from another).
    pub fn estimate(&self, kind: &str, work: f64) -> Option<f64> {
        self.rates.get(kind).map(|r| 2.0 + r * work)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units_and_refuse_nonsense() {
        assert_eq!(parse("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("45").unwrap(), Duration::from_secs(45));
        for bad in [
            "",
            "10x",
            "m",
            "-5",
            "0",
            "5m3",
            "1e30",
            "99999999999999999999h",
            "NaN",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn estimates_come_from_the_slowest_rate_of_the_same_kind() {
        let mut b = Budget::new(Duration::from_secs(60));
        assert_eq!(b.estimate("finetune", 100.0), None);
        b.learn("finetune", 1000.0, 10.0);
        b.learn("finetune", 1000.0, 20.0);
        b.learn("finetune", 1000.0, 5.0);
        assert_eq!(b.estimate("finetune", 100.0), Some(4.0));
        assert_eq!(b.estimate("adapt", 100.0), None);
    }
}
