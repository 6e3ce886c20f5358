//! What the driver reads from `/proc`: a process's CPU time and RSS, the machine's busy
//! time, kernel slab and TCP socket count, and the load average.

use anyhow::Context;

/// Clock ticks per second of `/proc` CPU times (`USER_HZ`; 100 on Linux).
const TICKS_PER_SECOND: u64 = 100;

/// User plus system CPU time of a process (all threads, dead ones too), in µs.
///
/// # Errors
/// The process is gone or the file is malformed.
pub(crate) fn cpu_micros(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_stat_cpu(&stat).context("malformed /proc/<pid>/stat")
}

/// utime + stime in µs from the text of `/proc/<pid>/stat`.
fn parse_stat_cpu(stat: &str) -> Option<u64> {
    // The command name may hold spaces and parentheses: fields restart after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After the name: state is field 3, utime field 14, stime field 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) * (1_000_000 / TICKS_PER_SECOND))
}

/// Resident set size of a process in KiB (`VmRSS`).
///
/// # Errors
/// The process is gone.
pub(crate) fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    field_kib(&status, "VmRSS:").context("no VmRSS")
}

/// A `Name:  123 kB` field of `/proc` text.
fn field_kib(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Busy CPU time of the whole machine, all cores, in µs (`/proc/stat`, everything but
/// idle and iowait).
pub(crate) fn machine_busy_micros() -> u64 {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else {
        return 0;
    };
    parse_machine_busy(&stat).unwrap_or(0)
}

fn parse_machine_busy(stat: &str) -> Option<u64> {
    let line = stat.lines().find(|line| line.starts_with("cpu "))?;
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|value| value.parse().ok())
        .collect();
    let total: u64 = values.iter().take(8).sum();
    let idle = values.get(3)? + values.get(4)?;
    Some((total - idle) * (1_000_000 / TICKS_PER_SECOND))
}

/// Kernel slab memory in KiB.
pub(crate) fn slab_kib() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| field_kib(&text, "Slab:"))
        .unwrap_or(0)
}

/// TCP sockets in use, machine-wide (`/proc/net/sockstat`).
pub(crate) fn tcp_sockets() -> u64 {
    let Ok(text) = std::fs::read_to_string("/proc/net/sockstat") else {
        return 0;
    };
    text.lines()
        .find_map(|line| line.strip_prefix("TCP: inuse "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}

/// The one-minute load average.
pub(crate) fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cpu_from_stat_with_odd_names() {
        let stat = "4242 (tidings (peer) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 3 0 1 2 3";
        assert_eq!(parse_stat_cpu(stat), Some(3_000_000));
        assert_eq!(parse_stat_cpu("garbage"), None);
    }

    #[test]
    fn reads_kib_fields() {
        let status = "Name:\tpeer\nVmRSS:\t   12345 kB\nThreads:\t3\n";
        assert_eq!(field_kib(status, "VmRSS:"), Some(12_345));
        assert_eq!(field_kib(status, "VmHWM:"), None);
    }

    #[test]
    fn machine_busy_excludes_idle_and_iowait() {
        let stat = "cpu  100 1 50 1000 7 3 4 2 0 0\ncpu0 1 2 3 4\n";
        assert_eq!(parse_machine_busy(stat), Some(160 * 10_000));
    }

    #[test]
    fn live_values_are_readable() {
        assert!(rss_kib(std::process::id()).unwrap() > 0);
        assert!(cpu_micros(std::process::id()).is_ok());
        assert!(machine_busy_micros() > 0);
    }
}
