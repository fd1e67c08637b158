//! `wasmpush check`: is this config usable, and what will it load?

use std::path::PathBuf;
use std::process::ExitCode;
use wasmpush::config::Config;
use wasmpush::pipeline::Pipeline;
use wasmpush::runtime::{Runtime, RuntimeOptions};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The config file.
    config: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = Config::load(&args.config)?;
    let targets = wasmpush::service::targets(&config)?;
    if let Some(admin) = &config.admin {
        admin.token()?;
        println!("admin listener on {} (/metrics, /healthz, /readyz)", admin.listen);
    }
    for source in wasmpush::service::sources(&config)? {
        if let wasmpush::service::SourceSpec::Relay(relay) = source {
            println!("source relay on {}{}", relay.listen, if relay.tls.is_some() { " (https)" } else { "" });
            for w in relay.warnings() {
                println!("  warning: {w}");
            }
        }
    }
    let runtime = Runtime::new(&RuntimeOptions {
        cache_dir: config.cache_dir(),
        pooling: config.runtime.pooling,
        max_memory: config.runtime.max_memory,
    })?;
    let fetcher = wasmpush::plugins::Fetcher::new(&config)?;
    let fetched = tokio::runtime::Runtime::new()?.block_on(fetcher.fetch_all(&config))?;
    let pipeline = Pipeline::build(&config, &runtime, &fetched)?;
    for (reporter, (_, target)) in pipeline.reporters.iter().zip(&targets) {
        println!("reporter {} -> {}", reporter.name, target.server_url_for_display());
        for w in target.warnings() {
            println!("  warning: {w}");
        }
        for slot in &reporter.slots {
            let g = &slot.generator;
            let info = g.info();
            let events: Vec<&str> = info.events.iter().map(|k| k.as_str()).collect();
            println!("  generator {} {} ({})", g.name(), info.version, g.path().display());
            println!("    sha256 = \"{}\"", g.sha256());
            println!("    events {}", events.join(", "));
        }
    }
    println!("config {} is valid", args.config.display());
    Ok(ExitCode::SUCCESS)
}
