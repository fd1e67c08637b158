//! Downloading a component (or its signature) over HTTPS.
//!
//! rustls with the `ring` provider; the system's roots plus any PEM bundle
//! given in [`FetchOptions::extra_roots_pem`]; redirects followed only to
//! `https://` URLs (at most 5); the body is read up to
//! [`FetchOptions::max_size`] bytes.

use std::time::Duration;

use reqwest::{StatusCode, Url};

use crate::fetch::{FetchOptions, NetError};
use wasmpush_model::{error_chain, install_crypto_provider};

/// Builds the HTTPS client for `opts`.
pub(crate) fn client(opts: &FetchOptions) -> Result<reqwest::Client, NetError> {
    install_crypto_provider();
    let mut b = reqwest::Client::builder()
        .https_only(true)
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            if attempt.url().scheme() != "https" {
                attempt.error("refusing a redirect to a non-https URL")
            } else if attempt.previous().len() >= 5 {
                attempt.error("too many redirects")
            } else {
                attempt.follow()
            }
        }))
        .connect_timeout(opts.timeout.min(Duration::from_secs(10)))
        .timeout(opts.timeout)
        .user_agent(concat!("wasmpush/", env!("CARGO_PKG_VERSION")));
    for pem in &opts.extra_roots_pem {
        let certs = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| NetError::fatal(format!("extra root certificates: {}", error_chain(&e))))?;
        for c in certs {
            b = b.add_root_certificate(c);
        }
    }
    b.build().map_err(|e| NetError::fatal(error_chain(&e)))
}

/// GETs `url`; `Ok(None)` on 404/410. Transport failures and 5xx are
/// transient (the caller may fall back to its store); other statuses are not.
pub(crate) async fn get(client: &reqwest::Client, url: &Url, max_size: u64) -> Result<Option<Vec<u8>>, NetError> {
    let mut resp = client.get(url.clone()).send().await.map_err(|e| NetError::transient(error_chain(&e)))?;
    let status = resp.status();
    if status == StatusCode::NOT_FOUND || status == StatusCode::GONE {
        return Ok(None);
    }
    if !status.is_success() {
        let reason = format!("HTTP status {status}");
        return Err(if status.is_server_error() { NetError::transient(reason) } else { NetError::fatal(reason) });
    }
    if resp.content_length().is_some_and(|n| n > max_size) {
        return Err(NetError::fatal(format!("larger than the {max_size}-byte limit")));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| NetError::transient(error_chain(&e)))? {
        if body.len() as u64 + chunk.len() as u64 > max_size {
            return Err(NetError::fatal(format!("larger than the {max_size}-byte limit")));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// `<url>.sig`: where an HTTPS component's detached signature is expected.
pub(crate) fn signature_url(url: &Url) -> Url {
    let mut u = url.clone();
    let path = format!("{}.sig", u.path());
    u.set_path(&path);
    u
}
