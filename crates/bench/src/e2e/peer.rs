//! The peer: Buildbot 4.3.0's `HttpStatusPush` (`peer/buildbot_peer.py`),
//! run with the Buildbot venv's python against the same receiver.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use wasmpush_sources::SourceEvent;
use wasmpush_sources::buildbot::{Needs, payload_for};

use crate::paths;

/// One measured peer cell, as the script prints it.
#[derive(Debug, Clone, Deserialize)]
pub struct PeerCell {
    /// `txrequests` (Buildbot's default when installed) or `treq`.
    pub backend: String,
    /// Reports in flight at once.
    pub concurrency: usize,
    /// Reports measured (after a warm-up of up to 50).
    pub reports: usize,
    /// Wall time of the measured reports.
    pub elapsed_s: f64,
    /// Reports per second.
    pub rate: f64,
    /// Median and 99th percentile of one `sendMessage`, ms.
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// CPU (user + system) of the Python process for the measured reports.
    pub cpu_s: f64,
    /// Pushes that raised, and the first one's text.
    pub failures: usize,
    pub first_failure: Option<String>,
}

/// The script's output.
#[derive(Debug, Clone, Deserialize)]
pub struct PeerRun {
    /// `buildbot.version` as imported.
    pub buildbot: String,
    /// The interpreter's version.
    pub python: String,
    /// One per backend and concurrency.
    pub cells: Vec<PeerCell>,
}

/// The Buildbot venv's python: `$BUILDBOT_PYTHON`, else what
/// `tests/buildbot/setup.sh` prints (it installs Buildbot 4.3.0 and
/// txrequests into `target/buildbot-venv` when missing).
pub fn python() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("BUILDBOT_PYTHON").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let setup = paths::repo().join("tests/buildbot/setup.sh");
    if !setup.is_file() {
        bail!("{} is missing; set BUILDBOT_PYTHON to a python with buildbot==4.3.0 installed", setup.display());
    }
    let out = Command::new("bash")
        .arg(&setup)
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", setup.display()))?;
    if !out.status.success() {
        bail!("{} failed ({})", setup.display(), out.status);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().last().unwrap_or("").trim();
    if last.is_empty() {
        bail!("{} printed no python path", setup.display());
    }
    Ok(PathBuf::from(last))
}

/// Writes the build objects of `events`, cut to `needs` exactly as the
/// host's pipeline cuts them for the generator (`payload_for`), as JSON
/// lines: what `buildbot-json` re-encodes byte for byte, and what Buildbot's
/// default formatter (which wants properties but no steps) puts in a report.
pub fn write_payloads(path: &Path, events: &[SourceEvent], needs: &Needs) -> Result<()> {
    let mut f =
        std::io::BufWriter::new(std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?);
    for e in events {
        serde_json::to_writer(&mut f, &payload_for(&e.payload, needs))?;
        f.write_all(b"\n")?;
    }
    f.flush()?;
    Ok(())
}

/// Runs the peer script; kills it after `timeout`.
pub fn run(
    python: &Path,
    url: &str,
    payloads: &Path,
    concurrency: &[usize],
    backends: &[String],
    timeout: Duration,
) -> Result<PeerRun> {
    let script = paths::repo().join("crates/bench/peer/buildbot_peer.py");
    let conc: Vec<String> = concurrency.iter().map(|c| c.to_string()).collect();
    let mut child = Command::new(python)
        .arg(&script)
        .args(["--url", url])
        .arg("--payloads")
        .arg(payloads)
        .args(["--concurrency", &conc.join(","), "--backends", &backends.join(",")])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {} {}", python.display(), script.display()))?;
    let t = Instant::now();
    loop {
        if child.try_wait()?.is_some() {
            break;
        }
        if t.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            bail!("the Buildbot peer did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("the Buildbot peer failed ({})", out.status);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let json = text.lines().rev().find(|l| l.starts_with('{')).context("the Buildbot peer printed no result")?;
    let run: PeerRun = serde_json::from_str(json).context("parsing the Buildbot peer's result")?;
    if let Some(c) = run.cells.iter().find(|c| c.failures > 0) {
        bail!(
            "Buildbot peer: {} of {} pushes failed ({} x{}): {:?}",
            c.failures,
            c.reports,
            c.backend,
            c.concurrency,
            c.first_failure
        );
    }
    Ok(run)
}
