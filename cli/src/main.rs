//! `rxroom`: the operator's command-line tool.
use clap::Parser;

mod audit;

/// rxroom operator tool.
#[derive(Debug, Parser)]
#[command(name = "rxroom", version)]
enum Cli {
    /// Audit trail: verify, export, keygen.
    #[command(subcommand)]
    Audit(audit::AuditCmd),
}

fn main() {
    let code = match Cli::parse() {
        Cli::Audit(cmd) => audit::run(cmd),
    };
    std::process::exit(code);
}
