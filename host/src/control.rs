//! The control socket: `wasmpush outbox list | retry | drop` while the
//! service runs (redb locks the outbox file, so the CLI cannot open it then).
//!
//! A Unix domain socket beside the outbox (`<outbox>.sock`, mode 0600: only
//! the service's user may act on its outbox), always on while a run lasts
//! and removed when it ends. The protocol is one JSON request line and one
//! JSON answer line per connection:
//!
//! - `{"op":"list"}` → `{"lines":[…], "pending":N, "dead":M}` (the lines
//!   `outbox list` prints, the same with the service stopped);
//! - `{"op":"retry","id":null|"msg_…"}` → `{"changed":N}` (dead reports
//!   become pending and are delivered now);
//! - `{"op":"drop","id":null|"msg_…"}` → `{"changed":N}` (dead reports only;
//!   `null` drops every dead report);
//! - any failure → `{"error":"…"}`.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use wasmpush_delivery::{Delivery, EntryState, Selector};

/// Longest request line accepted.
const MAX_REQUEST: u64 = 4096;

/// The socket path for an outbox file.
pub fn socket_path(outbox: &Path) -> PathBuf {
    let mut name = outbox.as_os_str().to_owned();
    name.push(".sock");
    PathBuf::from(name)
}

/// A request to a running service.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
pub enum Request {
    /// Every pending and dead report.
    List,
    /// Dead reports (all, or one by id) become pending, due now.
    Retry { id: Option<String> },
    /// Dead reports (all, or one by id) are deleted.
    Drop { id: Option<String> },
}

/// The answer of a running service.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Answer {
    /// `list`: one line per report, as `outbox list` prints them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<String>>,
    #[serde(default)]
    pub pending: usize,
    #[serde(default)]
    pub dead: usize,
    /// `retry` / `drop`: reports changed.
    #[serde(default)]
    pub changed: usize,
    /// Why the request failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The listening socket; dropping it stops serving and removes the file.
pub struct ControlSocket {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl ControlSocket {
    /// Binds `<outbox>.sock` (replacing a stale file: the caller holds the
    /// outbox lock, so no other instance serves it) and serves `delivery`.
    pub fn serve(outbox: &Path, delivery: Arc<Delivery>) -> std::io::Result<ControlSocket> {
        use std::os::unix::fs::PermissionsExt;
        let path = socket_path(outbox);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let listener = tokio::net::UnixListener::bind(&path)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let delivery = delivery.clone();
                tokio::spawn(async move {
                    if let Err(e) = answer(stream, delivery).await {
                        tracing::debug!("control socket: {e}");
                    }
                });
            }
        });
        Ok(ControlSocket { path, task })
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

async fn answer(stream: tokio::net::UnixStream, delivery: Arc<Delivery>) -> std::io::Result<()> {
    use tokio::io::AsyncReadExt;
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    BufReader::new(read.take(MAX_REQUEST)).read_line(&mut line).await?;
    let answer = match serde_json::from_str::<Request>(&line) {
        Ok(request) => tokio::task::spawn_blocking(move || act(&delivery, request))
            .await
            .unwrap_or_else(|e| Answer { error: Some(e.to_string()), ..Answer::default() }),
        Err(e) => Answer { error: Some(format!("bad request: {e}")), ..Answer::default() },
    };
    let mut text = serde_json::to_string(&answer).map_err(std::io::Error::other)?;
    text.push('\n');
    write.write_all(text.as_bytes()).await
}

fn act(delivery: &Delivery, request: Request) -> Answer {
    let selector = |id: Option<String>| id.map_or(Selector::Dead, Selector::Id);
    let done = match request {
        Request::List => delivery.entries().map(|entries| {
            let count = |s: EntryState| entries.iter().filter(|e| e.state == s).count();
            Answer {
                pending: count(EntryState::Pending),
                dead: count(EntryState::Dead),
                lines: Some(entries.iter().map(ToString::to_string).collect()),
                ..Answer::default()
            }
        }),
        Request::Retry { id } => {
            delivery.retry_dead(&selector(id)).map(|changed| Answer { changed, ..Answer::default() })
        }
        Request::Drop { id } => {
            delivery.drop_dead(&selector(id)).map(|changed| Answer { changed, ..Answer::default() })
        }
    };
    done.unwrap_or_else(|e| Answer { error: Some(e.to_string()), ..Answer::default() })
}

/// Why the CLI could not ask a running service.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("control socket `{path}`: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("control socket `{path}`: unreadable answer: {message}")]
    Answer { path: PathBuf, message: String },
    #[error("the running service refused: {0}")]
    Refused(String),
}

/// Asks the service running on `outbox`; `Ok(None)` when none runs (no
/// socket, or nobody listening on it).
pub fn ask(outbox: &Path, request: &Request) -> Result<Option<Answer>, ControlError> {
    use std::io::{BufRead, Write};
    let path = socket_path(outbox);
    let io = |source| ControlError::Io { path: path.clone(), source };
    let mut stream = match std::os::unix::net::UnixStream::connect(&path) {
        Ok(s) => s,
        Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused) => {
            return Ok(None);
        }
        Err(e) => return Err(io(e)),
    };
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30))).map_err(io)?;
    let mut line = serde_json::to_string(request).map_err(|e| io(std::io::Error::other(e)))?;
    line.push('\n');
    stream.write_all(line.as_bytes()).map_err(io)?;
    let mut reply = String::new();
    std::io::BufReader::new(stream).read_line(&mut reply).map_err(io)?;
    let answer: Answer = serde_json::from_str(&reply)
        .map_err(|e| ControlError::Answer { path: path.clone(), message: e.to_string() })?;
    match answer.error {
        Some(e) => Err(ControlError::Refused(e)),
        None => Ok(Some(answer)),
    }
}
