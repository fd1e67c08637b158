//! `wasmpush demo`: the main job end to end on an embedded default.
//!
//! Recorded Buildbot 4.3.0 events (from a real master, embedded in the
//! binary) are replayed through the example generators to a receiver the
//! demo starts on 127.0.0.1, with a real outbox in a temporary folder. It
//! prints every request the receiver got and a summary, and fails if any
//! report was lost.

use anyhow::{Context, bail};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use wasmpush::config::Config;
use wasmpush::service::Service;
use wasmpush_testkit::Receiver;

const CONFIG: &str = include_str!("../../demo/wasmpush.toml");
const EVENTS: &str = include_str!("../../demo/events.jsonl");

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder with the example generators (built by scripts/build-generators.sh).
    #[arg(long, default_value = "target/generators")]
    generators: PathBuf,
    /// Print whole bodies instead of their first 160 bytes.
    #[arg(long)]
    full: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let generators = std::fs::canonicalize(&args.generators).with_context(|| {
        format!("generators folder {} (run scripts/build-generators.sh first)", args.generators.display())
    })?;
    let work = tempfile::tempdir()?;
    let events = work.path().join("events.jsonl");
    std::fs::write(&events, EVENTS)?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let receiver = Receiver::start().await?;
        let text = CONFIG
            .replace("{events}", &events.to_string_lossy())
            .replace("{outbox}", &work.path().join("outbox.redb").to_string_lossy())
            .replace("{cache}", &wasmpush::config::default_cache_dir().to_string_lossy())
            .replace("{generators}", &generators.to_string_lossy())
            .replace("{receiver}", &receiver.url());
        let config = Config::parse(&text, std::path::Path::new("<embedded demo config>"), work.path())?;
        let service = Service::start(&config).await?;
        println!("wasmpush demo: recorded Buildbot 4.3.0 events -> Wasm generators -> receiver at {}", receiver.url());
        for r in &service.pipeline.load().reporters {
            let names: Vec<&str> = r.slots.iter().map(|s| s.generator.name()).collect();
            println!("  reporter {:<17} generators: {}", r.name, names.join(", "));
        }
        let summary = service.run(std::future::pending(), Duration::from_secs(30)).await?;
        let got = receiver.wait_for(summary.reports as usize, Duration::from_secs(10)).await;
        println!("\nreceived {got} requests:");
        for r in receiver.received() {
            let body = String::from_utf8_lossy(&r.body);
            let shown: String = if args.full { body.to_string() } else { body.chars().take(160).collect() };
            let more = if shown.len() < body.len() { "…" } else { "" };
            println!(
                "  {} {:<10} {:<17} {:>5} B  webhook-id {}  {}{}",
                r.method,
                r.path,
                r.header("content-type").unwrap_or("-"),
                r.body.len(),
                r.header("webhook-id").unwrap_or("-"),
                shown.replace('\n', "\\n"),
                more
            );
        }
        let d = summary.delivery;
        println!(
            "\nsummary: {} events, {} reports, {} generator failures (contained), {} refused, {} delivered, {} pending, {} dead",
            summary.events, summary.reports, summary.generator_failures, summary.refused, d.sent, d.pending, d.dead
        );
        service.shutdown().await;
        if got as u64 != summary.reports || d.pending > 0 || d.dead > 0 {
            bail!("the receiver got {got} of {} reports", summary.reports);
        }
        Ok(ExitCode::SUCCESS)
    })
}
