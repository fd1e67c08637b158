//! Test endpoints for wasmpush: real HTTP(S) servers on 127.0.0.1 that
//! record what they are sent, and the certificates to serve HTTPS with.
//!
//! This crate is the demo's and the tests' endpoint:
//!
//! - [`Receiver`]: records every accepted request and answers 200 (or what
//!   [`Receiver::respond_with`] chooses). `wasmpush demo` sends to it, so the
//!   host depends on this crate as a normal dependency; the host's tests and
//!   the other crates' tests use it too. Keeping the demo on the same receiver
//!   as the tests leaves one receiver implementation instead of a copy in the
//!   demo that could drift from what the tests check.
//! - [`Server`] ([`serve`]): a scripted server, plain HTTP or HTTPS, whose
//!   replies (status, headers, body, delay) are chosen per request; it also
//!   counts failed TLS handshakes. Delivery, distribute and relay tests use it.
//! - `tls` (feature `tls`, for dev-dependencies only): one rcgen test CA
//!   that signs server and client certificates, a self-signed certificate and
//!   the rustls server configuration for [`serve`]. The feature keeps rcgen
//!   out of the host binary.
//!
//! Both servers read requests and write answers through one function
//! (`http::serve_connection`), so they behave the same on the wire.

mod http;
mod receiver;
mod server;
#[cfg(feature = "tls")]
pub mod tls;

pub use http::Received;
pub use receiver::Receiver;
pub use server::{Reply, Script, Server, always, closed_port_url, serve};
