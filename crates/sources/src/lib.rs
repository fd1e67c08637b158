//! Where build events come from.
//!
//! Every source produces [`SourceEvent`]s: one Buildbot event (a build
//! started, a build finished, a buildset completed) with its payload already
//! assembled the way Buildbot's reporters see it. The host filters them,
//! hands them to generators and pushes the reports; sources know nothing of
//! generators or targets.
//!
//! - [`replay`]: recorded payloads from files, for demos, tests and back-fills.
//! - [`buildbot`]: a Buildbot master's websocket + REST API, with catch-up.
//! - [`relay`]: an HTTP endpoint receiving Buildbot's own `HttpStatusPush` POSTs.
//!
//! Every source's payload is assembled once for the union of the
//! generators' [`Needs`]; [`payload_for`] cuts it down for each generator.
//! `Needs`, `LogContents` and `EventKind` are the shared model's
//! (`wasmpush_model`), re-exported here.
//!
//! The host starts each the same way: [`SourceConfig::spawn`] returns a
//! [`SourceHandle`] (finite or not) that it awaits for the source's end.

pub mod buildbot;
pub mod event;
pub mod payload;
pub mod relay;
pub mod replay;
pub use wasmpush_model::secret;
pub mod source;
pub mod submit;

pub use event::{EventKind, SourceEvent};
pub use payload::payload_for;
pub use source::{Counters, KINDS, SourceConfig, SourceError, SourceHandle, first_to_end};
pub use submit::{Ack, EventSender, Submission, SubmitError, acknowledge_all, submit};
pub use wasmpush_model::needs::{LogContents, Needs};
