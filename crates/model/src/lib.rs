//! What every wasmpush crate shares, in one home: which events there are
//! ([`event`]) and what a generator needs in their payloads ([`needs`]),
//! how a secret is read and kept out of text ([`secret`]) and how Basic and
//! Bearer credentials are written in a config ([`auth`]), how a byte size and a duration are written
//! ([`size`], [`duration`]), which HTTP methods a report may use ([`method`]),
//! how a duration is counted into buckets
//! ([`histogram`]), how an error chain becomes one line ([`error_chain`]),
//! and which TLS crypto provider the process uses
//! ([`install_crypto_provider`]).

pub mod auth;
pub mod duration;
pub mod event;
pub mod histogram;
pub mod method;
pub mod needs;
pub mod secret;
pub mod size;

pub use event::{EventKind, UnknownEventKind};
pub use needs::{LogContents, Needs};

/// `err` and all its sources joined with `: `, skipping a source whose text
/// its parent already contains (reqwest's and hyper's `Display` hide the
/// useful part, e.g. "connection refused" or the TLS reason, in a source).
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut s = err.to_string();
    let mut cur = err.source();
    while let Some(inner) = cur {
        let t = inner.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = inner.source();
    }
    s
}

/// Installs rustls' `ring` crypto provider as the process default if none
/// is installed yet. reqwest, oci-client and tokio-tungstenite are built
/// without a provider of their own (no aws-lc build). Idempotent; losing a
/// race with another installer is fine.
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

#[cfg(test)]
mod tests {
    #[derive(Debug, thiserror::Error)]
    #[error("sending failed")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn error_chain_joins_sources_once() {
        let e = Outer(std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused"));
        assert_eq!(super::error_chain(&e), "sending failed: connection refused");
    }
}
