//! The TOML configuration: sources, runtime settings, and reporters with
//! their generators.
//!
//! ```toml
//! [runtime]                      # optional
//! cache_dir = "/var/cache/wasmpush"
//!
//! [outbox]
//! path = "/var/lib/wasmpush/outbox.redb"
//!
//! [[source]]
//! type = "replay"
//! path = "recorded/"
//!
//! [[reporter]]
//! name = "status"
//! server_url = "https://ci-dashboard.example/hooks/buildbot"
//! # ... push options, see `wasmpush_delivery::TargetConfig`
//!
//! [[reporter.generator]]
//! wasm = "generators/buildbot-json.wasm"
//! kind = "build-status"          # Buildbot's generator class, see `filter`
//! mode = "all"
//! settings = { channel = "#ci" } # handed to the generator; never secrets
//! limits = { memory = "32MiB", timeout = "500ms" }
//! ```
//!
//! Relative paths are resolved against the config file's directory.

use crate::filter::FilterSpec;
use crate::runtime::Limits;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// A config file that could not be used. Names the file and what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config {path}: {field}: {message}")]
    Invalid { path: PathBuf, field: String, message: String },
}

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub runtime: RuntimeSection,
    #[serde(default)]
    pub outbox: OutboxSection,
    #[serde(default)]
    pub plugins: crate::plugins::PluginsSection,
    /// `[admin]`: metrics and health endpoints (off unless configured).
    #[serde(default)]
    pub admin: Option<crate::admin::AdminSection>,
    #[serde(default, rename = "source")]
    pub sources: Vec<toml::Table>,
    #[serde(default, rename = "reporter")]
    pub reporters: Vec<ReporterConfig>,
    /// The folder relative paths are resolved against (the config's folder).
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// The file this was read from, for messages.
    #[serde(skip)]
    pub path: PathBuf,
}

/// `[runtime]`: engine-wide settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuntimeSection {
    /// Compiled-component cache; default `$XDG_CACHE_HOME/wasmpush` or
    /// `~/.cache/wasmpush`. `cache = false` disables it.
    pub cache_dir: Option<PathBuf>,
    pub cache: bool,
    pub pooling: bool,
    #[serde(deserialize_with = "wasmpush_model::size::deserialize")]
    pub max_memory: u64,
    /// Threads running generators (events of one build request stay in order).
    pub workers: usize,
    /// Longest a worker keeps generated reports before committing them
    /// (`"2ms"`): caps how long one slow generator holds other events'
    /// reports, and their acknowledgements. An idle worker commits at once.
    #[serde(with = "humantime_serde")]
    pub commit_delay: std::time::Duration,
    /// Default limits for every generator.
    pub limits: Limits,
}

impl Default for RuntimeSection {
    fn default() -> Self {
        RuntimeSection {
            cache_dir: None,
            cache: true,
            pooling: true,
            max_memory: 256 << 20,
            workers: 2,
            commit_delay: crate::dispatch::DEFAULT_COMMIT_DELAY,
            limits: Limits::default(),
        }
    }
}

/// `[outbox]`: where undelivered reports are kept.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct OutboxSection {
    /// The outbox file; default `wasmpush-outbox.redb` beside the config.
    pub path: Option<PathBuf>,
}

/// `[[reporter]]`: one target URL and the generators whose reports go there.
#[derive(Debug, Clone)]
pub struct ReporterConfig {
    pub name: String,
    pub generators: Vec<GeneratorConfig>,
    /// Everything else: the push options (`server_url`, `auth`, ...), read by
    /// the delivery crate, which rejects unknown keys.
    pub push: toml::Table,
}

/// `[[reporter.generator]]`: a Wasm generator and Buildbot's filters for it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratorConfig {
    /// Name in logs and errors; default: the generator's own name.
    pub name: Option<String>,
    /// The `.wasm` component: a path, an `https://` URL, an
    /// `oci://registry/repo:tag` (or `@sha256:…`) reference or
    /// `catalog:<name>` (see [`crate::catalog`]).
    pub wasm: String,
    /// Pinned sha256 (hex) of the `.wasm`: any other content is refused
    /// before it is compiled.
    pub sha256: Option<String>,
    /// Buildbot's filter keys (`kind`, `mode`, `builders`, ...), in the
    /// same table.
    #[serde(skip)]
    pub filter: FilterSpec,
    /// Whether the table gave `kind`: when not, a catalog plugin's own
    /// default (its Buildbot reporter's default generator) applies.
    #[serde(skip)]
    pub kind_given: bool,
    /// Key/values handed to the generator (strings, numbers and booleans).
    #[serde(default)]
    pub settings: toml::Table,
    /// Overrides of `[runtime.limits]` for this generator.
    #[serde(default)]
    pub limits: toml::Table,
}

/// Deserializes `value`; an error names the key path inside it
/// (`limits.timeout`, `auth.type`; empty for the value itself) and says
/// why, in one line. Raw TOML tables become typed config only through here.
pub fn decode<T: serde::de::DeserializeOwned>(value: toml::Value) -> Result<T, (String, String)> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        (path, e.into_inner().message().trim().replace('\n', " "))
    })
}

/// `field` followed by a key `path` inside it, for messages.
pub fn at(field: &str, path: &str) -> String {
    if path.is_empty() { field.to_string() } else { format!("{field} {path}") }
}

/// The filter keys of a generator table (see [`FilterSpec`]).
const FILTER_KEYS: [&str; 7] = ["kind", "mode", "report_new", "builders", "tags", "schedulers", "branches"];
/// The generator's own keys.
const GENERATOR_KEYS: [&str; 5] = ["name", "wasm", "sha256", "settings", "limits"];

impl GeneratorConfig {
    /// A generator table: its own keys, then the filter keys. Unknown keys
    /// are refused by name.
    fn from_table(mut table: toml::Table) -> Result<GeneratorConfig, (String, String)> {
        if let Some(k) =
            table.keys().find(|k| !FILTER_KEYS.contains(&k.as_str()) && !GENERATOR_KEYS.contains(&k.as_str()))
        {
            let expected = GENERATOR_KEYS.iter().chain(&FILTER_KEYS).copied().collect::<Vec<_>>().join(", ");
            return Err((k.clone(), format!("unknown key (expected one of {expected})")));
        }
        let mut filter = toml::Table::new();
        for k in FILTER_KEYS {
            if let Some(v) = table.remove(k) {
                filter.insert(k.to_string(), v);
            }
        }
        let mut generator: GeneratorConfig = decode(toml::Value::Table(table))?;
        generator.kind_given = filter.contains_key("kind");
        generator.filter = decode(toml::Value::Table(filter))?;
        Ok(generator)
    }
}

impl<'de> Deserialize<'de> for ReporterConfig {
    /// A reporter table: `name`, `[[reporter.generator]]` tables (each
    /// error names the reporter, the generator's index and the key), and
    /// the push options, handed over as they are.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut table = toml::Table::deserialize(d)?;
        let name = match table.remove("name") {
            Some(toml::Value::String(s)) => s,
            Some(other) => {
                return Err(D::Error::custom(format!("reporter name: expected a string, found {}", other.type_str())));
            }
            None => return Err(D::Error::custom("reporter: missing `name`")),
        };
        let generators = match table.remove("generator") {
            None => Vec::new(),
            Some(toml::Value::Array(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, item)| {
                    let field = format!("reporter {name:?} generator {i}");
                    match item {
                        toml::Value::Table(t) => GeneratorConfig::from_table(t),
                        other => Err((String::new(), format!("expected a table, found {}", other.type_str()))),
                    }
                    .map_err(|(path, message)| D::Error::custom(format!("{}: {message}", at(&field, &path))))
                })
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(D::Error::custom(format!(
                    "reporter {name:?} generator: expected [[reporter.generator]] tables, found {}",
                    other.type_str()
                )));
            }
        };
        Ok(ReporterConfig { name, generators, push: table })
    }
}

impl Config {
    /// Reads and parses `path`. Push options, sources, limits, filters and
    /// components are decoded and checked by [`crate::plan::Plan::build`].
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Config::parse(&text, path, &base)
    }

    /// Parses config text; `path` is for messages, `base_dir` resolves
    /// relative paths.
    pub fn parse(text: &str, path: &Path, base_dir: &Path) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text)
            .map_err(|e| ConfigError::Parse { path: path.to_path_buf(), message: parse_error(text, &e) })?;
        config.base_dir = base_dir.to_path_buf();
        config.path = path.to_path_buf();
        if let Some(file) = config.admin.as_ref().and_then(|a| a.token_file.clone()) {
            let resolved = config.resolve(&file);
            config.admin.as_mut().expect("checked above").token_file = Some(resolved);
        }
        let mut names = std::collections::HashSet::new();
        for (i, r) in config.reporters.iter().enumerate() {
            if !names.insert(r.name.clone()) {
                return Err(
                    config.invalid(&format!("reporter[{i}].name"), format!("duplicate reporter name {:?}", r.name))
                );
            }
            if r.generators.is_empty() {
                return Err(config.invalid(&format!("reporter {:?}", r.name), "has no [[reporter.generator]]".into()));
            }
        }
        // A catalog plugin's manifest says what its reporter does by default
        // and which settings it reads: without `kind`, the Buildbot
        // reporter's default generator (GitHubStatusPush reports starts and
        // ends); a setting it does not read is a typo, refused by name. An
        // unknown name or an unbuilt catalog is reported when the plugin is
        // fetched (with how to build it); a built plugin whose manifest is
        // missing or broken is refused here, naming the file, since without
        // it the defaults and the settings check would silently not apply.
        let catalog = config.catalog_dir();
        let lock = crate::catalog::lock();
        let mut refused = None;
        for r in &mut config.reporters {
            for (i, g) in r.generators.iter_mut().enumerate() {
                let Some(name) = crate::catalog::name_of(&g.wasm) else { continue };
                let manifest = match crate::catalog::manifest(&catalog, name) {
                    Ok(manifest) => manifest,
                    Err(_) if !lock.contains_key(name) || !catalog.join(format!("{name}.wasm")).exists() => continue,
                    Err(e) => {
                        refused.get_or_insert((format!("reporter {:?} generator {i} wasm", r.name), e.to_string()));
                        continue;
                    }
                };
                if let (false, Some(kind)) = (g.kind_given, manifest.kind) {
                    g.filter.kind = kind;
                }
                if let Some(unknown) = g.settings.keys().find(|k| !manifest.settings.iter().any(|s| &s.name == *k)) {
                    let known: Vec<&str> = manifest.settings.iter().map(|s| s.name.as_str()).collect();
                    let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
                    refused.get_or_insert((
                        format!("reporter {:?} generator {i} settings.{unknown}", r.name),
                        format!("catalog:{name} has no setting `{unknown}` (its settings: {known})"),
                    ));
                }
            }
        }
        if let Some((field, message)) = refused {
            return Err(config.invalid(&field, message));
        }
        Ok(config)
    }

    /// An [`ConfigError::Invalid`] for `field` of this file.
    pub fn invalid(&self, field: &str, message: String) -> ConfigError {
        ConfigError::Invalid { path: self.path.clone(), field: field.to_string(), message }
    }

    /// `p` resolved against the config's folder.
    /// Where `catalog:<name>` plugins are: `[plugins] catalog` (relative to
    /// this file), else as [`crate::catalog::dir`] says.
    pub fn catalog_dir(&self) -> PathBuf {
        crate::catalog::dir(self.plugins.catalog.as_deref().map(|d| self.resolve(d)).as_deref())
    }

    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() { p.to_path_buf() } else { self.base_dir.join(p) }
    }

    /// The compiled-component cache folder, if caching is on.
    pub fn cache_dir(&self) -> Option<PathBuf> {
        if !self.runtime.cache {
            return None;
        }
        Some(match &self.runtime.cache_dir {
            Some(d) => self.resolve(d),
            None => default_cache_dir(),
        })
    }

    /// The outbox file.
    pub fn outbox_path(&self) -> PathBuf {
        match &self.outbox.path {
            Some(p) => self.resolve(p),
            None => self.base_dir.join("wasmpush-outbox.redb"),
        }
    }
}

/// `$XDG_CACHE_HOME/wasmpush`, else `$HOME/.cache/wasmpush`, else a folder in
/// the temp dir.
pub fn default_cache_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(x).join("wasmpush");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(h).join(".cache").join("wasmpush");
    }
    std::env::temp_dir().join("wasmpush-cache")
}

/// A TOML error as one line: position and message, without the excerpt of
/// the offending line that toml prints (a literal secret on that line would
/// be repeated in the log). On a secret-bearing key, quoted values in the
/// message (`invalid type: string "..."`) are hidden too.
fn parse_error(text: &str, e: &toml::de::Error) -> String {
    let mut message = e.message().trim().replace('\n', " ");
    let Some(span) = e.span() else { return message };
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    let key = text.lines().nth(line - 1).unwrap_or_default().split('=').next().unwrap_or_default().trim();
    let lower = key.to_ascii_lowercase();
    let secret = ["password", "token", "secret", "server_url", "key", "value", "auth", "cookie"];
    if secret.iter().any(|w| lower.contains(w)) {
        message = hide_quoted(&message);
    }
    let bare = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    if !key.is_empty() && key.len() <= 64 && key.chars().all(bare) {
        format!("line {line}, column {column}, `{key}`: {message}")
    } else {
        format!("line {line}, column {column}: {message}")
    }
}

/// `a "b" c` → `a "***" c`.
fn hide_quoted(s: &str) -> String {
    let mut out = String::new();
    for (i, part) in s.split('"').enumerate() {
        if i > 0 {
            out.push('"');
        }
        out.push_str(if i % 2 == 1 { "***" } else { part });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parse_error_names_the_place_but_never_repeats_a_secret() {
        let path = Path::new("wasmpush.toml");
        for text in [
            "[[reporter]]\nname = \"r\"\nserver_url = \"https://hooks.slack.com/services/T/B/s3cr3t-url\n",
            "[[reporter]]\nname = \"r\"\nauth = { type = \"bearer\", token = \"s3cr3t-tok\" ",
            "[[reporter]]\nname = \"r\"\nsigning_secret = \"s3cr3t\" x\n",
        ] {
            let err = Config::parse(text, path, Path::new(".")).unwrap_err().to_string();
            assert!(!err.contains("s3cr3t"), "{err}");
            assert!(err.starts_with("config wasmpush.toml: line "), "{err}");
            assert!(!err.contains('\n'), "one line: {err}");
        }
        let err = Config::parse("[runtime]\nworkers = \"many\"\n", path, Path::new(".")).unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("\"many\""), "a plain value is still shown: {err}");
    }
}
