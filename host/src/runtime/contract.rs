//! The two contracts a component may implement, in one place: the
//! `bindgen!` of each WIT world, the linker entries for both, and the
//! conversions between their types and the host's ([`Info`], [`Report`],
//! [`EventKind`]). The rest of the runtime sees one [`Pre`] and one
//! [`Instance`] whatever the component speaks.
//!
//! - 0.1.0 (`wit/wasmpush.wit`): at most one POST per event.
//! - 0.2.0 (`wit/v0.2/wasmpush.wit`): a list of requests per event, with
//!   methods, supersede keys, kept response values, and `needs.changes`.

use super::sandbox::State;
use super::{Info, LogContents, Method, Needs, Report};
use wasmpush_sources::EventKind;
use wasmtime::component::{HasSelf, InstancePre, Linker};
use wasmtime::{Engine, Store};

/// Contract 0.1.0 (`wit/wasmpush.wit`).
pub(super) mod v1 {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "generator",
    });
}

/// Contract 0.2.0 (`wit/v0.2/wasmpush.wit`).
pub(super) mod v2 {
    wasmtime::component::bindgen!({
        path: "../wit/v0.2",
        world: "generator",
    });
}

use v1::wasmpush::plugin::types as wit1;
use v2::wasmpush::plugin::types as wit2;

/// Adds both contracts' host interfaces (`log`, types) to `linker`.
pub(super) fn add_to_linker(linker: &mut Linker<State>) -> wasmtime::Result<()> {
    v1::wasmpush::plugin::host::add_to_linker::<State, HasSelf<State>>(linker, |s| s)?;
    v1::wasmpush::plugin::types::add_to_linker::<State, HasSelf<State>>(linker, |s| s)?;
    v2::wasmpush::plugin::host::add_to_linker::<State, HasSelf<State>>(linker, |s| s)?;
    v2::wasmpush::plugin::types::add_to_linker::<State, HasSelf<State>>(linker, |s| s)
}

/// A pre-linked component of either contract.
pub(super) enum Pre {
    V1(v1::GeneratorPre<State>),
    V2(v2::GeneratorPre<State>),
}

impl Pre {
    /// Tells the contracts apart by the exports' types (0.2 returns a list);
    /// the error names why it is neither.
    pub(super) fn new(instance_pre: InstancePre<State>) -> Result<Pre, String> {
        match v2::GeneratorPre::new(instance_pre.clone()) {
            Ok(pre) => Ok(Pre::V2(pre)),
            Err(v2_err) => v1::GeneratorPre::new(instance_pre)
                .map(Pre::V1)
                .map_err(|v1_err| format!("not wasmpush:plugin@0.1.0 ({v1_err:#}) nor @0.2.0 ({v2_err:#})")),
        }
    }

    pub(super) fn engine(&self) -> &Engine {
        match self {
            Pre::V1(pre) => pre.engine(),
            Pre::V2(pre) => pre.engine(),
        }
    }

    /// `"0.1.0"` or `"0.2.0"`.
    pub(super) fn contract(&self) -> &'static str {
        match self {
            Pre::V1(_) => "0.1.0",
            Pre::V2(_) => "0.2.0",
        }
    }

    pub(super) fn instantiate(&self, store: &mut Store<State>) -> wasmtime::Result<Instance> {
        Ok(match self {
            Pre::V1(pre) => Instance::V1(pre.instantiate(store)?),
            Pre::V2(pre) => Instance::V2(pre.instantiate(store)?),
        })
    }
}

/// An instance of either contract.
pub(super) enum Instance {
    V1(v1::Generator),
    V2(v2::Generator),
}

impl Instance {
    /// The component's `describe`, in the host's terms.
    pub(super) fn describe(&self, store: &mut Store<State>) -> wasmtime::Result<Info> {
        Ok(match self {
            Instance::V1(g) => {
                let i = g.call_describe(store)?;
                let n = i.needs;
                let events: Vec<EventKind> = i.events.into_iter().map(kind_from_v1).collect();
                let log_contents = match n.log_contents {
                    wit1::LogContents::None => LogContents::None,
                    wit1::LogContents::All => LogContents::All,
                    wit1::LogContents::Only(v) => LogContents::Only(v.into_iter().collect()),
                };
                let needs = needs(&events, n.properties, n.steps, n.logs, log_contents, n.previous_build, false);
                Info { name: i.name, version: i.version, description: i.description, events, needs }
            }
            Instance::V2(g) => {
                let i = g.call_describe(store)?;
                let n = i.needs;
                let events: Vec<EventKind> = i.events.into_iter().map(kind_from_v2).collect();
                let log_contents = match n.log_contents {
                    wit2::LogContents::None => LogContents::None,
                    wit2::LogContents::All => LogContents::All,
                    wit2::LogContents::Only(v) => LogContents::Only(v.into_iter().collect()),
                };
                let needs = needs(&events, n.properties, n.steps, n.logs, log_contents, n.previous_build, n.changes);
                Info { name: i.name, version: i.version, description: i.description, events, needs }
            }
        })
    }

    /// The component's `generate`: the requests (a 0.1 report as one POST),
    /// or the guest's own error message.
    pub(super) fn generate(
        &self,
        store: &mut Store<State>,
        kind: EventKind,
        payload: &str,
        settings: &[(String, String)],
    ) -> wasmtime::Result<Result<Vec<Report>, String>> {
        Ok(match self {
            Instance::V1(g) => {
                let event =
                    wit1::Event { kind: kind_to_v1(kind), payload: payload.to_string(), settings: settings.to_vec() };
                match g.call_generate(store, &event)? {
                    Err(e) => Err(e.message),
                    Ok(None) => Ok(Vec::new()),
                    Ok(Some(r)) => Ok(vec![Report {
                        body: r.body,
                        content_type: r.content_type,
                        headers: r.headers,
                        path: r.path,
                        ..Report::default()
                    }]),
                }
            }
            Instance::V2(g) => {
                let event =
                    wit2::Event { kind: kind_to_v2(kind), payload: payload.to_string(), settings: settings.to_vec() };
                match g.call_generate(store, &event)? {
                    Err(e) => Err(e.message),
                    Ok(requests) => Ok(requests.into_iter().map(report_from_v2).collect()),
                }
            }
        })
    }
}

fn needs(
    events: &[EventKind],
    properties: bool,
    steps: bool,
    logs: bool,
    log_contents: LogContents,
    previous_build: bool,
    changes: bool,
) -> Needs {
    Needs { kinds: events.iter().copied().collect(), properties, steps, logs, log_contents, previous_build, changes }
}

fn report_from_v2(r: wit2::Request) -> Report {
    Report {
        method: match r.method {
            wit2::Method::Post => Method::Post,
            wit2::Method::Put => Method::Put,
            wit2::Method::Patch => Method::Patch,
            wit2::Method::Delete => Method::Delete,
        },
        body: r.body,
        content_type: r.content_type,
        headers: r.headers,
        path: r.path,
        supersede: r.supersede,
        keep: r.keep.into_iter().map(|k| (k.name, k.pointer)).collect(),
        fill: r.fill,
    }
}

fn kind_to_v1(k: EventKind) -> wit1::EventKind {
    match k {
        EventKind::BuildNew => wit1::EventKind::BuildNew,
        EventKind::BuildFinished => wit1::EventKind::BuildFinished,
        EventKind::BuildsetComplete => wit1::EventKind::BuildsetComplete,
    }
}

fn kind_from_v1(k: wit1::EventKind) -> EventKind {
    match k {
        wit1::EventKind::BuildNew => EventKind::BuildNew,
        wit1::EventKind::BuildFinished => EventKind::BuildFinished,
        wit1::EventKind::BuildsetComplete => EventKind::BuildsetComplete,
    }
}

fn kind_to_v2(k: EventKind) -> wit2::EventKind {
    match k {
        EventKind::BuildNew => wit2::EventKind::BuildNew,
        EventKind::BuildFinished => wit2::EventKind::BuildFinished,
        EventKind::BuildsetComplete => wit2::EventKind::BuildsetComplete,
    }
}

fn kind_from_v2(k: wit2::EventKind) -> EventKind {
    match k {
        wit2::EventKind::BuildNew => EventKind::BuildNew,
        wit2::EventKind::BuildFinished => EventKind::BuildFinished,
        wit2::EventKind::BuildsetComplete => EventKind::BuildsetComplete,
    }
}
