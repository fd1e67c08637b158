//! Obtaining a generator's bytes from its source, and the checks that must
//! pass before anything compiles them.
//!
//! [`acquire`] is what the host calls: fetch (store first when possible), then
//! the pin, then the signature. [`fetch`] alone does no checks.
//!
//! Offline reuse: every component obtained from the network is written to
//! the [`Store`] under its sha256, and the source text (tag or URL) is
//! indexed to that digest. A pinned component that is in the store is used
//! without any network access; an OCI digest reference is immutable and is
//! served from the store when known; a tag or URL is re-resolved under
//! [`Freshness::Refresh`] but falls back to its last resolution when the
//! server cannot be reached (connection refused, timeout, 5xx).

use std::path::PathBuf;
use std::time::Duration;

use crate::digest::{PinError, Sha256};
use crate::https;
use crate::identity::{FileDigests, digest_file};
use crate::oci;
use crate::sign::{self, KeyId, SignatureError, SignatureSet, TrustedKeys};
use crate::source::GeneratorSource;
use crate::store::{RefEntry, Store, StoreError, now_secs};

pub use oci_client::secrets::RegistryAuth;

/// When to go to the network for a mutable source (a tag or a URL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Freshness {
    /// Ask the server each time; use the store's last resolution only when
    /// the server cannot be reached. The default.
    #[default]
    Refresh,
    /// Use the store's last resolution when there is one; the network only
    /// for sources never fetched.
    PreferCache,
    /// Never touch the network; fail for anything not in the store.
    Offline,
}

/// How to reach servers. `Default` gives: refresh, no plain-HTTP registry,
/// system roots only, anonymous, 256 MiB, 60 s.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// See [`Freshness`].
    pub freshness: Freshness,
    /// Registries (`host:port`, as written in references) spoken to over
    /// plain HTTP instead of HTTPS, e.g. a registry on `127.0.0.1:5000`.
    pub plain_http_registries: Vec<String>,
    /// PEM bundles of extra CA certificates trusted for HTTPS downloads and
    /// registries (e.g. a private CA).
    pub extra_roots_pem: Vec<Vec<u8>>,
    /// Credentials for registries (its `Debug` redacts secrets).
    pub registry_auth: RegistryAuth,
    /// Largest component accepted, in bytes.
    pub max_size: u64,
    /// Limit for one network operation (a download, a registry pull or push).
    pub timeout: Duration,
    /// The identity → digest record of local files (kept next to the host's
    /// compiled-component cache): a local file whose identity is unchanged
    /// since it was last hashed is not read, and its [`Fetched::bytes`] is
    /// empty. `None` (the default): every local file is read.
    pub file_digests: Option<FileDigests>,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            freshness: Freshness::Refresh,
            plain_http_registries: Vec::new(),
            extra_roots_pem: Vec::new(),
            registry_auth: RegistryAuth::Anonymous,
            max_size: 256 * 1024 * 1024,
            timeout: Duration::from_secs(60),
            file_digests: None,
        }
    }
}

/// What the host requires of a generator before compiling it.
#[derive(Debug, Clone, Default)]
pub struct LoadPolicy {
    /// The config's `sha256 = "…"` pin.
    pub sha256: Option<Sha256>,
    /// When set, a valid signature by one of these keys is required.
    pub trusted_keys: Option<TrustedKeys>,
}

/// Where the bytes came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchedFrom {
    /// A local file.
    Local,
    /// Downloaded now (and written to the store).
    Network,
    /// The store, without network access or because the server was unreachable.
    Store,
}

/// A generator's bytes and what identifies them. (Signatures are about
/// content: identical bytes are accepted under any source once a trusted
/// signature for their digest is known.)
#[derive(Clone)]
pub struct Fetched {
    /// The source as configured (its text names the generator in errors).
    pub source: GeneratorSource,
    /// The component. Empty when it was not read: a local file whose
    /// digest came from [`FetchOptions::file_digests`]; [`Fetched::path`]
    /// holds it (see [`Fetched::contents`]).
    pub bytes: Vec<u8>,
    /// sha256 of `bytes`: what runs and what should be logged.
    pub sha256: Sha256,
    /// The file holding these bytes: the local path, or the store's blob.
    pub path: Option<PathBuf>,
    /// For OCI sources, the immutable reference `oci://registry/repo@sha256:<manifest>`.
    pub resolved: Option<String>,
    /// Where the bytes came from.
    pub origin: FetchedFrom,
    /// The trusted key that signed it, when [`acquire`] required a signature.
    pub signed_by: Option<KeyId>,
}

impl Fetched {
    /// The component's bytes: [`Fetched::bytes`], or, when the file was not
    /// read, the file at [`Fetched::path`], which must still hash to
    /// [`Fetched::sha256`].
    pub fn contents(&self) -> Result<std::borrow::Cow<'_, [u8]>, AcquireError> {
        if !self.bytes.is_empty() {
            return Ok(std::borrow::Cow::Borrowed(&self.bytes));
        }
        let label = self.source.to_string();
        let Some(path) = &self.path else {
            return Err(FetchError::Invalid { label, reason: "no bytes and no file".into() }.into());
        };
        let bytes = std::fs::read(path).map_err(|e| FetchError::Read { path: path.clone(), source: e })?;
        let actual = Sha256::of(&bytes);
        if actual != self.sha256 {
            return Err(PinError { label, expected: self.sha256, actual }.into());
        }
        Ok(std::borrow::Cow::Owned(bytes))
    }
}

impl std::fmt::Debug for Fetched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetched")
            .field("source", &self.source.to_string())
            .field("bytes", &format_args!("<{} bytes>", self.bytes.len()))
            .field("sha256", &self.sha256)
            .field("path", &self.path)
            .field("resolved", &self.resolved)
            .field("origin", &self.origin)
            .field("signed_by", &self.signed_by)
            .finish()
    }
}

/// A generator that could not be obtained. Each message names it.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// A local file that cannot be read.
    #[error("generator {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The server could not be reached or failed, and the store has no copy.
    #[error("generator {label}: cannot fetch it ({reason}) and the plugin store has no copy")]
    Unreachable {
        /// The source.
        label: String,
        /// Why.
        reason: String,
    },
    /// The server says it does not exist.
    #[error("generator {label}: not found ({reason})")]
    NotFound {
        /// The source.
        label: String,
        /// What the server said.
        reason: String,
    },
    /// The server answered with something unusable (bad manifest, wrong
    /// digest, too large, refused credentials, ...).
    #[error("generator {label}: {reason}")]
    Invalid {
        /// The source.
        label: String,
        /// Why.
        reason: String,
    },
    /// [`Freshness::Offline`] and the store has no copy.
    #[error("generator {label}: not in the plugin store, and network access is disabled")]
    NotCached {
        /// The source.
        label: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why [`acquire`] refused a generator.
#[derive(Debug, thiserror::Error)]
pub enum AcquireError {
    /// It could not be obtained.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// It does not match its pin.
    #[error(transparent)]
    Pin(#[from] PinError),
    /// Its signature is missing, wrong or untrusted.
    #[error(transparent)]
    Signature(#[from] SignatureError),
}

/// A network failure, classified: transient ones allow falling back to the
/// store's last copy; not-found ones mean the server answered "no such thing".
#[derive(Debug)]
pub(crate) struct NetError {
    pub transient: bool,
    pub not_found: bool,
    pub reason: String,
}

impl NetError {
    pub(crate) fn transient(reason: impl Into<String>) -> Self {
        NetError { transient: true, not_found: false, reason: reason.into() }
    }
    pub(crate) fn fatal(reason: impl Into<String>) -> Self {
        NetError { transient: false, not_found: false, reason: reason.into() }
    }
    pub(crate) fn not_found(reason: impl Into<String>) -> Self {
        NetError { transient: false, not_found: true, reason: reason.into() }
    }
    pub(crate) fn is_not_found(&self) -> bool {
        self.not_found
    }
    pub(crate) fn into_fetch(self, label: &str) -> FetchError {
        if self.transient {
            FetchError::Unreachable { label: label.into(), reason: self.reason }
        } else if self.not_found {
            FetchError::NotFound { label: label.into(), reason: self.reason }
        } else {
            FetchError::Invalid { label: label.into(), reason: self.reason }
        }
    }
}

/// Obtains the generator's bytes without checking pin or signature.
pub async fn fetch(store: &Store, source: &GeneratorSource, opts: &FetchOptions) -> Result<Fetched, FetchError> {
    fetch_inner(store, source, opts, None).await
}

/// Obtains the generator and enforces `policy`: the bytes must match the
/// pin, then carry a valid signature by a trusted key. Nothing is compiled
/// here; the host compiles only what this returns. Both checks use the
/// digest [`fetch`] computed (or, for an unchanged local file, recalled
/// from [`FetchOptions::file_digests`]); nothing is hashed twice.
pub async fn acquire(
    store: &Store,
    source: &GeneratorSource,
    policy: &LoadPolicy,
    opts: &FetchOptions,
) -> Result<Fetched, AcquireError> {
    let mut f = fetch_inner(store, source, opts, policy.sha256.as_ref()).await?;
    let label = source.to_string();
    if let Some(pin) = &policy.sha256
        && pin != &f.sha256
    {
        return Err(PinError { label, expected: *pin, actual: f.sha256 }.into());
    }
    if let Some(trusted) = &policy.trusted_keys {
        let (set, looked_at) = fetch_signatures(store, &f, opts).await?;
        f.signed_by = Some(sign::verify_digest(&label, &f.sha256, set.as_ref(), &looked_at, trusted)?);
    }
    Ok(f)
}

fn from_store(store: &Store, source: &GeneratorSource, digest: &Sha256, bytes: Vec<u8>) -> Result<Fetched, FetchError> {
    let resolved = match source.index_key() {
        Some(k) => store.lookup_ref(&k)?.filter(|e| &e.component == digest).and_then(|e| e.resolved),
        None => None,
    };
    Ok(Fetched {
        source: source.clone(),
        sha256: *digest,
        path: Some(store.blob_path(digest)),
        bytes,
        resolved,
        origin: FetchedFrom::Store,
        signed_by: None,
    })
}

/// The store's copy of what `source` last resolved to, if complete.
fn last_resolution(store: &Store, source: &GeneratorSource) -> Result<Option<Fetched>, FetchError> {
    let Some(key) = source.index_key() else { return Ok(None) };
    let Some(entry) = store.lookup_ref(&key)? else { return Ok(None) };
    match store.get(&entry.component)? {
        Some(bytes) => from_store(store, source, &entry.component, bytes).map(Some),
        None => Ok(None),
    }
}

async fn fetch_inner(
    store: &Store,
    source: &GeneratorSource,
    opts: &FetchOptions,
    pin: Option<&Sha256>,
) -> Result<Fetched, FetchError> {
    let label = source.to_string();
    let remote = match source {
        GeneratorSource::Path(p) => return read_local(source, p, opts),
        GeneratorSource::Https(url) => Remote::Https(url),
        GeneratorSource::Oci(r) => Remote::Oci(r),
    };
    if let Some(pin) = pin
        && let Some(bytes) = store.get(pin)?
    {
        return from_store(store, source, pin, bytes);
    }
    let immutable = matches!(remote, Remote::Oci(r) if r.digest().is_some());
    if (immutable || opts.freshness != Freshness::Refresh)
        && let Some(f) = last_resolution(store, source)?
    {
        return Ok(f);
    }
    if opts.freshness == Freshness::Offline {
        return Err(FetchError::NotCached { label });
    }
    let fetched = match remote {
        Remote::Https(url) => {
            let client = https::client(opts).map_err(|e| e.into_fetch(&label))?;
            let got = tokio::time::timeout(opts.timeout, https::get(&client, url, opts.max_size))
                .await
                .unwrap_or_else(|_| Err(NetError::transient("timed out")));
            match got {
                Ok(Some(bytes)) => Ok((bytes, None)),
                Ok(None) => Err(FetchError::NotFound { label: label.clone(), reason: "HTTP status 404".into() }),
                Err(e) => Err(e.into_fetch(&label)),
            }
        }
        Remote::Oci(r) => oci::pull_component(r, opts).await.map(|p| (p.bytes, Some(p.resolved))),
    };
    match fetched {
        Ok((bytes, resolved)) => {
            let sha256 = store.put(&bytes)?;
            let mut entry = RefEntry {
                source: label.clone(),
                component: sha256,
                resolved: resolved.clone(),
                resolved_at: now_secs(),
            };
            store.record_ref(&entry)?;
            if let Some(by_digest) = &resolved {
                entry.source = by_digest.clone();
                store.record_ref(&entry)?;
            }
            tracing::info!(generator = %label, %sha256, resolved = resolved.as_deref().unwrap_or(""), "fetched generator");
            Ok(Fetched {
                source: source.clone(),
                bytes,
                sha256,
                path: Some(store.blob_path(&sha256)),
                resolved,
                origin: FetchedFrom::Network,
                signed_by: None,
            })
        }
        Err(FetchError::Unreachable { label, reason }) => match last_resolution(store, source)? {
            Some(f) => {
                tracing::warn!(generator = %label, %reason, sha256 = %f.sha256, "source unreachable; using the plugin store's last copy");
                Ok(f)
            }
            None => Err(FetchError::Unreachable { label, reason }),
        },
        Err(e) => Err(e),
    }
}

enum Remote<'a> {
    Https(&'a reqwest::Url),
    Oci(&'a crate::source::OciRef),
}

fn read_local(source: &GeneratorSource, p: &std::path::Path, opts: &FetchOptions) -> Result<Fetched, FetchError> {
    let read_err = |e| FetchError::Read { path: p.to_path_buf(), source: e };
    let meta = std::fs::metadata(p).map_err(read_err)?;
    if meta.len() > opts.max_size {
        return Err(FetchError::Invalid {
            label: source.to_string(),
            reason: format!("larger than the {}-byte limit", opts.max_size),
        });
    }
    let digested = digest_file(p, &meta, opts.file_digests.as_ref()).map_err(read_err)?;
    Ok(Fetched {
        source: source.clone(),
        bytes: digested.bytes.unwrap_or_default(),
        sha256: digested.sha256,
        path: Some(p.to_path_buf()),
        resolved: None,
        origin: FetchedFrom::Local,
        signed_by: None,
    })
}

/// Finds the detached signatures of `f`: `<file>.sig` for a path,
/// `<url>.sig` for HTTPS, the `sha256-<hex>.sig` tag for OCI (network
/// copies are kept in the store for offline use). Returns the set (`None`
/// when there is none) and a description of where it was looked for.
pub async fn fetch_signatures(
    store: &Store,
    f: &Fetched,
    opts: &FetchOptions,
) -> Result<(Option<SignatureSet>, String), FetchError> {
    let label = f.source.to_string();
    let parse = |text: &str| SignatureSet::parse(text, &label);
    let (text, looked_at) = match &f.source {
        GeneratorSource::Path(p) => {
            let sig = sign::signature_path(p);
            let text = match std::fs::read_to_string(&sig) {
                Ok(t) => Some(t),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(FetchError::Read { path: sig, source: e }),
            };
            (text, sig.display().to_string())
        }
        GeneratorSource::Https(url) => {
            let sig_url = https::signature_url(url);
            let looked = sig_url.to_string();
            let remote = async {
                let client = https::client(opts)?;
                tokio::time::timeout(opts.timeout, https::get(&client, &sig_url, 1024 * 1024))
                    .await
                    .unwrap_or_else(|_| Err(NetError::transient("timed out")))
            };
            (remote_or_stored(store, f, opts, remote, &label).await?, looked)
        }
        GeneratorSource::Oci(r) => {
            let tag = oci::signature_tag(&f.sha256);
            let looked = r.with_tag(&tag).to_string();
            let remote =
                async { oci::pull_signature_text(r, &f.sha256, opts).await.map(|o| o.map(String::into_bytes)) };
            (remote_or_stored(store, f, opts, remote, &label).await?, looked)
        }
    };
    let set = match text {
        Some(t) => Some(parse(&t).map_err(|e| FetchError::Invalid { label: label.clone(), reason: e.to_string() })?),
        None => None,
    };
    Ok((set, looked_at))
}

/// The signature text from the network (cached in the store), or the
/// store's copy when offline, preferring the cache, or unreachable.
async fn remote_or_stored(
    store: &Store,
    f: &Fetched,
    opts: &FetchOptions,
    remote: impl std::future::Future<Output = Result<Option<Vec<u8>>, NetError>>,
    label: &str,
) -> Result<Option<String>, FetchError> {
    let stored = store.get_signature(&f.sha256)?;
    if stored.is_some() && (opts.freshness != Freshness::Refresh || f.origin == FetchedFrom::Store) {
        return Ok(stored);
    }
    if opts.freshness == Freshness::Offline {
        return Ok(stored);
    }
    match remote.await {
        Ok(Some(bytes)) => {
            let text = String::from_utf8(bytes).map_err(|_| FetchError::Invalid {
                label: label.into(),
                reason: "the signature file is not UTF-8 text".into(),
            })?;
            store.put_signature(&f.sha256, &text)?;
            Ok(Some(text))
        }
        Ok(None) => Ok(None),
        Err(e) if e.transient && stored.is_some() => Ok(stored),
        Err(e) => Err(e.into_fetch(label)),
    }
}
