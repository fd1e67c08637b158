//! Which Buildbot events wasmpush reports on: the kind every source tags an
//! event with, every generator declares in its `info`, and every config
//! filters by. One enum for all of them, so a kind parsed from a config, a
//! relay path or a plugin's metadata is the same value the pipeline matches.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The Buildbot events wasmpush reports on (Buildbot's `wanted_event_keys`).
/// Written in configs, the WIT and logs as `build-new`, `build-finished`,
/// `buildset-complete` ([`EventKind::as_str`], serde and [`FromStr`] agree).
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

#[cfg(test)]
mod tests {
    use super::EventKind;

    #[test]
    fn names_parse_back_and_match_serde() {
        for k in EventKind::ALL {
            assert_eq!(k.as_str().parse::<EventKind>().unwrap(), k);
            assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{k}\""));
        }
        let e = "build-started".parse::<EventKind>().unwrap_err();
        assert!(e.to_string().contains("build-started") && e.to_string().contains("build-new"), "{e}");
    }
}
