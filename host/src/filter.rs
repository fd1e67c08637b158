//! Buildbot's report-generator filters, applied before any Wasm runs.
//!
//! Each configured generator has a *kind* that mirrors a Buildbot report
//! generator class, with its exact semantics (spec §b):
//!
//! | kind | events | results check |
//! |---|---|---|
//! | `build-status` (`BuildStatusGenerator`) | finished, plus new with `report_new` | `mode`, finished only |
//! | `build-start-end` (`BuildStartEndStatusGenerator`) | new, finished | none |
//! | `buildset` (`BuildSetStatusGenerator`) | buildset complete | `mode` and props, per build; builds that fail are removed, none left → no report |
//! | `buildset-combined` (`BuildSetCombinedStatusGenerator`) | buildset complete | none, no filters at all |
//!
//! Property filters (`builders`, `tags`, `schedulers`, `branches`) are ANDed;
//! `builders` with `tags` is a config error, as in Buildbot. One deliberate
//! difference: Buildbot's `schedulers`/`branches` filters read properties
//! only if the formatter asked for them, so they silently drop every build
//! otherwise (spec §b.5); here filters always see the properties.

use serde::Deserialize;
use serde_json::{Map, Value};
use wasmpush_sources::{EventKind, SourceEvent};

/// Buildbot result codes (`buildbot.process.results`).
const SUCCESS: i64 = 0;
const WARNINGS: i64 = 1;
const FAILURE: i64 = 2;
const EXCEPTION: i64 = 4;
const RETRY: i64 = 5;
const CANCELLED: i64 = 6;

/// Which Buildbot report generator a configured generator behaves like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum GeneratorKind {
    #[default]
    BuildStatus,
    BuildStartEnd,
    Buildset,
    BuildsetCombined,
}

impl GeneratorKind {
    /// The config spelling (`build-status`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            GeneratorKind::BuildStatus => "build-status",
            GeneratorKind::BuildStartEnd => "build-start-end",
            GeneratorKind::Buildset => "buildset",
            GeneratorKind::BuildsetCombined => "buildset-combined",
        }
    }
}

/// One of Buildbot's report modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Change,
    Failing,
    Passing,
    Problem,
    Warnings,
    Exception,
    Cancelled,
}

impl Mode {
    fn parse(s: &str) -> Result<Mode, FilterError> {
        Ok(match s {
            "change" => Mode::Change,
            "failing" => Mode::Failing,
            "passing" => Mode::Passing,
            "problem" => Mode::Problem,
            "warnings" => Mode::Warnings,
            "exception" => Mode::Exception,
            "cancelled" => Mode::Cancelled,
            other => return Err(FilterError::UnknownMode(other.to_string())),
        })
    }
}

/// A filter setting that Buildbot would reject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error(
        "unknown mode {0:?} (expected change, failing, passing, problem, warnings, exception, cancelled, or the strings \"all\"/\"warnings\")"
    )]
    UnknownMode(String),
    #[error("mode \"all\" cannot be used inside a list")]
    AllInList,
    #[error("`builders` and `tags` cannot be used together")]
    BuildersWithTags,
    #[error("`{key}` does not apply to kind {kind}")]
    NotForKind { key: &'static str, kind: &'static str },
}

/// `mode` as written in the config: a string shortcut or a list.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ModeSpec {
    One(String),
    Many(Vec<String>),
}

/// The filter settings of one generator, as written in the config.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct FilterSpec {
    #[serde(default)]
    pub kind: GeneratorKind,
    pub mode: Option<ModeSpec>,
    pub report_new: Option<bool>,
    pub builders: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
    pub schedulers: Option<Vec<String>>,
    pub branches: Option<Vec<String>>,
}

/// What a filter decided for one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Pass {
    /// No report for this event.
    Drop,
    /// Report, with the event's payload as it is.
    Unchanged,
    /// Report, with this payload (builds removed by a `buildset` filter).
    Changed(Value),
}

/// A validated filter.
#[derive(Debug, Clone)]
pub struct Filter {
    kind: GeneratorKind,
    modes: Vec<Mode>,
    report_new: bool,
    builders: Option<Vec<String>>,
    tags: Option<Vec<String>>,
    schedulers: Option<Vec<String>>,
    branches: Option<Vec<String>>,
}

impl Filter {
    /// Checks `spec` the way Buildbot's `check()` does. `report_new` defaults
    /// to true: the behaviour of `HttpStatusPush`'s default generator.
    pub fn new(spec: &FilterSpec) -> Result<Filter, FilterError> {
        let kind_name = match spec.kind {
            GeneratorKind::BuildStatus => "build-status",
            GeneratorKind::BuildStartEnd => "build-start-end",
            GeneratorKind::Buildset => "buildset",
            GeneratorKind::BuildsetCombined => "buildset-combined",
        };
        let not_for = |key| FilterError::NotForKind { key, kind: kind_name };
        if spec.builders.is_some() && spec.tags.is_some() {
            return Err(FilterError::BuildersWithTags);
        }
        if spec.report_new.is_some() && spec.kind != GeneratorKind::BuildStatus {
            return Err(not_for("report_new"));
        }
        if spec.mode.is_some() && matches!(spec.kind, GeneratorKind::BuildStartEnd | GeneratorKind::BuildsetCombined) {
            return Err(not_for("mode"));
        }
        if spec.kind == GeneratorKind::BuildsetCombined
            && (spec.builders.is_some() || spec.tags.is_some() || spec.schedulers.is_some() || spec.branches.is_some())
        {
            return Err(not_for("builders/tags/schedulers/branches"));
        }
        let modes = match &spec.mode {
            None => vec![Mode::Failing, Mode::Passing, Mode::Warnings],
            Some(ModeSpec::One(s)) if s == "all" => {
                vec![Mode::Failing, Mode::Passing, Mode::Warnings, Mode::Exception, Mode::Cancelled]
            }
            Some(ModeSpec::One(s)) if s == "warnings" => vec![Mode::Failing, Mode::Warnings],
            Some(ModeSpec::One(s)) => vec![Mode::parse(s)?],
            Some(ModeSpec::Many(list)) => list
                .iter()
                .map(|s| if s == "all" { Err(FilterError::AllInList) } else { Mode::parse(s) })
                .collect::<Result<_, _>>()?,
        };
        Ok(Filter {
            kind: spec.kind,
            modes,
            report_new: spec.report_new.unwrap_or(true),
            builders: spec.builders.clone(),
            tags: spec.tags.clone(),
            schedulers: spec.schedulers.clone(),
            branches: spec.branches.clone(),
        })
    }

    /// The events this filter can pass.
    pub fn events(&self) -> Vec<EventKind> {
        match self.kind {
            GeneratorKind::BuildStatus if self.report_new => vec![EventKind::BuildNew, EventKind::BuildFinished],
            GeneratorKind::BuildStatus => vec![EventKind::BuildFinished],
            GeneratorKind::BuildStartEnd => vec![EventKind::BuildNew, EventKind::BuildFinished],
            GeneratorKind::Buildset | GeneratorKind::BuildsetCombined => vec![EventKind::BuildsetComplete],
        }
    }

    /// Whether results filters need `prev_build` (modes change/problem).
    pub fn needs_previous_build(&self) -> bool {
        matches!(self.kind, GeneratorKind::BuildStatus | GeneratorKind::Buildset)
            && self.modes.iter().any(|m| matches!(m, Mode::Change | Mode::Problem))
    }

    /// Whether the filters read build properties (`schedulers`, `branches`).
    pub fn needs_properties(&self) -> bool {
        self.schedulers.is_some() || self.branches.is_some()
    }

    /// Whether Buildbot would produce a report for `event`, and with which
    /// payload: `Pass::Unchanged` means the event's own payload (no copy),
    /// `Pass::Changed` a payload with builds removed (`buildset` only).
    pub fn check(&self, event: &SourceEvent) -> Pass {
        if !self.events().contains(&event.kind) {
            return Pass::Drop;
        }
        let keep = |ok: bool| if ok { Pass::Unchanged } else { Pass::Drop };
        let Some(obj) = event.payload.as_object() else { return Pass::Drop };
        match self.kind {
            GeneratorKind::BuildStatus => {
                keep(self.by_props(obj) && (event.kind == EventKind::BuildNew || self.by_results(obj)))
            }
            GeneratorKind::BuildStartEnd => keep(self.by_props(obj)),
            GeneratorKind::BuildsetCombined => Pass::Unchanged,
            GeneratorKind::Buildset => {
                let Some(builds) = obj.get("builds").and_then(Value::as_array) else { return Pass::Drop };
                let pass = |b: &Value| b.as_object().is_some_and(|b| self.by_props(b) && self.by_results(b));
                if builds.iter().all(pass) {
                    return keep(!builds.is_empty());
                }
                let mut payload = event.payload.clone();
                if let Some(list) = payload.get_mut("builds").and_then(Value::as_array_mut) {
                    list.retain(pass);
                    if list.is_empty() {
                        return Pass::Drop;
                    }
                }
                Pass::Changed(payload)
            }
        }
    }

    /// The payload to hand to the generator for `event`, or `None` when
    /// Buildbot would produce no report (a copy; see [`Filter::check`]).
    pub fn apply(&self, event: &SourceEvent) -> Option<Value> {
        match self.check(event) {
            Pass::Drop => None,
            Pass::Unchanged => Some(event.payload.clone()),
            Pass::Changed(v) => Some(v),
        }
    }

    /// Buildbot's `is_message_needed_by_props`.
    fn by_props(&self, build: &Map<String, Value>) -> bool {
        let builder = build.get("builder");
        if let Some(builders) = &self.builders {
            let name = builder.and_then(|b| b.get("name")).and_then(Value::as_str);
            if !name.is_some_and(|n| builders.iter().any(|b| b == n)) {
                return false;
            }
        }
        if let Some(tags) = &self.tags {
            let have: Vec<&str> = builder
                .and_then(|b| b.get("tags"))
                .and_then(Value::as_array)
                .map(|t| t.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if !tags.iter().any(|t| have.contains(&t.as_str())) {
                return false;
            }
        }
        let prop = |name: &str| -> Option<&str> { build.get("properties")?.get(name)?.get(0)?.as_str() };
        if let Some(schedulers) = &self.schedulers
            && !prop("scheduler").is_some_and(|s| schedulers.iter().any(|x| x == s))
        {
            return false;
        }
        if let Some(branches) = &self.branches
            && !prop("branch").is_some_and(|s| branches.iter().any(|x| x == s))
        {
            return false;
        }
        true
    }

    /// Buildbot's `is_message_needed_by_results`.
    fn by_results(&self, build: &Map<String, Value>) -> bool {
        let Some(results) = build.get("results").and_then(Value::as_i64) else { return false };
        let prev = build.get("prev_build").and_then(|p| p.get("results")).and_then(Value::as_i64);
        let has_prev = build.get("prev_build").is_some_and(|p| p.is_object());
        self.modes.iter().any(|m| match m {
            Mode::Change => has_prev && prev != Some(results),
            Mode::Failing => results == FAILURE,
            Mode::Passing => results == SUCCESS,
            Mode::Problem => results == FAILURE && has_prev && prev != Some(FAILURE),
            Mode::Warnings => results == WARNINGS,
            Mode::Exception => results == EXCEPTION,
            Mode::Cancelled => results == CANCELLED,
        }) && results != RETRY
    }
}

#[cfg(test)]
mod tests;
