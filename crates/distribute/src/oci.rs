//! Components and signatures in an OCI registry, through `oci-client`.
//!
//! # Component artifact (the Wasm OCI artifact convention of Spin, wasmCloud, Istio)
//!
//! An OCI image manifest (`application/vnd.oci.image.manifest.v1+json`) with
//! - config: media type `application/vnd.wasm.config.v0+json`, content
//!   `{"architecture":"wasm","os":"wasip2","layerDigests":["sha256:…"],
//!   "component":{"exports":[…],"imports":[…]}}`;
//! - exactly one layer: media type `application/wasm`, the component bytes
//!   (so the layer digest is the component's sha256, the value a pin names);
//! - annotations `org.opencontainers.image.{title,version,description,authors}`
//!   from the component's metadata when it has some.
//!
//! No timestamp is written, so pushing the same file twice gives the same
//! manifest digest. Pulling also accepts the older layer type
//! `application/vnd.wasm.content.layer.v1+wasm` and config `…v1+json`.
//!
//! # Signature artifact
//!
//! In the same repository, tag `sha256-<component hex>.sig` (cosign's naming,
//! keyed by the component digest rather than the manifest's, so one set
//! follows the component across tags): a manifest with `artifactType`
//! `application/vnd.wasmpush.signature.v1`, the empty config
//! (`application/vnd.oci.empty.v1+json`, `{}`), and one layer of media type
//! `application/vnd.wasmpush.signature.v1+text` holding the signature set
//! (sign.rs format). Pushing a signature merges it into the existing set.

use std::collections::BTreeMap;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::manifest::{OCI_IMAGE_MEDIA_TYPE, OciDescriptor, OciImageManifest};
use oci_client::{Client, Reference, RegistryOperation};

use crate::digest::Sha256;
use crate::fetch::{FetchError, FetchOptions, Fetched, Freshness, NetError};
use crate::metadata;
use crate::sign::{SecretKey, Signature, SignatureSet};
use crate::source::{GeneratorSource, OciRef};
use crate::store::{RefEntry, Store, now_secs};
use wasmpush_model::error_chain;

/// Config media type of a Wasm component artifact.
pub const WASM_CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
/// Layer media type of a Wasm component.
pub const WASM_LAYER_MEDIA_TYPE: &str = "application/wasm";
const LEGACY_WASM_LAYER: &str = "application/vnd.wasm.content.layer.v1+wasm";
const LEGACY_WASM_CONFIG: &str = "application/vnd.wasm.config.v1+json";
/// `artifactType` of a wasmpush signature artifact.
pub const SIGNATURE_ARTIFACT_TYPE: &str = "application/vnd.wasmpush.signature.v1";
/// Layer media type holding a signature set.
pub const SIGNATURE_LAYER_MEDIA_TYPE: &str = "application/vnd.wasmpush.signature.v1+text";
const EMPTY_CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";

/// The result of [`publish`] (an OCI upload; in this codebase "push" means HTTP delivery).
#[derive(Debug, Clone)]
pub struct Published {
    /// The immutable reference `oci://registry/repo@sha256:<manifest>`.
    pub by_digest: OciRef,
    /// The manifest digest.
    pub manifest: Sha256,
    /// The component digest (its layer).
    pub component: Sha256,
}

pub(crate) struct PulledComponent {
    pub bytes: Vec<u8>,
    pub resolved: String,
}

/// The tag holding the signature set of component `component`.
pub fn signature_tag(component: &Sha256) -> String {
    format!("sha256-{}.sig", component.hex())
}

fn client(opts: &FetchOptions) -> Result<Client, NetError> {
    wasmpush_model::install_crypto_provider();
    let protocol = if opts.plain_http_registries.is_empty() {
        ClientProtocol::Https
    } else {
        ClientProtocol::HttpsExcept(opts.plain_http_registries.clone())
    };
    let extra_root_certificates = opts
        .extra_roots_pem
        .iter()
        .map(|pem| oci_client::client::Certificate {
            encoding: oci_client::client::CertificateEncoding::Pem,
            data: pem.clone(),
        })
        .collect();
    let config = ClientConfig {
        protocol,
        extra_root_certificates,
        platform_resolver: None,
        read_timeout: Some(opts.timeout),
        connect_timeout: Some(opts.timeout.min(std::time::Duration::from_secs(10))),
        user_agent: concat!("wasmpush/", env!("CARGO_PKG_VERSION")),
        use_monolithic_push: true,
        ..ClientConfig::default()
    };
    Client::try_from(config).map_err(|e| NetError::fatal(error_chain(&e)))
}

fn classify(e: OciDistributionError) -> NetError {
    let reason = error_chain(&e);
    match &e {
        OciDistributionError::RequestError(_) | OciDistributionError::IoError(_) => NetError::transient(reason),
        OciDistributionError::ServerError { code, .. } if *code >= 500 => NetError::transient(reason),
        OciDistributionError::ServerError { code: 404, .. } | OciDistributionError::ImageManifestNotFoundError(_) => {
            NetError::not_found(reason)
        }
        OciDistributionError::RegistryError { envelope, .. }
            if envelope.errors.iter().any(|x| {
                matches!(
                    x.code,
                    OciErrorCode::ManifestUnknown
                        | OciErrorCode::NameUnknown
                        | OciErrorCode::BlobUnknown
                        | OciErrorCode::NotFound
                )
            }) =>
        {
            NetError::not_found(reason)
        }
        OciDistributionError::DigestError(_) => {
            NetError::fatal(format!("the registry served content that does not match its digest: {reason}"))
        }
        _ => NetError::fatal(reason),
    }
}

/// Runs `fut` under the options' time limit.
async fn timed<T>(opts: &FetchOptions, fut: impl Future<Output = Result<T, NetError>>) -> Result<T, NetError> {
    tokio::time::timeout(opts.timeout, fut).await.unwrap_or_else(|_| Err(NetError::transient("timed out")))
}

/// Pulls and checks a manifest: its bytes must hash to the digest asked for
/// (when the reference has one). Returns it with its digest.
async fn pull_manifest(c: &Client, r: &Reference, opts: &FetchOptions) -> Result<(OciImageManifest, Sha256), NetError> {
    let (raw, _) = c.pull_manifest_raw(r, &opts.registry_auth, &[OCI_IMAGE_MEDIA_TYPE]).await.map_err(classify)?;
    let digest = Sha256::of(&raw);
    if let Some(want) = r.digest()
        && Sha256::parse(want).ok() != Some(digest)
    {
        return Err(NetError::fatal(format!("the registry returned manifest {digest} for {want}")));
    }
    let manifest: OciImageManifest =
        serde_json::from_slice(&raw).map_err(|e| NetError::fatal(format!("unreadable manifest: {e}")))?;
    Ok((manifest, digest))
}

async fn pull_blob(c: &Client, r: &Reference, d: &OciDescriptor, max: u64) -> Result<Vec<u8>, NetError> {
    if d.size < 0 || d.size as u64 > max {
        return Err(NetError::fatal(format!("layer of {} bytes exceeds the {max}-byte limit", d.size)));
    }
    let want = Sha256::parse(&d.digest).map_err(|e| NetError::fatal(e.to_string()))?;
    let mut out = Vec::with_capacity(d.size as usize);
    c.pull_blob(r, d, &mut out).await.map_err(classify)?;
    let got = Sha256::of(&out);
    if got != want {
        return Err(NetError::fatal(format!(
            "the registry served content that does not match its digest: expected {want}, got {got}"
        )));
    }
    Ok(out)
}

/// Resolves `r` and downloads its component layer.
pub(crate) async fn pull_component(r: &OciRef, opts: &FetchOptions) -> Result<PulledComponent, FetchError> {
    let label = r.to_string();
    let work = async {
        let c = client(opts)?;
        let (manifest, digest) = pull_manifest(&c, r.reference(), opts).await?;
        if ![WASM_CONFIG_MEDIA_TYPE, LEGACY_WASM_CONFIG].contains(&manifest.config.media_type.as_str()) {
            return Err(NetError::fatal(format!(
                "not a Wasm component artifact (config media type {:?}, expected {WASM_CONFIG_MEDIA_TYPE})",
                manifest.config.media_type
            )));
        }
        let layers: Vec<&OciDescriptor> = manifest
            .layers
            .iter()
            .filter(|l| l.media_type == WASM_LAYER_MEDIA_TYPE || l.media_type == LEGACY_WASM_LAYER)
            .collect();
        let [layer] = layers[..] else {
            return Err(NetError::fatal(format!(
                "expected exactly one {WASM_LAYER_MEDIA_TYPE} layer, found {}",
                layers.len()
            )));
        };
        let by_digest = r.with_digest(&digest);
        let bytes = pull_blob(&c, by_digest.reference(), layer, opts.max_size).await?;
        Ok(PulledComponent { bytes, resolved: by_digest.to_string() })
    };
    timed(opts, work).await.map_err(|e| e.into_fetch(&label))
}

/// The signature set text stored for `component` beside `r`, if any.
pub(crate) async fn pull_signature_text(
    r: &OciRef,
    component: &Sha256,
    opts: &FetchOptions,
) -> Result<Option<String>, NetError> {
    let sig_ref = r.with_tag(&signature_tag(component));
    let work = async {
        let c = client(opts)?;
        let manifest = match pull_manifest(&c, sig_ref.reference(), opts).await {
            Ok((m, _)) => m,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        let layer = manifest
            .layers
            .iter()
            .find(|l| l.media_type == SIGNATURE_LAYER_MEDIA_TYPE)
            .ok_or_else(|| NetError::fatal(format!("{sig_ref} has no {SIGNATURE_LAYER_MEDIA_TYPE} layer")))?;
        let bytes = pull_blob(&c, sig_ref.reference(), layer, 1024 * 1024).await?;
        String::from_utf8(bytes).map(Some).map_err(|_| NetError::fatal("the signature set is not UTF-8"))
    };
    timed(opts, work).await
}

fn descriptor(media_type: &str, bytes: &[u8], annotations: Option<BTreeMap<String, String>>) -> OciDescriptor {
    OciDescriptor {
        media_type: media_type.into(),
        digest: Sha256::of(bytes).to_string(),
        size: bytes.len() as i64,
        urls: None,
        annotations,
        artifact_type: None,
    }
}

/// Uploads blobs then the manifest (serialised here, so its digest is known
/// exactly); returns the manifest digest.
async fn publish_artifact(
    c: &Client,
    target: &Reference,
    blobs: &[&[u8]],
    manifest: &OciImageManifest,
    opts: &FetchOptions,
) -> Result<Sha256, NetError> {
    c.auth(target, &opts.registry_auth, RegistryOperation::Push).await.map_err(classify)?;
    for blob in blobs {
        let digest = Sha256::of(blob).to_string();
        if !c.blob_exists(target, &digest).await.map_err(classify)? {
            c.push_blob(target, blob.to_vec(), &digest).await.map_err(classify)?;
        }
    }
    let raw = serde_json::to_vec(manifest).map_err(|e| NetError::fatal(e.to_string()))?;
    let content_type = reqwest::header::HeaderValue::from_static(OCI_IMAGE_MEDIA_TYPE);
    c.push_manifest_raw(target, raw.clone(), content_type).await.map_err(classify)?;
    Ok(Sha256::of(&raw))
}

/// Uploads `bytes` (a component) to `target` as a Wasm artifact; also keeps
/// it in `store`, indexed under the target, when given. Refuses anything
/// that is not a component.
pub async fn publish(
    store: Option<&Store>,
    bytes: &[u8],
    target: &OciRef,
    opts: &FetchOptions,
) -> Result<Published, FetchError> {
    let label = target.to_string();
    let info = metadata::inspect(bytes)
        .map_err(|e| FetchError::Invalid { label: label.clone(), reason: format!("refusing to push: {e}") })?;
    let component = info.sha256;
    let config = serde_json::json!({
        "architecture": "wasm",
        "os": "wasip2",
        "layerDigests": [component.to_string()],
        "component": { "exports": info.exports, "imports": info.imports },
    });
    let config =
        serde_json::to_vec(&config).map_err(|e| FetchError::Invalid { label: label.clone(), reason: e.to_string() })?;
    let mut ann = BTreeMap::new();
    let m = &info.metadata;
    for (k, v) in [
        ("org.opencontainers.image.title", m.name.clone()),
        ("org.opencontainers.image.version", m.version.clone()),
        ("org.opencontainers.image.description", m.description.clone()),
        ("org.opencontainers.image.authors", (!m.authors.is_empty()).then(|| m.authors.join(", "))),
    ] {
        if let Some(v) = v {
            ann.insert(k.to_string(), v);
        }
    }
    let manifest = OciImageManifest {
        schema_version: 2,
        media_type: Some(OCI_IMAGE_MEDIA_TYPE.into()),
        config: descriptor(WASM_CONFIG_MEDIA_TYPE, &config, None),
        layers: vec![descriptor(WASM_LAYER_MEDIA_TYPE, bytes, None)],
        subject: None,
        artifact_type: None,
        annotations: (!ann.is_empty()).then_some(ann),
    };
    let work = async {
        let c = client(opts)?;
        publish_artifact(&c, target.reference(), &[bytes, &config], &manifest, opts).await
    };
    let manifest_digest = timed(opts, work).await.map_err(|e| e.into_fetch(&label))?;
    let by_digest = target.with_digest(&manifest_digest);
    if let Some(store) = store {
        store.put(bytes)?;
        let mut entry = RefEntry {
            source: label.clone(),
            component,
            resolved: Some(by_digest.to_string()),
            resolved_at: now_secs(),
        };
        store.record_ref(&entry)?;
        entry.source = by_digest.to_string();
        store.record_ref(&entry)?;
    }
    tracing::info!(target = %label, manifest = %manifest_digest, %component, "pushed generator");
    Ok(Published { by_digest, manifest: manifest_digest, component })
}

/// Pulls `r` from the registry now (re-resolving a tag), storing the
/// component; the CLI's `wasmpush pull`.
pub async fn pull(store: &Store, r: &OciRef, opts: &FetchOptions) -> Result<Fetched, FetchError> {
    let opts = FetchOptions { freshness: Freshness::Refresh, ..opts.clone() };
    crate::fetch::fetch(store, &GeneratorSource::Oci(r.clone()), &opts).await
}

/// Adds `sig` to the signature set of its component in `target`'s
/// repository (creating the set if needed) and returns the merged set.
pub async fn publish_signature(
    target: &OciRef,
    sig: Signature,
    opts: &FetchOptions,
) -> Result<SignatureSet, FetchError> {
    let label = target.to_string();
    let invalid = |reason: String| FetchError::Invalid { label: label.clone(), reason };
    let component = sig.digest;
    let mut set = match pull_signature_text(target, &component, opts).await.map_err(|e| e.into_fetch(&label))? {
        Some(text) => SignatureSet::parse(&text, &label).map_err(|e| invalid(e.to_string()))?,
        None => SignatureSet::new(),
    };
    set.add(sig);
    let text = set.to_text().into_bytes();
    let empty = b"{}".to_vec();
    let mut ann = BTreeMap::new();
    ann.insert("dev.wasmpush.signed-component".to_string(), component.to_string());
    let manifest = OciImageManifest {
        schema_version: 2,
        media_type: Some(OCI_IMAGE_MEDIA_TYPE.into()),
        config: descriptor(EMPTY_CONFIG_MEDIA_TYPE, &empty, None),
        layers: vec![descriptor(SIGNATURE_LAYER_MEDIA_TYPE, &text, None)],
        subject: None,
        artifact_type: Some(SIGNATURE_ARTIFACT_TYPE.into()),
        annotations: Some(ann),
    };
    let sig_ref = target.with_tag(&signature_tag(&component));
    let work = async {
        let c = client(opts)?;
        publish_artifact(&c, sig_ref.reference(), &[&text, &empty], &manifest, opts).await
    };
    timed(opts, work).await.map_err(|e| e.into_fetch(&label))?;
    Ok(set)
}

/// `wasmpush sign oci://…`: pulls `r` (storing it), signs its component
/// digest with `key` and pushes the signature beside it.
pub async fn sign_remote(
    store: &Store,
    r: &OciRef,
    key: &SecretKey,
    opts: &FetchOptions,
) -> Result<Signature, FetchError> {
    let fetched = pull(store, r, opts).await?;
    let sig = key.sign(&fetched.sha256);
    let set = publish_signature(r, sig.clone(), opts).await?;
    store.put_signature(&fetched.sha256, &set.to_text())?;
    Ok(sig)
}
