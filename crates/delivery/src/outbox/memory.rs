//! Values kept from responses, for later reports of the same build (contract
//! 0.2's `keep` and `fill`): a GitHub check run is created on build-new
//! (`keep = [("check_run_id", "/id")]`) and completed on build-finished by a
//! PATCH to `check-runs/{check_run_id}` (`fill = true`).
//!
//! The rule:
//! - On a 2xx with a JSON body, the value at each of the report's JSON
//!   pointers is kept under its name (strings as they are, other JSON as
//!   text) for the report's target and ordering key. It is stored in the
//!   commit that removes the delivered report, so it survives a restart
//!   exactly when the delivery does.
//! - A report with `fill` has every `{name}` in its path and body replaced
//!   at send time (the stored report is unchanged). Reports of one ordering
//!   key go out in order, so an earlier report's values are there before a
//!   later one is sent. A `{name}` with no kept value is a permanent failure
//!   naming it (a dead letter: retrying the earlier report and then this one
//!   recovers).
//! - Bounds: at most [`MAX_VALUES`] names per build, [`MAX_VALUE`] bytes per
//!   value (longer ones are not kept); rows older than [`KEEP_FOR`] are
//!   removed when the outbox opens.

use std::collections::BTreeMap;
use std::time::Duration;

use redb::{Database, ReadableDatabase, ReadableTable, Table};
use serde::{Deserialize, Serialize};

use super::{MEMORY, Meta, OutboxError, index_key, now_ms, storage};

/// Most response bytes read to find values to keep.
pub(crate) const MAX_RESPONSE: usize = 1 << 20;
/// Most names kept per target and ordering key.
pub const MAX_VALUES: usize = 32;
/// Longest value kept, in bytes.
pub const MAX_VALUE: usize = 1024;
/// How long kept values stay after their last change.
pub const KEEP_FOR: Duration = Duration::from_secs(30 * 24 * 3600);

/// Values to keep for one target and ordering key (`target \0 key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Kept {
    pub key: String,
    pub values: Vec<(String, String)>,
}

/// One stored row.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Row {
    changed_at_ms: u64,
    values: BTreeMap<String, String>,
}

/// The values at `keep`'s pointers in a JSON `body`; missing ones, a body
/// that is not JSON and over-long values are left out.
pub(crate) fn extract(keep: &[(String, String)], body: &[u8]) -> Vec<(String, String)> {
    if keep.is_empty() {
        return Vec::new();
    }
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Vec::new();
    };
    keep.iter()
        .filter_map(|(name, pointer)| {
            let value = match json.pointer(pointer)? {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (value.len() <= MAX_VALUE).then(|| (name.clone(), value))
        })
        .collect()
}

/// Merges `kept` into its row (inside the writer's transaction).
pub(crate) fn store(table: &mut Table<&str, &[u8]>, kept: &Kept, now: u64) -> Result<(), OutboxError> {
    let mut row: Row = table
        .get(kept.key.as_str())
        .map_err(storage)?
        .and_then(|v| serde_json::from_slice(v.value()).ok())
        .unwrap_or_default();
    for (name, value) in &kept.values {
        if row.values.len() < MAX_VALUES || row.values.contains_key(name) {
            row.values.insert(name.clone(), value.clone());
        }
    }
    row.changed_at_ms = now;
    let bytes = serde_json::to_vec(&row).map_err(storage)?;
    table.insert(kept.key.as_str(), bytes.as_slice()).map_err(storage)?;
    Ok(())
}

/// The values kept for `target` and `ordering_key`.
pub(crate) fn load(db: &Database, target: &str, ordering_key: &str) -> Result<BTreeMap<String, String>, OutboxError> {
    let txn = db.begin_read().map_err(storage)?;
    let table = txn.open_table(MEMORY).map_err(storage)?;
    let row = table.get(index_key(target, ordering_key).as_str()).map_err(storage)?;
    Ok(row.and_then(|v| serde_json::from_slice::<Row>(v.value()).ok()).map(|r| r.values).unwrap_or_default())
}

/// Removes rows not changed for [`KEEP_FOR`].
pub(crate) fn prune(db: &Database) -> Result<(), OutboxError> {
    let cutoff = now_ms().saturating_sub(u64::try_from(KEEP_FOR.as_millis()).unwrap_or(u64::MAX));
    let txn = db.begin_write().map_err(storage)?;
    {
        let mut table = txn.open_table(MEMORY).map_err(storage)?;
        table
            .retain(|_, v| serde_json::from_slice::<Row>(v).is_ok_and(|r| r.changed_at_ms >= cutoff))
            .map_err(storage)?;
    }
    txn.commit().map_err(storage)
}

/// `meta` and `body` with every `{name}` filled from the values kept for
/// its target and ordering key; `Ok(Err(why))` when a name has no value.
pub(crate) fn fill(db: &Database, meta: &Meta, body: Vec<u8>) -> Result<Result<(Meta, Vec<u8>), String>, OutboxError> {
    let values = load(db, &meta.target, &meta.ordering_key)?;
    let mut filled = meta.clone();
    if let Some(path) = &meta.path {
        match fill_text(path, &values) {
            Ok(p) => filled.path = Some(p),
            Err(missing) => return Ok(Err(missing)),
        }
    }
    let body = match String::from_utf8(body) {
        Ok(text) => match fill_text(&text, &values) {
            Ok(t) => t.into_bytes(),
            Err(missing) => return Ok(Err(missing)),
        },
        Err(e) => e.into_bytes(), // not text: sent as it is
    };
    Ok(Ok((filled, body)))
}

/// Replaces each `{name}` (1..=64 ASCII letters, digits or `_`) in `text`.
fn fill_text(text: &str, values: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let name_len = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
        if (1..=64).contains(&name_len) && after[name_len..].starts_with('}') {
            let name = &after[..name_len];
            let Some(value) = values.get(name) else {
                return Err(format!(
                    "no value kept for {{{name}}}: an earlier report of this build must keep it (keep = [(\"{name}\", …)]) and be delivered first"
                ));
            };
            out.push_str(value);
            rest = &after[name_len + 1..];
        } else {
            out.push('{');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_pick_values_and_placeholders_take_them() {
        let kept = extract(
            &[("id".into(), "/id".into()), ("url".into(), "/links/html".into()), ("nope".into(), "/x".into())],
            br#"{"id": 4242, "links": {"html": "https://x/1"}}"#,
        );
        assert_eq!(kept, [("id".to_string(), "4242".to_string()), ("url".into(), "https://x/1".into())]);
        assert!(extract(&[("id".into(), "/id".into())], b"not json").is_empty());
        let values: BTreeMap<_, _> = kept.into_iter().collect();
        assert_eq!(fill_text("check-runs/{id}", &values).unwrap(), "check-runs/4242");
        assert_eq!(
            fill_text(r#"{"see": "{url}", "obj": {"a": 1}, "x": "{not a name}"}"#, &values).unwrap(),
            r#"{"see": "https://x/1", "obj": {"a": 1}, "x": "{not a name}"}"#
        );
        let e = fill_text("check-runs/{check_run_id}", &values).unwrap_err();
        assert!(e.contains("{check_run_id}"), "{e}");
    }
}
