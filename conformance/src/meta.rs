//! Facts recorded in every report: time, machine, file hashes.

use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::vector::hex;

/// The machine a run happened on.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// Host name.
    pub hostname: String,
    /// Operating system (family, distribution when known, kernel release).
    pub os: String,
    /// CPU architecture.
    pub arch: String,
    /// Logical cores available to the harness.
    pub cores: usize,
}

fn first_line(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.lines().next().map(|l| l.trim().to_string()))
        .filter(|s| !s.is_empty())
}

/// Describe this machine (no external commands, no network).
pub fn machine() -> Machine {
    let hostname = first_line("/proc/sys/kernel/hostname")
        .or_else(|| first_line("/etc/hostname"))
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into());
    let distro = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        });
    let kernel = first_line("/proc/sys/kernel/osrelease");
    let os = [
        Some(std::env::consts::OS.to_string()),
        distro,
        kernel.map(|k| format!("kernel {k}")),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ");
    Machine {
        hostname,
        os,
        arch: std::env::consts::ARCH.into(),
        cores: std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1),
    }
}

/// SHA-256 of a file, hex.
pub fn file_sha256(path: &Path) -> Option<String> {
    std::fs::read(path).ok().map(|b| hex(&Sha256::digest(&b)))
}

/// SHA-256 of bytes, hex.
pub fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Seconds since the epoch, now.
pub fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// RFC 3339 UTC timestamp (seconds precision) of epoch seconds.
pub fn rfc3339(secs: f64) -> String {
    let s = secs as i64;
    let (days, rem) = (s.div_euclid(86400), s.rem_euclid(86400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Today's date (UTC), `YYYY-MM-DD`.
pub fn today() -> String {
    rfc3339(now_secs())[..10].to_string()
}

/// Days since 1970-01-01 to (year, month, day); Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates() {
        assert_eq!(super::rfc3339(0.0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_795_824_000.0), "2026-11-28T00:00:00Z");
        assert_eq!(super::rfc3339(951_782_400.0), "2000-02-29T00:00:00Z");
    }
}
