//! What a process costs, read from `/proc`: CPU time and resident memory.
//!
//! The server under test is measured from the outside, by PID, so the same numbers come
//! out for momo and for nginx without either being instrumented. CPU is `utime + stime`
//! from `/proc/PID/stat` (all threads, in clock ticks), memory is `VmRSS` from
//! `/proc/PID/status`. Both are read twice per step and subtracted, so only the
//! difference matters and a tick of 10 ms is fine grain against windows of tens of
//! seconds.

use std::process::Command;

use anyhow::{anyhow, Context, Result};

/// One reading of a process.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// User plus system CPU time since the process started, in seconds.
    pub cpu_s: f64,
    /// Resident set size, in KiB.
    pub rss_kib: u64,
}

/// Where to read a process's numbers, and how long a clock tick is.
#[derive(Debug, Clone)]
pub struct Proc {
    /// `self` or a PID, as in `/proc/{dir}`.
    dir: String,
    ticks_per_s: f64,
    /// Count the process's children too (momo's audio bridges are ffmpeg children).
    children: bool,
}

impl Proc {
    /// The process `pid`; fails at once if it does not exist, so that a wrong
    /// `--server-pid` is noticed before players connect.
    pub fn pid(pid: u32) -> Result<Self> {
        let p = Proc {
            dir: pid.to_string(),
            ticks_per_s: ticks_per_second(),
            children: false,
        };
        p.sample()
            .with_context(|| format!("cannot read /proc/{pid}: is --server-pid right?"))?;
        Ok(p)
    }

    /// This process: the bench's own cost, to tell whether the players kept up.
    pub fn current() -> Self {
        Proc {
            dir: "self".into(),
            ticks_per_s: ticks_per_second(),
            children: false,
        }
    }

    /// The same process with its children (as they are at each reading) added in.
    pub fn with_children(mut self) -> Self {
        self.children = true;
        self
    }

    /// The process's children now, by PID.
    fn child_pids(&self) -> Vec<String> {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{}/task", self.dir)) else {
            return Vec::new();
        };
        tasks
            .flatten()
            .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
            .flat_map(|c| c.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .collect()
    }

    /// Reads CPU time and RSS now (with the children's, if asked).
    pub fn sample(&self) -> Result<Sample> {
        let mut total = self.sample_one()?;
        if self.children {
            for pid in self.child_pids() {
                let child = Proc {
                    dir: pid,
                    ticks_per_s: self.ticks_per_s,
                    children: false,
                };
                // A child that just ended is simply not there.
                if let Ok(s) = child.sample_one() {
                    total.cpu_s += s.cpu_s;
                    total.rss_kib += s.rss_kib;
                }
            }
        }
        Ok(total)
    }

    fn sample_one(&self) -> Result<Sample> {
        let stat_path = format!("/proc/{}/stat", self.dir);
        let stat = std::fs::read_to_string(&stat_path)
            .with_context(|| format!("cannot read {stat_path}"))?;
        let ticks = cpu_ticks(&stat).ok_or_else(|| anyhow!("{stat_path}: unexpected format"))?;
        let status_path = format!("/proc/{}/status", self.dir);
        let status = std::fs::read_to_string(&status_path)
            .with_context(|| format!("cannot read {status_path}"))?;
        let rss_kib = vm_rss_kib(&status).ok_or_else(|| anyhow!("{status_path}: no VmRSS line"))?;
        Ok(Sample {
            cpu_s: ticks as f64 / self.ticks_per_s,
            rss_kib,
        })
    }
}

/// `utime + stime` from the text of `/proc/PID/stat`, in clock ticks.
///
/// The second field (the command name) is in parentheses and may itself hold spaces
/// and parentheses, so fields are counted from the last `)`: after it come field 3
/// (state) onwards, which puts utime (field 14) at index 11 and stime at 12.
pub fn cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// The `VmRSS:` value of a `/proc/PID/status` text, in KiB (the kernel writes "kB").
pub fn vm_rss_kib(status: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let value = line.strip_prefix("VmRSS:")?;
        value.split_whitespace().next()?.parse().ok()
    })
}

/// `USER_HZ`, which `/proc` counts CPU time in: what `getconf CLK_TCK` prints. It is
/// 100 on every Linux architecture in practice, which is the fallback.
fn ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|s| s.trim().parse::<u32>().ok())
        .filter(|&hz| hz > 0)
        .map_or(100.0, f64::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_is_utime_plus_stime() {
        let stat = "4242 (momo) S 1 4242 4242 0 -1 4194560 2405 0 0 0 1234 567 0 0 20 0 \
                    9 0 123456 987654321 4321 18446744073709551615 1 1 0 0 0 0 0 4096 \
                    0 0 0 0 17 1 0 0 0 0 0";
        assert_eq!(cpu_ticks(stat), Some(1234 + 567));
    }

    #[test]
    fn a_command_name_with_spaces_and_parentheses_does_not_shift_fields() {
        let stat = "77 (nginx: worker (x) y) R 1 2 3 0 -1 0 0 0 0 0 10 20 0 0 20 0 1 0";
        assert_eq!(cpu_ticks(stat), Some(30));
    }

    #[test]
    fn a_short_or_broken_stat_is_none() {
        assert_eq!(cpu_ticks("1 (x) S 1 2 3"), None);
        assert_eq!(cpu_ticks("no parenthesis"), None);
        assert_eq!(cpu_ticks("1 (x) S 1 2 3 0 -1 0 0 0 0 0 ab 20"), None);
    }

    #[test]
    fn reads_vm_rss() {
        let status =
            "Name:\tmomo\nVmPeak:\t  900000 kB\nVmRSS:\t   52340 kB\nRssAnon:\t 40000 kB\n";
        assert_eq!(vm_rss_kib(status), Some(52_340));
        assert_eq!(vm_rss_kib("Name:\tkthreadd\n"), None);
    }

    #[test]
    fn samples_this_process() {
        let s = Proc::current().sample().unwrap();
        assert!(s.rss_kib > 0);
        assert!(s.cpu_s >= 0.0);
        assert!(Proc::pid(std::process::id()).is_ok());
    }
}

/// The kernel's counters of connections a listening socket could not take, system-wide
/// (`TcpExt` in `/proc/net/netstat`): read before and after a step, the difference is
/// what a connect storm cost the server's listen queues.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ListenCounters {
    /// Handshakes completed while the accept queue was full (`ListenOverflows`).
    pub overflows: u64,
    /// Connection requests dropped at a listener, overflows included (`ListenDrops`).
    pub drops: u64,
    /// SYN cookies sent because the SYN queue was full (`SyncookiesSent`).
    pub syn_cookies: u64,
}

impl ListenCounters {
    /// The counters now; `None` where `/proc/net/netstat` cannot be read.
    pub fn read() -> Option<Self> {
        Self::parse(&std::fs::read_to_string("/proc/net/netstat").ok()?)
    }

    /// Reads the `TcpExt:` header and value lines.
    pub fn parse(text: &str) -> Option<Self> {
        let mut lines = text.lines().filter(|l| l.starts_with("TcpExt:"));
        let names: Vec<&str> = lines.next()?.split_whitespace().skip(1).collect();
        let values: Vec<u64> = lines
            .next()?
            .split_whitespace()
            .skip(1)
            .map(|v| v.parse().unwrap_or(0))
            .collect();
        let get = |name: &str| {
            names
                .iter()
                .position(|n| *n == name)
                .and_then(|i| values.get(i).copied())
                .unwrap_or(0)
        };
        Some(ListenCounters {
            overflows: get("ListenOverflows"),
            drops: get("ListenDrops"),
            syn_cookies: get("SyncookiesSent"),
        })
    }

    /// What happened between `earlier` and `self`.
    pub fn since(self, earlier: ListenCounters) -> ListenCounters {
        ListenCounters {
            overflows: self.overflows.saturating_sub(earlier.overflows),
            drops: self.drops.saturating_sub(earlier.drops),
            syn_cookies: self.syn_cookies.saturating_sub(earlier.syn_cookies),
        }
    }
}

#[cfg(test)]
mod listen_tests {
    use super::*;

    #[test]
    fn listen_counters_are_read_by_name() {
        let text = "TcpExt: SyncookiesSent SyncookiesRecv ListenOverflows ListenDrops\n\
                    TcpExt: 511 0 1671 1700\n\
                    IpExt: InNoRoutes\nIpExt: 0\n";
        let c = ListenCounters::parse(text).unwrap();
        assert_eq!((c.syn_cookies, c.overflows, c.drops), (511, 1671, 1700));
        let before = ListenCounters {
            overflows: 1000,
            drops: 1000,
            syn_cookies: 11,
        };
        assert_eq!(c.since(before).overflows, 671);
        assert!(ListenCounters::parse("garbage").is_none());
    }
}
