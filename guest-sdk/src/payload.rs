//! Typed views of the payloads Buildbot's data API produces (field lists from
//! Buildbot 4.3.0's `_db2data`). Every field a generator might not get is an
//! `Option` or defaults, so a struct parses any payload the host sends; use
//! [`crate::Event::value`] when you need the exact JSON instead.

use serde::Deserialize;
use serde_json::{Map, Value};

/// Buildbot's result codes (`buildbot.process.results`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Results {
    Success,
    Warnings,
    Failure,
    Skipped,
    Exception,
    Retry,
    Cancelled,
}

impl Results {
    /// The result for Buildbot's integer code; `None` for a running build
    /// (`null`) or the data API's "pending" `-1`.
    pub fn from_code(code: Option<i64>) -> Option<Results> {
        Some(match code? {
            0 => Results::Success,
            1 => Results::Warnings,
            2 => Results::Failure,
            3 => Results::Skipped,
            4 => Results::Exception,
            5 => Results::Retry,
            6 => Results::Cancelled,
            _ => return None,
        })
    }

    /// Buildbot's name (`"success"`, `"warnings"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Results::Success => "success",
            Results::Warnings => "warnings",
            Results::Failure => "failure",
            Results::Skipped => "skipped",
            Results::Exception => "exception",
            Results::Retry => "retry",
            Results::Cancelled => "cancelled",
        }
    }
}

/// Build properties: `{name: [value, source]}`, in the order Buildbot gave.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct Properties(pub Map<String, Value>);

impl Properties {
    /// The value of property `name` (without its source).
    pub fn get(&self, name: &str) -> Option<&Value> {
        match self.0.get(name)? {
            Value::Array(pair) => pair.first(),
            _ => None,
        }
    }
    /// Where property `name` came from (`"Force Build Form"`, `"Build"`, ...).
    pub fn source(&self, name: &str) -> Option<&str> {
        match self.0.get(name)? {
            Value::Array(pair) => pair.get(1)?.as_str(),
            _ => None,
        }
    }
    /// The value of property `name` when it is a string.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name)?.as_str()
    }
    /// Property names in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

/// A build (`/api/v2/builds/<id>`), enriched as Buildbot's reporters do.
#[derive(Debug, Clone, Deserialize)]
pub struct Build {
    pub buildid: i64,
    pub number: i64,
    pub builderid: i64,
    #[serde(default)]
    pub buildrequestid: Option<i64>,
    #[serde(default)]
    pub workerid: Option<i64>,
    #[serde(default)]
    pub masterid: Option<i64>,
    #[serde(default)]
    pub started_at: Option<i64>,
    #[serde(default)]
    pub complete_at: Option<i64>,
    #[serde(default)]
    pub complete: bool,
    #[serde(default)]
    pub state_string: String,
    /// Result code; `None` while running. See [`Build::result`].
    #[serde(default)]
    pub results: Option<i64>,
    #[serde(default)]
    pub properties: Properties,
    #[serde(default)]
    pub buildrequest: Option<BuildRequest>,
    #[serde(default)]
    pub buildset: Option<Buildset>,
    #[serde(default)]
    pub parentbuild: Option<Box<Build>>,
    #[serde(default)]
    pub parentbuilder: Option<Builder>,
    #[serde(default)]
    pub builder: Option<Builder>,
    /// The web UI address of the build.
    #[serde(default)]
    pub url: Option<String>,
    /// Present when the generator needs steps.
    #[serde(default)]
    pub steps: Option<Vec<Step>>,
    /// Present on finished events when the generator needs the previous build.
    #[serde(default)]
    pub prev_build: Option<Box<Build>>,
}

impl Build {
    /// The typed result, `None` while running.
    pub fn result(&self) -> Option<Results> {
        Results::from_code(self.results)
    }
    /// The builder's name, if the builder is in the payload.
    pub fn builder_name(&self) -> Option<&str> {
        self.builder.as_ref().map(|b| b.name.as_str())
    }
    /// The first sourcestamp of the buildset, if any.
    pub fn sourcestamp(&self) -> Option<&SourceStamp> {
        self.buildset.as_ref()?.sourcestamps.first()
    }
}

/// A build request (`/api/v2/buildrequests/<id>`).
#[derive(Debug, Clone, Deserialize)]
pub struct BuildRequest {
    pub buildrequestid: i64,
    pub buildsetid: i64,
    pub builderid: i64,
    #[serde(default)]
    pub priority: i64,
    #[serde(default)]
    pub claimed: bool,
    #[serde(default)]
    pub complete: bool,
    /// `-1` while pending.
    #[serde(default)]
    pub results: Option<i64>,
    #[serde(default)]
    pub submitted_at: Option<i64>,
    #[serde(default)]
    pub complete_at: Option<i64>,
    #[serde(default)]
    pub waited_for: bool,
}

/// A buildset with its sourcestamps (`/api/v2/buildsets/<id>`).
#[derive(Debug, Clone, Deserialize)]
pub struct Buildset {
    pub bsid: i64,
    #[serde(default)]
    pub external_idstring: Option<String>,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub submitted_at: Option<i64>,
    #[serde(default)]
    pub complete: bool,
    #[serde(default)]
    pub complete_at: Option<i64>,
    #[serde(default)]
    pub results: Option<i64>,
    #[serde(default)]
    pub parent_buildid: Option<i64>,
    #[serde(default)]
    pub parent_relationship: Option<String>,
    #[serde(default)]
    pub rebuilt_buildid: Option<i64>,
    #[serde(default)]
    pub sourcestamps: Vec<SourceStamp>,
}

/// What was built: repository, branch, revision.
#[derive(Debug, Clone, Deserialize)]
pub struct SourceStamp {
    pub ssid: i64,
    #[serde(default)]
    pub branch: Option<String>,
    #[serde(default)]
    pub revision: Option<String>,
    #[serde(default)]
    pub project: String,
    #[serde(default)]
    pub repository: String,
    #[serde(default)]
    pub codebase: String,
    #[serde(default)]
    pub created_at: Option<i64>,
    #[serde(default)]
    pub patch: Option<Value>,
}

/// A builder (`/api/v2/builders/<id>`).
#[derive(Debug, Clone, Deserialize)]
pub struct Builder {
    pub builderid: i64,
    pub name: String,
    #[serde(default)]
    pub masterids: Vec<i64>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// A step, with its logs when the generator needs them.
#[derive(Debug, Clone, Deserialize)]
pub struct Step {
    pub stepid: i64,
    pub number: i64,
    pub name: String,
    #[serde(default)]
    pub buildid: Option<i64>,
    #[serde(default)]
    pub started_at: Option<i64>,
    #[serde(default)]
    pub complete: bool,
    #[serde(default)]
    pub complete_at: Option<i64>,
    #[serde(default)]
    pub state_string: String,
    #[serde(default)]
    pub results: Option<i64>,
    #[serde(default)]
    pub hidden: bool,
    #[serde(default)]
    pub logs: Option<Vec<Log>>,
}

/// A log of a step. `content` is present only for logs the generator asked for.
#[derive(Debug, Clone, Deserialize)]
pub struct Log {
    pub logid: i64,
    pub name: String,
    #[serde(default)]
    pub slug: String,
    #[serde(default)]
    pub num_lines: i64,
    /// `s` stdio (each line starts with `h`, `o`, `e` or `i`), `t` text, `h` html.
    #[serde(default, rename = "type")]
    pub log_type: String,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub content: Option<LogChunk>,
}

/// A log's text (Buildbot's logchunk object).
#[derive(Debug, Clone, Deserialize)]
pub struct LogChunk {
    #[serde(default)]
    pub firstline: i64,
    #[serde(default)]
    pub content: String,
}

/// A change (`/api/v2/changes/<id>`), as listed in a build's `changes` when
/// a contract 0.2 generator needs them (see [`crate::Event::changes`]).
#[derive(Debug, Clone, Deserialize)]
pub struct Change {
    pub changeid: i64,
    #[serde(default)]
    pub parent_changeids: Vec<i64>,
    #[serde(default)]
    pub author: String,
    #[serde(default)]
    pub committer: Option<String>,
    #[serde(default)]
    pub files: Vec<String>,
    #[serde(default)]
    pub comments: String,
    #[serde(default)]
    pub revision: Option<String>,
    #[serde(default)]
    pub when_timestamp: Option<i64>,
    /// e.g. `refs/pull/42/merge` for a pull request.
    #[serde(default)]
    pub branch: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub revlink: Option<String>,
    #[serde(default)]
    pub properties: Properties,
    #[serde(default)]
    pub repository: String,
    #[serde(default)]
    pub project: String,
    #[serde(default)]
    pub codebase: String,
    #[serde(default)]
    pub sourcestamp: Option<SourceStamp>,
}

impl Change {
    /// The pull request number when the branch is `refs/pull/<n>/head` or
    /// `refs/pull/<n>/merge` (what Buildbot's GitHub reporters look for).
    pub fn pull_request(&self) -> Option<u64> {
        let rest = self.branch.as_deref()?.strip_prefix("refs/pull/")?;
        let (number, tail) = rest.split_once('/')?;
        matches!(tail, "head" | "merge").then(|| number.parse().ok()).flatten()
    }
}

/// The payload of `buildset-complete`: the buildset and all its builds.
#[derive(Debug, Clone, Deserialize)]
pub struct BuildsetEvent {
    pub buildset: Buildset,
    #[serde(default)]
    pub builds: Vec<Build>,
}
