//! wasmpush: Buildbot's `HttpStatusPush` as a WebAssembly plugin host.
//!
//! The data path, top to bottom: a source produces events
//! ([`wasmpush_sources`]) → [`filter`] applies Buildbot's generator filters →
//! [`runtime`] runs the Wasm generator in a fresh sandbox → [`pipeline`]
//! ties them together per event and hands reports to delivery.

pub mod config;
pub mod filter;
pub mod pipeline;
pub mod runtime;
