//! The event every source produces.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;
use std::str::FromStr;

/// The Buildbot events wasmpush reports on (Buildbot's `wanted_event_keys`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    /// `builds/<id>/new`.
    BuildNew,
    /// `builds/<id>/finished`.
    BuildFinished,
    /// `buildsets/<id>/complete`.
    BuildsetComplete,
}

impl EventKind {
    /// All kinds, in a stable order.
    pub const ALL: [EventKind; 3] = [EventKind::BuildNew, EventKind::BuildFinished, EventKind::BuildsetComplete];

    /// The name used in configs, the WIT and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::BuildNew => "build-new",
            EventKind::BuildFinished => "build-finished",
            EventKind::BuildsetComplete => "buildset-complete",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event kind name that is not one of [`EventKind::ALL`].
#[derive(Debug, thiserror::Error)]
#[error("unknown event kind {0:?} (expected build-new, build-finished or buildset-complete)")]
pub struct UnknownEventKind(pub String);

impl FromStr for EventKind {
    type Err = UnknownEventKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| UnknownEventKind(s.to_string()))
    }
}

/// One Buildbot event with its assembled payload.
///
/// For build events the payload is the build object in Buildbot's field
/// order (`buildid`, `number`, ..., `properties`, `buildrequest`, `buildset`,
/// `parentbuild`, `parentbuilder`, `builder`, `url`, and `steps` /
/// `prev_build` when fetched). For `buildset-complete` it is
/// `{"buildset": {...}, "builds": [...]}`. The payload is shared read-only:
/// every generator gets the same immutable snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceEvent {
    pub kind: EventKind,
    pub payload: Value,
}

impl SourceEvent {
    /// An event of `kind` carrying `payload`.
    pub fn new(kind: EventKind, payload: Value) -> Self {
        SourceEvent { kind, payload }
    }

    /// The build object for build events, `None` for buildset events.
    pub fn build(&self) -> Option<&Map<String, Value>> {
        match self.kind {
            EventKind::BuildsetComplete => None,
            _ => self.payload.as_object(),
        }
    }

    fn int(&self, obj: Option<&Map<String, Value>>, key: &str) -> Option<i64> {
        obj?.get(key)?.as_i64()
    }

    /// The buildset id of the event (from the build's `buildset` or the
    /// buildset event's `buildset`).
    pub fn bsid(&self) -> Option<i64> {
        let bs = match self.kind {
            EventKind::BuildsetComplete => self.payload.get("buildset"),
            _ => self.payload.get("buildset"),
        };
        bs?.get("bsid")?.as_i64()
    }

    /// What reports must stay ordered by: the build request for build events
    /// (Buildbot serialises a build request's events, spec §b.2), the
    /// buildset for buildset events.
    pub fn ordering_key(&self) -> String {
        match self.kind {
            EventKind::BuildsetComplete => format!("buildset:{}", self.bsid().unwrap_or(-1)),
            _ => match self.int(self.build(), "buildrequestid") {
                Some(br) => format!("buildrequest:{br}"),
                None => format!("build:{}", self.int(self.build(), "buildid").unwrap_or(-1)),
            },
        }
    }

    /// A name for this event that is the same every time the same Buildbot
    /// event is seen (`build-finished:12`, `buildset-complete:4`): used to
    /// derive stable report ids and to skip events already handled.
    pub fn event_id(&self) -> String {
        match self.kind {
            EventKind::BuildsetComplete => format!("{}:{}", self.kind, self.bsid().unwrap_or(-1)),
            _ => format!("{}:{}", self.kind, self.int(self.build(), "buildid").unwrap_or(-1)),
        }
    }
}
