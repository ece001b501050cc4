//! `rxroom`: the operator's command-line tool.
use clap::Parser;
use std::process::ExitCode;

mod audit;
mod keys;
mod token;

/// rxroom operator tool.
#[derive(Debug, Parser)]
#[command(name = "rxroom", version)]
enum Cli {
    /// Dev identity: `keygen` and `token`.
    #[command(flatten)]
    Token(token::Command),
    /// Data keys for encryption at rest: generate one, or check the configured set.
    #[command(subcommand)]
    Keys(keys::KeysCmd),
    /// Audit trail: verify, export, keygen.
    #[command(subcommand)]
    Audit(audit::AuditCmd),
}

fn main() -> ExitCode {
    match Cli::parse() {
        Cli::Token(command) => token::run(command),
        Cli::Keys(cmd) => keys::run(cmd),
        Cli::Audit(cmd) => ExitCode::from(u8::try_from(audit::run(cmd)).unwrap_or(1)),
    }
}
