//! `wasmpush check`: is this config usable, and what will it load? Builds
//! the plan ([`wasmpush::plan::Plan::build`]: everything decoded, checked
//! and fetched), loads its generators, and prints it.

use std::path::PathBuf;
use std::process::ExitCode;
use wasmpush::config::Config;
use wasmpush::pipeline::Pipeline;
use wasmpush::plan::Plan;
use wasmpush::runtime::Runtime;
use wasmpush::service::SourceSpec;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The config file.
    config: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = Config::load(&args.config)?;
    let plan = tokio::runtime::Runtime::new()?.block_on(Plan::build(&config))?;
    if let Some((admin, _)) = &plan.admin {
        println!("admin listener on {} (/metrics, /healthz, /readyz)", admin.listen);
    }
    for source in &plan.sources {
        if let SourceSpec::Relay(relay) = source {
            println!("source relay on {}{}", relay.listen, if relay.tls.is_some() { " (https)" } else { "" });
            for w in relay.warnings() {
                println!("  warning: {w}");
            }
        }
    }
    let runtime = Runtime::new(&plan.runtime.engine)?;
    let pipeline = Pipeline::build(&plan, &runtime)?;
    for (reporter, (_, target)) in pipeline.reporters.iter().zip(&plan.targets) {
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
