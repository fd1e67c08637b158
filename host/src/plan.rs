//! `Config → Plan`: the one step that turns a parsed config into what runs.
//!
//! [`Config`] is the file as written (raw `[[source]]` tables, push options
//! and limit overrides still TOML). [`Plan::build`] decodes and checks all
//! of it before anything starts: runtime and outbox options, every
//! reporter's push options (a checked [`TargetConfig`]), every source (a
//! [`SourceConfig`]), the admin token, and per generator its filter,
//! settings, limits and its component, fetched and pinned. Every error
//! names the config file and the field ([`ConfigError::Invalid`]), and
//! nothing after this step sees a raw `toml::Table`.
//!
//! `wasmpush check` builds the plan and prints it; `wasmpush run`
//! ([`crate::service::Service::start`]) builds it and starts it; a reload
//! ([`crate::service::Service::reload`]) builds a new one and swaps in its
//! generators.

use crate::admin::{AdminError, AdminSection};
use crate::config::{Config, ConfigError, GeneratorConfig, at, decode};
use crate::filter::Filter;
use crate::plugins::{Fetcher, PluginError};
use crate::runtime::{Limits, RuntimeOptions};
use std::path::PathBuf;
use std::time::Duration;
use wasmpush_delivery::TargetConfig;
use wasmpush_distribute::{Fetched, Sha256};
use wasmpush_model::secret::Secret;
use wasmpush_sources::SourceConfig;

/// A config that cannot be turned into a plan.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A value is missing, of the wrong type or refused (names the field).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A generator's component could not be obtained or was refused.
    #[error(transparent)]
    Plugin(#[from] PluginError),
    /// The admin token could not be read.
    #[error(transparent)]
    Admin(#[from] AdminError),
}

/// Everything a config describes, decoded and checked, ready to start.
pub struct Plan {
    /// The config file, for messages.
    pub path: PathBuf,
    pub runtime: RuntimePlan,
    pub outbox: OutboxPlan,
    /// `[admin]` with its token (read once, here).
    pub admin: Option<(AdminSection, Option<Secret>)>,
    /// Each reporter's push options, in config order.
    pub targets: Vec<(String, TargetConfig)>,
    pub sources: Vec<SourceConfig>,
    /// Each reporter's generators, in config order.
    pub reporters: Vec<ReporterPlan>,
    /// What a reload may not change.
    pub identity: ReporterIdentity,
}

/// `[runtime]`, resolved.
#[derive(Debug, Clone)]
pub struct RuntimePlan {
    /// The engine: compiled-component cache folder, pooling, memory ceiling.
    pub engine: RuntimeOptions,
    /// Threads running generators.
    pub workers: usize,
    /// Longest a worker holds generated reports before committing them.
    pub commit_delay: Duration,
}

/// `[outbox]`, resolved.
#[derive(Debug, Clone)]
pub struct OutboxPlan {
    /// The outbox file (the control socket lives beside it).
    pub path: PathBuf,
}

/// A reporter's generators, in the order they are tried.
pub struct ReporterPlan {
    pub name: String,
    pub generators: Vec<GeneratorPlan>,
}

/// One `[[reporter.generator]]`, checked, with its component.
pub struct GeneratorPlan {
    /// How errors name it: `reporter "r" generator <name or index>`.
    pub field: String,
    /// The configured name, if any (else the generator's own).
    pub name: Option<String>,
    /// The source as written (`path`, URL, `oci://…`, `catalog:…`).
    pub wasm: String,
    /// The component, fetched, pin- and signature-checked.
    pub component: Fetched,
    /// `[runtime.limits]` with this generator's overrides.
    pub limits: Limits,
    /// Settings as the string key/values the WIT carries.
    pub settings: Vec<(String, String)>,
    pub filter: Filter,
}

/// Reporter names and push options as written: a reload may not change
/// them (the outbox keeps reports per reporter, and delivery holds the
/// clients). Opaque: only compared.
#[derive(Debug, Clone, PartialEq)]
pub struct ReporterIdentity(Vec<(String, toml::Table)>);

impl ReporterIdentity {
    pub fn of(config: &Config) -> ReporterIdentity {
        ReporterIdentity(config.reporters.iter().map(|r| (r.name.clone(), r.push.clone())).collect())
    }
}

impl Plan {
    /// Decodes and checks `config`, then fetches every generator's
    /// component (in reporter and generator order). Everything that needs no
    /// network is checked before anything is fetched. Must run inside Tokio.
    pub async fn build(config: &Config) -> Result<Plan, PlanError> {
        let targets = targets(config)?;
        let admin = match &config.admin {
            Some(section) => Some((section.clone(), section.token()?)),
            None => None,
        };
        let sources = sources(config)?;
        let checked = (config.reporters.iter().enumerate())
            .map(|(ri, r)| (0..r.generators.len()).map(|gi| Checked::new(config, ri, gi)).collect())
            .collect::<Result<Vec<Vec<Checked>>, ConfigError>>()?;
        let fetcher = Fetcher::new(config)?;
        let mut reporters = Vec::new();
        for (r, row) in config.reporters.iter().zip(checked) {
            let mut generators = Vec::new();
            for (gi, (g, c)) in r.generators.iter().zip(row).enumerate() {
                let field = format!("reporter {:?} generator {gi} wasm", r.name);
                let component = fetcher.fetch(config, &field, &g.wasm, c.pin).await?;
                generators.push(GeneratorPlan {
                    field: c.field,
                    name: g.name.clone(),
                    wasm: g.wasm.clone(),
                    component,
                    limits: c.limits,
                    settings: c.settings,
                    filter: c.filter,
                });
            }
            reporters.push(ReporterPlan { name: r.name.clone(), generators });
        }
        Ok(Plan {
            path: config.path.clone(),
            runtime: RuntimePlan {
                engine: RuntimeOptions {
                    cache_dir: config.cache_dir(),
                    pooling: config.runtime.pooling,
                    max_memory: config.runtime.max_memory,
                },
                workers: config.runtime.workers,
                commit_delay: config.runtime.commit_delay,
            },
            outbox: OutboxPlan { path: config.outbox_path() },
            admin,
            targets,
            sources,
            reporters,
            identity: ReporterIdentity::of(config),
        })
    }

    /// An [`ConfigError::Invalid`] for `field` of the config file.
    pub fn invalid(&self, field: &str, message: String) -> ConfigError {
        ConfigError::Invalid { path: self.path.clone(), field: field.to_string(), message }
    }
}

/// A generator's table, checked before its component is fetched.
struct Checked {
    field: String,
    filter: Filter,
    settings: Vec<(String, String)>,
    limits: Limits,
    pin: Option<Sha256>,
}

impl Checked {
    fn new(config: &Config, r: usize, g: usize) -> Result<Checked, ConfigError> {
        let rep = &config.reporters[r];
        let gen_cfg: &GeneratorConfig = &rep.generators[g];
        let field =
            format!("reporter {:?} generator {}", rep.name, gen_cfg.name.clone().unwrap_or_else(|| g.to_string()));
        let filter = Filter::new(&gen_cfg.filter).map_err(|e| config.invalid(&field, e.to_string()))?;
        let settings = settings_pairs(&gen_cfg.settings).map_err(|e| config.invalid(&field, e))?;
        let limits = limits(config, r, g)?;
        let pin = match &gen_cfg.sha256 {
            Some(pin) => Some(Sha256::parse(pin).map_err(|e| {
                config.invalid(&format!("reporter {:?} generator {g} wasm sha256", rep.name), e.to_string())
            })?),
            None => None,
        };
        Ok(Checked { field, filter, settings, limits, pin })
    }
}

/// The push options of every reporter, each checked by the delivery crate.
pub fn targets(config: &Config) -> Result<Vec<(String, TargetConfig)>, ConfigError> {
    config
        .reporters
        .iter()
        .map(|r| {
            let field = format!("reporter {:?}", r.name);
            let mut push = r.push.clone();
            resolve_files(&mut push, config, true);
            let target: TargetConfig = decode(toml::Value::Table(push))
                .map_err(|(path, message)| config.invalid(&at(&field, &path), message))?;
            target.validate().map_err(|e| config.invalid(&format!("{field} {}", e.field), e.message.clone()))?;
            Ok((r.name.clone(), target))
        })
        .collect()
}

/// Makes the file paths among push options (`ca_file`, `cert`, `key`,
/// `*_file`, also inside `auth` and `headers`) relative to the config's folder.
fn resolve_files(table: &mut toml::Table, config: &Config, top: bool) {
    for (key, value) in table.iter_mut() {
        match value {
            toml::Value::String(s) if (top && matches!(key.as_str(), "cert" | "key")) || key.ends_with("_file") => {
                *s = config.resolve(s.as_ref()).to_string_lossy().into_owned();
            }
            toml::Value::Table(inner)
                if matches!(key.as_str(), "auth" | "headers") || inner.keys().any(|k| k.ends_with("_file")) =>
            {
                resolve_files(inner, config, false)
            }
            _ => {}
        }
    }
}

/// The `[[source]]` tables, checked: one arm per kind of source
/// ([`wasmpush_sources::KINDS`]; how each starts is `SourceConfig::spawn`).
pub fn sources(config: &Config) -> Result<Vec<SourceConfig>, ConfigError> {
    config
        .sources
        .iter()
        .enumerate()
        .map(|(i, table)| {
            let kind = table.get("type").and_then(|t| t.as_str()).unwrap_or_default().to_string();
            let field = format!("source[{i}] ({})", kind.escape_debug());
            let mut rest = table.clone();
            rest.remove("type");
            resolve_files(&mut rest, config, true);
            if let Some(toml::Value::String(p)) = rest.get_mut("state_file") {
                *p = config.resolve(p.as_ref()).to_string_lossy().into_owned();
            }
            let parse_err = |(path, message): (String, String)| config.invalid(&at(&field, &path), message);
            match kind.as_str() {
                "replay" => {
                    let path = rest
                        .get("path")
                        .and_then(|p| p.as_str())
                        .ok_or_else(|| config.invalid(&field, "replay needs `path`".into()))?;
                    if let Some(extra) = rest.keys().find(|k| k.as_str() != "path") {
                        return Err(config.invalid(&field, format!("unknown key `{extra}` for a replay source")));
                    }
                    Ok(SourceConfig::Replay { path: config.resolve(path.as_ref()) })
                }
                "relay" => Ok(SourceConfig::Relay(decode(toml::Value::Table(rest)).map_err(parse_err)?)),
                "buildbot" => Ok(SourceConfig::Buildbot(decode(toml::Value::Table(rest)).map_err(parse_err)?)),
                "" => Err(config.invalid(&format!("source[{i}]"), format!("missing `type` ({})", kinds()))),
                other => Err(config.invalid(&field, format!("unknown source type {other:?} (expected {})", kinds()))),
            }
        })
        .collect()
}

/// Every source type, as an error lists them: `replay, relay or buildbot`.
fn kinds() -> String {
    match wasmpush_sources::KINDS.split_last() {
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// The limits for generator `g` of reporter `r`: `[runtime.limits]`, then
/// the generator's overrides.
pub fn limits(config: &Config, r: usize, g: usize) -> Result<Limits, ConfigError> {
    let gen_cfg = &config.reporters[r].generators[g];
    if gen_cfg.limits.is_empty() {
        return Ok(config.runtime.limits.clone());
    }
    let mut merged = toml::Table::try_from(&config.runtime.limits).unwrap_or_default();
    merged.extend(gen_cfg.limits.clone());
    decode(toml::Value::Table(merged)).map_err(|(path, message)| {
        config.invalid(&at(&format!("reporter {:?} generator {g} limits", config.reporters[r].name), &path), message)
    })
}

/// Settings as the string key/values the WIT carries.
pub fn settings_pairs(settings: &toml::Table) -> Result<Vec<(String, String)>, String> {
    settings
        .iter()
        .map(|(k, v)| {
            let s = match v {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                other => {
                    return Err(format!("setting {k:?} must be a string, number or boolean, not {}", other.type_str()));
                }
            };
            Ok((k.clone(), s))
        })
        .collect()
}
