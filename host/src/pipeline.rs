//! One event through the generators of every reporter.
//!
//! For each reporter, its generators are tried in config order: the filter
//! decides whether the generator sees the event at all (no Wasm runs
//! otherwise), the generator runs in a fresh sandbox, and the first one that
//! returns a report wins, as in Buildbot (spec §e; later generators are not
//! run). A generator that fails is logged with its name and the cause, and
//! the next generator gets its turn: one broken plugin never costs another
//! plugin's report.

use crate::config::ConfigError;
use crate::filter::{Filter, Pass};
use crate::plan::Plan;
use crate::runtime::{GenerateError, Generator, LoadError, Report, Runtime};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use wasmpush_sources::SourceEvent;
use wasmpush_sources::buildbot::{Needs, payload_for};

/// A generator as configured under a reporter.
pub struct Slot {
    pub generator: Arc<Generator>,
    pub filter: Filter,
    pub settings: Vec<(String, String)>,
    /// What the generator sees of a payload: its declared needs, for the
    /// events its filter lets through.
    pub needs: Needs,
}

/// A reporter: its name and its generators in order.
pub struct Reporter {
    pub name: String,
    pub slots: Vec<Slot>,
}

/// A report ready for delivery.
#[derive(Debug, Clone)]
pub struct Produced {
    /// The reporter (target) it goes to.
    pub reporter: String,
    /// The generator that made it.
    pub generator: String,
    /// Stable across retries, restarts and replays of the same event
    /// (`webhook-id`).
    pub id: String,
    /// Reports with the same key are delivered in order.
    pub ordering_key: String,
    pub report: Report,
}

/// What happened to one event.
#[derive(Debug, Default)]
pub struct Outcome {
    pub produced: Vec<Produced>,
    pub failures: Vec<GenerateError>,
}

/// Every reporter with its loaded generators.
pub struct Pipeline {
    pub reporters: Vec<Reporter>,
}

impl Pipeline {
    /// Loads every generator of `plan` into `runtime` (its filter, settings
    /// and limits are checked already, its component fetched). The first
    /// problem is returned, naming reporter and generator.
    pub fn build(plan: &Plan, runtime: &Runtime) -> Result<Pipeline, PipelineError> {
        let mut reporters = Vec::new();
        for r in &plan.reporters {
            let mut slots = Vec::new();
            for g in &r.generators {
                let component = &g.component;
                let label = component.path.clone().unwrap_or_else(|| g.wasm.clone().into());
                let generator = runtime.load_digested(
                    &component.bytes,
                    &component.sha256.hex(),
                    &label,
                    g.name.as_deref(),
                    g.limits.clone(),
                )?;
                let filter = g.filter.clone();
                let wanted: Vec<_> = filter.events().into_iter().filter(|k| generator.wants(*k)).collect();
                if wanted.is_empty() {
                    return Err(plan
                        .invalid(
                            &g.field,
                            format!(
                                "generator {:?} handles none of the events its kind reports ({:?})",
                                generator.name(),
                                filter.events()
                            ),
                        )
                        .into());
                }
                let mut needs = generator.info().needs.clone();
                needs.kinds = wanted.iter().copied().collect();
                slots.push(Slot { generator: Arc::new(generator), filter, settings: g.settings.clone(), needs });
            }
            reporters.push(Reporter { name: r.name.clone(), slots });
        }
        Ok(Pipeline { reporters })
    }

    /// What a source must fetch so every generator (and every filter) gets
    /// what it needs: the union of the slots' needs, plus `prev_build` for
    /// `change`/`problem` modes and properties for property filters.
    pub fn needs(&self) -> Needs {
        let mut all = Needs::nothing();
        for slot in self.reporters.iter().flat_map(|r| &r.slots) {
            all = all.union(&slot.needs);
            all.previous_build |= slot.filter.needs_previous_build();
            all.properties |= slot.filter.needs_properties();
        }
        all
    }

    /// Runs `event` through every reporter (see the module docs).
    pub fn handle(&self, event: &SourceEvent) -> Outcome {
        let mut outcome = Outcome::default();
        // Generators with the same needs see the same text: serialise once.
        let mut texts: Vec<(&Needs, bool, String)> = Vec::new();
        for reporter in &self.reporters {
            for slot in &reporter.slots {
                if !slot.needs.kinds.contains(&event.kind) {
                    continue;
                }
                let changed = match slot.filter.check(event) {
                    Pass::Drop => continue,
                    Pass::Unchanged => None,
                    Pass::Changed(v) => Some(v),
                };
                let whole = changed.is_none();
                let text = match texts.iter().find(|(n, w, _)| whole && *w && **n == slot.needs) {
                    Some((_, _, t)) => t.clone(),
                    None => {
                        // Each generator gets its own snapshot, cut to what it
                        // asked for (Buildbot leaks keys between reporters, spec §c.3).
                        let payload = changed.as_ref().unwrap_or(&event.payload);
                        let t = serde_json::to_string(&payload_for(payload, &slot.needs)).unwrap_or_default();
                        texts.push((&slot.needs, whole, t.clone()));
                        t
                    }
                };
                match slot.generator.generate_all(event.kind, &text, &slot.settings) {
                    Ok(reports) if !reports.is_empty() => {
                        let event_id = event.event_id();
                        for (index, report) in reports.into_iter().enumerate() {
                            outcome.produced.push(Produced {
                                reporter: reporter.name.clone(),
                                generator: slot.generator.name().to_string(),
                                id: request_id(&reporter.name, &event_id, index),
                                ordering_key: event.ordering_key(),
                                report,
                            });
                        }
                        break;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::error!(reporter = %reporter.name, event = %event.event_id(), "{e}");
                        outcome.failures.push(e);
                    }
                }
            }
        }
        outcome
    }
}

/// `msg_` + 32 hex digits of sha256(reporter, event id): one report per
/// reporter per event (first wins), so this names it across retries,
/// restarts and replays.
pub fn report_id(reporter: &str, event_id: &str) -> String {
    let digest = Sha256::digest(format!("{reporter}\n{event_id}").as_bytes());
    format!("msg_{}", &hex::encode(digest)[..32])
}

/// The id of request `index` of an event's requests for `reporter`: the
/// first is [`report_id`] (so a 0.1 generator's ids never change), request
/// N ≥ 1 is `report_id(reporter, "{event id}#N")`. The generator is
/// deterministic and the event id stable, so each request keeps its id
/// across retries, restarts and replays, and enqueueing it again is a no-op.
pub fn request_id(reporter: &str, event_id: &str, index: usize) -> String {
    match index {
        0 => report_id(reporter, event_id),
        n => report_id(reporter, &format!("{event_id}#{n}")),
    }
}

/// Building the pipeline failed.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Load(#[from] LoadError),
}
