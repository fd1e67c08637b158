//! The reporter catalog: `wasm = "catalog:github-status"` names a plugin
//! built from `plugins/<name>/` by `scripts/build-generators.sh`, so a user
//! replaces a Buildbot reporter without building or downloading anything by
//! hand.
//!
//! Where the files are, first that applies: `[plugins] catalog` (relative to
//! the config file), `$WASMPUSH_CATALOG`, the build's `target/catalog`. What
//! they must be: `plugins/catalog.lock` is compiled into the host, and a
//! catalog file whose sha256 is not the locked one is refused before it is
//! compiled (the lock works as the generator's `sha256` pin; a `sha256` the
//! user writes as well must agree with it). Each plugin's manifest,
//! `<name>.toml` next to its `.wasm`, lists its settings for `wasmpush inspect`.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use wasmpush_distribute::Sha256;

/// How a config names a catalog plugin.
pub const PREFIX: &str = "catalog:";

/// The digests this host accepts, `name = "sha256 hex"`.
const LOCK: &str = include_str!("../../plugins/catalog.lock");

/// The environment variable naming the catalog folder.
pub const ENV: &str = "WASMPUSH_CATALOG";

/// A catalog plugin that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog:{name}: no such plugin in this build's catalog lock (known: {known})")]
    Unknown { name: String, known: String },
    #[error(
        "catalog:{name}: {path} is missing ({reason}); build the catalog with `bash scripts/build-generators.sh` \
         or point `[plugins] catalog` / ${ENV} at it"
    )]
    Missing { name: String, path: PathBuf, reason: String },
    #[error("catalog:{name}: the config pins sha256 {pinned} but the catalog lock says {locked}")]
    PinDisagrees { name: String, pinned: String, locked: String },
    #[error(
        "catalog:{name}: {path} is sha256 {actual} but the catalog lock says {locked}: rebuild it with \
         `bash scripts/build-generators.sh` (after changing the plugin: `--lock` rewrites plugins/catalog.lock)"
    )]
    Changed { name: String, path: PathBuf, actual: String, locked: String },
    #[error("catalog:{name}: manifest {path}: {reason}")]
    Manifest { name: String, path: PathBuf, reason: String },
}

/// The name in a `catalog:<name>` source, if it is one.
pub fn name_of(wasm: &str) -> Option<&str> {
    wasm.trim().strip_prefix(PREFIX)
}

/// The locked digests, by plugin name.
pub fn lock() -> BTreeMap<&'static str, &'static str> {
    LOCK.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim().trim_matches('"')))
        .collect()
}

/// The catalog folder: `configured` (already resolved against the config's
/// folder), else `$WASMPUSH_CATALOG`, else the build's `target/catalog`.
pub fn dir(configured: Option<&Path>) -> PathBuf {
    if let Some(d) = configured {
        return d.to_path_buf();
    }
    if let Some(d) = std::env::var_os(ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    let host = Path::new(env!("CARGO_MANIFEST_DIR"));
    host.parent().unwrap_or(host).join("target/catalog")
}

/// A plugin resolved to its file and the digest it must have.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub path: PathBuf,
    pub sha256: Sha256,
}

/// Finds plugin `name` in `dir` and the digest the lock requires; `pinned`
/// is the generator's own `sha256`, which must agree with the lock. The
/// file's content is checked when it is loaded (the digest acts as its pin).
pub fn resolve(dir: &Path, name: &str, pinned: Option<&Sha256>) -> Result<Resolved, CatalogError> {
    let lock = lock();
    let Some(locked) = lock.get(name) else {
        let known = lock.keys().copied().collect::<Vec<_>>().join(", ");
        return Err(CatalogError::Unknown { name: name.into(), known });
    };
    let sha256 = Sha256::parse(locked).map_err(|e| CatalogError::Manifest {
        name: name.into(),
        path: PathBuf::from("plugins/catalog.lock"),
        reason: e.to_string(),
    })?;
    if let Some(p) = pinned
        && p != &sha256
    {
        return Err(CatalogError::PinDisagrees { name: name.into(), pinned: p.hex(), locked: sha256.hex() });
    }
    let path = dir.join(format!("{name}.wasm"));
    if let Err(e) = std::fs::metadata(&path) {
        return Err(CatalogError::Missing { name: name.into(), path, reason: e.to_string() });
    }
    Ok(Resolved { path, sha256 })
}

/// A plugin's `plugin.toml`: what it replaces and the settings it reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub language: String,
    /// The Buildbot 4.3.0 reporter class it replaces (empty when none).
    #[serde(default)]
    pub buildbot: String,
    #[serde(default)]
    pub events: Vec<String>,
    /// The generator `kind` used when the config gives none: the default
    /// generator of the Buildbot reporter it replaces.
    #[serde(default)]
    pub kind: Option<crate::filter::GeneratorKind>,
    #[serde(default)]
    pub settings: Vec<SettingDoc>,
    /// A `[[reporter]]` block to start from (credentials from env/files),
    /// shown as written.
    #[serde(default)]
    pub reporter: toml::Table,
}

/// One setting a plugin reads, named as Buildbot's reporter argument.
#[derive(Debug, Clone, Deserialize)]
pub struct SettingDoc {
    pub name: String,
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub help: String,
}

/// Reads `<dir>/<name>.toml`.
pub fn manifest(dir: &Path, name: &str) -> Result<Manifest, CatalogError> {
    let path = dir.join(format!("{name}.toml"));
    let err = |reason: String| CatalogError::Manifest { name: name.into(), path: path.clone(), reason };
    let text = std::fs::read_to_string(&path).map_err(|e| err(e.to_string()))?;
    toml::from_str(&text).map_err(|e| err(e.to_string()))
}

impl std::fmt::Display for Manifest {
    /// What `wasmpush inspect catalog:<name>` prints after the component's facts.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "plugin      {} ({})", self.name, if self.language.is_empty() { "?" } else { &self.language })?;
        if !self.description.is_empty() {
            writeln!(f, "about       {}", self.description)?;
        }
        let replaces =
            if self.buildbot.is_empty() { "nothing (Buildbot has no such reporter)" } else { &self.buildbot };
        writeln!(f, "replaces    {replaces}")?;
        writeln!(f, "events      {}", self.events.join(", "))?;
        if let Some(kind) = self.kind {
            writeln!(f, "kind        {} (when the generator table gives none)", kind.as_str())?;
        }
        writeln!(f, "settings")?;
        if self.settings.is_empty() {
            writeln!(f, "  (none)")?;
        }
        for s in &self.settings {
            let default = s.default.as_deref().map(|d| format!(" = {d:?}")).unwrap_or_default();
            writeln!(f, "  {}{default}", s.name)?;
            if !s.help.is_empty() {
                writeln!(f, "      {}", s.help)?;
            }
        }
        if !self.reporter.is_empty() {
            writeln!(f, "reporter (credentials stay in the host)")?;
            for line in toml::to_string(&self.reporter).unwrap_or_default().lines() {
                writeln!(f, "  {line}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lock_entry_is_a_digest() {
        let lock = lock();
        assert!(lock.contains_key("github-status"), "{lock:?}");
        for (name, d) in lock {
            Sha256::parse(d).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn unknown_names_list_the_known_ones() {
        let e = resolve(Path::new("/nonexistent"), "no-such", None).unwrap_err().to_string();
        assert!(e.contains("catalog:no-such") && e.contains("github-status"), "{e}");
        let e = resolve(Path::new("/nonexistent"), "github-status", None).unwrap_err().to_string();
        assert!(e.contains("/nonexistent/github-status.wasm") && e.contains("build-generators.sh"), "{e}");
    }
}
