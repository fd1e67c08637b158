//! A generator's stdout and stderr, captured up to a budget.
//!
//! wasmtime-wasi's `MemoryOutputPipe` traps once it is full, so a correct
//! but chatty generator would lose its report for printing too much. This
//! pipe keeps the first `capacity` bytes and silently drops (and counts) the
//! rest: printing never fails and never costs the report.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// One captured stream; clones share the buffer.
#[derive(Clone)]
pub struct Captured {
    capacity: usize,
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    kept: Vec<u8>,
    dropped: u64,
}

impl Captured {
    /// A stream keeping at most `capacity` bytes.
    pub fn new(capacity: usize) -> Captured {
        Captured { capacity, inner: Arc::default() }
    }

    /// What was kept.
    pub fn contents(&self) -> Vec<u8> {
        self.lock().kept.clone()
    }

    /// How many bytes were dropped over the capacity.
    pub fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn keep(&self, bytes: &[u8]) {
        let mut inner = self.lock();
        let room = self.capacity.saturating_sub(inner.kept.len());
        let n = bytes.len().min(room);
        inner.kept.extend_from_slice(&bytes[..n]);
        inner.dropped += (bytes.len() - n) as u64;
    }
}

/// Most bytes a guest may hand over per write (it is told it may always
/// write this much; what exceeds the budget is dropped).
const PERMIT: usize = 64 << 10;

#[async_trait::async_trait]
impl OutputStream for Captured {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        self.keep(&bytes);
        Ok(())
    }
    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }
    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(PERMIT)
    }
}

#[async_trait::async_trait]
impl Pollable for Captured {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for Captured {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.keep(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl IsTerminal for Captured {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for Captured {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_first_bytes_and_counts_the_rest() {
        let mut c = Captured::new(8);
        OutputStream::write(&mut c, bytes::Bytes::from_static(b"hello ")).unwrap();
        OutputStream::write(&mut c, bytes::Bytes::from_static(b"world, and more")).unwrap();
        assert_eq!(c.contents(), b"hello wo");
        assert_eq!(c.dropped(), 13);
        assert_eq!(c.check_write().unwrap(), PERMIT, "a full pipe still accepts writes");
    }
}
