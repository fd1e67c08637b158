//! What a generator wants in its payload: the one definition of [`Needs`]
//! and [`LogContents`] for the whole host.
//!
//! Buildbot decides what to fetch from the formatter's `want_*` flags and
//! the generator's mode (spec §b.10, `reporters/utils.py`
//! `getDetailsForBuilds`): properties (default on), steps, logs, log
//! contents (all, or only some logs by `name` or `stepname.name`), and the
//! previous build (modes `change`/`problem`, finished events only).
//!
//! Who uses it:
//! - a generator declares its needs in its WIT `info` record (the runtime
//!   converts the WIT record into this type);
//! - the host passes the [`Needs::union`] of all its generators to the
//!   sources, which fetch that much once;
//! - the pipeline gives each generator its own copy of the payload cut down
//!   to its needs (`wasmpush_sources::payload_for`), so keys never leak from
//!   one generator to another (Buildbot leaks them, spec §c.3);
//! - a plugin's stamped metadata (`wasmpush_distribute::Metadata`) carries
//!   them too, in the WIT's JSON spelling (kebab-case names, every flag off
//!   by default, no kinds): that format converts to and from this type
//!   there; it is not a second definition.

use crate::event::EventKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Which log contents to attach (Buildbot's `want_logs_content`; WIT
/// `log-contents`). Serialized as `"none"`, `"all"` or `{"only": [names]}`,
/// the same in every format.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogContents {
    /// No `content` (Buildbot's default).
    #[default]
    None,
    /// `content` on every log (`want_logs_content=True`).
    All,
    /// `content` only on logs named `name` or `stepname.name`
    /// (`want_logs_content=["stdio", "compile.stdio"]`). A set: order and
    /// repetitions carry no meaning.
    Only(BTreeSet<String>),
}

impl LogContents {
    /// Whether the log `name` of step `step` gets its content.
    pub fn wants(&self, step: &str, name: &str) -> bool {
        match self {
            LogContents::None => false,
            LogContents::All => true,
            LogContents::Only(names) => names.contains(name) || names.contains(&format!("{step}.{name}")),
        }
    }

    /// The contents either side wants: `All` beats everything, `None` is
    /// neutral, two `Only` lists merge.
    pub fn union(&self, other: &LogContents) -> LogContents {
        match (self, other) {
            (LogContents::All, _) | (_, LogContents::All) => LogContents::All,
            (LogContents::None, x) | (x, LogContents::None) => x.clone(),
            (LogContents::Only(a), LogContents::Only(b)) => LogContents::Only(a.union(b).cloned().collect()),
        }
    }
}

/// What to put in a payload, and for which events. `Default` is Buildbot's
/// default formatter: every event kind, properties, nothing else.
///
/// Serde (snake_case field names, missing fields from `Default`, unknown
/// fields refused) is the host's own spelling; the WIT record and the
/// plugin metadata JSON differ (see the module documentation) and are
/// converted where they are read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Needs {
    /// Event kinds to produce at all (others are skipped, but still counted
    /// as handled in the catch-up cursor).
    pub kinds: BTreeSet<EventKind>,
    /// `properties` as `{name: [value, source]}`; without it `properties`
    /// is `{}` as in Buildbot with `want_properties=False`.
    pub properties: bool,
    /// `steps` (implied by `logs` and `log_contents`).
    pub steps: bool,
    /// `logs` on each step (implied by `log_contents`).
    pub logs: bool,
    /// `content` on logs.
    pub log_contents: LogContents,
    /// `prev_build` on finished builds (modes `change`/`problem`).
    pub previous_build: bool,
    /// `changes`: the build's change objects (`builds/<id>/changes`;
    /// contract 0.2). Only the Buildbot source can fetch them: a relayed
    /// HttpStatusPush body has none.
    pub changes: bool,
}

impl Default for Needs {
    fn default() -> Self {
        Needs { kinds: EventKind::ALL.into_iter().collect(), properties: true, ..Needs::nothing() }
    }
}

impl Needs {
    /// Nothing at all: no kinds, no extras (the neutral element of
    /// [`union`](Self::union)).
    pub fn nothing() -> Needs {
        Needs {
            kinds: BTreeSet::new(),
            properties: false,
            steps: false,
            logs: false,
            log_contents: LogContents::None,
            previous_build: false,
            changes: false,
        }
    }

    /// What both `self` and `other` need.
    pub fn union(&self, other: &Needs) -> Needs {
        Needs {
            kinds: self.kinds.union(&other.kinds).copied().collect(),
            properties: self.properties || other.properties,
            steps: self.steps || other.steps,
            logs: self.logs || other.logs,
            log_contents: self.log_contents.union(&other.log_contents),
            previous_build: self.previous_build || other.previous_build,
            changes: self.changes || other.changes,
        }
    }

    /// Logs are fetched (asked for, or implied by contents).
    pub fn wants_logs(&self) -> bool {
        self.logs || self.log_contents != LogContents::None
    }

    /// Steps are fetched (asked for, or implied by logs).
    pub fn wants_steps(&self) -> bool {
        self.steps || self.wants_logs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_is_the_most_of_both() {
        let a = Needs { log_contents: LogContents::Only(["stdio".into()].into()), ..Needs::nothing() };
        let b =
            Needs { log_contents: LogContents::Only(["x.y".into()].into()), previous_build: true, ..Needs::nothing() };
        let u = a.union(&b);
        assert_eq!(u.log_contents, LogContents::Only(["stdio".into(), "x.y".into()].into()));
        assert!(u.previous_build && u.wants_steps() && u.wants_logs() && !u.properties);
        assert_eq!(
            u.union(&Needs { log_contents: LogContents::All, ..Needs::nothing() }).log_contents,
            LogContents::All
        );
        assert_eq!(Needs::nothing().union(&Needs::default()), Needs::default());
    }

    #[test]
    fn default_is_buildbots_formatter_and_parses_from_nothing() {
        let d = Needs::default();
        assert_eq!(d.kinds.len(), EventKind::ALL.len());
        assert!(d.properties && !d.wants_steps() && !d.previous_build && !d.changes);
        assert_eq!(serde_json::from_str::<Needs>("{}").unwrap(), d);
        let n: Needs =
            serde_json::from_str(r#"{"kinds":["build-finished"],"log_contents":{"only":["stdio"]}}"#).unwrap();
        assert_eq!(n.kinds, [EventKind::BuildFinished].into());
        assert!(n.log_contents.wants("compile", "stdio") && !n.log_contents.wants("compile", "warnings"));
        assert!(serde_json::from_str::<Needs>(r#"{"log-contents":"all"}"#).is_err(), "unknown fields are refused");
    }
}
