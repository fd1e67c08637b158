//! Publishing and trusting generators: `push`, `pull`, `keygen`, `sign`,
//! `verify`, `inspect` and `stamp` (see `wasmpush_distribute` for formats).

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use wasmpush_distribute::{
    FetchOptions, GeneratorSource, LoadPolicy, Metadata, OciRef, PublicKey, SecretKey, Store, TrustedKeys,
    embed_metadata, inspect,
};

/// Options shared by the commands that reach a registry or the store.
#[derive(Debug, clap::Args)]
pub struct Net {
    /// A registry (`host:port`) spoken to over plain HTTP, e.g. one on loopback.
    #[arg(long = "plain-http", value_name = "HOST:PORT")]
    plain_http: Vec<String>,
    /// The plugin store (default ~/.cache/wasmpush/plugins).
    #[arg(long)]
    store: Option<PathBuf>,
}

impl Net {
    fn options(&self) -> FetchOptions {
        FetchOptions { plain_http_registries: self.plain_http.clone(), ..FetchOptions::default() }
    }
    fn store(&self) -> anyhow::Result<Store> {
        let dir = self.store.clone().or_else(Store::default_dir).context("no plugin store folder: pass --store")?;
        Store::open(&dir).with_context(|| format!("plugin store {}", dir.display()))
    }
}

fn oci(text: &str) -> anyhow::Result<OciRef> {
    match GeneratorSource::parse(text)? {
        GeneratorSource::Oci(r) => Ok(r),
        _ => bail!("{text:?} is not an oci:// reference"),
    }
}

fn block_on<F: std::future::Future>(f: F) -> anyhow::Result<F::Output> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(f))
}

#[derive(Debug, clap::Args)]
pub struct PublishArgs {
    /// The component to publish.
    file: PathBuf,
    /// Where: `oci://registry/repo:tag`.
    reference: String,
    #[command(flatten)]
    net: Net,
}

pub fn publish(a: PublishArgs) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?;
    let target = oci(&a.reference)?;
    let store = a.net.store()?;
    let pushed = block_on(wasmpush_distribute::publish(Some(&store), &bytes, &target, &a.net.options()))??;
    println!("pushed {}", pushed.by_digest);
    println!("sha256 = \"{}\"", pushed.component.hex());
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, clap::Args)]
pub struct PullArgs {
    /// `oci://registry/repo:tag` or `@sha256:…`.
    reference: String,
    /// Also write the component to this file.
    #[arg(short, long)]
    output: Option<PathBuf>,
    #[command(flatten)]
    net: Net,
}

pub fn pull(a: PullArgs) -> anyhow::Result<ExitCode> {
    let r = oci(&a.reference)?;
    let fetched = block_on(wasmpush_distribute::pull(&a.net.store()?, &r, &a.net.options()))??;
    if let Some(out) = &a.output {
        std::fs::write(out, &fetched.bytes).with_context(|| format!("cannot write {}", out.display()))?;
    }
    println!("pulled {}", fetched.resolved.as_deref().unwrap_or(&a.reference));
    println!("sha256 = \"{}\"", fetched.sha256.hex());
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Writes NAME.secret (mode 0600) and NAME.pub.
    name: PathBuf,
}

pub fn keygen(a: KeygenArgs) -> anyhow::Result<ExitCode> {
    let secret = SecretKey::generate()?;
    let (sec, public) = (a.name.with_extension("secret"), a.name.with_extension("pub"));
    secret.write_file(&sec)?;
    secret.public_key().write_file(&public)?;
    println!("secret key {} (keep it private)", sec.display());
    println!("public key {} id {}: {}", public.display(), secret.public_key().key_id(), secret.public_key().to_text());
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, clap::Args)]
pub struct SignArgs {
    /// A component file (signature written to FILE.sig) or an oci:// reference
    /// (signature pushed beside it).
    target: String,
    /// The secret key file (from `wasmpush keygen`).
    #[arg(long)]
    key: PathBuf,
    #[command(flatten)]
    net: Net,
}

pub fn sign(a: SignArgs) -> anyhow::Result<ExitCode> {
    let key = SecretKey::read_file(&a.key)?;
    if a.target.starts_with("oci://") {
        let sig =
            block_on(wasmpush_distribute::sign_remote(&a.net.store()?, &oci(&a.target)?, &key, &a.net.options()))??;
        println!("signed {} by key {}", a.target, sig.key_id);
    } else {
        let path = wasmpush_distribute::sign_file(Path::new(&a.target), &key)?;
        println!("signed {} by key {} -> {}", a.target, key.public_key().key_id(), path.display());
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// A component file, `https://` URL or `oci://` reference.
    target: String,
    /// Trusted public key file(s) or inline `wasmpush-ed25519-public:…` keys.
    #[arg(long = "key", required = true)]
    keys: Vec<String>,
    #[command(flatten)]
    net: Net,
}

pub fn verify(a: VerifyArgs) -> anyhow::Result<ExitCode> {
    let mut keys = Vec::new();
    for k in &a.keys {
        keys.push(if k.starts_with("wasmpush-ed25519-public:") {
            PublicKey::parse(k, "--key")?
        } else {
            PublicKey::read_file(Path::new(k))?
        });
    }
    let policy = LoadPolicy { sha256: None, trusted_keys: Some(TrustedKeys::new(keys)) };
    let source = GeneratorSource::parse(&a.target)?;
    let fetched = block_on(wasmpush_distribute::acquire(&a.net.store()?, &source, &policy, &a.net.options()))??;
    let signer = fetched.signed_by.map(|k| k.to_string()).unwrap_or_default();
    println!("{} sha256:{} is signed by trusted key {signer}", a.target, fetched.sha256.hex());
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// A component file, `https://` URL, `oci://` reference or `catalog:<name>`.
    target: String,
    #[command(flatten)]
    net: Net,
}

pub fn inspect_cmd(a: InspectArgs) -> anyhow::Result<ExitCode> {
    if let Some(name) = wasmpush::catalog::name_of(&a.target) {
        return inspect_catalog(name);
    }
    let source = GeneratorSource::parse(&a.target)?;
    let fetched = block_on(wasmpush_distribute::fetch(&a.net.store()?, &source, &a.net.options()))??;
    let i = inspect(&fetched.bytes)?;
    println!("source      {}", fetched.resolved.as_deref().unwrap_or(&a.target));
    println!("sha256      {}", i.sha256.hex());
    println!("size        {} bytes", i.size);
    println!("metadata    {}", serde_json::to_string(&i.metadata)?);
    println!(
        "stamped     {}",
        if i.has_wasmpush_section { "yes (wasmpush:metadata section)" } else { "no (run `wasmpush stamp`)" }
    );
    println!(
        "generator   {}",
        if i.exports_generator_world() {
            "exports describe and generate"
        } else {
            "does NOT export the generator world"
        }
    );
    println!("imports     {}", i.imports.join(", "));
    println!("exports     {}", i.exports.join(", "));
    Ok(ExitCode::SUCCESS)
}

/// `inspect catalog:<name>`: the file of this build's catalog, checked
/// against the lock like `run` checks it, then the plugin's manifest.
fn inspect_catalog(name: &str) -> anyhow::Result<ExitCode> {
    use wasmpush::catalog;
    let dir = catalog::dir(None);
    let found = catalog::resolve(&dir, name, None)?;
    let bytes = std::fs::read(&found.path).with_context(|| format!("cannot read {}", found.path.display()))?;
    let i = inspect(&bytes)?;
    if i.sha256 != found.sha256 {
        return Err(catalog::CatalogError::Changed {
            name: name.into(),
            path: found.path,
            actual: i.sha256.hex(),
            locked: found.sha256.hex(),
        }
        .into());
    }
    println!("source      {}", found.path.display());
    println!("sha256      {} (matches the catalog lock)", i.sha256.hex());
    println!("size        {} bytes", i.size);
    print!("{}", catalog::manifest(&dir, name)?);
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, clap::Args)]
pub struct StampArgs {
    /// The component; its describe() is run once, in the sandbox.
    file: PathBuf,
    /// Where to write the stamped component (default: in place).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// An author to record (repeatable).
    #[arg(long = "author")]
    authors: Vec<String>,
}

/// Records the generator's own description in a `wasmpush:metadata`
/// section, so `inspect` (and registries) can show it without running it.
pub fn stamp(a: StampArgs) -> anyhow::Result<ExitCode> {
    let runtime =
        wasmpush::runtime::Runtime::new(&wasmpush::runtime::RuntimeOptions { cache_dir: None, ..Default::default() })?;
    let g = runtime.load(&a.file, None, wasmpush::runtime::Limits::default())?;
    let info = g.info();
    let bytes = std::fs::read(&a.file)?;
    let mut meta = inspect(&bytes)?.metadata;
    meta = Metadata {
        name: Some(info.name.clone()),
        version: Some(info.version.clone()),
        description: Some(info.description.clone()).filter(|d| !d.is_empty()),
        authors: if a.authors.is_empty() { meta.authors } else { a.authors.clone() },
        events: info.events.iter().map(|k| k.as_str().to_string()).collect(),
        ..meta
    };
    let stamped = embed_metadata(&bytes, &meta)?;
    let out = a.output.unwrap_or(a.file);
    std::fs::write(&out, &stamped).with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "stamped {} ({} {}); sha256 = \"{}\"",
        out.display(),
        info.name,
        info.version,
        inspect(&stamped)?.sha256.hex()
    );
    Ok(ExitCode::SUCCESS)
}
