//! `wasmpush-bench`: the benchmarks behind `docs/PERFORMANCE.md`.
//!
//! Nothing here is used by the service. The crate holds what the criterion
//! benches (`benches/`) and the end-to-end command (`src/bin/e2e.rs`) share:
//! where the generators and recorded payloads are ([`paths`], [`payloads`]),
//! per-call timing summaries ([`stats`]), a counting HTTP receiver
//! ([`receiver`]), and [`proto`], a stand-alone copy of the host's Wasm
//! sandbox used to find where generation time goes and to try engine
//! settings the host does not expose (reused instances, pages kept resident)
//! before proposing them for `host/src/runtime`.

pub mod batch;
pub mod clock;
pub mod e2e;
pub mod paths;
pub mod payloads;
pub mod proto;
pub mod receiver;
pub mod stats;
