//! `rxroom`: the operator's command-line tool.
use clap::Parser;
use std::process::ExitCode;

mod token;

/// rxroom operator tool.
#[derive(Debug, Parser)]
#[command(name = "rxroom", version)]
enum Cli {
    /// Dev identity: `keygen` and `token`.
    #[command(flatten)]
    Token(token::Command),
}

fn main() -> ExitCode {
    match Cli::parse() {
        Cli::Token(command) => token::run(command),
    }
}
