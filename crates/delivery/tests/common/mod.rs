//! Test helpers: the scripted HTTP/HTTPS server and the test CA from
//! `wasmpush-testkit`, and small builders for delivery's inputs.
#![allow(dead_code)]

use std::time::Duration;

use wasmpush_delivery::{Outgoing, TargetConfig};
#[allow(unused_imports)] // each test binary uses a part
pub use wasmpush_testkit::tls::{Ca, CertKey, self_signed, server_tls};
#[allow(unused_imports)] // each test binary uses a part
pub use wasmpush_testkit::{Received, Reply, Script, Server, always, closed_port_url, serve};

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
