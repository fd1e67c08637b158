//! wasmpush: Buildbot's `HttpStatusPush` as a WebAssembly plugin host.
//!
//! The data path, top to bottom: a source produces events
//! ([`wasmpush_sources`]) → [`filter`] applies Buildbot's generator filters →
//! [`runtime`] runs the Wasm generator in a fresh sandbox → [`pipeline`]
//! ties them together per event → [`dispatch`] runs it on worker threads and
//! hands accepted reports to delivery ([`wasmpush_delivery`]: push + outbox).
//! [`service`] wires a whole config together, [`reload`] swaps generators
//! live. The demo's and the tests' HTTP endpoint is `wasmpush_testkit`.

pub mod admin;
pub mod catalog;
pub mod config;
pub mod control;
pub mod dispatch;
pub mod faults;
pub mod filter;
pub mod notify;
pub mod pipeline;
pub mod plan;
pub mod plugins;
pub mod reload;
pub mod runtime;
pub mod service;
