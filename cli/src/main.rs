//! `rxroom`: the operator's command-line tool.
use clap::Parser;

mod phi_eval;

/// rxroom operator tool.
#[derive(Debug, Parser)]
#[command(name = "rxroom", version)]
enum Cli {
    /// Score the PHI redactor on a corpus file (dev-set format, shared/phi/LABELS.md).
    PhiEval(phi_eval::PhiEvalArgs),
}

fn main() {
    let result = match Cli::parse() {
        Cli::PhiEval(args) => phi_eval::run(&args),
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
