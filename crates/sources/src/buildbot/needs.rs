//! What a generator wants in its payload, and cutting a full payload down to
//! it: kept at this path for older imports. [`Needs`] and [`LogContents`]
//! live in `wasmpush_model::needs`, [`payload_for`] in
//! [`crate::payload`] (it applies to every source's events, not only
//! Buildbot's).

pub use crate::payload::payload_for;
pub use wasmpush_model::needs::{LogContents, Needs};
