//! Secrets: where they come from, and how they are kept out of logs.
//!
//! A secret is read from an environment variable or a file
//! ([`crate::config`]'s `read_secret`) when a target is
//! resolved (never at config parse time), and every resolved secret value is
//! registered with the target's [`Redactor`]. Anything that may be logged or
//! stored as an error message (URLs, headers, bodies, `reqwest` errors) goes
//! through [`Redactor::redact`] first, which replaces each occurrence of a
//! secret with `***`.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, RwLock};

use base64::Engine as _;

/// What a redacted secret is replaced with in logs and stored errors.
pub const REDACTED: &str = "***";

pub use wasmpush_model::secret::Secret;

/// Replaces every known secret value with `***` in text that may be logged.
///
/// Each secret is found in its plain form and in every URL-encoded form
/// (any of its bytes written `%XX`, upper- or lower-case hex, a space
/// written `+`), so a secret sent in a query string is hidden in a logged
/// URL or a `reqwest` error however the URL was encoded. Its standard base64
/// form is registered too.
///
/// Cheap to clone (shared lists). Longer secrets are replaced first so that
/// a secret containing another one is fully hidden. Secrets obtained at run
/// time (access tokens) are added with [`Redactor::add`]; every clone sees
/// them.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Arc<Vec<String>>,
    /// Added at run time, newest last, at most [`MAX_RUNTIME_SECRETS`].
    runtime: Arc<RwLock<Vec<String>>>,
}

/// How many run-time secrets (with their base64 forms) a redactor keeps:
/// older access tokens have expired long before they would be dropped.
const MAX_RUNTIME_SECRETS: usize = 256;

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let runtime = self.runtime.read().map_or(0, |v| v.len());
        write!(f, "Redactor({} secrets, {runtime} added at run time)", self.secrets.len())
    }
}

/// A secret and the forms of it that are hidden too (its standard base64).
fn with_derived_forms(secrets: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = secrets.into_iter().filter(|s| !s.is_empty()).collect();
    // Also hide the standard base64 form of each secret (e.g. a token
    // that ends up inside a basic-auth header built by someone else).
    let b64: Vec<String> = v
        .iter()
        .filter(|s| s.len() >= 4)
        .map(|s| base64::engine::general_purpose::STANDARD.encode(s.as_bytes()))
        .collect();
    v.extend(b64);
    v
}

fn longest_first(mut v: Vec<String>) -> Vec<String> {
    v.sort_by_key(|s| std::cmp::Reverse(s.len()));
    v.dedup();
    v
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The end of the longest match of `secret` in `text` starting at `start`,
/// each secret byte written as itself, as `%XX` (any case) or, for a space,
/// as `+`. Every way of reading the text is followed (a literal `%` in the
/// secret may be written `%` or `%25`), so no encoder's choice escapes it.
fn encoded_match_end(text: &[u8], start: usize, secret: &[u8]) -> Option<usize> {
    let mut ends = vec![start];
    for &want in secret {
        let mut next = Vec::with_capacity(ends.len() + 1);
        for &k in &ends {
            let Some(&c) = text.get(k) else { continue };
            if c == want || (c == b'+' && want == b' ') {
                next.push(k + 1);
            }
            if c == b'%'
                && let (Some(h), Some(l)) =
                    (text.get(k + 1).copied().and_then(hex_value), text.get(k + 2).copied().and_then(hex_value))
                && h * 16 + l == want
            {
                next.push(k + 3);
            }
        }
        next.sort_unstable();
        next.dedup();
        if next.is_empty() {
            return None;
        }
        ends = next;
    }
    ends.last().copied()
}

/// `text` with every match of `secret` (plain or URL-encoded) replaced.
fn replace_encoded(text: &str, secret: &str) -> String {
    let (t, s) = (text.as_bytes(), secret.as_bytes());
    let Some(&first) = s.first() else { return text.to_owned() };
    let mut out = Vec::with_capacity(t.len());
    let mut i = 0;
    while i < t.len() {
        let c = t[i];
        let may_start = c == first || c == b'%' || (c == b'+' && first == b' ');
        match may_start.then(|| encoded_match_end(t, i, s)).flatten() {
            Some(end) => {
                out.extend_from_slice(REDACTED.as_bytes());
                i = end;
            }
            None => {
                out.push(c);
                i += 1;
            }
        }
    }
    // A match starts at `%`, `+` or the secret's first (lead) byte and ends
    // after its last byte, so it never splits a character of valid text.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Whether `secret` occurs in `text`, plain or URL-encoded.
fn contains_encoded(text: &str, secret: &str) -> bool {
    if text.contains(secret) {
        return true;
    }
    if !text.contains(['%', '+']) {
        return false;
    }
    let (t, s) = (text.as_bytes(), secret.as_bytes());
    let Some(&first) = s.first() else { return false };
    (0..t.len()).any(|i| {
        let c = t[i];
        (c == first || c == b'%' || (c == b'+' && first == b' ')) && encoded_match_end(t, i, s).is_some()
    })
}

impl Redactor {
    /// Builds a redactor for these secrets. Derived forms that also travel on
    /// the wire (the base64 of `user:password` for basic auth is added by the
    /// caller) should be passed too.
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        Redactor { secrets: Arc::new(longest_first(with_derived_forms(secrets))), runtime: Arc::default() }
    }

    /// One redactor hiding the secrets of all of `parts` (the service uses
    /// it for every target, so no target's log lines show another's secret).
    /// It starts with the parts' run-time secrets; later [`Redactor::add`]s
    /// go to the union and its clones only.
    pub fn union<'a>(parts: impl IntoIterator<Item = &'a Redactor>) -> Self {
        let mut v = Vec::new();
        for r in parts {
            v.extend(r.secrets.iter().cloned());
            v.extend(r.runtime.read().unwrap_or_else(|p| p.into_inner()).iter().cloned());
        }
        Redactor { secrets: Arc::new(longest_first(v)), runtime: Arc::default() }
    }

    /// Registers a secret learnt at run time (an access token from a token
    /// endpoint): from now on this redactor and all its clones hide it and
    /// its base64 form. The oldest run-time secrets are forgotten past a
    /// bound (they have expired by then).
    pub fn add(&self, secret: &str) {
        let forms = with_derived_forms([secret.to_owned()]);
        let mut v = self.runtime.write().unwrap_or_else(|p| p.into_inner());
        for f in forms {
            if !v.contains(&f) && !self.secrets.contains(&f) {
                v.push(f);
            }
        }
        let excess = v.len().saturating_sub(MAX_RUNTIME_SECRETS);
        v.drain(..excess);
    }

    /// Every secret, longest first.
    fn all(&self) -> Cow<'_, [String]> {
        let runtime = self.runtime.read().unwrap_or_else(|p| p.into_inner());
        if runtime.is_empty() {
            return Cow::Borrowed(self.secrets.as_slice());
        }
        Cow::Owned(longest_first(self.secrets.iter().chain(runtime.iter()).cloned().collect()))
    }

    /// True when `text` contains no secret, plain or URL-encoded (used by
    /// tests and assertions).
    pub fn is_clean(&self, text: &str) -> bool {
        !self.all().iter().any(|s| contains_encoded(text, s))
    }

    /// `text` with every secret (plain or URL-encoded) replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        let encoded = text.contains(['%', '+']);
        for s in self.all().iter() {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), REDACTED);
            }
            if encoded && contains_encoded(&out, s) {
                out = replace_encoded(&out, s);
            }
        }
        out
    }

    /// A body for a log line: lossy UTF-8, redacted *before* truncation to
    /// `limit` bytes (so a secret cut at the limit cannot half-leak), with a
    /// note of how many bytes were left out.
    pub fn redact_body(&self, body: &[u8], limit: usize) -> String {
        let text = self.redact(&String::from_utf8_lossy(body));
        if text.len() <= limit {
            return text;
        }
        let mut cut = limit;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}…[{} more bytes]", &text[..cut], text.len() - cut)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_plain_and_base64_forms_and_never_half_leaks() {
        let r = Redactor::new(["s3cr3t-token".to_owned()]);
        assert_eq!(r.redact("a s3cr3t-token b"), "a *** b");
        let b64 = base64::engine::general_purpose::STANDARD.encode("s3cr3t-token");
        assert_eq!(r.redact(&format!("x{b64}y")), "x***y");
        // limit falls in the middle of the secret: nothing of it remains.
        let out = r.redact_body(b"0123s3cr3t-token", 8);
        assert!(!out.contains("s3cr"), "{out}");
        assert!(format!("{:?}", Secret::new("abc")).contains("***"));
    }

    #[test]
    fn redacts_every_url_encoded_form_of_a_secret() {
        let secret = "k y/+&=%é!";
        let r = Redactor::new([secret.to_owned()]);
        // What `url`'s query_pairs_mut writes (form encoding, `+` for space)...
        let mut u = reqwest::Url::parse("https://h.example/x?a=1").unwrap();
        u.query_pairs_mut().append_pair("api_key", secret);
        assert!(u.as_str().contains("k+y%2F%2B%26%3D%25%C3%A9%21"), "{u}");
        // ...and what other encoders write: `%20`, lower-case hex, every
        // byte encoded, unreserved characters left alone.
        let forms = [
            u.as_str().to_owned(),
            "k%20y%2F%2B%26%3D%25%C3%A9%21".to_owned(),
            "k%20y%2f%2b%26%3d%25%c3%a9%21".to_owned(),
            secret.bytes().map(|b| format!("%{b:02X}")).collect::<String>(),
            "k+y/%2B&=%%C3%A9!".to_owned(),
            secret.to_owned(),
        ];
        for f in &forms {
            let text = format!("GET {f} failed");
            assert!(!r.is_clean(&text), "{text}");
            let out = r.redact(&text);
            assert!(out.contains(REDACTED), "{out}");
            for piece in ["k+y", "k%20y", "k y", "%C3%A9", "%c3%a9", "é"] {
                assert!(!out.contains(piece), "{piece} left in {out}");
            }
            assert!(r.is_clean(&out), "{out}");
        }
        let url = "https://h.example/x?a=1&api_key=k+y%2F%2B%26%3D%25%C3%A9%21&b=2";
        assert_eq!(r.redact(url), "https://h.example/x?a=1&api_key=***&b=2");
        // A near miss stays as it is, `+` and `%` elsewhere too.
        assert_eq!(r.redact("k+y%2F%2B%26%3D%25%C3%A9 1+1=2 100%"), "k+y%2F%2B%26%3D%25%C3%A9 1+1=2 100%");
    }

    #[test]
    fn secrets_added_at_run_time_are_hidden_by_every_clone() {
        let r = Redactor::new(["fixed-secret".to_owned()]);
        let all = Redactor::union([&r]);
        let clone = all.clone();
        assert_eq!(clone.redact("tok-Run7ime"), "tok-Run7ime");
        all.add("tok-Run7ime");
        assert_eq!(clone.redact("a tok-Run7ime b fixed-secret"), "a *** b ***");
        let b64 = base64::engine::general_purpose::STANDARD.encode("tok-Run7ime");
        assert_eq!(clone.redact(&b64), "***");
        assert_eq!(clone.redact("x=tok%2DRun7ime"), "x=***");
        assert!(!format!("{clone:?}").contains("tok-"), "{clone:?}");
        for i in 0..MAX_RUNTIME_SECRETS {
            all.add(&format!("later-token-{i:04}"));
        }
        assert_eq!(all.redact("later-token-0255"), "***");
        assert_eq!(all.redact("fixed-secret"), "***", "configured secrets are never forgotten");
    }
}
