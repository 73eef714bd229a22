//! The command line: every clap type, whose doc comments are the help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// How cargo runs a subcommand: `cargo-mongodb-migrate mongodb-migrate ARGS…`.
#[derive(Debug, Parser)]
#[command(name = "cargo", bin_name = "cargo")]
pub(crate) enum Cargo {
    /// Development tools for mongodb-migrate migrations.
    #[command(name = "mongodb-migrate", version)]
    MongodbMigrate(Cli),
}

/// Development tools for mongodb-migrate migrations.
#[derive(Debug, Args)]
pub(crate) struct Cli {
    /// The migrations directory.
    #[arg(
        short = 'd',
        long,
        env = "MONGO_MIGRATE_DIR",
        global = true,
        default_value = "migrations"
    )]
    pub(crate) migrations_dir: PathBuf,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Write the next-numbered migration file, depending on the current head.
    New(NewArgs),
    /// Check the migration plan as `cargo build` does, compiling nothing.
    ///
    /// Runs the build script's checks (file names, `NAME`, dependencies, cycles, heads,
    /// function shapes, the destructive-operation lint) with the same code, and prints the
    /// same diagnostics. Type errors inside bodies are rustc's: `cargo build` still finds
    /// those. Exit status: 0 no problems, 1 problems (shown on stderr), 2 bad usage.
    Lint(LintArgs),
    /// Move long-applied migrations into the app's archive crate, compiled apart.
    ///
    /// Moves `--through NAME` and every migration it depends on into `archive/migrations/` (the
    /// crate is created, and named in the app's Cargo.toml, on first use). Their names and
    /// checksums do not change and the plan stays whole; a change to a recent migration then
    /// recompiles only the migrations left in the app. Exit status: 0 moved, 1 the plan has
    /// problems, 2 bad usage or a file that cannot be moved.
    Archive(ArchiveArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ArchiveArgs {
    /// The last migration to archive, with everything it depends on.
    #[arg(long, value_name = "NAME")]
    pub(crate) through: String,
    /// The app's `Cargo.toml`. Default: the nearest `Cargo.toml` above the migrations directory.
    #[arg(long, value_name = "PATH")]
    pub(crate) manifest_path: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct NewArgs {
    /// The migration's name in snake_case (`add_featured_flag`); the number is added.
    #[arg(required_unless_present = "merge")]
    pub(crate) name: Option<String>,
    /// Write a merge migration depending on all current heads (works while the build is
    /// broken by two heads).
    #[arg(long)]
    pub(crate) merge: bool,
}

#[derive(Debug, Args)]
pub(crate) struct LintArgs {
    /// The app's `Cargo.toml`, which names the framework's crate as its build script sees it.
    /// Default: the nearest `Cargo.toml` above the migrations directory.
    #[arg(long, value_name = "PATH")]
    pub(crate) manifest_path: Option<PathBuf>,
    /// The path generated code uses for the runtime, when `build.rs` sets
    /// `Builder::runtime_crate` (`::my_app::rt`). Default: read from `Cargo.toml`.
    #[arg(long, value_name = "PATH")]
    pub(crate) runtime_crate: Option<String>,
    /// When to colour the diagnostics.
    #[arg(long, value_enum, env = "CARGO_TERM_COLOR", default_value_t = Color::Auto)]
    pub(crate) color: Color,
    /// Print nothing when the plan has no problems.
    #[arg(short, long)]
    pub(crate) quiet: bool,
}

/// When to colour output, as cargo's `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Color {
    /// When standard error is a terminal and `NO_COLOR` is not set.
    Auto,
    Always,
    Never,
}
