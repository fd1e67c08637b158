//! Child processes of the end-to-end bench: the receiver, and small helpers
//! to read a process's CPU time and memory from `/proc`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// The receiver (`e2e receiver`) running as a child process. It exits when
/// this handle is dropped (its stdin closes) or is killed.
pub struct ReceiverProcess {
    child: Child,
    _stdin: ChildStdin,
    /// Where it listens.
    pub addr: SocketAddr,
}

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The `webhook-id` header, `-` when absent.
    pub id: String,
    /// Arrival on the shared monotonic clock, ns.
    pub at_ns: u64,
    /// Body bytes.
    pub bytes: usize,
}

impl ReceiverProcess {
    /// Starts `exe receiver` and waits for the address it prints.
    pub fn spawn(exe: &Path) -> Result<ReceiverProcess> {
        let mut child = Command::new(exe)
            .arg("receiver")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting the receiver ({} receiver)", exe.display()))?;
        let stdin = child.stdin.take().context("receiver stdin")?;
        let stdout = child.stdout.take().context("receiver stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).context("reading the receiver's address")?;
        let addr: SocketAddr =
            line.trim().parse().with_context(|| format!("receiver printed {line:?}, not an address"))?;
        Ok(ReceiverProcess { child, _stdin: stdin, addr })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn control(&self, method: &str, path: &str) -> Result<String> {
        let mut s =
            TcpStream::connect_timeout(&self.addr, Duration::from_secs(5)).context("connecting to the receiver")?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        write!(s, "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")?;
        let mut resp = String::new();
        s.read_to_string(&mut resp).context("reading the receiver's answer")?;
        let (head, body) = resp.split_once("\r\n\r\n").context("malformed receiver answer")?;
        if !head.starts_with("HTTP/1.1 200") {
            bail!("receiver answered {}", head.lines().next().unwrap_or(""));
        }
        // hyper answers `Connection: close` requests with a Content-Length body.
        Ok(body.to_string())
    }

    /// Requests received since the last reset.
    pub fn count(&self) -> Result<usize> {
        self.control("GET", "/__count")?.trim().parse().context("receiver count")
    }

    /// Every request received since the last reset.
    pub fn dump(&self) -> Result<Vec<Hit>> {
        let text = self.control("GET", "/__dump")?;
        text.lines()
            .map(|l| {
                let mut it = l.split(' ');
                let id = it.next().unwrap_or("-").to_string();
                let at_ns = it.next().and_then(|v| v.parse().ok()).with_context(|| format!("bad dump line {l:?}"))?;
                let bytes = it.next().and_then(|v| v.parse().ok()).unwrap_or(0);
                Ok(Hit { id, at_ns, bytes })
            })
            .collect()
    }

    /// Forgets everything received.
    pub fn reset(&self) -> Result<()> {
        self.control("POST", "/__reset").map(|_| ())
    }

    /// User + system CPU time the receiver used so far.
    pub fn cpu(&self) -> Duration {
        process_cpu(self.pid()).unwrap_or_default()
    }

    /// Waits until `n` requests arrived or `timeout` passed; returns the count.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Result<usize> {
        let end = std::time::Instant::now() + timeout;
        loop {
            let c = self.count()?;
            if c >= n || std::time::Instant::now() >= end {
                return Ok(c);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for ReceiverProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// User + system CPU of process `pid` (from `/proc/<pid>/stat`, 10 ms ticks).
pub fn process_cpu(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) in parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some(Duration::from_secs_f64((utime + stime) / ticks_per_second()))
}

/// User + system CPU of this process so far (`getrusage`, µs precision).
pub fn self_cpu() -> Duration {
    // SAFETY: an all-zero rusage is valid; getrusage only writes into it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable rusage.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// A `VmRSS`/`VmHWM`-style field of `/proc/<pid or self>/status`, in KiB.
pub fn status_kib(pid: Option<u32>, field: &str) -> Option<u64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/status"),
        None => "/proc/self/status".to_string(),
    };
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].trim_start_matches(':').split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_memory_and_cpu() {
        let rss = status_kib(None, "VmRSS").unwrap();
        assert!(rss > 100, "VmRSS {rss} KiB");
        assert!(process_cpu(std::process::id()).is_some());
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_add(i * i);
        }
        assert!(x > 0 && self_cpu() > Duration::ZERO);
    }
}
