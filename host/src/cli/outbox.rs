//! `wasmpush outbox list | retry | drop`: see and act on undelivered reports.
//! A running service is asked through its control socket (it holds the
//! outbox file's lock); with the service stopped, the file is opened
//! directly.

use std::path::PathBuf;
use std::process::ExitCode;
use wasmpush::config::Config;
use wasmpush::control::{self, Request};
use wasmpush_delivery::{Selector, outbox};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
    /// The config file (its `[outbox] path` is used).
    #[arg(long, global = true, default_value = "wasmpush.toml")]
    config: PathBuf,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Every pending and dead report, oldest first.
    List,
    /// Make dead reports (or one by id) pending again, due now.
    Retry {
        /// A report's webhook-id; default: every dead report.
        id: Option<String>,
    },
    /// Delete a report by id, or every dead report with --dead.
    Drop {
        /// A report's webhook-id.
        id: Option<String>,
        /// Drop every dead report.
        #[arg(long, conflicts_with = "id")]
        dead: bool,
    },
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = Config::load(&args.config)?;
    let path = config.outbox_path();
    let request = match &args.action {
        Action::List => Request::List,
        Action::Retry { id } => Request::Retry { id: id.clone() },
        Action::Drop { id: Some(id), .. } => Request::Drop { id: Some(id.clone()) },
        Action::Drop { id: None, dead: true } => Request::Drop { id: None },
        Action::Drop { id: None, dead: false } => anyhow::bail!("say which reports to drop: an id, or --dead"),
    };
    if let Some(answer) = control::ask(&path, &request)? {
        match request {
            Request::List => {
                for line in answer.lines.unwrap_or_default() {
                    println!("{line}");
                }
                eprintln!("{} pending, {} dead in {} (running service)", answer.pending, answer.dead, path.display());
            }
            Request::Retry { .. } => println!("{} report(s) are being retried now", answer.changed),
            Request::Drop { .. } => println!("{} report(s) dropped", answer.changed),
        }
        return Ok(ExitCode::SUCCESS);
    }
    match args.action {
        Action::List => {
            let entries = outbox::list(&path)?;
            for e in &entries {
                println!("{e}");
            }
            let count = |s| entries.iter().filter(|e| e.state == s).count();
            use wasmpush_delivery::EntryState::{Dead, Pending};
            eprintln!("{} pending, {} dead in {}", count(Pending), count(Dead), path.display());
        }
        Action::Retry { id } => {
            let n = outbox::retry(&path, &id.map(Selector::Id).unwrap_or(Selector::Dead))?;
            println!("{n} report(s) will be retried at the next start");
        }
        Action::Drop { id, dead } => {
            let sel = match (id, dead) {
                (Some(id), _) => Selector::Id(id),
                (None, true) => Selector::Dead,
                (None, false) => anyhow::bail!("say which reports to drop: an id, or --dead"),
            };
            let n = outbox::drop(&path, &sel)?;
            println!("{n} report(s) dropped");
        }
    }
    Ok(ExitCode::SUCCESS)
}
