//! Standard Webhooks headers (<https://www.standardwebhooks.com>):
//! `webhook-id`, `webhook-timestamp` and, with a signing secret,
//! `webhook-signature: v1,<base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))>`.

use std::fmt;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::secrets::Secret;

/// The HMAC key. `Debug` never shows it.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(***)")
    }
}

impl SigningKey {
    /// Standard Webhooks secrets look like `whsec_<base64>`: the key is the
    /// decoded base64. Any other text is used as raw UTF-8 key bytes.
    pub fn from_secret(secret: &Secret) -> Result<Self, String> {
        let s = secret.expose();
        match s.strip_prefix("whsec_") {
            Some(b64) => base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map(SigningKey)
                .map_err(|_| "a `whsec_` secret must be followed by base64".to_owned()),
            None => Ok(SigningKey(s.as_bytes().to_vec())),
        }
    }

    /// The `webhook-signature` header value for this id, timestamp (Unix
    /// seconds) and body.
    pub fn sign(&self, id: &str, timestamp: u64, body: &[u8]) -> String {
        sign(&self.0, id, timestamp, body)
    }
}

/// `v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` with `key`.
pub fn sign(key: &[u8], id: &str, timestamp: u64, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Test vector from the Standard Webhooks reference libraries.
    #[test]
    fn matches_standard_webhooks_vector() {
        let key = SigningKey::from_secret(&Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")).unwrap();
        let sig = key.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, br#"{"test": 2432232314}"#);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
