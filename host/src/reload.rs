//! Hot reload: watch the config file and the generators it names, and
//! reload on a change or on SIGHUP.
//!
//! Watching is by polling modification time and size (no platform file
//! notification needed; a rename-into-place is seen like an edit). A change
//! reloads through [`Service::reload`]: the new config goes through the same
//! plan step as a start ([`crate::plan::Plan::build`]; reporters and their
//! push options may not change), its generators are compiled while events
//! keep flowing, then swapped in atomically; a set that fails to load leaves
//! the old one running, and the error is logged.

use crate::config::Config;
use crate::service::Service;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// What a reload depends on: the config and every `.wasm` it names (a
/// catalog plugin: its file in the catalog folder, rebuilt together with
/// the lock the running binary was built with, so a reload after a rebuild
/// is refused unless the binary is rebuilt too).
fn watched(config: &Config) -> Vec<PathBuf> {
    let mut paths = vec![config.path.clone()];
    let catalog = config.catalog_dir();
    for g in config.reporters.iter().flat_map(|r| &r.generators) {
        if let Some(name) = crate::catalog::name_of(&g.wasm) {
            paths.push(catalog.join(format!("{name}.wasm")));
        } else if !g.wasm.contains("://") {
            // Remote sources (https, oci) change by a config edit or SIGHUP.
            paths.push(config.resolve(g.wasm.as_ref()));
        }
    }
    paths
}

fn fingerprint(paths: &[PathBuf]) -> Vec<Option<(SystemTime, u64)>> {
    paths.iter().map(|p| std::fs::metadata(p).ok().and_then(|m| Some((m.modified().ok()?, m.len())))).collect()
}

/// Reloads `service` from `config_path`; logs the outcome. Returns the
/// config that is live afterwards.
pub async fn reload_now(service: &Service, config_path: &Path, live: Config) -> Config {
    match Config::load(config_path) {
        Ok(next) => match service.reload(&next).await {
            Ok(()) => next,
            Err(e) => {
                tracing::error!("reload refused, the previous generators stay live: {e}");
                live
            }
        },
        Err(e) => {
            tracing::error!("reload refused, the previous generators stay live: {e}");
            live
        }
    }
}

/// Runs until the future is dropped: reloads on SIGHUP and whenever a
/// watched file changes (checked every `interval`).
pub async fn watch(
    service: &Service,
    config_path: &Path,
    mut live: Config,
    interval: Duration,
) -> std::convert::Infallible {
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    let mut seen = fingerprint(&watched(&live));
    loop {
        let signal = async {
            match hup.as_mut() {
                Some(h) => {
                    h.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        let by_signal = tokio::select! {
            _ = signal => true,
            _ = tokio::time::sleep(interval) => false,
        };
        let now = fingerprint(&watched(&live));
        if by_signal || now != seen {
            tracing::info!(trigger = if by_signal { "SIGHUP" } else { "file change" }, "reloading generators");
            live = reload_now(service, config_path, live).await;
            seen = fingerprint(&watched(&live));
        }
    }
}
