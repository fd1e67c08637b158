//! Certificates made at test time with rcgen, and the rustls server
//! configuration to serve them with [`crate::serve`].

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A certificate and its key: PEM texts (to write to files a config names)
/// and DER forms (for rustls).
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

const NAMES: [&str; 2] = ["127.0.0.1", "localhost"];

/// A self-signed server certificate for 127.0.0.1 and localhost (trusted
/// by nobody unless its PEM is added as a root).
pub fn self_signed() -> CertKey {
    let ck = rcgen::generate_simple_self_signed(NAMES.map(str::to_owned).to_vec()).expect("rcgen self-signed");
    certkey(&ck.cert, &ck.signing_key)
}

/// A test CA that signs server and client certificates.
pub struct Ca {
    pub pem: String,
    pub der: CertificateDer<'static>,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl Default for Ca {
    fn default() -> Self {
        Ca::new()
    }
}

impl Ca {
    pub fn new() -> Ca {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, "wasmpush test CA");
        params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
        let key = rcgen::KeyPair::generate().expect("CA key");
        let cert = params.self_signed(&key).expect("CA certificate");
        Ca { pem: cert.pem(), der: cert.der().clone(), issuer: rcgen::Issuer::new(params, key) }
    }

    /// A leaf for 127.0.0.1 and localhost: a server certificate, or with
    /// `client` a client-auth one.
    pub fn leaf(&self, client: bool) -> CertKey {
        let mut params = rcgen::CertificateParams::new(NAMES.map(str::to_owned).to_vec()).expect("leaf params");
        params.distinguished_name.push(rcgen::DnType::CommonName, if client { "client" } else { "server" });
        params.extended_key_usages = vec![if client {
            rcgen::ExtendedKeyUsagePurpose::ClientAuth
        } else {
            rcgen::ExtendedKeyUsagePurpose::ServerAuth
        }];
        let key = rcgen::KeyPair::generate().expect("leaf key");
        let cert = params.signed_by(&key, &self.issuer).expect("leaf certificate");
        certkey(&cert, &key)
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Server TLS config for [`crate::serve`]; with `client_ca`, a client
/// certificate from that CA is required.
pub fn server_tls(server: &CertKey, client_ca: Option<&Ca>) -> Arc<rustls::ServerConfig> {
    let b = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("rustls protocol versions");
    let b = match client_ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(ca.der.clone()).expect("CA as a root");
            let v = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                .build()
                .expect("client verifier");
            b.with_client_cert_verifier(v)
        }
        None => b.with_no_client_auth(),
    };
    Arc::new(b.with_single_cert(vec![server.cert_der.clone()], server.key_der.clone_key()).expect("server certificate"))
}
