//! `wasmpush render`: what would this generator send for this payload?

use super::progress::{self, Progress};
use anyhow::{Context, bail};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use wasmpush::config::default_cache_dir;
use wasmpush::runtime::{Generator, Limits, Report, Runtime, RuntimeOptions};
use wasmpush_sources::EventKind;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The generator component (`.wasm`).
    #[arg(long)]
    generator: PathBuf,
    /// build-new, build-finished or buildset-complete.
    #[arg(long)]
    event: EventKind,
    /// A file holding the payload JSON (`-` for stdin), or a folder: each
    /// `*.json` in it, in name order, rendered in turn.
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
    // A folder: every `*.json` in it, in name order (read before compiling,
    // so that a wrong path fails at once).
    let folder = if args.payload.is_dir() { Some(payload_files(&args.payload)?) } else { None };
    let text = match &folder {
        Some(_) => String::new(),
        None => read_payload(&args.payload)?,
    };
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
    let Some(files) = folder else {
        let reports = render(&generator, args.event, &args.payload, &text, &settings)?;
        if reports.is_empty() {
            eprintln!("note: generator {} produced no report for this event", generator.name());
        }
        print_reports(&reports, "")?;
        return Ok(ExitCode::SUCCESS);
    };
    // Each payload in turn: on stdout a `==> NAME <==` line before each body
    // (which ends with a newline); metadata (`NAME: content-type: ...`),
    // notes and errors on stderr, each naming the file. One payload failing does not stop the others.
    let progress = Progress::new(files.len() as u64, "rendering");
    let mut failed = 0usize;
    for file in &files {
        let name = file.file_name().map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned());
        let outcome = read_payload(file).and_then(|text| render(&generator, args.event, file, &text, &settings));
        progress::suspend(|| -> anyhow::Result<()> {
            match outcome {
                Ok(reports) if !reports.is_empty() => {
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "==> {name} <==")?;
                    out.flush()?;
                    drop(out);
                    print_reports(&reports, &format!("{name}: "))?;
                    if reports.len() == 1 && !reports[0].body.ends_with(b"\n") {
                        let mut out = std::io::stdout().lock();
                        out.write_all(b"\n")?;
                        out.flush()?;
                    }
                }
                Ok(_) => eprintln!("note: {name}: generator {} produced no report", generator.name()),
                Err(e) => {
                    failed += 1;
                    eprintln!("error: {name}: {}", super::one_line(&e));
                }
            }
            Ok(())
        })?;
        progress.bar().inc(1);
    }
    drop(progress);
    if failed > 0 {
        eprintln!("error: {failed} of {} payloads failed", files.len());
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// The `*.json` files directly in `dir`, sorted by name.
fn payload_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read payload folder {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "json"))
        .collect();
    if files.is_empty() {
        bail!("payload folder {} holds no *.json file", dir.display());
    }
    files.sort();
    Ok(files)
}

fn read_payload(path: &Path) -> anyhow::Result<String> {
    if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading the payload from stdin")
    } else {
        std::fs::read_to_string(path).with_context(|| format!("cannot read payload {}", path.display()))
    }
}

/// One payload through the generator, each request checked by the host's
/// request policy (methods are the reporter's business: not checked here).
fn render(
    generator: &Generator,
    event: EventKind,
    path: &Path,
    text: &str,
    settings: &[(String, String)],
) -> anyhow::Result<Vec<Report>> {
    let payload: serde_json::Value =
        serde_json::from_str(text).with_context(|| format!("payload {} is not valid JSON", path.display()))?;
    if !payload.is_object() {
        bail!("payload {} must be a JSON object", path.display());
    }
    let compact = serde_json::to_string(&payload)?;
    let reports = generator.generate_all(event, &compact, settings)?;
    for (i, r) in reports.iter().enumerate() {
        // The same request policy the host applies before anything is sent.
        wasmpush_delivery::check_report(generator.name(), &r.content_type, &r.headers, r.path.as_deref())
            .with_context(|| format!("request {i} of {}", reports.len()))?;
    }
    Ok(reports)
}

/// One request as before; several (contract 0.2) each under
/// `request N: ` on stderr, each body followed by a newline on stdout.
fn print_reports(reports: &[Report], prefix: &str) -> anyhow::Result<()> {
    if let [one] = reports {
        return print_report(one, prefix);
    }
    for (i, r) in reports.iter().enumerate() {
        print_report(r, &format!("{prefix}request {i}: "))?;
        if !r.body.ends_with(b"\n") {
            let mut out = std::io::stdout().lock();
            out.write_all(b"\n")?;
            out.flush()?;
        }
    }
    Ok(())
}

/// Metadata on stderr (each line starting with `prefix`), the body bytes
/// exactly on stdout.
fn print_report(report: &Report, prefix: &str) -> anyhow::Result<()> {
    if report.method != wasmpush::runtime::Method::Post {
        eprintln!("{prefix}method: {}", report.method);
    }
    eprintln!("{prefix}content-type: {}", report.content_type);
    if let Some(k) = &report.supersede {
        eprintln!("{prefix}supersede: {k}");
    }
    if let Some(p) = &report.path {
        eprintln!("{prefix}path: {p}");
    }
    for (k, v) in &report.headers {
        eprintln!("{prefix}header: {k}: {v}");
    }
    for (name, pointer) in &report.keep {
        eprintln!("{prefix}keep: {name} = response {pointer:?}");
    }
    if report.fill {
        eprintln!("{prefix}fill: {{name}} in path and body from kept values");
    }
    let mut out = std::io::stdout().lock();
    out.write_all(&report.body)?;
    out.flush()?;
    Ok(())
}
