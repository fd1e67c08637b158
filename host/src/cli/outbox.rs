//! `wasmpush outbox list | retry | drop`: see and act on undelivered reports
//! while the service is stopped (a running service holds the outbox lock).

use std::path::PathBuf;
use std::process::ExitCode;
use wasmpush::config::Config;
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
    match args.action {
        Action::List => {
            let entries = outbox::list(&path)?;
            for e in &entries {
                println!("{e}");
            }
            let dead = entries.iter().filter(|e| e.state == wasmpush_delivery::EntryState::Dead).count();
            eprintln!("{} pending, {dead} dead in {}", entries.len() - dead, path.display());
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
