//! `wasmpush run`: the service, from a config file.

use super::progress::{self, Progress};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use wasmpush::config::Config;
use wasmpush::dispatch::DispatchStats;
use wasmpush::service::{Service, SourceSpec};

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
        // Replaying recorded events on a terminal: a bar of events handled.
        let progress = replay_total(&service.sources).map(|n| Progress::new(n, "events"));
        let mut poller = None;
        let summary = service
            .run_observed(shutdown_signal(), args.settle, |stats| {
                if let Some(p) = &progress {
                    poller = Some(tokio::spawn(follow(p.bar().clone(), stats)));
                }
            })
            .await;
        if let Some(poller) = poller {
            poller.abort();
        }
        drop(progress);
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

/// How many events the replay sources hold, when a progress bar is to be
/// drawn (stderr is a terminal and every source is a replay); `None`
/// otherwise (nothing is read then).
fn replay_total(sources: &[SourceSpec]) -> Option<u64> {
    if !progress::enabled() || sources.is_empty() {
        return None;
    }
    let mut total = 0;
    for source in sources {
        let SourceSpec::Replay { path } = source else { return None };
        // An unreadable file fails the run itself, with its own message.
        total += wasmpush_sources::replay::read_events(path).ok()?.len() as u64;
    }
    Some(total)
}

/// Moves `bar` with the events the workers have handled; once all are,
/// the run is delivering what they produced.
async fn follow(bar: indicatif::ProgressBar, stats: Arc<DispatchStats>) {
    loop {
        let handled = stats.events.load(Ordering::Relaxed);
        bar.set_position(handled);
        if bar.length().is_some_and(|len| handled >= len) {
            bar.set_message("events handled, delivering");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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
