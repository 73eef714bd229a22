//! `cargo mongodb-migrate`: the development half of mongodb-migrate's command line.
//!
//! It writes and checks migration files, so it runs where the source is, never where
//! migrations are applied; the deployed `migrate` binary carries no build machinery.
//!
//! ```text
//! cargo install cargo-mongodb-migrate
//! cargo mongodb-migrate new add_featured_flag     # migrations/NNNN_add_featured_flag.rs
//! cargo mongodb-migrate new --merge               # one migration depending on every head
//! cargo mongodb-migrate lint                      # the build's plan checks, compiling nothing
//! cargo mongodb-migrate archive --through 0400_x  # long-applied migrations into a crate of their own
//! ```

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser as _;

mod app;
mod archive;
mod cli;
mod lint;
mod new;

/// The exit codes, one place.
mod exit {
    /// `lint` found problems in the plan (or `archive` refused a plan with problems).
    pub(crate) const PROBLEMS: u8 = 1;
    /// A bad command line, or (for `new`) a file that cannot be written, as for `migrate`.
    pub(crate) const USAGE: u8 = 2;
}

fn main() -> ExitCode {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    // Run directly (`cargo-mongodb-migrate new x`) rather than through cargo: add the
    // subcommand name cargo would have passed.
    if args.get(1).is_none_or(|a| a != "mongodb-migrate") {
        args.insert(1, "mongodb-migrate".into());
    }
    let cli::Cargo::MongodbMigrate(cli) = match cli::Cargo::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::USAGE } else { 0 });
        }
    };
    match &cli.command {
        cli::Command::New(args) => new::run(args, &cli.migrations_dir),
        cli::Command::Lint(args) => lint::run(args, &cli.migrations_dir),
        cli::Command::Archive(args) => archive::run(args, &cli.migrations_dir),
    }
}
