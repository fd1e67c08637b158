//! `wasmpush render`: what would this generator send for this payload?

use anyhow::{Context, bail};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use wasmpush::config::default_cache_dir;
use wasmpush::runtime::{Limits, Runtime, RuntimeOptions};
use wasmpush_sources::EventKind;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The generator component (`.wasm`).
    #[arg(long)]
    generator: PathBuf,
    /// build-new, build-finished or buildset-complete.
    #[arg(long)]
    event: EventKind,
    /// A file holding the payload JSON (`-` for stdin).
    #[arg(long)]
    payload: PathBuf,
    /// A generator setting, `key=value` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    settings: Vec<String>,
    /// Compiled-component cache folder.
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Compile every time instead of using the cache.
    #[arg(long)]
    no_cache: bool,
    /// Time limit, e.g. `2s` or `500ms`.
    #[arg(long, value_parser = humantime::parse_duration)]
    timeout: Option<std::time::Duration>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let settings = args
        .settings
        .iter()
        .map(|s| {
            s.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .with_context(|| format!("--set {s:?}: expected KEY=VALUE"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let text = if args.payload.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading the payload from stdin")?
    } else {
        std::fs::read_to_string(&args.payload)
            .with_context(|| format!("cannot read payload {}", args.payload.display()))?
    };
    let payload: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("payload {} is not valid JSON", args.payload.display()))?;
    if !payload.is_object() {
        bail!("payload {} must be a JSON object", args.payload.display());
    }
    let cache_dir = if args.no_cache { None } else { Some(args.cache_dir.unwrap_or_else(default_cache_dir)) };
    let runtime = Runtime::new(&RuntimeOptions { cache_dir, ..RuntimeOptions::default() })?;
    let mut limits = Limits::default();
    if let Some(t) = args.timeout {
        limits.timeout = t;
    }
    let generator = runtime.load(&args.generator, None, limits)?;
    if !generator.wants(args.event) {
        eprintln!("note: generator {} does not handle {} events; nothing to render", generator.name(), args.event);
        return Ok(ExitCode::SUCCESS);
    }
    let compact = serde_json::to_string(&payload)?;
    let Some(report) = generator.generate(args.event, &compact, &settings)? else {
        eprintln!("note: generator {} produced no report for this event", generator.name());
        return Ok(ExitCode::SUCCESS);
    };
    // The same request policy the host applies before anything is sent.
    wasmpush_delivery::check_report(generator.name(), &report.content_type, &report.headers, report.path.as_deref())?;
    eprintln!("content-type: {}", report.content_type);
    if let Some(p) = &report.path {
        eprintln!("path: {p}");
    }
    for (k, v) in &report.headers {
        eprintln!("header: {k}: {v}");
    }
    let mut out = std::io::stdout().lock();
    out.write_all(&report.body)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
