//! The `migrate` command line, for an app's `main`:
//!
//! ```no_run
//! # mod registry { pub static MIGRATIONS: &[mongodb_migrate_core::Migration] = &[]; }
//! fn main() -> std::process::ExitCode {
//!     mongodb_migrate_cli::App::new(registry::MIGRATIONS).run()
//! }
//! ```
//!
//! Apps usually reach it as `mongodb_migrate::cli`, through the `cli` feature of
//! `mongodb-migrate`. Exit codes are [`exit_code`]'s constants, and the mapping from errors to
//! them is in this crate alone ([`exit_code::of_error`]).
//!
//! One module per subcommand, each a `run(args, ctx)`; `args` holds every clap type.

#![warn(missing_docs)]

/// `println!` that never panics: a closed stdout (`migrate up | head -1`) must not abort a run
/// that holds the lock.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::line(&format!($($arg)*))
    };
}

mod accept;
pub mod args;
mod check;
mod doctor;
mod dotenv;
mod down;
mod events;
pub mod exit_code;
mod fleet;
mod graph;
mod hint;
mod output;
mod plan;
mod progress;
mod rehearse;
mod render;
mod signals;
mod status;
mod style;
mod unlock;
mod up;
mod wait;

use std::ffi::OsString;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use std::sync::OnceLock;

use clap::Parser;

use args::{Cli, Command, GlobalArgs};
use mongodb_migrate_core::ConfigError;
use mongodb_migrate_core::{CancelHandle, Migration, Migrator};
pub use style::Style;

/// The `migrate` application over a compiled plan.
#[derive(Debug, Clone)]
pub struct App {
    migrations: &'static [Migration],
}

/// What a subcommand can fail with, beyond the library's errors.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A library error (boxed: it is large, and errors travel through every `?`).
    #[error(transparent)]
    Migrate(Box<mongodb_migrate_core::Error>),
    /// A rehearsal stopped before its verdict (boxed, as [`CliError::Migrate`]).
    #[error(transparent)]
    Rehearse(Box<mongodb_migrate_core::rehearse::RehearsalError>),
    /// Something else the user must fix (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// Writing the output failed.
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
}

impl From<mongodb_migrate_core::Error> for CliError {
    fn from(e: mongodb_migrate_core::Error) -> Self {
        CliError::Migrate(Box::new(e))
    }
}

impl From<mongodb_migrate_core::rehearse::RehearsalError> for CliError {
    fn from(e: mongodb_migrate_core::rehearse::RehearsalError) -> Self {
        CliError::Rehearse(Box::new(e))
    }
}

impl CliError {
    /// The exit code of this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Migrate(e) => exit_code::of_error(e),
            CliError::Rehearse(e) => exit_code::of_rehearsal(e),
            CliError::Usage(_) => exit_code::USAGE,
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
    /// Cancelled by SIGTERM or SIGINT.
    pub cancel: CancelHandle,
    /// The subcommand's name (`up`, `status`, …).
    pub command: &'static str,
    /// The hosts of the URI, once connected: an unreachable server is named in the error.
    pub hosts: OnceLock<String>,
    /// The driver monitor's failures, once connected: they say why a server is unreachable.
    pub health: OnceLock<mongodb_migrate_core::Health>,
    /// The database, once connected: an error naming a missing role names it.
    pub database: OnceLock<String>,
    /// The URI's user (`name@authSource`), once connected.
    pub user: OnceLock<Option<String>>,
}

impl Ctx<'_> {
    /// A client for the URI, without naming a database (listing a fleet's databases).
    pub async fn client(&self) -> Result<mongodb::Client, CliError> {
        let g = self.global;
        let uri = g
            .uri
            .as_deref()
            .ok_or(mongodb_migrate_core::Error::from(ConfigError::NoUri))?;
        let conn = mongodb_migrate_core::connect(uri, Some("admin"), g.server_timeout).await?;
        self.connected(&conn);
        Ok(conn.client)
    }

    /// Notes what the messages may name about `conn`.
    fn connected(&self, conn: &mongodb_migrate_core::Connection) {
        let _ = self.hosts.set(conn.hosts.clone());
        let _ = self.health.set(conn.health.clone());
        let _ = self.database.set(conn.db.name().to_owned());
        let _ = self.user.set(conn.user.clone());
    }

    /// Connects with the global options, checked as for [`migrator`](Self::migrator).
    pub async fn connection(&self) -> Result<mongodb_migrate_core::Connection, CliError> {
        self.check_runner_options()?;
        let g = self.global;
        let uri = g
            .uri
            .as_deref()
            .ok_or(mongodb_migrate_core::Error::from(ConfigError::NoUri))?;
        let conn =
            mongodb_migrate_core::connect(uri, g.database.as_deref(), g.server_timeout).await?;
        self.connected(&conn);
        Ok(conn)
    }

    /// Checks the lease, server timeout and state collection options before anything is sent.
    pub fn check_runner_options(&self) -> Result<(), CliError> {
        let g = self.global;
        if g.lease_ttl < mongodb_migrate_core::lock::MIN_LEASE_TTL {
            return Err(
                mongodb_migrate_core::Error::from(ConfigError::LeaseTooShort { ttl: g.lease_ttl })
                    .into(),
            );
        }
        if g.server_timeout >= g.lease_ttl / 3 {
            return Err(
                mongodb_migrate_core::Error::from(ConfigError::ServerTimeoutTooLong {
                    timeout: g.server_timeout,
                    ttl: g.lease_ttl,
                })
                .into(),
            );
        }
        mongodb_migrate_core::validate_collection(&g.collection)
            .map_err(mongodb_migrate_core::Error::from)?;
        Ok(())
    }

    /// The message of `e` as shown: in words, with the full chain under `-v`.
    pub fn error_text(&self, e: &(dyn std::error::Error + 'static)) -> String {
        let view = render::View {
            hosts: self.hosts.get().map(String::as_str),
            timeout: self.global.server_timeout,
            health: self.health.get(),
            command: self.command,
            database: self.database.get().map(String::as_str),
            user: self.user.get().and_then(|u| u.as_deref()),
        };
        render::message(e, &view, self.global.verbose)
    }

    /// Connects and builds the migrator with the global options.
    pub async fn migrator(&self) -> Result<Migrator, CliError> {
        let conn = self.connection().await?;
        Ok(self.migrator_of(conn))
    }

    /// The migrator over `conn` with the global options.
    pub fn migrator_of(&self, conn: mongodb_migrate_core::Connection) -> Migrator {
        let g = self.global;
        Migrator::new(conn.db, self.app.migrations)
            .secrets(conn.secrets)
            .collection(g.collection.clone())
            .lock_timeout(g.lock_timeout)
            .lease_ttl(g.lease_ttl)
            .observer(Arc::new(progress::Progress::new(
                self.style,
                self.terminal && !output::in_fleet(),
            )))
            .cancel_handle(self.cancel.clone())
    }
}

impl App {
    /// The application over `migrations`, the generated registry's `MIGRATIONS`.
    pub fn new(migrations: &'static [Migration]) -> Self {
        App { migrations }
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
        // A broken .env is a configuration error: going on would report a confusing "no URI"
        // instead.
        if let Err(e) = dotenv::load() {
            eprintln!("error: {e}");
            return ExitCode::from(exit_code::USAGE);
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
        let mut secrets = mongodb_migrate_core::Secrets::new();
        if let Some(uri) = cli.global.uri.as_deref() {
            secrets.add_uri(uri);
        }
        if let Command::Rehearse(args::RehearseArgs {
            scratch_uri: Some(uri),
            ..
        }) = &cli.command
        {
            secrets.add_uri(uri);
        }
        if !secrets.is_empty() {
            let _ = SECRETS.set(secrets);
        }
        install_panic_hook();
        install_tracing();
        let terminal = std::io::stdout().is_terminal();
        // Colour on a terminal unless NO_COLOR is set, as documented. console's own detection
        // also reads CLICOLOR and TERM, which would change when colour appears; its styles are
        // used, with this decision forced (`Style::force_styling`).
        let style =
            Style::new(terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()));
        let ctx = Ctx {
            app: self,
            global: &cli.global,
            style,
            terminal,
            cancel: CancelHandle::new(),
            hosts: OnceLock::new(),
            health: OnceLock::new(),
            database: OnceLock::new(),
            user: OnceLock::new(),
            command: cli.command.name(),
        };
        let holds_lock = matches!(
            cli.command,
            Command::Up(_) | Command::Down(_) | Command::AcceptChanges(_) | Command::Rehearse(_)
        );
        let runtime = if holds_lock {
            // At least two workers, also on a one-core machine: the lease's heartbeat must keep
            // running while a migration blocks its own thread.
            let workers = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers)
                .enable_all()
                .build()
        } else {
            // No lease and no migration code: one thread, without the hand-offs between
            // workers that a command made of a few round trips would wait on.
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        };
        let runtime = match runtime {
            Ok(rt) => rt,
            Err(e) => {
                eprintln!("error: cannot start the async runtime: {e}");
                return ExitCode::from(exit_code::DATABASE_ERROR);
            }
        };
        let result = runtime.block_on(async {
            let signals = signals::install(ctx.cancel.clone());
            if holds_lock {
                // The runner sees the cancellation, records it and releases the lease itself.
                dispatch(&cli.command, &ctx).await
            } else {
                tokio::select! {
                    r = dispatch(&cli.command, &ctx) => r,
                    () = ctx.cancel.cancelled() => Ok(signals::exit_code(&ctx.cancel)),
                }
            }
            .inspect(|_| drop(signals))
        });
        // Everything the command does is awaited above (the lease is released before `block_on`
        // returns). What is left is the driver's courtesy `endSessions` for the dropped client:
        // not waiting for its reply saves a round trip at exit, and the server expires unused
        // sessions on its own (`localLogicalSessionTimeoutMinutes`, 30 by default).
        runtime.shutdown_background();
        match result {
            Ok(code) => ExitCode::from(code),
            Err(e) => {
                let message = ctx.error_text(&e);
                eprintln!(
                    "{} {}",
                    style.error("error:"),
                    terminal_lines(&shown(&message))
                );
                ExitCode::from(e.exit_code())
            }
        }
    }
}

/// The environment variable that turns on `tracing` output on stderr, as an `EnvFilter`
/// (`info`, `mongodb_migrate=debug`, …): the run's span (database, collection, runner) and each
/// migration's (name, direction, duration, outcome, documents changed). Human output on stdout
/// stays as it is.
pub const LOG_VAR: &str = "MONGO_MIGRATE_LOG";

fn install_tracing() {
    let Some(filter) = std::env::var_os(LOG_VAR).filter(|v| !v.is_empty()) else {
        return;
    };
    let filter = tracing_subscriber::EnvFilter::new(filter.to_string_lossy());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

/// A panic hook that hides the connection string's secrets: a migration's panic message is
/// printed by the hook before the runner catches it. It chains the previous hook when the
/// message holds no secret, so an app's own hook (and `RUST_BACKTRACE`) keep working.
fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned());
        match payload {
            Some(message) if shown(&message) != message => {
                let at = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                let thread = std::thread::current();
                let name = thread.name().unwrap_or("<unnamed>");
                eprintln!("\nthread '{name}' panicked{at}:\n{}", shown(&message));
            }
            _ => previous(info),
        }
    }));
}

async fn dispatch(command: &Command, ctx: &Ctx<'_>) -> Result<u8, CliError> {
    match ctx.global.databases.as_deref() {
        Some(spec) => fleet::run(command, ctx, spec).await,
        None => dispatch_one(command, ctx).await,
    }
}

/// Runs `command` on the one database of `ctx`.
pub(crate) async fn dispatch_one(command: &Command, ctx: &Ctx<'_>) -> Result<u8, CliError> {
    match command {
        Command::Up(a) => up::run(a, ctx).await,
        Command::Down(a) => down::run(a, ctx).await,
        Command::Status(a) => status::run(a, ctx).await,
        Command::Unlock => unlock::run(ctx).await,
        Command::Plan(a) => plan::run(a, ctx),
        Command::Graph(a) => graph::run(a, ctx).await,
        Command::New(_) => Err(CliError::Usage(hint::SCAFFOLDING_MOVED.to_owned())),
        Command::Check(a) => check::run(a, ctx).await,
        Command::AcceptChanges(a) => accept::run(a, ctx).await,
        Command::Configured(a) => Ok(configured(a)),
        Command::Wait(a) => wait::run(a, ctx).await,
        Command::Doctor(a) => doctor::run(a, ctx).await,
        Command::Rehearse(a) => rehearse::run(a, ctx).await,
    }
}

/// `migrate configured VAR…`: 0 when every VAR is set (in the environment or `./.env`), 1
/// otherwise. `scripts/with-db` asks this rather than parsing `.env` by rules of its own.
fn configured(args: &args::ConfiguredArgs) -> u8 {
    let set = args
        .vars
        .iter()
        .all(|v| std::env::var_os(v).is_some_and(|value| !value.is_empty()));
    if set {
        exit_code::SUCCESS
    } else {
        exit_code::MIGRATION_FAILED
    }
}

/// Prints a JSON document on stdout.
pub(crate) fn print_json(value: &impl serde::Serialize) -> Result<(), CliError> {
    // In a fleet, one document a line (JSON Lines), each naming its database.
    let text = if output::in_fleet() {
        serde_json::to_string(value)
    } else {
        serde_json::to_string_pretty(value)
    }
    .map_err(std::io::Error::other)?;
    emit(&format!("{text}\n"))
}

/// The secrets of the connection string: every text this command shows goes through
/// [`shown`], so none of them is ever printed, whatever the text's origin (a driver error, a
/// migration's error or note, a failure record written by an older version).
static SECRETS: OnceLock<mongodb_migrate_core::Secrets> = OnceLock::new();

/// `text` as it may be shown.
pub(crate) fn shown(text: &str) -> std::borrow::Cow<'_, str> {
    match SECRETS.get() {
        Some(s) if !s.is_empty() => std::borrow::Cow::Owned(s.redact(text)),
        _ => std::borrow::Cow::Borrowed(text),
    }
}

/// Writes one line on stdout, ignoring write errors (see `outln!`).
pub(crate) fn line(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", output::prefixed(&shown(text)));
}

/// `text` with control characters escaped on every line (names, hosts and errors can come
/// from the database), keeping its own line breaks.
pub(crate) fn terminal_lines(text: &str) -> String {
    text.split('\n')
        .map(mongodb_migrate_core::sanitize::for_terminal)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Writes `text` on stdout; a closed pipe (`migrate plan | head`) is not an error.
pub(crate) fn emit(text: &str) -> Result<(), CliError> {
    use std::io::Write as _;
    let shown = shown(text);
    let text = if output::in_fleet() && !text.trim_start().starts_with('{') {
        std::borrow::Cow::Owned(format!("{}\n", output::prefixed(&shown)))
    } else {
        shown
    };
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
