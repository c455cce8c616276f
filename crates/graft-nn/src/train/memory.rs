//! The process's peak resident memory, recorded with every epoch: a value that keeps rising
//! from epoch to epoch is a leak or unbounded growth, which a single end-of-run figure hides.

/// Peak resident set size of this process so far, in MiB (`getrusage`'s high-water mark);
/// `None` where the platform does not report it.
pub fn peak_rss_mib() -> Option<f64> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: getrusage fills the zeroed struct it is given and has no other effect.
        let mut u: libc::rusage = unsafe { std::mem::zeroed() };
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } == 0 {
            // Linux reports kilobytes.
            return Some(u.ru_maxrss as f64 / 1024.0);
        }
        None
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_peak_covers_what_was_touched() {
        let before = super::peak_rss_mib().unwrap();
        let block = vec![1u8; 64 << 20];
        let after = super::peak_rss_mib().unwrap();
        assert!(block.iter().step_by(4096).all(|&b| b == 1));
        assert!(after >= before && after >= 64.0, "{before} -> {after}");
    }
}
