//! Contract 0.2 (`wit/v0.2`): one event becomes any number of HTTP requests,
//! each with its own method, path, supersede key and kept response values.
//!
//! Implement [`Generator`] (this module's, not the crate root's) and export it
//! with [`export_v2!`](crate::export_v2) (also reachable as
//! `wasmpush_guest::v2::export_generator!`). The payload helpers are shared
//! with 0.1: [`Event`], [`crate::payload`], [`crate::python_json`].
//!
//! ```no_run
//! use wasmpush_guest::v2::{Error, Event, EventKind, Generator, Info, Request};
//! use wasmpush_guest::json;
//!
//! struct Statuses;
//! impl Generator for Statuses {
//!     fn info() -> Info {
//!         Info::new("statuses", "0.1.0").events(&[EventKind::BuildNew, EventKind::BuildFinished])
//!     }
//!     fn generate(event: &Event) -> Result<Vec<Request>, Error> {
//!         let build = event.build()?;
//!         let stamps = build.buildset.map(|b| b.sourcestamps).unwrap_or_default();
//!         Ok(stamps
//!             .iter()
//!             .filter_map(|s| s.revision.as_deref())
//!             .map(|sha| {
//!                 Request::post(format!("statuses/{sha}"))
//!                     .json(&json!({"state": "pending"}))
//!                     .supersede(format!("commit/{sha}"))
//!             })
//!             .collect())
//!     }
//! }
//! wasmpush_guest::export_v2!(Statuses);
//! ```
//!
//! A component exports the contract it was built for and nothing else: a
//! crate that uses [`export_v2!`](crate::export_v2) is a 0.2 generator, one
//! that uses [`export_generator!`](crate::export_generator) is a 0.1 one.
//! Use one of them, once, per crate.

use crate::guest;
/// Shared with contract 0.1: the event, its kinds, log choices and the error.
pub use crate::guest::{Error, Event, EventKind, LogContents};

/// Bindings generated from `wit/v0.2/wasmpush.wit` (by `build.rs`). Public
/// only for [`export_v2!`](crate::export_v2); generators should not need them.
///
/// The world is wrapped in an SDK-local one (`generator-v2`, which includes
/// `wasmpush:plugin/generator@0.2.0` unchanged) so that its export macro does
/// not clash with the 0.1 bindings' one: wit-bindgen names the exported
/// helper macro after the world, and both contracts call theirs `generator`.
#[doc(hidden)]
#[allow(clippy::all, dead_code, unused_imports)]
pub mod bindings {
    include!(concat!(env!("OUT_DIR"), "/bindings_v0_2.rs"));
}

use bindings::wasmpush::plugin::{host, types as wit};

/// Severity for [`log`] (the 0.2 host's; use it instead of the crate root's).
pub use wit::Level;

/// The export macro under this module's name, so that migrating from 0.1 is
/// a change of `use` lines: `use wasmpush_guest::v2::{..., export_generator}`.
pub use crate::export_v2 as export_generator;

/// What the host must put into the payload. Everything defaults to off except
/// `properties`, matching Buildbot's formatter defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needs {
    /// `properties` as `{name: [value, source]}`.
    pub properties: bool,
    /// `steps`.
    pub steps: bool,
    /// `logs` on each step, without their text.
    pub logs: bool,
    /// Log text to attach; implies `logs`.
    pub log_contents: LogContents,
    /// `prev_build` on finished events.
    pub previous_build: bool,
    /// `changes`: the build's change objects (new in 0.2; read them with
    /// [`Event::changes`]).
    pub changes: bool,
}

impl Default for Needs {
    fn default() -> Self {
        Needs::from(guest::Needs::default())
    }
}

impl From<guest::Needs> for Needs {
    fn from(n: guest::Needs) -> Self {
        Needs {
            properties: n.properties,
            steps: n.steps,
            logs: n.logs,
            log_contents: n.log_contents,
            previous_build: n.previous_build,
            changes: false,
        }
    }
}

/// A generator's description of itself. Build it with [`Info::new`] and the
/// chained setters (the same as 0.1's [`crate::Info`]).
#[derive(Debug, Clone)]
pub struct Info {
    pub name: String,
    pub version: String,
    pub description: String,
    pub events: Vec<EventKind>,
    pub needs: Needs,
}

impl Info {
    /// A generator that wants `build-new` and `build-finished` with
    /// properties only.
    pub fn new(name: &str, version: &str) -> Self {
        Info::from(crate::Info::new(name, version))
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
    /// Replaces the payload needs (a 0.1 [`crate::Needs`] works too).
    pub fn needs(mut self, needs: impl Into<Needs>) -> Self {
        self.needs = needs.into();
        self
    }
}

impl From<crate::Info> for Info {
    fn from(i: crate::Info) -> Self {
        Info { name: i.name, version: i.version, description: i.description, events: i.events, needs: i.needs.into() }
    }
}

/// The HTTP method of a [`Request`]. A reporter sends only `POST` unless its
/// config allows more (`methods = ["POST", "PATCH"]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    #[default]
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    /// `"POST"`, `"PUT"`, `"PATCH"` or `"DELETE"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// A value to keep from a request's successful (2xx, JSON) response, for
/// later requests of the same build: they name it `{name}` and set
/// [`Request::fill`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keep {
    /// 1 to 64 ASCII letters, digits or `_`.
    pub name: String,
    /// A JSON pointer into the response body, e.g. `/id`.
    pub pointer: String,
}

/// One HTTP request to send. Start with [`Request::post`] (or `put`,
/// `patch`, `delete`, [`Request::new`]) and chain the setters; the host
/// validates every field before anything is stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Request {
    pub method: Method,
    /// Relative to the configured URL, with an optional `?query`; `None`
    /// sends to the configured URL itself.
    pub path: Option<String>,
    /// Extra headers (the host refuses credentials and framing headers).
    pub headers: Vec<(String, String)>,
    /// The `Content-Type`; empty means none.
    pub content_type: String,
    /// The body, sent exactly as given (after filling when [`Request::fill`]).
    pub body: Vec<u8>,
    /// A newer request of the same reporter with the same key replaces this
    /// one while it waits.
    pub supersede: Option<String>,
    /// Response values to keep for later requests of the same build.
    pub keep: Vec<Keep>,
    /// Replace `{name}` in the path and body by kept values at send time.
    pub fill: bool,
}

impl Request {
    /// A request with this method to the configured URL itself, no body.
    pub fn new(method: Method) -> Self {
        Request { method, ..Request::default() }
    }
    /// A `POST` to `path` (relative to the configured URL).
    pub fn post(path: impl Into<String>) -> Self {
        Request::new(Method::Post).path(path)
    }
    /// A `PUT` to `path`.
    pub fn put(path: impl Into<String>) -> Self {
        Request::new(Method::Put).path(path)
    }
    /// A `PATCH` to `path`.
    pub fn patch(path: impl Into<String>) -> Self {
        Request::new(Method::Patch).path(path)
    }
    /// A `DELETE` of `path`.
    pub fn delete(path: impl Into<String>) -> Self {
        Request::new(Method::Delete).path(path)
    }
    /// Sends to `path` (with an optional `?query`) relative to the configured URL.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }
    /// A JSON body written with Buildbot's encoding ([`crate::python_json`]),
    /// `Content-Type: application/json`.
    pub fn json(self, value: &serde_json::Value) -> Self {
        self.body(crate::python_json_bytes(value), "application/json")
    }
    /// A plain-text UTF-8 body.
    pub fn text(self, text: impl Into<String>) -> Self {
        self.body(text.into().into_bytes(), "text/plain; charset=utf-8")
    }
    /// This body with this content type.
    pub fn body(mut self, body: impl Into<Vec<u8>>, content_type: &str) -> Self {
        self.body = body.into();
        self.content_type = content_type.to_string();
        self
    }
    /// Adds a request header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
    /// Lets a newer request with the same key replace this one while it
    /// waits (e.g. `commit/<sha>/context/<context>`).
    pub fn supersede(mut self, key: impl Into<String>) -> Self {
        self.supersede = Some(key.into());
        self
    }
    /// Keeps the value at JSON pointer `pointer` of the response as `name`.
    pub fn keep(mut self, name: &str, pointer: &str) -> Self {
        self.keep.push(Keep { name: name.to_string(), pointer: pointer.to_string() });
        self
    }
    /// Has the host replace `{name}` in the path and body by values kept
    /// from earlier requests of the same build when it sends this one.
    pub fn fill(mut self) -> Self {
        self.fill = true;
        self
    }
}

/// A 0.1 report is a `POST` with no supersede key.
impl From<crate::Report> for Request {
    fn from(r: crate::Report) -> Self {
        Request {
            method: Method::Post,
            path: r.path,
            headers: r.headers,
            content_type: r.content_type,
            body: r.body,
            ..Request::default()
        }
    }
}

/// A contract 0.2 generator. Implement it on a unit struct and pass that
/// struct to [`export_v2!`](crate::export_v2).
pub trait Generator {
    /// What the generator is and which events and payload parts it needs.
    /// Called once when the host loads the component.
    fn info() -> Info;

    /// Turns one event into the requests to send, in order; an empty list
    /// means "nothing to send". An `Err` is logged by the host against this
    /// generator and this event, and nothing of the event is sent.
    fn generate(event: &Event) -> Result<Vec<Request>, Error>;
}

/// Writes a line to the host's log, attributed to this generator.
pub fn log(level: Level, message: &str) {
    host::log(level, message);
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

impl From<wit::Event> for Event {
    fn from(e: wit::Event) -> Self {
        Event { kind: e.kind.into(), payload: e.payload, settings: e.settings }
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
                changes: i.needs.changes,
            },
        }
    }
}

impl From<Request> for wit::Request {
    fn from(r: Request) -> Self {
        wit::Request {
            method: match r.method {
                Method::Post => wit::Method::Post,
                Method::Put => wit::Method::Put,
                Method::Patch => wit::Method::Patch,
                Method::Delete => wit::Method::Delete,
            },
            path: r.path,
            headers: r.headers,
            content_type: r.content_type,
            body: r.body,
            supersede: r.supersede,
            keep: r.keep.into_iter().map(|k| wit::Keep { name: k.name, pointer: k.pointer }).collect(),
            fill: r.fill,
        }
    }
}

/// Exports a [`v2::Generator`](crate::v2::Generator) implementation as a
/// contract 0.2 component's `describe` and `generate`. Use it once per
/// generator crate (and not together with
/// [`export_generator!`](crate::export_generator)).
#[macro_export]
macro_rules! export_v2 {
    ($ty:ty) => {
        #[doc(hidden)]
        pub struct __WasmpushExportV2;
        impl $crate::v2::bindings::Guest for __WasmpushExportV2 {
            fn describe() -> $crate::v2::bindings::Info {
                $crate::v2::__private::describe::<$ty>()
            }
            fn generate(
                event: $crate::v2::bindings::Event,
            ) -> ::core::result::Result<
                ::std::vec::Vec<$crate::v2::bindings::Request>,
                $crate::v2::bindings::GenerateError,
            > {
                $crate::v2::__private::generate::<$ty>(event)
            }
        }
        $crate::v2::bindings::__export_generator_v2_bindings!(__WasmpushExportV2);
    };
}

#[doc(hidden)]
pub mod __private {
    use super::*;

    pub fn describe<G: Generator>() -> bindings::Info {
        G::info().into()
    }

    pub fn generate<G: Generator>(event: bindings::Event) -> Result<Vec<bindings::Request>, bindings::GenerateError> {
        let event = Event::from(event);
        match G::generate(&event) {
            Ok(requests) => Ok(requests.into_iter().map(Into::into).collect()),
            Err(e) => Err(bindings::GenerateError { message: e.to_string() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builders_fill_every_field_and_convert_to_the_wit_record() {
        let r = Request::patch("check-runs/{check_run_id}?x=1")
            .json(&json!({"status": "completed", "name": "caf\u{e9}"}))
            .header("Accept", "application/vnd.github+json")
            .supersede("check/abc")
            .keep("etag_id", "/id")
            .fill();
        assert_eq!(r.method, Method::Patch);
        assert_eq!(r.body, br#"{"status": "completed", "name": "caf\u00e9"}"#.to_vec(), "Buildbot's JSON encoding");
        let w = wit::Request::from(r);
        assert!(matches!(w.method, wit::Method::Patch));
        assert_eq!(w.path.as_deref(), Some("check-runs/{check_run_id}?x=1"));
        assert_eq!(w.content_type, "application/json");
        assert_eq!(w.headers, [("Accept".to_string(), "application/vnd.github+json".to_string())]);
        assert_eq!(w.supersede.as_deref(), Some("check/abc"));
        assert_eq!(w.keep.len(), 1);
        assert_eq!((w.keep[0].name.as_str(), w.keep[0].pointer.as_str()), ("etag_id", "/id"));
        assert!(w.fill);
    }

    #[test]
    fn constructors_pick_the_method_and_defaults_are_a_bare_post() {
        let methods: Vec<_> =
            [Request::post("a"), Request::put("a"), Request::patch("a"), Request::delete("a")].map(|r| r.method).into();
        assert_eq!(methods, [Method::Post, Method::Put, Method::Patch, Method::Delete]);
        assert_eq!(Method::Delete.as_str(), "DELETE");
        let bare = wit::Request::from(Request::new(Method::Post).text("hi"));
        assert!(matches!(bare.method, wit::Method::Post));
        assert_eq!((bare.path, bare.supersede, bare.fill), (None, None, false));
        assert_eq!((bare.content_type.as_str(), bare.body.as_slice()), ("text/plain; charset=utf-8", &b"hi"[..]));
        assert!(bare.keep.is_empty() && bare.headers.is_empty());
    }

    #[test]
    fn a_0_1_report_becomes_a_post_with_no_supersede_key() {
        let report = crate::Report::text("x").header("X-A", "1").path("p?q=1");
        let r = Request::from(report);
        assert_eq!(r, Request::post("p?q=1").text("x").header("X-A", "1"));
    }

    #[test]
    fn info_defaults_match_0_1_and_changes_reaches_the_wit() {
        let info = Info::new("g", "1.0").description("d").events(&[EventKind::BuildsetComplete]);
        assert_eq!(info.needs, Needs { properties: true, ..Needs::from(crate::Needs::default()) });
        assert!(!info.needs.changes);
        let info = info.needs(Needs {
            changes: true,
            log_contents: LogContents::Only(vec!["s.l".into()]),
            ..Needs::default()
        });
        let w = wit::Info::from(info);
        assert_eq!((w.name.as_str(), w.version.as_str(), w.description.as_str()), ("g", "1.0", "d"));
        assert!(matches!(w.events[..], [wit::EventKind::BuildsetComplete]));
        assert!(w.needs.changes && w.needs.properties && !w.needs.steps);
        assert!(matches!(&w.needs.log_contents, wit::LogContents::Only(v) if v == &["s.l".to_string()]));
    }

    #[test]
    fn events_convert_from_the_0_2_record() {
        let e = Event::from(wit::Event {
            kind: wit::EventKind::BuildsetComplete,
            payload: "{}".into(),
            settings: vec![("a".into(), "1".into()), ("a".into(), "2".into())],
        });
        assert_eq!(e.kind, EventKind::BuildsetComplete);
        assert_eq!(e.setting("a"), Some("2"));
    }

    struct Two;
    impl Generator for Two {
        fn info() -> Info {
            Info::new("two", "0.0.1")
        }
        fn generate(event: &Event) -> Result<Vec<Request>, Error> {
            match event.setting("fail") {
                Some(m) => Err(Error::new(m)),
                None => Ok(vec![Request::post("a"), Request::delete("b")]),
            }
        }
    }

    #[test]
    fn the_export_glue_maps_results_and_errors() {
        let event = |settings: Vec<(String, String)>| wit::Event {
            kind: wit::EventKind::BuildFinished,
            payload: "{}".into(),
            settings,
        };
        let ok = __private::generate::<Two>(event(vec![])).unwrap();
        assert_eq!(ok.len(), 2);
        assert!(matches!((&ok[0].method, &ok[1].method), (wit::Method::Post, wit::Method::Delete)));
        let err = __private::generate::<Two>(event(vec![("fail".into(), "nope".into())])).unwrap_err();
        assert_eq!(err.message, "nope");
        assert_eq!(__private::describe::<Two>().name, "two");
    }
}
