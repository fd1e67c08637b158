//! Write a wasmpush report generator in a few lines of Rust.
//!
//! A generator is a WebAssembly component that turns one Buildbot event into
//! at most one report body. This crate hides the WIT plumbing: implement
//! [`Generator`], call [`export_generator!`], build for `wasm32-wasip2`.
//!
//! ```no_run
//! use wasmpush_guest::{export_generator, Event, EventKind, Generator, Info, Report, Error};
//!
//! struct Hello;
//! impl Generator for Hello {
//!     fn info() -> Info {
//!         Info::new("hello", "0.1.0").events(&[EventKind::BuildFinished])
//!     }
//!     fn generate(event: &Event) -> Result<Option<Report>, Error> {
//!         let build = event.build()?;
//!         Ok(Some(Report::text(format!("build {} finished", build.number))))
//!     }
//! }
//! export_generator!(Hello);
//! ```
//!
//! That is contract 0.1 (`wit/wasmpush.wit`: at most one `POST` per event).
//! For contract 0.2 (`wit/v0.2`: any number of requests per event, with
//! methods, supersede keys and kept response values) use the [`v2`] module
//! and [`export_v2!`] instead; both share [`Event`] and the payload types.
//!
//! Payload JSON is parsed keeping key order and the exact text of numbers, and
//! [`python_json`] writes it back the way Buildbot's `json.dumps` does, so a
//! generator can reproduce Buildbot's bodies byte for byte.

pub mod buildbot;
mod guest;
mod json;
pub mod payload;
pub mod v2;

pub use guest::{Error, Event, EventKind, Info, Level, LogContents, Needs, Report, log};
pub use json::{python_json, python_json_bytes};
pub use payload::{
    Build, BuildRequest, Builder, Buildset, BuildsetEvent, Change, Log, LogChunk, Properties, Results, SourceStamp,
    Step,
};
/// Ordered JSON values, re-exported so generators need no direct serde_json dependency.
pub use serde_json::{self, Map, Value, json};

/// Bindings generated from `wit/wasmpush.wit` (by `build.rs`, as
/// `wit_bindgen::generate!` would). Public only for [`export_generator!`];
/// generators should not need them.
#[doc(hidden)]
#[allow(clippy::all, dead_code, unused_imports)]
pub mod bindings {
    include!(concat!(env!("OUT_DIR"), "/bindings_v0_1.rs"));
}

/// A report generator. Implement it on a unit struct and pass that struct to
/// [`export_generator!`].
pub trait Generator {
    /// What the generator is and which events and payload parts it needs.
    /// Called once when the host loads the component.
    fn info() -> Info;

    /// Turns one event into a report, or `Ok(None)` for "nothing to send".
    /// An `Err` is logged by the host against this generator and this event;
    /// other generators and later events are unaffected.
    fn generate(event: &Event) -> Result<Option<Report>, Error>;
}

/// Exports a [`Generator`] implementation as the component's `describe` and
/// `generate` functions. Use it once per generator crate.
#[macro_export]
macro_rules! export_generator {
    ($ty:ty) => {
        #[doc(hidden)]
        pub struct __WasmpushExport;
        impl $crate::bindings::Guest for __WasmpushExport {
            fn describe() -> $crate::bindings::Info {
                $crate::__private::describe::<$ty>()
            }
            fn generate(
                event: $crate::bindings::Event,
            ) -> ::core::result::Result<
                ::core::option::Option<$crate::bindings::Report>,
                $crate::bindings::GenerateError,
            > {
                $crate::__private::generate::<$ty>(event)
            }
        }
        $crate::bindings::__export_generator_bindings!(__WasmpushExport);
    };
}

#[doc(hidden)]
pub mod __private {
    use super::*;

    pub fn describe<G: Generator>() -> bindings::Info {
        G::info().into()
    }

    pub fn generate<G: Generator>(event: bindings::Event) -> Result<Option<bindings::Report>, bindings::GenerateError> {
        let event = Event::from(event);
        match G::generate(&event) {
            Ok(report) => Ok(report.map(Into::into)),
            Err(e) => Err(bindings::GenerateError { message: e.to_string() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// build.rs keeps each component to its own contract: the imports-only
    /// world section of both bindings is compiled out, the export macros'
    /// sections (imports and exports) stay.
    #[test]
    fn only_the_export_macros_describe_a_world() {
        for (src, world) in [
            (include_str!(concat!(env!("OUT_DIR"), "/bindings_v0_1.rs")), "wasmpush:plugin@0.1.0:generator"),
            (include_str!(concat!(env!("OUT_DIR"), "/bindings_v0_2.rs")), "wasmpush:guest-sdk:generator-v2"),
        ] {
            let section = format!("component-type:wit-bindgen:0.61.1:{world}");
            let imports_only =
                format!("#[unsafe(link_section = \"{section}-with-all-of-its-exports-removed:encoded world\")]");
            let at = src.find(&imports_only).unwrap_or_else(|| panic!("{world}: no imports-only section"));
            assert!(src[..at].trim_end().ends_with("#[cfg(any())]"), "{world}: imports-only section not compiled out");
            assert_eq!(src.matches("#[cfg(any())]").count(), 1, "{world}");
            assert!(src.contains(&format!("{section}:imports and exports\")]")), "{world}: export macro section");
        }
    }

    #[test]
    fn changes_parse_from_the_payload_and_name_their_pull_request() {
        let event = Event {
            kind: EventKind::BuildFinished,
            payload: r#"{"buildid": 1, "changes": [
                {"changeid": 3, "author": "a", "comments": "fix", "branch": "refs/pull/42/merge",
                 "revision": "abc", "files": ["x.rs"], "properties": {"p": ["v", "Change"]}},
                {"changeid": 4, "branch": "main", "sourcestamp": {"ssid": 9, "revision": "def"}}
            ]}"#
            .into(),
            settings: Vec::new(),
        };
        let changes = event.changes().unwrap();
        assert_eq!(changes.iter().map(|c| c.changeid).collect::<Vec<_>>(), [3, 4]);
        assert_eq!((changes[0].pull_request(), changes[1].pull_request()), (Some(42), None));
        assert_eq!(changes[0].properties.get_str("p"), Some("v"));
        assert_eq!(changes[0].files, ["x.rs"]);
        assert_eq!(changes[1].sourcestamp.as_ref().and_then(|s| s.revision.as_deref()), Some("def"));
        let none = Event { payload: r#"{"buildid": 1}"#.into(), ..event.clone() };
        assert!(none.changes().unwrap().is_empty());
        let bad = Event { payload: r#"{"changes": [{"author": "no id"}]}"#.into(), ..event };
        assert!(bad.changes().unwrap_err().to_string().contains("not Buildbot changes"));
        let head = payload::Change { branch: Some("refs/pull/7/head".into()), ..changes[1].clone() };
        assert_eq!(head.pull_request(), Some(7));
        let other = payload::Change { branch: Some("refs/pull/7/other".into()), ..changes[1].clone() };
        assert_eq!(other.pull_request(), None);
    }
}
