//! Progress bars, on a terminal only: when stderr is not one (tests, CI,
//! systemd, a pipe) nothing is drawn and nothing extra is computed. Log
//! lines and printed output go around a bar being drawn (see [`suspend`]).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::sync::Mutex;

/// The bar being drawn, if any (one at a time).
static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Whether a bar would be drawn at all.
pub fn enabled() -> bool {
    std::io::stderr().is_terminal()
}

/// A bar of `len` steps on stderr, labelled `what`; hidden unless stderr is
/// a terminal. It is cleared from the screen when dropped.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    pub fn new(len: u64, what: &str) -> Progress {
        let target = if enabled() { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        let bar = ProgressBar::with_draw_target(Some(len), target);
        let style = ProgressStyle::with_template("{msg} [{bar:32}] {pos}/{len} ({elapsed}, {eta} left)")
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_message(what.to_string());
        *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar.clone());
        Progress { bar }
    }

    pub fn bar(&self) -> &ProgressBar {
        &self.bar
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        let mut active = ACTIVE.lock().unwrap_or_else(|e| e.into_inner());
        *active = None;
        self.bar.finish_and_clear();
    }
}

/// Runs `f` with the active bar (if any) taken off the screen, for output
/// that must not be drawn over.
pub fn suspend<R>(f: impl FnOnce() -> R) -> R {
    let bar = ACTIVE.lock().unwrap_or_else(|e| e.into_inner()).clone();
    match bar {
        Some(bar) => bar.suspend(f),
        None => f(),
    }
}

/// stderr for the log subscriber: each line is written whole, around the bar.
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        suspend(|| std::io::stderr().write(buf))
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        suspend(|| std::io::stderr().write_all(buf))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
