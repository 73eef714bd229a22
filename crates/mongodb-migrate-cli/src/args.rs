//! Every clap type of the `migrate` command. The doc comments are the help text.

use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::exit_code::HELP_TABLE;

/// Run the database migrations compiled into this binary.
///
/// The plan was checked at build time (names, dependencies, one head, no cycle); this command
/// applies it to MongoDB under a lease lock, recording state in a collection that
/// pymongo-migrate 1.0 reads and writes too.
#[derive(Debug, Parser)]
#[command(name = "migrate", version, after_help = HELP_TABLE, max_term_width = 100)]
pub struct Cli {
    /// Options every subcommand takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Connection and state options.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// MongoDB connection string. Also read from a `.env` file in the working directory (the
    /// environment wins). Its password never appears in any output.
    #[arg(short, long, env = "MONGO_URI", global = true, hide_env_values = true)]
    pub uri: Option<String>,

    /// Database to migrate [default: the database in the URI path].
    #[arg(long, env = "MONGO_DATABASE", global = true)]
    pub database: Option<String>,

    /// State collection, shared with pymongo-migrate. Our details and the lock live in
    /// `<COLLECTION>_details` and `<COLLECTION>_lock`.
    #[arg(
        short,
        long,
        env = "MONGO_MIGRATE_COLLECTION",
        default_value = mongodb_migrate_core::DEFAULT_COLLECTION,
        global = true
    )]
    pub collection: String,

    /// How long to wait for another runner's lock before giving up (exit code 4): `90s`, `2m`, `500ms`.
    #[arg(long, env = "MONGO_MIGRATE_LOCK_TIMEOUT", default_value = "60s", value_parser = parse_duration, global = true)]
    pub lock_timeout: Duration,

    /// Lease length of the lock, renewed every third of it. A runner that dies blocks others at
    /// most this long; one paused past about four fifths of it stops before its next write.
    /// At least 1s; 10s or more is recommended.
    #[arg(long, env = "MONGO_MIGRATE_LEASE_TTL", default_value = "30s", value_parser = parse_duration, global = true)]
    pub lease_ttl: Duration,

    /// How long to wait for the server to answer (server selection timeout; exit code 3). Must
    /// stay below a third of --lease-ttl, so that renewals have room.
    #[arg(long, env = "MONGO_MIGRATE_SERVER_TIMEOUT", default_value = "5s", value_parser = parse_duration, global = true)]
    pub server_timeout: Duration,

    /// Run `up`, `down`, `status` or `check` over many databases: a glob over the server's
    /// database names (`tenant_*`; never admin, local or config), a comma list (`a,b,c`), or
    /// `@FILE` with one name a line. Each database has its own lock and state.
    #[arg(long, value_name = "SPEC", global = true)]
    pub databases: Option<String>,

    /// With --databases: how many databases run at a time (1 to 64).
    #[arg(short = 'j', long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64), global = true)]
    pub jobs: u16,

    /// With --databases: go on past a failed database (by default no new database starts
    /// once one failed; the running ones finish).
    #[arg(long, global = true)]
    pub keep_going: bool,

    /// More detail: an error shows its full cause chain, as the driver reports it; `status`
    /// adds each migration's description, duration, applied-by and checksum state.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations in plan order.
    ///
    /// Waits for the lock, refuses while a failed migration is recorded (see --retry), while an
    /// applied migration changed (see --allow-changed) or while the database records migrations
    /// this binary lacks (see --allow-unknown). Stops at the first failure and records it.
    #[command(after_help = HELP_TABLE)]
    Up(UpArgs),
    /// Roll back the most recently applied migration (latest in plan order).
    ///
    /// A downgrade is refused when another applied or failed migration depends on it.
    #[command(after_help = HELP_TABLE)]
    Down(DownArgs),
    /// Show applied, failed, pending and unknown migrations.
    Status(StatusArgs),
    /// Force-release the lock, showing who held it. Only when its holder is surely dead.
    #[command(after_help = HELP_TABLE)]
    Unlock,
    /// Print the checked plan compiled into this binary, offline (no database).
    Plan(FormatArgs),
    /// Print the dependency graph in Graphviz DOT (default) or Mermaid. With a database
    /// (--uri), applied, failed and pending migrations are coloured.
    Graph(GraphArgs),
    /// Scaffolding is not part of the deployed binary: says where it went (exit 2).
    #[command(hide = true, disable_help_flag = true)]
    New(MovedArgs),
    /// Accept edits to applied migrations: record the binary's checksum for those "changed since
    /// applied", so `up` and `check` stop refusing. Runs no migration.
    ///
    /// Review the edit first: accept it only when the migration need not run again (a log
    /// message, a refactor). With no NAME, every changed migration is accepted. The previous
    /// checksum is kept in the details document.
    #[command(after_help = HELP_TABLE)]
    AcceptChanges(AcceptArgs),
    /// Block until the database holds every migration of this binary, applied, with nothing
    /// failed: for an app pod's init container while the migration Job runs. Migrations newer
    /// than this binary count as ready.
    ///
    /// Exits 0 when ready, 13 on timeout, and at once with `check`'s code when waiting cannot
    /// help: 5 failed, 6 changed, 7 unknown, 11 out of order.
    #[command(after_help = HELP_TABLE)]
    Wait(WaitArgs),
    /// Exit 0 when every VAR is set, in the environment or in `./.env` (read as every command
    /// reads it), 1 otherwise: for scripts such as `scripts/with-db`.
    #[command(hide = true)]
    Configured(ConfiguredArgs),
    /// Rehearse the pending migrations on a copy of the database before deploying them.
    ///
    /// Copies every collection of the source (or --collections), with its indexes, options,
    /// validators and the migration state, into a scratch database, and there runs each
    /// migration through the runner: up, its upgrade once more (must change nothing), down
    /// (must restore the data exactly), up again (must give the first up's data). Reports the
    /// time each run takes on this data, what it read and wrote, and the first differences.
    /// The source is only read; the scratch database is dropped at the end (--keep leaves it).
    ///
    /// Exits 0 when every round trip is exact, 15 when one is not, 1 when a migration failed.
    #[command(after_help = HELP_TABLE)]
    Rehearse(RehearseArgs),
    /// Exit 0 only when nothing is pending, failed, changed or unknown: a deploy gate.
    ///
    /// Otherwise exits with the code of the worst finding, in this order: 5 failed, 6 changed,
    /// 7 unknown, 11 out of order, 12 ahead (migrations newer than this binary), 8 pending.
    #[command(after_help = HELP_TABLE)]
    Check(FormatArgs),
    /// Tell, before it matters, whether `up` would work on this server with this account:
    /// the server and its topology, the write path and its commands per migration, retryable
    /// writes, transactions, the clock offset, the user's roles against what each command
    /// needs, the connection options, and the state's health. Each finding comes with its fix.
    ///
    /// Exits 0 only when `up` would run; otherwise with the code `up` would exit with: 2 for
    /// configuration (an unusable option, a missing role, a failed login), 3 unreachable, 10 a
    /// failed command, and the verdict's codes (5 failed, 6 changed, 7 unknown, 11 out of order)
    /// for the state. Writes nothing.
    #[command(after_help = HELP_TABLE)]
    Doctor(FormatArgs),
}

impl Command {
    /// The subcommand's name, as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Up(_) => "up",
            Command::Down(_) => "down",
            Command::Status(_) => "status",
            Command::Unlock => "unlock",
            Command::Plan(_) => "plan",
            Command::Graph(_) => "graph",
            Command::New(_) => "new",
            Command::AcceptChanges(_) => "accept-changes",
            Command::Wait(_) => "wait",
            Command::Configured(_) => "configured",
            Command::Check(_) => "check",
            Command::Doctor(_) => "doctor",
            Command::Rehearse(_) => "rehearse",
        }
    }
}

/// Options of `rehearse`.
#[derive(Debug, Clone, Args)]
pub struct RehearseArgs {
    /// Output: text for people, or one JSON document (schema `mongodb-migrate/rehearse/v1`).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Rehearse only NAME and the pending migrations it depends on, as `up --to NAME` would run
    /// them.
    #[arg(long, value_name = "NAME", conflicts_with = "all")]
    pub to: Option<String>,
    /// Rehearse the whole plan from an empty state, over a copy of the data (the migration
    /// state is not copied).
    #[arg(long)]
    pub all: bool,
    /// Copy only these collections, comma-separated [default: every collection of the
    /// source]. Name every collection the migrations read, also through helpers.
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub collections: Option<Vec<String>>,
    /// The scratch database [default: the source's name, `_rehearsal_` and the UTC time, as in
    /// `app_rehearsal_20261204T213500Z`]. It must not exist, or be a scratch database an
    /// earlier rehearsal left.
    #[arg(long, value_name = "NAME")]
    pub scratch_db: Option<String>,
    /// Put the scratch database on another deployment [default: the source's]. Its password
    /// never appears in any output.
    #[arg(
        long,
        value_name = "URI",
        env = "MONGO_MIGRATE_SCRATCH_URI",
        hide_env_values = true
    )]
    pub scratch_uri: Option<String>,
    /// Copy a deterministic sample of each collection: N (the first N documents by _id) or
    /// P% (about P percent, chosen by a seeded hash of _id). Durations are then projected to
    /// the full collections.
    #[arg(long, value_name = "N|P%", value_parser = parse_sample)]
    pub sample: Option<mongodb_migrate_core::rehearse::Sample>,
    /// Copy without asking, whatever the size (for scripts).
    #[arg(short, long)]
    pub yes: bool,
    /// Ask before copying more than this: `500MB`, `2GiB`, `0` (always ask).
    #[arg(long, value_name = "SIZE", default_value = "1GiB", value_parser = parse_size)]
    pub confirm_above: u64,
    /// Leave the scratch database for inspection, and print its name.
    #[arg(long)]
    pub keep: bool,
    /// Show document values in the differences [default: their BSON types only].
    #[arg(long)]
    pub show_values: bool,
    /// List the scratch databases rehearsals left behind (killed, or kept), and drop those no
    /// rehearsal is using; with --scratch-db, only that one.
    #[arg(long, conflicts_with_all = ["to", "all", "collections", "sample", "keep", "show_values"])]
    pub cleanup: bool,
}

fn parse_sample(s: &str) -> Result<mongodb_migrate_core::rehearse::Sample, String> {
    s.parse()
        .map_err(|e: mongodb_migrate_core::rehearse::BadSample| e.to_string())
}

/// Parses `1GiB`, `500MB`, `64KiB`, `0` or a bare number of bytes.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("`{s}` is not a size like 500MB, 2GiB or 0"))?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0_f64.powi(4),
        _ => {
            return Err(format!(
                "`{s}`: unknown unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)"
            ))
        }
    };
    Ok((number * factor).round() as u64)
}

/// Options of `wait`.
#[derive(Debug, Clone, Args)]
pub struct WaitArgs {
    /// Give up after this long (exit 13).
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub timeout: Duration,
    /// The first pause between two polls (one query each); it grows by half each time, up to
    /// 10 s.
    #[arg(long, default_value = "500ms", value_parser = parse_duration)]
    pub interval: Duration,
}

/// Options of `graph`.
#[derive(Debug, Clone, Args)]
pub struct GraphArgs {
    /// Output format: Graphviz DOT, or Mermaid (which GitHub and GitLab render in a pull
    /// request).
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    pub format: GraphFormat,
}

/// The formats of `graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Graphviz DOT.
    Dot,
    /// A Mermaid flowchart.
    Mermaid,
}

/// Options of `configured`.
#[derive(Debug, Clone, Args)]
pub struct ConfiguredArgs {
    /// The variables.
    #[arg(value_name = "VAR", required = true)]
    pub vars: Vec<String>,
}

/// Options of `accept-changes`.
#[derive(Debug, Clone, Args)]
pub struct AcceptArgs {
    /// The changed migrations to accept [default: all of them].
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
}

/// Options of `up`.
#[derive(Debug, Clone, Args)]
pub struct UpArgs {
    /// Output: text for people, or JSON Lines, one event per line (start, progress, finish,
    /// failed, summary; schema `mongodb-migrate/event/v1`).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Apply only NAME and the migrations it depends on (transitively), in plan order.
    #[arg(long, value_name = "NAME")]
    pub to: Option<String>,
    /// Print what would run, in order, and write nothing: no state and no lock.
    #[arg(long)]
    pub dry_run: bool,
    /// Record the migrations as applied without running them (baselining a database that
    /// already has the changes). The details record `fake: true`.
    #[arg(long)]
    pub fake: bool,
    /// Run failed or interrupted migrations again (after fixing and rebuilding).
    #[arg(long)]
    pub retry: bool,
    /// Go on although applied migrations changed since they were applied.
    #[arg(long)]
    pub allow_changed: bool,
    /// Go on although the database records migrations this binary does not contain.
    #[arg(long)]
    pub allow_unknown: bool,
    /// Go on although applied migrations have dependencies that are not applied (the history
    /// is out of order): apply those dependencies late.
    #[arg(long)]
    pub allow_out_of_order: bool,
}

/// Options of `down`.
#[derive(Debug, Clone, Args)]
pub struct DownArgs {
    /// Output: text for people, or JSON Lines, one event per line (start, progress, finish,
    /// failed, summary; schema `mongodb-migrate/event/v1`).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Roll back everything that depends on NAME (transitively), latest first, keeping NAME;
    /// `zero` rolls back everything.
    #[arg(long, value_name = "NAME|zero", conflicts_with = "steps")]
    pub to: Option<String>,
    /// Roll back the last N applied migrations.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub steps: Option<u32>,
    /// Print what would run, in order, and write nothing: no state and no lock.
    #[arg(long)]
    pub dry_run: bool,
    /// Record the migrations as not applied without running their downgrades.
    #[arg(long)]
    pub fake: bool,
    /// Count failed migrations as applied: run their downgrades to undo partial work and clear
    /// their failure records.
    #[arg(long)]
    pub retry: bool,
    /// Go on although the database records migrations this binary does not contain.
    #[arg(long)]
    pub allow_unknown: bool,
    /// Run the downgrades of migrations that changed since they were applied (by default they
    /// are refused: the downgrade that would run is not the one reviewed with the upgrade).
    #[arg(long)]
    pub allow_changed: bool,
}

/// Options of `status` (`-v` is the global `--verbose`).
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

/// An output format option.
#[derive(Debug, Clone, Args)]
pub struct FormatArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

/// Whatever was passed to `new`: it is not parsed, only answered with where scaffolding went.
#[derive(Debug, Clone, Args)]
pub struct MovedArgs {
    /// Ignored.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub rest: Vec<std::ffi::OsString>,
}

/// Human text or one JSON document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Text for people.
    Human,
    /// One JSON document with a `schema` version field.
    Json,
}

/// Parses `500ms`, `90s`, `2m`, `1h` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    // A bare number is seconds, as in `--lock-timeout 90`.
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
        return s
            .parse()
            .map(Duration::from_secs)
            .map_err(|e| format!("`{s}`: {e}"));
    }
    humantime::parse_duration(s)
        .map_err(|e| format!("`{s}` is not a duration like 90s, 2m, 1m30s or 500ms: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("500MB"), Ok(500_000_000));
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("1.5 KiB"), Ok(1536));
        assert!(parse_size("big").is_err());
        assert!(parse_size("3 parsecs").is_err());
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("soon").is_err());
        assert_eq!(parse_duration("1m 30s"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("").is_err());
    }
}
