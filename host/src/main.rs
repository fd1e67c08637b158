//! The `wasmpush` command line. Errors become one line on stderr and a
//! non-zero exit; everything else lives in the library.

mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    cli::init_logging(args.default_log_level(), args.log_format());
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", cli::one_line(&e));
            std::process::ExitCode::FAILURE
        }
    }
}
