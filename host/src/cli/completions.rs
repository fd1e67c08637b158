//! `wasmpush completions SHELL` and `wasmpush man`: generated from the
//! command-line definition itself, so they never drift from it.

use anyhow::Context;
use clap::CommandFactory;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
#[command(after_help = "Install, e.g.:\n  \
    wasmpush completions bash > ~/.local/share/bash-completion/completions/wasmpush\n  \
    wasmpush completions zsh > ~/.zfunc/_wasmpush   (with fpath+=~/.zfunc)\n  \
    wasmpush completions fish > ~/.config/fish/completions/wasmpush.fish")]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Print the page of this subcommand (`wasmpush-SUBCOMMAND(1)`) instead.
    subcommand: Option<String>,
    /// Write every page (`wasmpush.1`, `wasmpush-run.1`, ...) into this
    /// folder instead of printing one.
    #[arg(long, value_name = "DIR", conflicts_with = "subcommand")]
    dir: Option<PathBuf>,
}

pub fn completions(args: CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut super::Cli::command(), "wasmpush", &mut script);
    print(&script)
}

pub fn man(args: ManArgs) -> anyhow::Result<ExitCode> {
    // Built, every subcommand is titled `wasmpush-NAME` and carries the
    // global options (`--log-format`); `help` gets no page.
    let mut cmd = super::Cli::command().disable_help_subcommand(true);
    cmd.build();
    if let Some(dir) = args.dir {
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let mut pages = vec![cmd.clone()];
        while let Some(page) = pages.pop() {
            pages.extend(page.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
            let path =
                page_of(page).generate_to(&dir).with_context(|| format!("cannot write into {}", dir.display()))?;
            println!("{}", path.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let page = match args.subcommand {
        None => cmd,
        Some(name) => cmd
            .find_subcommand(&name)
            .with_context(|| format!("no subcommand {name:?} (see `wasmpush --help`)"))?
            .clone(),
    };
    let mut roff = Vec::new();
    page_of(page).render(&mut roff)?;
    print(&roff)
}

/// One page, its footer naming this program and version.
fn page_of(cmd: clap::Command) -> clap_mangen::Man {
    clap_mangen::Man::new(cmd).source(format!("wasmpush {}", env!("CARGO_PKG_VERSION")))
}

/// Writes `bytes` to stdout; a reader that stopped early (`| head`) is no
/// error.
fn print(bytes: &[u8]) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}
