//! Buildbot's default `HttpStatusPush` body, byte for byte.
//!
//! Buildbot's default reporter posts `json.dumps(ctx['build'])`: the build
//! object exactly as the data API assembled it. This generator re-serialises
//! the payload it is given with Buildbot's encoding, so for a payload taken
//! from a real push the output equals the pushed body.
//!
//! For `buildset-complete` it writes `{"buildset": ..., "builds": [...]}`,
//! the body of Buildbot's `BuildSetCombinedStatusGenerator` with a
//! `MessageFormatterFunction(lambda ctx: ctx, "json")`.

use wasmpush_guest::{Error, Event, EventKind, Generator, Info, Report, export_generator};

struct BuildbotJson;

impl Generator for BuildbotJson {
    fn info() -> Info {
        Info::new("buildbot-json", env!("CARGO_PKG_VERSION"))
            .description("Buildbot's default HttpStatusPush JSON body")
            .events(&[EventKind::BuildNew, EventKind::BuildFinished, EventKind::BuildsetComplete])
    }

    fn generate(event: &Event) -> Result<Option<Report>, Error> {
        Ok(Some(Report::json(&event.value()?)))
    }
}

export_generator!(BuildbotJson);
