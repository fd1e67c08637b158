//! Driving a real Buildbot 4.3.0 master from a test: the venv
//! (tests/buildbot/setup.sh), the harness (tests/buildbot/harness.py) and a
//! guard that stops the master, its worker and the test's own processes
//! whatever happens.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// The venv's python (created by tests/buildbot/setup.sh when missing).
pub fn python() -> PathBuf {
    let out = Command::new("bash").arg(super::repo().join("tests/buildbot/setup.sh")).output().unwrap();
    assert!(out.status.success(), "tests/buildbot/setup.sh failed: {}", String::from_utf8_lossy(&out.stderr));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim().lines().last().unwrap())
}

/// Runs `harness.py ARGS`; its JSON answer (Null when it printed none).
pub fn harness(py: &Path, args: &[&str]) -> Value {
    let out = Command::new(py).arg(super::repo().join("tests/buildbot/harness.py")).args(args).output().unwrap();
    assert!(out.status.success(), "harness {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// Stops `children` (TERM, then KILL after 10 s), then the master and
/// worker of `run_dir`, when dropped.
pub struct Cleanup {
    pub py: PathBuf,
    pub run_dir: PathBuf,
    pub children: Vec<Child>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
        }
        for c in &mut self.children {
            let deadline = Instant::now() + Duration::from_secs(10);
            while c.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new(&self.py)
            .arg(super::repo().join("tests/buildbot/harness.py"))
            .args(["stop", "--dir", self.run_dir.to_str().unwrap()])
            .output();
    }
}
