//! `wasmpush run`: the service, from a config file.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use wasmpush::config::Config;
use wasmpush::service::Service;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The config file.
    config: PathBuf,
    /// After the sources end, how long to keep delivering what is due.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    settle: Duration,
    /// How often to check the config and generators for changes (hot
    /// reload; SIGHUP reloads at once).
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    watch_interval: Duration,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = Config::load(&args.config)?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let service = std::sync::Arc::new(Service::start(&config).await?);
        // The watcher runs as its own task: the event loop may block while
        // workers are busy, and a reload must not wait for that.
        let watcher = {
            let (service, path, live, every) =
                (service.clone(), args.config.clone(), config.clone(), args.watch_interval);
            tokio::spawn(async move {
                let never = wasmpush::reload::watch(&service, &path, live, every).await;
                match never {}
            })
        };
        let summary = service.run(shutdown_signal(), args.settle).await;
        watcher.abort();
        let _ = watcher.await;
        let summary = summary?;
        let d = summary.delivery;
        tracing::info!(
            events = summary.events,
            reports = summary.reports,
            generator_failures = summary.generator_failures,
            refused = summary.refused,
            sent = d.sent,
            pending = d.pending,
            dead = d.dead,
            "sources finished"
        );
        println!(
            "events {} reports {} generator-failures {} refused {} sent {} pending {} dead {}",
            summary.events, summary.reports, summary.generator_failures, summary.refused, d.sent, d.pending, d.dead
        );
        if let Ok(service) = std::sync::Arc::try_unwrap(service) {
            service.shutdown().await;
        }
        Ok(if summary.enqueue_failures > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
    })
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
