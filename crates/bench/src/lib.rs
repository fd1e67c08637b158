//! `wasmpush-bench`: the benchmarks behind `docs/PERFORMANCE.md`.
//!
//! Nothing here is used by the service, and nothing here re-implements it:
//! every benchmark runs the product (`wasmpush::runtime::Generator`,
//! `wasmpush::dispatch`, `wasmpush::service`). The crate holds what the
//! criterion benches (`benches/`) and the commands (`src/bin/`) share: where
//! the generators and recorded payloads are ([`paths`], [`payloads`]),
//! per-call timing summaries ([`stats`]), the product's fresh call timed
//! step by step ([`phases`]), a counting HTTP receiver ([`receiver`]) and the
//! end-to-end harness ([`e2e`]).

pub mod clock;
pub mod e2e;
pub mod paths;
pub mod payloads;
pub mod phases;
pub mod receiver;
pub mod stats;
