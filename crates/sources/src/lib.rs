//! Where build events come from.
//!
//! Every source produces [`SourceEvent`]s: one Buildbot event (a build
//! started, a build finished, a buildset completed) with its payload already
//! assembled the way Buildbot's reporters see it. The host filters them,
//! hands them to generators and pushes the reports; sources know nothing of
//! generators or targets.
//!
//! - [`replay`]: recorded payloads from files, for demos, tests and back-fills.

pub mod event;
pub mod replay;

pub use event::{EventKind, SourceEvent};
