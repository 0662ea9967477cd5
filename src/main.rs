//! The `naptrack` binary: parse the command line, then call into the library.

use std::process::ExitCode;

use clap::Parser;
use naptrack::cli::{self, Cli};

#[rocket::main]
async fn main() -> ExitCode {
    cli::run(Cli::parse()).await
}
