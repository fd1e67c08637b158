//! Friendly Rust types over the WIT records, and their conversions.

use crate::bindings::wasmpush::plugin::{host, types as wit};
use crate::payload::{Build, BuildsetEvent, Change};
use std::fmt;

/// The Buildbot events a generator can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A build started (`builds/<id>/new`).
    BuildNew,
    /// A build finished (`builds/<id>/finished`).
    BuildFinished,
    /// All builds of a buildset finished (`buildsets/<id>/complete`).
    BuildsetComplete,
}

impl EventKind {
    /// The name used in configs and logs (`build-new`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::BuildNew => "build-new",
            EventKind::BuildFinished => "build-finished",
            EventKind::BuildsetComplete => "buildset-complete",
        }
    }
}

impl From<EventKind> for wit::EventKind {
    fn from(k: EventKind) -> Self {
        match k {
            EventKind::BuildNew => wit::EventKind::BuildNew,
            EventKind::BuildFinished => wit::EventKind::BuildFinished,
            EventKind::BuildsetComplete => wit::EventKind::BuildsetComplete,
        }
    }
}

impl From<wit::EventKind> for EventKind {
    fn from(k: wit::EventKind) -> Self {
        match k {
            wit::EventKind::BuildNew => EventKind::BuildNew,
            wit::EventKind::BuildFinished => EventKind::BuildFinished,
            wit::EventKind::BuildsetComplete => EventKind::BuildsetComplete,
        }
    }
}

/// Which log texts the host should attach (Buildbot's `want_logs_content`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum LogContents {
    /// None (the default).
    #[default]
    None,
    /// Every log's text.
    All,
    /// Only logs named `"logname"` or `"stepname.logname"`.
    Only(Vec<String>),
}

/// What the host must put into the payload. Everything defaults to off except
/// `properties`, matching Buildbot's formatter defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needs {
    pub properties: bool,
    pub steps: bool,
    pub logs: bool,
    pub log_contents: LogContents,
    pub previous_build: bool,
}

impl Default for Needs {
    fn default() -> Self {
        Needs { properties: true, steps: false, logs: false, log_contents: LogContents::None, previous_build: false }
    }
}

/// A generator's description of itself. Build it with [`Info::new`] and the
/// chained setters.
#[derive(Debug, Clone)]
pub struct Info {
    pub name: String,
    pub version: String,
    pub description: String,
    pub events: Vec<EventKind>,
    pub needs: Needs,
}

impl Info {
    /// A generator that wants `build-new` and `build-finished` (like
    /// Buildbot's `HttpStatusPush` default) with properties only.
    pub fn new(name: &str, version: &str) -> Self {
        Info {
            name: name.to_string(),
            version: version.to_string(),
            description: String::new(),
            events: vec![EventKind::BuildNew, EventKind::BuildFinished],
            needs: Needs::default(),
        }
    }
    /// Sets the one-line description.
    pub fn description(mut self, d: &str) -> Self {
        self.description = d.to_string();
        self
    }
    /// Replaces the list of wanted events.
    pub fn events(mut self, events: &[EventKind]) -> Self {
        self.events = events.to_vec();
        self
    }
    /// Replaces the payload needs.
    pub fn needs(mut self, needs: Needs) -> Self {
        self.needs = needs;
        self
    }
}

impl From<Info> for wit::Info {
    fn from(i: Info) -> Self {
        wit::Info {
            name: i.name,
            version: i.version,
            description: i.description,
            events: i.events.into_iter().map(Into::into).collect(),
            needs: wit::Needs {
                properties: i.needs.properties,
                steps: i.needs.steps,
                logs: i.needs.logs,
                log_contents: match i.needs.log_contents {
                    LogContents::None => wit::LogContents::None,
                    LogContents::All => wit::LogContents::All,
                    LogContents::Only(v) => wit::LogContents::Only(v),
                },
                previous_build: i.needs.previous_build,
            },
        }
    }
}

/// One event handed to [`crate::Generator::generate`].
#[derive(Debug, Clone)]
pub struct Event {
    /// Which event this is.
    pub kind: EventKind,
    /// The payload as JSON text (see the WIT for its shape).
    pub payload: String,
    /// The generator's settings from the host config, in config order.
    pub settings: Vec<(String, String)>,
}

impl From<wit::Event> for Event {
    fn from(e: wit::Event) -> Self {
        Event { kind: e.kind.into(), payload: e.payload, settings: e.settings }
    }
}

impl Event {
    /// The payload as an ordered JSON value (key order and number text kept).
    pub fn value(&self) -> Result<serde_json::Value, Error> {
        serde_json::from_str(&self.payload).map_err(|e| Error::new(format!("payload is not valid JSON: {e}")))
    }

    /// The payload as a typed build, for `build-new` and `build-finished`.
    pub fn build(&self) -> Result<Build, Error> {
        serde_json::from_str(&self.payload).map_err(|e| Error::new(format!("payload is not a Buildbot build: {e}")))
    }

    /// The payload as a typed buildset with its builds, for `buildset-complete`.
    pub fn buildset(&self) -> Result<BuildsetEvent, Error> {
        serde_json::from_str(&self.payload)
            .map_err(|e| Error::new(format!("payload is not a Buildbot buildset event: {e}")))
    }

    /// The build's changes, for a contract 0.2 generator that needs them
    /// (`Needs::changes`); empty when the payload has none.
    pub fn changes(&self) -> Result<Vec<Change>, Error> {
        #[derive(serde::Deserialize)]
        struct WithChanges {
            #[serde(default)]
            changes: Vec<Change>,
        }
        serde_json::from_str::<WithChanges>(&self.payload)
            .map(|w| w.changes)
            .map_err(|e| Error::new(format!("payload changes are not Buildbot changes: {e}")))
    }

    /// The last value configured for `key`, if any.
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The value for `key`, or `default` when it is not configured.
    pub fn setting_or<'a>(&'a self, key: &str, default: &'a str) -> &'a str {
        self.setting(key).unwrap_or(default)
    }
}

/// A report to send. The host validates it before anything goes out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub body: Vec<u8>,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
    pub path: Option<String>,
}

impl Report {
    /// A body with the given content type.
    pub fn new(body: impl Into<Vec<u8>>, content_type: &str) -> Self {
        Report { body: body.into(), content_type: content_type.to_string(), headers: Vec::new(), path: None }
    }
    /// A JSON body written with Buildbot's encoding ([`crate::python_json`]),
    /// `Content-Type: application/json` as Buildbot sends it.
    pub fn json(value: &serde_json::Value) -> Self {
        Report::new(crate::python_json_bytes(value), "application/json")
    }
    /// A plain-text UTF-8 body.
    pub fn text(text: impl Into<String>) -> Self {
        Report::new(text.into().into_bytes(), "text/plain; charset=utf-8")
    }
    /// Adds a request header (the host refuses credentials and framing headers).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
    /// Sends to `path` relative to the configured URL.
    pub fn path(mut self, path: &str) -> Self {
        self.path = Some(path.to_string());
        self
    }
}

impl From<Report> for wit::Report {
    fn from(r: Report) -> Self {
        wit::Report { body: r.body, content_type: r.content_type, headers: r.headers, path: r.path }
    }
}

/// Why a generator failed; the message reaches the host's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl Error {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Error(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error(e.to_string())
    }
}

/// Severity for [`log`].
pub use wit::Level;

/// Writes a line to the host's log, attributed to this generator. The host
/// bounds the volume per event.
pub fn log(level: Level, message: &str) {
    host::log(level, message);
}
