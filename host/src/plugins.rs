//! Getting generator components: a local file, an `https://` URL or an OCI
//! reference (`oci://registry/repo:tag` or `@sha256:…`), checked against the
//! config's `sha256` pin and, when `[plugins] require_signature` lists keys,
//! a valid ed25519 signature, all before anything is compiled.
//!
//! Fetched components live content-addressed in the plugin store (default
//! `~/.cache/wasmpush/plugins`) and are reused offline; a tag is resolved to
//! a digest once and the digest is what runs and what is logged. Registry
//! credentials come from the environment and stay in the host.
//!
//! A `catalog:<name>` source is a plugin of this build's catalog
//! ([`crate::catalog`]): a local file whose digest is pinned by the lock.
//!
//! A local file is read and hashed once: while the compiled-component cache
//! is on, its digest is recorded by file identity next to the cache
//! ([`wasmpush_distribute::identity`]), so a warm start checks the pin (or
//! the lock) against the recorded digest and the runtime takes the compiled
//! entry without reading the file ([`Fetched::bytes`] is then empty). A
//! changed file (any of device, inode, size, mtime, ctime differs) is read
//! and hashed again.
//!
//! ```toml
//! [plugins]
//! catalog = "/usr/share/wasmpush/catalog"  # default $WASMPUSH_CATALOG, then the build's target/catalog
//! store = "/var/cache/wasmpush/plugins"
//! freshness = "refresh"                  # refresh | prefer-cache | offline
//! plain_http_registries = ["127.0.0.1:5000"]
//! ca_file = "private-ca.pem"
//! username_env = "REGISTRY_USER"         # or token_env
//! password_env = "REGISTRY_PASSWORD"
//! require_signature = ["keys/team.pub"]  # key files or inline `wasmpush-ed25519-public:…`
//! ```

use crate::config::{Config, ConfigError};
use serde::Deserialize;
use std::path::PathBuf;
use wasmpush_distribute::{
    AcquireError, FetchOptions, Fetched, FileDigests, Freshness, GeneratorSource, LoadPolicy, PublicKey, RegistryAuth,
    Sha256, Store, TrustedKeys,
};

/// `[plugins]`: where components come from and what they must prove.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PluginsSection {
    pub catalog: Option<PathBuf>,
    pub store: Option<PathBuf>,
    pub freshness: Option<String>,
    pub plain_http_registries: Vec<String>,
    pub ca_file: Option<PathBuf>,
    pub username_env: Option<String>,
    pub password_env: Option<String>,
    pub token_env: Option<String>,
    pub require_signature: Vec<String>,
}

/// A component could not be obtained or was refused.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Load(#[from] AcquireError),
    #[error(transparent)]
    Catalog(#[from] crate::catalog::CatalogError),
    #[error("plugin store {path}: {message}")]
    Store { path: PathBuf, message: String },
}

/// How to fetch, from `[plugins]`.
pub struct Fetcher {
    /// Where `catalog:<name>` plugins are.
    pub catalog: PathBuf,
    pub store: Store,
    pub options: FetchOptions,
    pub trusted: Option<TrustedKeys>,
}

impl Fetcher {
    /// Reads `[plugins]` of `config` (keys, credentials, CA file).
    pub fn new(config: &Config) -> Result<Fetcher, PluginError> {
        let p = &config.plugins;
        let invalid = |field: &str, m: String| config.invalid(&format!("plugins.{field}"), m);
        let dir = match &p.store {
            Some(d) => config.resolve(d),
            None => Store::default_dir().unwrap_or_else(|| std::env::temp_dir().join("wasmpush-plugins")),
        };
        let store = Store::open(&dir).map_err(|e| PluginError::Store { path: dir.clone(), message: e.to_string() })?;
        // Kept with the compiled-component cache: without a cache every file
        // is read anyway, to be compiled.
        let file_digests = config.cache_dir().map(|dir| FileDigests::in_cache(&dir));
        let mut options = FetchOptions {
            plain_http_registries: p.plain_http_registries.clone(),
            file_digests,
            ..FetchOptions::default()
        };
        options.freshness = match p.freshness.as_deref() {
            None | Some("refresh") => Freshness::Refresh,
            Some("prefer-cache") => Freshness::PreferCache,
            Some("offline") => Freshness::Offline,
            Some(other) => {
                return Err(invalid("freshness", format!("{other:?} is not refresh, prefer-cache or offline")).into());
            }
        };
        if let Some(ca) = &p.ca_file {
            let path = config.resolve(ca);
            options
                .extra_roots_pem
                .push(std::fs::read(&path).map_err(|e| invalid("ca_file", format!("{}: {e}", path.display())))?);
        }
        let env = |field: &str, name: &str| {
            std::env::var(name).map_err(|_| invalid(field, format!("environment variable {name} is not set")))
        };
        options.registry_auth = match (&p.username_env, &p.password_env, &p.token_env) {
            (Some(u), Some(pw), None) => RegistryAuth::Basic(env("username_env", u)?, env("password_env", pw)?),
            (None, None, Some(t)) => RegistryAuth::Bearer(env("token_env", t)?),
            (None, None, None) => RegistryAuth::Anonymous,
            _ => {
                return Err(
                    invalid("username_env", "give username_env with password_env, or token_env alone".into()).into()
                );
            }
        };
        let trusted = if p.require_signature.is_empty() {
            None
        } else {
            let mut keys = Vec::new();
            for k in &p.require_signature {
                let key = if k.starts_with("wasmpush-ed25519-public:") {
                    PublicKey::parse(k, "plugins.require_signature")
                } else {
                    PublicKey::read_file(&config.resolve(k.as_ref()))
                };
                keys.push(key.map_err(|e| invalid("require_signature", e.to_string()))?);
            }
            Some(TrustedKeys::new(keys))
        };
        Ok(Fetcher { catalog: config.catalog_dir(), store, options, trusted })
    }

    /// The component `wasm` (as written in `config`), fetched, checked
    /// against `pin` and signature-checked; `field` names it in errors.
    /// A `catalog:` name is pinned by the lock (and must agree with `pin`).
    pub async fn fetch(
        &self,
        config: &Config,
        field: &str,
        wasm: &str,
        mut sha256: Option<Sha256>,
    ) -> Result<Fetched, PluginError> {
        let source = if let Some(name) = crate::catalog::name_of(wasm) {
            let found = crate::catalog::resolve(&self.catalog, name, sha256.as_ref())?;
            sha256 = Some(found.sha256);
            GeneratorSource::Path(found.path)
        } else {
            GeneratorSource::parse(wasm)
                .map_err(|e| config.invalid(field, e.to_string()))?
                .resolve_relative(&config.base_dir)
        };
        let policy = LoadPolicy { sha256, trusted_keys: self.trusted.clone() };
        let fetched = match wasmpush_distribute::acquire(&self.store, &source, &policy, &self.options).await {
            Err(AcquireError::Pin(pin)) if let Some(name) = crate::catalog::name_of(wasm) => {
                return Err(crate::catalog::CatalogError::Changed {
                    name: name.into(),
                    path: source.to_string().into(),
                    actual: pin.actual.hex(),
                    locked: pin.expected.hex(),
                }
                .into());
            }
            other => other?,
        };
        if let Some(resolved) = &fetched.resolved {
            tracing::info!(source = %wasm, resolved = %resolved, sha256 = %fetched.sha256, "fetched generator");
        }
        Ok(fetched)
    }
}
