//! What can go wrong with the outbox file.

use std::path::PathBuf;

/// Errors of the outbox store.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// Another process (a running `wasmpush`) has the outbox open.
    #[error("outbox `{0}` is in use by a running wasmpush; stop it first")]
    InUse(PathBuf),
    /// The file could not be opened or created.
    #[error("cannot open outbox `{path}`: {message}")]
    Open {
        /// The outbox file.
        path: PathBuf,
        /// What redb said.
        message: String,
    },
    /// A read, write or commit failed.
    #[error("outbox storage error: {0}")]
    Storage(String),
    /// An entry's metadata cannot be decoded.
    #[error("outbox entry {seq} is corrupt: {message}")]
    Corrupt {
        /// The entry's sequence number.
        seq: u64,
        /// The decode error.
        message: String,
    },
    /// The delivery service has shut down.
    #[error("the delivery service is shut down")]
    Closed,
}

pub(crate) fn storage<E: std::fmt::Display>(e: E) -> OutboxError {
    OutboxError::Storage(e.to_string())
}
