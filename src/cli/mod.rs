//! The command line: parses arguments, calls the library, prints, and maps results to the exit
//! codes in [`crate::exit`]. The only module that prints or exits; [`main`] the only place that
//! prints an error ([`CliError`]).
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod args;
mod commands;
mod consume;
mod error;
mod explore;
mod history_report;
mod key_flags;
mod output;
mod progress;
mod report_target;
mod signals;

pub(crate) use args::Cli;

use std::io::IsTerminal;

use clap::Parser;

use crate::exit::QsimExitCode;

/// `qsim`'s entry point.
pub fn main() -> std::process::ExitCode {
    init_tracing();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    QsimExitCode::Passed
                }
                _ => QsimExitCode::BadInput,
            }
            .into();
        }
    };
    match commands::dispatch(cli) {
        Ok(code) => code.into(),
        Err(error) => {
            output::err(&error.render(std::io::stderr().is_terminal()));
            error.code().into()
        }
    }
}

/// Diagnostics for qsim's own developers go to stderr, filtered by RUST_LOG (off by default).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
