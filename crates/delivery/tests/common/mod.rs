//! Test helpers: real HTTP/HTTPS receivers on 127.0.0.1 (hyper + rustls),
//! certificates made with rcgen at test time, and small builders.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use wasmpush_delivery::{Outgoing, TargetConfig};

/// One request as the receiver saw it.
#[derive(Clone, Debug)]
pub struct Req {
    pub path: String,
    /// Lower-case names, arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
    pub fn id(&self) -> String {
        self.header("webhook-id").unwrap_or_default().to_owned()
    }
}

/// What the receiver answers.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Reply { status, headers: vec![], body: String::new(), delay: Duration::ZERO }
    }
    pub fn ok() -> Self {
        Reply::status(200)
    }
}

/// Decides the reply from the request and how many requests came before it.
pub type Script = Arc<dyn Fn(&Req, usize) -> Reply + Send + Sync>;

pub fn always(status: u16) -> Script {
    Arc::new(move |_, _| Reply::status(status))
}

/// A running receiver; stops when dropped.
pub struct Server {
    pub addr: SocketAddr,
    pub url: String,
    pub reqs: Arc<Mutex<Vec<Req>>>,
    pub tls_failures: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    pub fn requests(&self) -> Vec<Req> {
        self.reqs.lock().unwrap().clone()
    }
    pub fn count(&self) -> usize {
        self.reqs.lock().unwrap().len()
    }
    /// Waits until at least `n` requests arrived (or panics after `max`).
    pub async fn wait_for(&self, n: usize, max: Duration) -> Vec<Req> {
        let end = Instant::now() + max;
        loop {
            if self.count() >= n {
                return self.requests();
            }
            assert!(Instant::now() < end, "only {} of {n} requests arrived within {max:?}", self.count());
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// Starts a receiver on 127.0.0.1 (HTTPS when `tls` is given).
pub async fn serve(script: Script, tls: Option<Arc<rustls::ServerConfig>>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let reqs: Arc<Mutex<Vec<Req>>> = Arc::default();
    let tls_failures: Arc<AtomicUsize> = Arc::default();
    let (r2, f2) = (reqs.clone(), tls_failures.clone());
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let (reqs, script, fails, acceptor) = (r2.clone(), script.clone(), f2.clone(), acceptor.clone());
            tokio::spawn(async move {
                match acceptor {
                    Some(a) => match a.accept(stream).await {
                        Ok(s) => serve_conn(TokioIo::new(s), reqs, script).await,
                        Err(_) => {
                            fails.fetch_add(1, Ordering::SeqCst);
                        }
                    },
                    None => serve_conn(TokioIo::new(stream), reqs, script).await,
                }
            });
        }
    });
    Server { addr, url: format!("{scheme}://127.0.0.1:{}", addr.port()), reqs, tls_failures, task }
}

async fn serve_conn<I>(io: I, reqs: Arc<Mutex<Vec<Req>>>, script: Script)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let (reqs, script) = (reqs.clone(), script.clone());
        async move {
            let path = req.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default();
            let headers = req
                .headers()
                .iter()
                .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                .collect();
            let body = req.into_body().collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
            let r = Req { path, headers, body, at: Instant::now() };
            let idx = {
                let mut g = reqs.lock().unwrap();
                g.push(r.clone());
                g.len() - 1
            };
            let reply = script(&r, idx);
            if !reply.delay.is_zero() {
                tokio::time::sleep(reply.delay).await;
            }
            let mut resp = hyper::Response::builder().status(reply.status);
            for (n, v) in &reply.headers {
                resp = resp.header(n, v);
            }
            Ok::<_, std::convert::Infallible>(resp.body(Full::new(Bytes::from(reply.body))).unwrap())
        }
    });
    let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, svc).await;
}

/// A 127.0.0.1 port with nothing listening (connection refused).
pub fn closed_port_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

/// Certificates for one test: PEM texts and DER forms.
pub struct CertKey {
    pub cert_pem: String,
    pub key_pem: String,
    pub cert_der: CertificateDer<'static>,
    pub key_der: PrivateKeyDer<'static>,
}

fn certkey(cert: &rcgen::Certificate, key: &rcgen::KeyPair) -> CertKey {
    CertKey {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        cert_der: cert.der().clone(),
        key_der: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    }
}

/// A self-signed server certificate for 127.0.0.1 / localhost.
pub fn self_signed() -> CertKey {
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    certkey(&ck.cert, &ck.signing_key)
}

/// A test CA that signs server and client certificates.
pub struct Ca {
    pub pem: String,
    pub der: CertificateDer<'static>,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl Ca {
    pub fn new() -> Ca {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, "wasmpush test CA");
        params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Ca { pem: cert.pem(), der: cert.der().clone(), issuer: rcgen::Issuer::new(params, key) }
    }

    /// A leaf for 127.0.0.1 (server) or a client-auth leaf.
    pub fn leaf(&self, client: bool) -> CertKey {
        let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        params.distinguished_name.push(rcgen::DnType::CommonName, if client { "client" } else { "server" });
        params.extended_key_usages = vec![if client {
            rcgen::ExtendedKeyUsagePurpose::ClientAuth
        } else {
            rcgen::ExtendedKeyUsagePurpose::ServerAuth
        }];
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        certkey(&cert, &key)
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Server TLS config; with `client_ca`, a client certificate from that CA is required.
pub fn server_tls(server: &CertKey, client_ca: Option<&Ca>) -> Arc<rustls::ServerConfig> {
    let b = rustls::ServerConfig::builder_with_provider(provider()).with_safe_default_protocol_versions().unwrap();
    let b = match client_ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(ca.der.clone()).unwrap();
            let v = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                .build()
                .unwrap();
            b.with_client_cert_verifier(v)
        }
        None => b.with_no_client_auth(),
    };
    Arc::new(b.with_single_cert(vec![server.cert_der.clone()], server.key_der.clone_key()).unwrap())
}

/// A target config with short, deterministic retries.
pub fn fast_target(url: &str) -> TargetConfig {
    let mut t = TargetConfig::new(url);
    t.retry_schedule = Some(vec![wasmpush_delivery::DurationValue(Duration::from_millis(100))]);
    t.retry_jitter = 0.0;
    t.max_attempts = Some(5);
    t.timeout = wasmpush_delivery::DurationValue(Duration::from_secs(5));
    t
}

/// A JSON report for `target`.
pub fn report(target: &str, id: &str, key: &str, body: &str) -> Outgoing {
    Outgoing {
        target: target.to_owned(),
        id: id.to_owned(),
        ordering_key: key.to_owned(),
        generator: "test-gen".to_owned(),
        body: body.as_bytes().to_vec(),
        content_type: "application/json".to_owned(),
        headers: vec![],
        path: None,
        method: Default::default(),
        supersede: None,
        keep: Vec::new(),
        fill: false,
    }
}

/// A reporter table as the host reads it: its own keys (`name`,
/// `generator`) taken out, the rest a [`TargetConfig`].
pub struct HostReporter {
    pub name: String,
    pub generator: String,
    pub push: TargetConfig,
}

pub fn parse_reporter(toml_text: &str) -> Result<HostReporter, toml::de::Error> {
    let mut table: toml::Table = toml::from_str(toml_text)?;
    let mut take = |key: &str| table.remove(key).and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    let (name, generator) = (take("name"), take("generator"));
    Ok(HostReporter { name, generator, push: toml::Value::Table(table).try_into()? })
}
