//! `rxroom`: the operator's command-line tool.
use clap::Parser;

/// rxroom operator tool.
#[derive(Debug, Parser)]
#[command(name = "rxroom", version)]
enum Cli {}

fn main() {
    let _ = Cli::parse();
}
