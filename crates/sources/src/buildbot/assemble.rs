//! Assembling payloads the way Buildbot's reporters do
//! (`reporters/utils.py` `getDetailsForBuild(s)` / `getDetailsForBuildset`,
//! spec §c.2 and §b.8-9).
//!
//! Build payload key order: the build's 13 fields (`buildid` …
//! `properties`), then `buildrequest`, `buildset`, `parentbuild`,
//! `parentbuilder`, `builder`, `url`, and `steps` / `prev_build` when
//! needed. Buildset payload: `{"buildset": …, "builds": [build…]}` where each
//! build has its 13 fields, `builder`, `buildset`, `url` (+ steps,
//! prev_build). REST objects are put back in `_db2data` order
//! ([`reorder`]); with a [`Tracker`] the build, build request,
//! buildset completion, parent build and properties are taken as the
//! websocket showed them at the event.

use super::needs::Needs;
use super::order::{Entity, reorder};
use super::rest::{Api, RestError};
use super::track::Tracker;
use crate::event::EventKind;
use serde_json::{Map, Value};

/// Master-wide facts the payload needs.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The master's `buildbotURL` (ends in `/`), prefix of every `url`.
    pub buildbot_url: String,
}

/// RETRY (5) builds are skipped when looking for the previous build.
const RETRY: i64 = 5;

async fn one<A: Api>(api: &A, path: &str, plural: &str) -> Result<Value, RestError> {
    api.list(path, plural)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| RestError::NotFound { path: format!("api/v2/{path}") })
}

async fn maybe_one<A: Api>(api: &A, path: &str, plural: &str) -> Result<Option<Value>, RestError> {
    match api.list(path, plural).await {
        Ok(items) => Ok(items.into_iter().next()),
        Err(RestError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

fn int(v: &Value, key: &str, what: &str) -> Result<i64, RestError> {
    v.get(key)
        .and_then(Value::as_i64)
        .ok_or_else(|| RestError::Garbage { path: what.to_string(), reason: format!("{what} has no integer {key:?}") })
}

fn into_map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The payload of a `build-new` or `build-finished` event of build
/// `buildid`. `snap` is the websocket state at the event (`None` when
/// catching up from REST alone).
pub async fn build_payload<A: Api>(
    api: &A,
    ctx: &Ctx,
    buildid: i64,
    kind: EventKind,
    snap: Option<&Tracker>,
    needs: &Needs,
) -> Result<Value, RestError> {
    let build = match snap.and_then(|t| t.build(buildid)) {
        Some(m) => Value::Object(m.clone()),
        None => one(api, &format!("builds/{buildid}"), "builds").await?,
    };
    let mut build = into_map(reorder(Entity::Build, build));
    build.entry("properties").or_insert_with(|| Value::Object(Map::new()));
    let what = format!("build {buildid}");
    let brid = int(&Value::Object(build.clone()), "buildrequestid", &what)?;
    let buildrequest = match snap.and_then(|t| t.buildrequest(brid)) {
        Some(m) => m.clone(),
        None => one(api, &format!("buildrequests/{brid}"), "buildrequests").await?,
    };
    let buildrequest = reorder(Entity::Buildrequest, buildrequest);
    let bsid = int(&buildrequest, "buildsetid", &format!("buildrequest {brid}"))?;
    let buildset = buildset_at(api, bsid, snap).await?;
    build.insert("buildrequest".into(), buildrequest);
    build.insert("buildset".into(), buildset.clone());

    let (mut parentbuild, mut parentbuilder) = (Value::Null, Value::Null);
    if let Some(parent) = buildset.get("parent_buildid").and_then(Value::as_i64).filter(|p| *p != 0) {
        let p = match snap.and_then(|t| t.build(parent)) {
            Some(m) => Value::Object(m.clone()),
            None => one(api, &format!("builds/{parent}"), "builds").await?,
        };
        let mut p = into_map(reorder(Entity::Build, p));
        // The parent is fetched without properties: `{}` (spec §c.2 #16).
        p.insert("properties".into(), Value::Object(Map::new()));
        let pbid = int(&Value::Object(p.clone()), "builderid", &format!("build {parent}"))?;
        parentbuilder = reorder(Entity::Builder, one(api, &format!("builders/{pbid}"), "builders").await?);
        parentbuild = Value::Object(p);
    }
    build.insert("parentbuild".into(), parentbuild);
    build.insert("parentbuilder".into(), parentbuilder);
    details(api, ctx, &mut build, &buildset, kind, snap, needs).await?;
    Ok(Value::Object(build))
}

/// The payload of a `buildset-complete` event: `{"buildset", "builds"}`
/// as `BuildSetCombinedStatusGenerator` gives it to its formatter.
pub async fn buildset_payload<A: Api>(
    api: &A,
    ctx: &Ctx,
    bsid: i64,
    snap: Option<&Tracker>,
    needs: &Needs,
) -> Result<Value, RestError> {
    let buildset = buildset_at(api, bsid, snap).await?;
    let mut builds = Vec::new();
    for br in api.list(&format!("buildrequests?buildsetid={bsid}"), "buildrequests").await? {
        let brid = int(&br, "buildrequestid", &format!("buildset {bsid} request"))?;
        for b in api.list(&format!("buildrequests/{brid}/builds"), "builds").await? {
            let mut b = into_map(reorder(Entity::Build, b));
            b.entry("properties").or_insert_with(|| Value::Object(Map::new()));
            details(api, ctx, &mut b, &buildset, EventKind::BuildsetComplete, snap, needs).await?;
            builds.push(Value::Object(b));
        }
    }
    let mut out = Map::new();
    out.insert("buildset".into(), buildset);
    out.insert("builds".into(), Value::Array(builds));
    Ok(Value::Object(out))
}

/// The buildset from REST, with its completion as the websocket last
/// showed it (the event's point in time), if known.
async fn buildset_at<A: Api>(api: &A, bsid: i64, snap: Option<&Tracker>) -> Result<Value, RestError> {
    let mut bs = reorder(Entity::Buildset, one(api, &format!("buildsets/{bsid}"), "buildsets").await?);
    if let (Some(state), Some(obj)) = (snap.and_then(|t| t.buildset(bsid)), bs.as_object_mut()) {
        if state.get("complete") == Some(&Value::Bool(true)) {
            for k in ["complete", "complete_at", "results"] {
                if let (Some(v), Some(slot)) = (state.get(k), obj.get_mut(k)) {
                    *slot = v.clone();
                }
            }
        } else {
            // Not complete at the event: the data API shows results -1 then.
            for (k, v) in [("complete", Value::Bool(false)), ("complete_at", Value::Null), ("results", Value::from(-1))]
            {
                if let Some(slot) = obj.get_mut(k) {
                    *slot = v;
                }
            }
        }
    }
    Ok(bs)
}

/// `getDetailsForBuilds` for one build: builder, buildset, url,
/// properties, steps (+ logs, contents), prev_build.
async fn details<A: Api>(
    api: &A,
    ctx: &Ctx,
    build: &mut Map<String, Value>,
    buildset: &Value,
    kind: EventKind,
    snap: Option<&Tracker>,
    needs: &Needs,
) -> Result<(), RestError> {
    let b = Value::Object(build.clone());
    let buildid = int(&b, "buildid", "build")?;
    let what = format!("build {buildid}");
    let builderid = int(&b, "builderid", &what)?;
    let number = int(&b, "number", &what)?;
    let prefix = &ctx.buildbot_url;

    build.insert(
        "builder".into(),
        reorder(Entity::Builder, one(api, &format!("builders/{builderid}"), "builders").await?),
    );
    build.insert("buildset".into(), buildset.clone());
    build.insert("url".into(), Value::String(format!("{prefix}#/builders/{builderid}/builds/{number}")));

    if needs.properties {
        let rest = one(api, &format!("builds/{buildid}/properties"), "properties").await?;
        let tracked = snap.and_then(|t| t.properties(buildid));
        build.insert("properties".into(), Value::Object(merge_properties(into_map(rest), tracked, kind)));
    }

    if needs.wants_steps() {
        let mut steps = Vec::new();
        for s in api.list(&format!("builds/{buildid}/steps"), "steps").await? {
            let mut s = into_map(reorder(Entity::Step, s));
            if needs.wants_logs() {
                let sv = Value::Object(s.clone());
                let stepid = int(&sv, "stepid", &what)?;
                let step_number = int(&sv, "number", &what)?;
                let step_name = sv.get("name").and_then(Value::as_str).unwrap_or("").to_string();
                let mut logs = Vec::new();
                for l in api.list(&format!("steps/{stepid}/logs"), "logs").await? {
                    let mut l = into_map(reorder(Entity::Log, l));
                    let lv = Value::Object(l.clone());
                    let logid = int(&lv, "logid", &format!("step {stepid} log"))?;
                    let slug = lv.get("slug").and_then(Value::as_str).unwrap_or("").to_string();
                    let name = lv.get("name").and_then(Value::as_str).unwrap_or("").to_string();
                    l.insert("stepname".into(), Value::String(step_name.clone()));
                    l.insert(
                        "url".into(),
                        Value::String(format!(
                            "{prefix}#/builders/{builderid}/builds/{number}/steps/{step_number}/logs/{slug}"
                        )),
                    );
                    l.insert("url_raw".into(), Value::String(format!("{prefix}api/v2/logs/{logid}/raw")));
                    l.insert("url_raw_inline".into(), Value::String(format!("{prefix}api/v2/logs/{logid}/raw_inline")));
                    if needs.log_contents.wants(&step_name, &name) {
                        let chunk = one(api, &format!("logs/{logid}/contents"), "logchunks").await?;
                        l.insert("content".into(), reorder(Entity::Logchunk, chunk));
                    }
                    logs.push(Value::Object(l));
                }
                s.insert("logs".into(), Value::Array(logs));
            }
            steps.push(Value::Object(s));
        }
        build.insert("steps".into(), Value::Array(steps));
    }

    if needs.previous_build && kind != EventKind::BuildNew {
        build.insert("prev_build".into(), previous_build(api, builderid, number).await?);
    }
    if needs.changes {
        build.insert("changes".into(), Value::Array(api.list(&format!("builds/{buildid}/changes"), "changes").await?));
    }
    Ok(())
}

/// Buildbot's `getPreviousBuild`: number-1, number-2, … skipping RETRY.
async fn previous_build<A: Api>(api: &A, builderid: i64, number: i64) -> Result<Value, RestError> {
    let mut n = number - 1;
    while n >= 0 {
        if let Some(prev) = maybe_one(api, &format!("builders/{builderid}/builds/{n}"), "builds").await?
            && prev.get("results").and_then(Value::as_i64) != Some(RETRY)
        {
            return Ok(reorder(Entity::Build, prev));
        }
        n -= 1;
    }
    Ok(Value::Null)
}

/// Properties as Buildbot's reporter sees them. REST gives the truth for
/// *which* properties exist (keys sorted, dict values with sorted keys);
/// the websocket gave their first-set order and their values as sent.
/// - `build-new`: the properties tracked before the event (those set after
///   it did not exist for Buildbot's reporter), if any were tracked;
/// - otherwise: tracked ones first in tracked order (tracked value when it
///   equals the REST value up to key order), then REST-only ones.
pub fn merge_properties(
    rest: Map<String, Value>,
    tracked: Option<&Map<String, Value>>,
    kind: EventKind,
) -> Map<String, Value> {
    let Some(tracked) = tracked.filter(|t| !t.is_empty()) else { return rest };
    let mut out = Map::new();
    for (name, tv) in tracked {
        if let Some(rv) = rest.get(name) {
            let v = if kind == EventKind::BuildNew || tv == rv { tv } else { rv };
            out.insert(name.clone(), v.clone());
        }
    }
    if kind != EventKind::BuildNew {
        for (name, rv) in rest {
            if !out.contains_key(&name) {
                out.insert(name, rv);
            }
        }
    }
    out
}
