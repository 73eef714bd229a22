//! The `migrate` command line, for an app's `main`:
//!
//! ```no_run
//! # mod registry { pub static MIGRATIONS: &[mongo_migrate::Migration] = &[]; }
//! fn main() -> std::process::ExitCode {
//!     mongo_migrate::cli::App::new(registry::MIGRATIONS)
//!         .migrations_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
//!         .run()
//! }
//! ```
//!
//! One module per subcommand, each a `run(args, ctx)`; `args` holds every clap type.

/// `println!` that never panics: a closed stdout (`migrate up | head -1`) must not abort a run
/// that holds the lock.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::line(&format!($($arg)*))
    };
}

mod accept;
pub mod args;
mod check;
mod down;
mod graph;
mod new;
mod plan;
mod progress;
mod status;
mod style;
mod unlock;
mod up;

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

use crate::error::ConfigError;
use crate::{exit_code, Migration, Migrator};
use args::{Cli, Command, GlobalArgs};
pub use style::Style;

/// The `migrate` application over a compiled plan.
#[derive(Debug, Clone)]
pub struct App {
    migrations: &'static [Migration],
    migrations_dir: Option<PathBuf>,
}

/// What a subcommand can fail with, beyond the library's errors.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A library error.
    #[error(transparent)]
    Migrate(#[from] crate::Error),
    /// `migrate new` could not write the file.
    #[error(transparent)]
    Scaffold(#[from] mongo_migrate_build::scaffold::ScaffoldError),
    /// Something else the user must fix (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// Writing the output failed.
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
}

impl CliError {
    /// The exit code of this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Migrate(e) => e.exit_code(),
            CliError::Scaffold(_) | CliError::Usage(_) => exit_code::USAGE,
            CliError::Output(_) => exit_code::DATABASE_ERROR,
        }
    }
}

/// What every subcommand gets.
#[derive(Debug)]
pub(crate) struct Ctx<'a> {
    pub app: &'a App,
    pub global: &'a GlobalArgs,
    pub style: Style,
    pub terminal: bool,
}

impl Ctx<'_> {
    /// Connects and builds the migrator with the global options.
    pub async fn migrator(&self) -> Result<Migrator, CliError> {
        let uri = self
            .global
            .uri
            .as_deref()
            .ok_or(crate::Error::from(ConfigError::NoUri))?;
        let conn = crate::connect(
            uri,
            self.global.database.as_deref(),
            self.global.server_timeout,
        )
        .await?;
        Ok(Migrator::new(conn.db, self.app.migrations)
            .collection(self.global.collection.clone())
            .lock_timeout(self.global.lock_timeout)
            .lease_ttl(self.global.lease_ttl)
            .observer(Arc::new(progress::Progress::new(self.style, self.terminal)))
            .handle_ctrl_c(true))
    }
}

impl App {
    /// The application over `migrations`, the generated registry's `MIGRATIONS`.
    pub fn new(migrations: &'static [Migration]) -> Self {
        App {
            migrations,
            migrations_dir: None,
        }
    }

    /// The app's `migrations/` directory, where `migrate new` writes (overridable with
    /// `--migrations-dir` / `MONGO_MIGRATE_DIR`).
    pub fn migrations_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.migrations_dir = Some(dir.into());
        self
    }

    /// Parses the process's arguments, runs the subcommand, and returns its exit code.
    pub fn run(&self) -> ExitCode {
        self.run_from(std::env::args_os())
    }

    /// Like [`App::run`] with explicit arguments (the first is the program name).
    pub fn run_from<I, T>(&self, args: I) -> ExitCode
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        // A missing .env is normal; variables already set win over the file. A broken one is a
        // configuration error: going on would report a confusing "no URI" instead.
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(e) if e.not_found() => {}
            Err(e) => {
                eprintln!("error: {}", dotenv_error(&e));
                return ExitCode::from(exit_code::USAGE);
            }
        }
        let cli = match Cli::try_parse_from(args) {
            Ok(cli) => cli,
            Err(e) => {
                let _ = e.print();
                return ExitCode::from(if e.use_stderr() {
                    exit_code::USAGE
                } else {
                    exit_code::SUCCESS
                });
            }
        };
        let terminal = std::io::stdout().is_terminal();
        let style =
            Style::new(terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()));
        let ctx = Ctx {
            app: self,
            global: &cli.global,
            style,
            terminal,
        };
        let runtime = match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                eprintln!("error: cannot start the async runtime: {e}");
                return ExitCode::from(exit_code::DATABASE_ERROR);
            }
        };
        let result = runtime.block_on(dispatch(&cli.command, &ctx));
        match result {
            Ok(code) => ExitCode::from(code),
            Err(e) => {
                let message = match cli.global.uri.as_deref() {
                    Some(uri) => crate::redact_text(&e.to_string(), uri),
                    None => e.to_string(),
                };
                eprintln!("{} {message}", style.error("error:"));
                ExitCode::from(e.exit_code())
            }
        }
    }
}

async fn dispatch(command: &Command, ctx: &Ctx<'_>) -> Result<u8, CliError> {
    match command {
        Command::Up(a) => up::run(a, ctx).await,
        Command::Down(a) => down::run(a, ctx).await,
        Command::Status(a) => status::run(a, ctx).await,
        Command::Unlock => unlock::run(ctx).await,
        Command::Plan(a) => plan::run(a, ctx),
        Command::Graph => graph::run(ctx).await,
        Command::New(a) => new::run(a, ctx),
        Command::Check(a) => check::run(a, ctx).await,
        Command::AcceptChanges(a) => accept::run(a, ctx).await,
    }
}

/// Prints a JSON document on stdout.
pub(crate) fn print_json(value: &impl serde::Serialize) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
    emit(&format!("{text}\n"))
}

/// Writes one line on stdout, ignoring write errors (see `outln!`).
pub(crate) fn line(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
}

/// Writes `text` on stdout; a closed pipe (`migrate plan | head`) is not an error.
pub(crate) fn emit(text: &str) -> Result<(), CliError> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// A `.env` parse error as `path:line:column: …`: dotenvy reports the offending line's text and
/// a column, not the line number.
fn dotenv_error(e: &dotenvy::Error) -> String {
    let path = std::env::current_dir()
        .map(|d| d.join(".env"))
        .unwrap_or_else(|_| PathBuf::from(".env"));
    if let dotenvy::Error::LineParse(line, index) = e {
        let number = std::fs::read_to_string(&path).ok().and_then(|text| {
            text.lines()
                .position(|l| l.trim_end() == line.trim_end())
                .map(|n| n + 1)
        });
        if let Some(number) = number {
            return format!(
                "{}:{number}:{}: cannot parse this line of .env: {line:?}",
                path.display(),
                index + 1
            );
        }
    }
    format!("cannot read {}: {e}", path.display())
}
