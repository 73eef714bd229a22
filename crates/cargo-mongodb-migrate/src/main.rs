//! `cargo mongodb-migrate`: the development half of mongodb-migrate's command line.
//!
//! It writes migration files, so it runs where the source is, never where migrations are
//! applied; the deployed `migrate` binary carries no build machinery.
//!
//! ```text
//! cargo install cargo-mongodb-migrate
//! cargo mongodb-migrate new add_featured_flag     # migrations/NNNN_add_featured_flag.rs
//! cargo mongodb-migrate new --merge               # one migration depending on every head
//! ```

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Exit code of a bad command line or a file that cannot be written, as for `migrate`.
const USAGE: u8 = 2;

/// How cargo runs a subcommand: `cargo-mongodb-migrate mongodb-migrate ARGS…`.
#[derive(Debug, Parser)]
#[command(name = "cargo", bin_name = "cargo")]
enum Cargo {
    /// Scaffolding for mongodb-migrate migrations.
    #[command(name = "mongodb-migrate", version)]
    MongodbMigrate(Cli),
}

/// Scaffolding for mongodb-migrate migrations.
#[derive(Debug, Args)]
struct Cli {
    /// The migrations directory.
    #[arg(
        short = 'd',
        long,
        env = "MONGO_MIGRATE_DIR",
        global = true,
        default_value = "migrations"
    )]
    migrations_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write the next-numbered migration file, depending on the current head.
    New(NewArgs),
}

#[derive(Debug, Args)]
struct NewArgs {
    /// The migration's name in snake_case (`add_featured_flag`); the number is added.
    #[arg(required_unless_present = "merge")]
    name: Option<String>,
    /// Write a merge migration depending on all current heads (works while the build is
    /// broken by two heads).
    #[arg(long)]
    merge: bool,
}

fn main() -> ExitCode {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    // Run directly (`cargo-mongodb-migrate new x`) rather than through cargo: add the
    // subcommand name cargo would have passed.
    if args.get(1).is_none_or(|a| a != "mongodb-migrate") {
        args.insert(1, "mongodb-migrate".into());
    }
    let Cargo::MongodbMigrate(cli) = match Cargo::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { USAGE } else { 0 });
        }
    };
    let Command::New(new) = cli.command;
    let dir = cli.migrations_dir;
    let created = if new.merge {
        mongodb_migrate_build::scaffold::create_merge(&dir, new.name.as_deref())
    } else {
        // clap requires NAME without --merge.
        let name = new.name.as_deref().unwrap_or_default();
        mongodb_migrate_build::scaffold::create(&dir, name)
    };
    match created {
        Ok(path) => {
            println!("Created {}", path.display());
            println!("Rebuild (`cargo build`) to compile it into the plan.");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(USAGE)
        }
    }
}
