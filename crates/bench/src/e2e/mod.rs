//! The end-to-end bench (`src/bin/e2e.rs`): receiver process, wasmpush
//! cells, the Buildbot peer, start-up and memory, and the report.

pub mod peer;
pub mod procs;
pub mod report;
pub mod startup;
pub mod throughput;
