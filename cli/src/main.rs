//! `rxroom`: the operator's command-line tool.
use clap::Parser;

mod keys;

/// rxroom operator tool.
#[derive(Debug, Parser)]
#[command(name = "rxroom", version)]
enum Cli {
    /// Data keys for encryption at rest: generate one, or check the configured set.
    #[command(subcommand)]
    Keys(keys::KeysCmd),
}

fn main() -> std::process::ExitCode {
    match Cli::parse() {
        Cli::Keys(cmd) => keys::run(cmd),
    }
}
