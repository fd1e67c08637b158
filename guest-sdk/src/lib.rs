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
//! Payload JSON is parsed keeping key order and the exact text of numbers, and
//! [`python_json`] writes it back the way Buildbot's `json.dumps` does, so a
//! generator can reproduce Buildbot's bodies byte for byte.

mod guest;
mod json;
pub mod payload;

pub use guest::{Error, Event, EventKind, Info, Level, LogContents, Needs, Report, log};
pub use json::{python_json, python_json_bytes};
pub use payload::{
    Build, BuildRequest, Builder, Buildset, BuildsetEvent, Log, LogChunk, Properties, Results, SourceStamp, Step,
};
/// Ordered JSON values, re-exported so generators need no direct serde_json dependency.
pub use serde_json::{self, Map, Value, json};

/// Bindings generated from `wit/wasmpush.wit`. Public only for
/// [`export_generator!`]; generators should not need them.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "generator",
        pub_export_macro: true,
        export_macro_name: "__export_generator_bindings",
        default_bindings_module: "wasmpush_guest::bindings",
    });
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
