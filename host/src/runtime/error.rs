//! What can go wrong loading or running a generator, in words a user can act on.

use std::path::PathBuf;
use std::time::Duration;

/// A generator could not be loaded. Each variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("generator {path}: cannot read the file: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("generator {path}: not a valid WebAssembly component: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("generator {path}: does not implement the wasmpush:plugin/generator world: {reason}")]
    WrongWorld { path: PathBuf, reason: String },
    #[error("generator {path}: describe() failed: {reason}")]
    Describe { path: PathBuf, reason: String },
    #[error("generator {path}: describe() returned an invalid description: {reason}")]
    BadInfo { path: PathBuf, reason: String },
    #[error("compiled-component cache {path}: {source}")]
    Cache { path: PathBuf, source: std::io::Error },
}

/// Why a generator produced no report for an event. Displayed as
/// `generator <name>: <cause>`.
#[derive(Debug, thiserror::Error)]
#[error("generator {generator}: {cause}")]
pub struct GenerateError {
    /// The generator's configured name.
    pub generator: String,
    /// What went wrong.
    pub cause: Cause,
}

/// The cause of a failed `generate` call.
#[derive(Debug, thiserror::Error)]
pub enum Cause {
    #[error("ran out of time (limit {limit:?})")]
    Timeout { limit: Duration },
    #[error("exceeded its memory limit of {limit} bytes")]
    Memory { limit: u64 },
    #[error("exhausted its stack (unbounded recursion?)")]
    Stack,
    #[error("panicked: {message}")]
    Panic { message: String },
    #[error("trapped: {message}")]
    Trap { message: String },
    #[error("exited the process with status {code}")]
    Exit { code: i32 },
    #[error(
        "returned {size} bytes of requests (bodies, content types, headers, paths, supersede keys), over the {limit}-byte max_output"
    )]
    OutputTooLarge { size: u64, limit: u64 },
    #[error("returned {count} requests for one event, over the limit of {limit} (max_requests)")]
    TooManyRequests { count: usize, limit: usize },
    #[error("request {index}: {reason}")]
    BadRequest { index: usize, reason: String },
    #[error("returned {count} headers, over the limit of {limit} (max_headers)")]
    TooManyHeaders { count: usize, limit: usize },
    #[error("returned {size} bytes of headers, over the {limit}-byte max_header_bytes")]
    HeadersTooLarge { size: u64, limit: u64 },
    #[error("returned an error: {message}")]
    Guest { message: String },
    #[error("could not be instantiated: {message}")]
    Instantiate { message: String },
}

/// Turns a wasmtime error from instantiate/call into a [`Cause`], using the
/// guest's captured stderr to recover a panic message.
pub(crate) fn classify(err: &wasmtime::Error, stderr: &str, limits: &super::Limits) -> Cause {
    use wasmtime::Trap;
    if let Some(exit) = err.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return Cause::Exit { code: exit.0 };
    }
    let text = format!("{err:#}");
    let over_memory = err.chain().any(|e| matches!(e.downcast_ref(), Some(super::sandbox::OverBudget::Memory { .. })));
    if over_memory || stderr.contains("memory allocation of") {
        return Cause::Memory { limit: limits.memory };
    }
    if let Some(message) = panic_message(stderr) {
        return Cause::Panic { message };
    }
    match err.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => Cause::Timeout { limit: limits.timeout },
        Some(Trap::StackOverflow) => Cause::Stack,
        // Rust's shadow stack lives in linear memory: running out of it shows
        // up as an out-of-bounds access (wasm-toolchains.md, pitfall 12).
        Some(Trap::MemoryOutOfBounds) => Cause::Trap {
            message: "out-of-bounds memory access (unbounded recursion or a bug in the generator)".into(),
        },
        Some(trap) => Cause::Trap { message: with_stderr(&trap.to_string(), stderr) },
        None => Cause::Trap { message: with_stderr(&text, stderr) },
    }
}

/// The guest's own panic text (`panicked at src/lib.rs:3:5:\n<message>`), or
/// the last line of a Python/JS traceback.
fn panic_message(stderr: &str) -> Option<String> {
    let lines: Vec<&str> = stderr.lines().collect();
    if let Some(i) = lines.iter().position(|l| l.contains("panicked at")) {
        let msg = lines.get(i + 1).map(|s| s.trim()).filter(|s| !s.is_empty());
        return Some(msg.unwrap_or(lines[i].trim()).to_string());
    }
    if lines.iter().any(|l| l.starts_with("Traceback (most recent call last)")) {
        return lines.iter().rev().find(|l| !l.trim().is_empty()).map(|l| l.trim().to_string());
    }
    None
}

/// `message` (a wasmtime error may span lines: its wasm backtrace) as one
/// line, with the guest's last stderr line.
fn with_stderr(message: &str, stderr: &str) -> String {
    let message = truncate(message.trim(), 2000);
    match stderr.lines().rev().find(|l| !l.trim().is_empty()) {
        Some(last) => format!("{message} (stderr: {})", truncate(last.trim(), 300)),
        None => message,
    }
}

/// Guest text made safe for a log line or a terminal: control characters
/// (`\n`, `\r`, ESC, ...) are escaped, so a plugin cannot forge log lines or
/// drive a terminal.
pub(crate) fn printable(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    s.chars().map(|c| if c.is_control() { c.escape_default().collect() } else { c.to_string() }).collect()
}

/// Guest text made [`printable`], cut to at most `max` bytes on a character
/// boundary, with `…` when cut.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    let s = &printable(s);
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_text_cannot_forge_log_lines() {
        let forged = "done\n2026-12-03T00:00:00Z ERROR wasmpush: fake\r\u{1b}[2J";
        let shown = truncate(forged, 1000);
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
        assert!(shown.contains("\\n2026") && shown.contains("\\u{1b}"), "{shown}");
        assert_eq!(truncate("plain é text", 1000), "plain é text");
    }
}
