//! Subcommands. Each lives in its own file and returns `anyhow::Result`.

mod check;
mod completions;
mod demo;
mod distribute;
mod new;
mod outbox;
mod progress;
mod render;
mod run;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Buildbot's HttpStatusPush as a WebAssembly plugin host.
#[derive(Debug, Parser)]
#[command(name = "wasmpush", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How log lines on stderr look: `text` for people, `json` (one object
    /// per line) for log shippers.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one generator on one payload and print the body it produces.
    Render(render::Args),
    /// Validate a config file and every generator it names.
    Check(check::Args),
    /// Run the service: sources -> filters -> generators -> push.
    Run(run::Args),
    /// Replay recorded Buildbot events through the example generators to a
    /// local receiver and show what arrived (no external service needed).
    Demo(demo::Args),
    /// See and act on reports waiting in the outbox (running or stopped).
    Outbox(outbox::Args),
    /// Create a generator project (rust, python, js or c) that builds and renders.
    New(new::Args),
    /// Publish a generator to an OCI registry (`oci://registry/repo:tag`).
    #[command(name = "push")]
    Publish(distribute::PublishArgs),
    /// Fetch a generator from an OCI registry into the plugin store.
    Pull(distribute::PullArgs),
    /// Create an ed25519 key pair for signing generators.
    Keygen(distribute::KeygenArgs),
    /// Sign a generator file or registry artifact.
    Sign(distribute::SignArgs),
    /// Check a generator's signature against trusted keys.
    Verify(distribute::VerifyArgs),
    /// Show a generator's metadata, imports and exports without running it.
    Inspect(distribute::InspectArgs),
    /// Record a generator's own description in it (a custom section).
    Stamp(distribute::StampArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(completions::CompletionsArgs),
    /// Print the manual page (roff), or write every page to a folder.
    Man(completions::ManArgs),
}

impl Cli {
    /// Quiet commands whose stdout is data; chatty long-running ones.
    pub fn default_log_level(&self) -> &'static str {
        match self.command {
            Command::Render(_) | Command::Check(_) | Command::Demo(_) | Command::Outbox(_) | Command::New(_) => "warn",
            Command::Publish(_)
            | Command::Pull(_)
            | Command::Keygen(_)
            | Command::Sign(_)
            | Command::Verify(_)
            | Command::Inspect(_)
            | Command::Stamp(_)
            | Command::Completions(_)
            | Command::Man(_) => "warn",
            Command::Run(_) => "info",
        }
    }

    pub fn log_format(&self) -> LogFormat {
        self.log_format
    }
}

/// Logs to stderr (around a progress bar, if one is drawn); `RUST_LOG`
/// overrides the default level. `json`: one object per line, the event's
/// fields at the top level beside `timestamp`, `level` and `message`.
pub fn init_logging(default: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    use std::io::IsTerminal;
    let fmt = tracing_subscriber::fmt().with_env_filter(filter).with_writer(|| progress::LogWriter).with_target(false);
    match format {
        LogFormat::Text => fmt.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => fmt.json().flatten_event(true).with_current_span(false).init(),
    }
}

/// Runs the chosen subcommand.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Render(a) => render::run(a),
        Command::Check(a) => check::run(a),
        Command::Run(a) => run::run(a),
        Command::Demo(a) => demo::run(a),
        Command::Outbox(a) => outbox::run(a),
        Command::New(a) => new::run(a),
        Command::Publish(a) => distribute::publish(a),
        Command::Pull(a) => distribute::pull(a),
        Command::Keygen(a) => distribute::keygen(a),
        Command::Sign(a) => distribute::sign(a),
        Command::Verify(a) => distribute::verify(a),
        Command::Inspect(a) => distribute::inspect_cmd(a),
        Command::Stamp(a) => distribute::stamp(a),
        Command::Completions(a) => completions::completions(a),
        Command::Man(a) => completions::man(a),
    }
}

/// An error and its causes on one line.
pub fn one_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ").replace('\n', " ")
}
