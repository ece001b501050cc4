//! `rxroom`: the operator's command-line tool.
use clap::Parser;
use std::process::ExitCode;

mod audit;
mod keys;
mod phi_eval;
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
    /// Score the PHI redactor on a corpus file (dev-set format, shared/phi/LABELS.md).
    PhiEval(phi_eval::PhiEvalArgs),
}

fn main() -> ExitCode {
    match Cli::parse() {
        Cli::Token(command) => token::run(command),
        Cli::Keys(cmd) => keys::run(cmd),
        Cli::Audit(cmd) => ExitCode::from(u8::try_from(audit::run(cmd)).unwrap_or(1)),
        Cli::PhiEval(args) => match phi_eval::run(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
    }
}
