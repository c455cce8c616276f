//! What a run ran on, recorded in `environment.json` when it starts (and again, appended under
//! `resumed`, each time it is continued): graft and libtorch versions, threads, device, seed,
//! the machine and the command line. A result is only as repeatable as this is known.

use anyhow::Context;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

pub const FILE: &str = "environment.json";

/// `unix` seconds as an ISO 8601 UTC time (days to civil date: Hinnant's algorithm).
pub fn utc(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// The folder of the libtorch library this process loaded, from the memory map.
fn libtorch_dir() -> Option<PathBuf> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .find(|p| {
            let name = Path::new(p)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned());
            name.is_some_and(|n| n.starts_with("libtorch_cpu.") || n.starts_with("libtorch."))
        })
        .and_then(|p| Path::new(p).parent().map(Path::to_path_buf))
}

/// The loaded libtorch's version: `torch/version.py` of a Python wheel's layout, or
/// `build-version` of a libtorch archive's.
pub fn libtorch_version() -> Option<String> {
    let lib = libtorch_dir()?;
    let root = lib.parent()?;
    if let Ok(text) = std::fs::read_to_string(root.join("version.py")) {
        let v = text.lines().find_map(|l| {
            l.strip_prefix("__version__")
                .map(|r| {
                    r.trim_start_matches([' ', '='])
                        .trim()
                        .trim_matches(['\'', '"'])
                })
                .map(str::to_string)
        });
        if v.is_some() {
            return v;
        }
    }
    std::fs::read_to_string(root.join("build-version"))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// This process's environment for a run of `threads` threads on `device` with `seed`.
pub fn current(threads: usize, device: &str, seed: u64) -> Value {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let cuda = tch::Cuda::is_available();
    json!({
        "graft_version": env!("CARGO_PKG_VERSION"),
        "libtorch_version": libtorch_version(),
        "libtorch_dir": libtorch_dir().map(|p| p.display().to_string()),
        "cuda_available": cuda,
        "cuda_devices": if cuda { tch::Cuda::device_count() } else { 0 },
        "cudnn_version": (cuda && tch::Cuda::cudnn_is_available()).then(tch::utils::version_cudnn),
        "threads": threads,
        "device": device,
        "seed": seed,
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "host": std::fs::read_to_string("/proc/sys/kernel/hostname").ok().map(|h| h.trim().to_string()),
        "command_line": std::env::args().collect::<Vec<_>>(),
        "started": utc(now),
    })
}

/// Writes `dir/environment.json` for a new run; for a continued one (`resuming`) keeps the
/// first start's record and appends this one under `resumed`.
pub fn record(
    dir: &Path,
    threads: usize,
    device: &str,
    seed: u64,
    resuming: bool,
) -> anyhow::Result<()> {
    let p = dir.join(FILE);
    let now = current(threads, device, seed);
    let doc = match std::fs::read_to_string(&p).ok().filter(|_| resuming) {
        Some(text) => {
            let mut v: Value = serde_json::from_str(&text)
                .with_context(|| format!("{}: not valid JSON", p.display()))?;
            match v.get_mut("resumed").and_then(Value::as_array_mut) {
                Some(list) => list.push(now),
                None => v["resumed"] = json!([now]),
            }
            v
        }
        None => now,
    };
    graft_data::atomic::write_atomic_bytes(&p, serde_json::to_string_pretty(&doc)?.as_bytes())?;
    Ok(())
}

/// [`record`], a failure only warned about: not knowing the environment never stops a run.
pub fn record_or_warn(
    dir: &Path,
    threads: usize,
    device: &str,
    seed: u64,
    resuming: bool,
    obs: &mut dyn crate::observe::Observer,
) {
    if let Err(e) = record(dir, threads, device, seed, resuming) {
        obs.warn(&format!(
            "could not record the environment in {}: {e:#}",
            dir.display()
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates_are_civil() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn a_resumed_run_keeps_its_first_record() {
        let dir = tempfile::tempdir().unwrap();
        record(dir.path(), 2, "cpu", 7, false).unwrap();
        record(dir.path(), 4, "cpu", 7, true).unwrap();
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join(FILE)).unwrap()).unwrap();
        assert_eq!(v["threads"], 2);
        assert_eq!(v["resumed"][0]["threads"], 4);
        assert_eq!(v["graft_version"], env!("CARGO_PKG_VERSION"));
        // libtorch is linked into this test binary, so its version is found.
        assert!(
            v["libtorch_version"]
                .as_str()
                .is_some_and(|s| s.starts_with("2.")),
            "{v}"
        );
        record(dir.path(), 1, "cpu", 7, false).unwrap();
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join(FILE)).unwrap()).unwrap();
        assert!(v.get("resumed").is_none(), "a new run starts a new record");
    }
}
