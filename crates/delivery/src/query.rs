//! Host-side additions to what a generator asked for, made per attempt:
//! query parameters (secrets included) appended to the request URL, and
//! which statuses count as delivered (`success`).
//!
//! The outbox stores what the generator produced; a query secret is added
//! only when a request is built and never stored. Every secret value is
//! registered with the target's [`crate::Redactor`], which also finds it
//! URL-encoded, so a logged URL or a `reqwest` error cannot show it.

use reqwest::Url;

use crate::config::{ConfigError, QueryValueConfig, TargetConfig, read_secret};
use crate::secrets::Secret;

/// One configured query parameter, resolved. `Debug` never shows a secret
/// value ([`Secret`] prints `***`).
#[derive(Debug, Clone)]
pub(crate) struct QueryParam {
    name: String,
    value: Secret,
}

/// Reads the query secrets; every secret value is pushed to `secrets` for
/// the redactor.
pub(crate) fn resolve(cfg: &TargetConfig, secrets: &mut Vec<String>) -> Result<Vec<QueryParam>, ConfigError> {
    let mut out = Vec::new();
    for (name, value) in &cfg.query {
        let field = format!("query.{name}");
        let value = match value {
            QueryValueConfig::Literal(v) => Secret::new(v.clone()),
            QueryValueConfig::Secret(s) => {
                // `read_secret` names `{field}_env` / `{field}_file` in its errors.
                let v = read_secret(&field, None, s.env.as_deref(), s.file.as_deref())?
                    .ok_or_else(|| ConfigError::field(&field, "needs `env` or `file`".to_owned()))?;
                secrets.push(v.expose().to_owned());
                v
            }
        };
        out.push(QueryParam { name: name.clone(), value });
    }
    Ok(out)
}

/// Appends the configured parameters to `url` (form-encoded, after the
/// generator's own query). A parameter of the same name already in the URL
/// is removed first, so the host's value is the only one.
pub(crate) fn apply(url: &mut Url, params: &[QueryParam]) {
    if params.is_empty() {
        return;
    }
    if let Some(query) = url.query() {
        let ours = |segment: &str| {
            url::form_urlencoded::parse(segment.as_bytes())
                .next()
                .is_some_and(|(k, _)| params.iter().any(|p| p.name == k))
        };
        let kept: Vec<&str> = query.split('&').filter(|s| !ours(s)).collect();
        let kept = kept.join("&");
        url.set_query((!kept.is_empty()).then_some(kept.as_str()));
    }
    let mut pairs = url.query_pairs_mut();
    for p in params {
        pairs.append_pair(&p.name, p.value.expose());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(name: &str, value: &str) -> QueryParam {
        QueryParam { name: name.to_owned(), value: Secret::new(value) }
    }

    #[test]
    fn appends_after_the_generator_query_and_replaces_same_names() {
        let mut u = Url::parse("https://z.example/api/v1/messages?type=stream&api_key=from-generator&x=%2F").unwrap();
        apply(&mut u, &[param("api_key", "k y&z"), param("stream", "builds")]);
        assert_eq!(u.as_str(), "https://z.example/api/v1/messages?type=stream&x=%2F&api_key=k+y%26z&stream=builds");
        let mut bare = Url::parse("https://z.example/hook").unwrap();
        apply(&mut bare, &[param("k", "v")]);
        assert_eq!(bare.as_str(), "https://z.example/hook?k=v");
        let mut only = Url::parse("https://z.example/hook?k=old").unwrap();
        apply(&mut only, &[param("k", "new")]);
        assert_eq!(only.as_str(), "https://z.example/hook?k=new");
        assert!(!format!("{:?}", param("k", "s3cret")).contains("s3cret"));
    }

    #[test]
    fn success_and_query_are_validated_naming_the_field() {
        let parse = |extra: &str| -> TargetConfig {
            toml::from_str(&format!("server_url = \"https://x.example/\"\n{extra}")).unwrap()
        };
        for (extra, field, words) in [
            ("success = []", "success", "at least one"),
            ("success = [200, 600]", "success", "600"),
            ("success = [99]", "success", "99"),
            ("query = { api_key = {} }", "query.api_key", "`env` or `file`"),
            ("query = { api_key = { env = \"A\", file = \"/b\" } }", "query.api_key", "only one"),
        ] {
            let err = parse(extra).validate().unwrap_err();
            assert_eq!(err.field, field, "{extra}");
            assert!(err.message.contains(words), "{extra}: {err}");
        }
        assert!(parse("success = [200, 201, 204]\nquery = { stream = \"builds\" }").validate().is_ok());
        let w = parse("query = { token = \"abc\" }\nsuccess = [200, 404]").warnings();
        assert!(w.iter().any(|w| w.contains("query parameter `token`")), "{w:?}");
        assert!(w.iter().any(|w| w.contains("404")), "{w:?}");
        let unset = parse("query = { api_key = { env = \"WASMPUSH_QUERY_TEST_SURELY_UNSET\" } }");
        let err = unset.resolve().unwrap_err();
        assert_eq!(err.field, "query.api_key_env");
        assert!(err.message.contains("WASMPUSH_QUERY_TEST_SURELY_UNSET"), "{err}");
        assert!(
            toml::from_str::<TargetConfig>("server_url = \"https://x/\"\nquery = { k = { value_env = \"A\" } }")
                .is_err()
        );
    }
}
