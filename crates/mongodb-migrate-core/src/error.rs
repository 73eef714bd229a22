//! Typed errors, one per layer: connection, lock, state, refusal, migration failure.
//!
//! Messages state what happened and keep their cause (`source`); what to do next (a flag to
//! pass, a command to run) is the front end's to add, and so is the exit code.

use std::time::Duration;

use crate::model::{Direction, LockHolder};
use crate::store::StoreError;

/// Everything [`Migrator`](crate::Migrator) and [`connect`](crate::connect) can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The connection string or options are invalid, or name no database.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The server could not be reached.
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// The lock could not be acquired, or was lost.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// Reading or writing the state, details or lock documents failed.
    #[error(transparent)]
    State(#[from] StoreError),
    /// The run was refused before anything was written.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// A migration failed; the failure is recorded in the state.
    #[error("migration {name} failed ({direction}): {error}")]
    MigrationFailed {
        /// The failed migration.
        name: String,
        /// Whether its upgrade or its downgrade failed.
        direction: Direction,
        /// The full cause chain (`{:#}`) or the panic message.
        error: String,
        /// The document the failed write was about, when the server's error names it (a
        /// validation failure, a duplicate key).
        document: Option<Box<crate::FailingDocument>>,
    },
    /// The pre-flight `hello` before transactional migrations failed (the command, not the
    /// verdict: an unsupported server is [`ConfigError::TransactionsUnsupported`]).
    #[error("cannot ask the server whether it supports transactions (hello)")]
    Preflight(#[source] mongodb::error::Error),
    /// The run was cancelled ([`CancelHandle`](crate::CancelHandle), or a signal in the CLI);
    /// the lease was released.
    #[error("{}", cancelled_message(.reason, .migration))]
    Cancelled {
        /// Why: `SIGTERM`, `SIGINT`, or the application's reason.
        reason: String,
        /// The migration that was running, recorded as cancelled; `None` between migrations.
        migration: Option<String>,
    },
}

fn cancelled_message(reason: &str, migration: &Option<String>) -> String {
    match migration {
        Some(m) => format!(
            "cancelled by {reason}: {m} was stopped and is recorded as cancelled (its effects may be partial); the lock was released"
        ),
        None => format!("cancelled by {reason} between migrations; the lock was released"),
    }
}

impl Error {
    /// The driver error at the bottom of this error, if any.
    pub fn driver_error(&self) -> Option<&mongodb::error::Error> {
        match self {
            Error::State(e) | Error::Lock(LockError::Store(e)) => e.driver_error(),
            Error::Preflight(e) => Some(e),
            _ => None,
        }
    }

    /// Whether the server could not be reached (server selection ran out of time).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Error::Connection(_))
            || self.driver_error().is_some_and(|e| {
                matches!(*e.kind, mongodb::error::ErrorKind::ServerSelection { .. })
            })
    }

    /// Whether the server refused the credentials.
    pub fn is_authentication(&self) -> bool {
        matches!(self, Error::Config(ConfigError::Authentication { .. }))
            || self.driver_error().is_some_and(|e| {
                matches!(*e.kind, mongodb::error::ErrorKind::Authentication { .. })
            })
    }
}

/// A configuration mistake: nothing was attempted.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// No URI given.
    #[error("no MongoDB URI")]
    NoUri,
    /// The URI does not parse.
    #[error("invalid MongoDB URI {uri}: {message}")]
    BadUri {
        /// The URI, password redacted.
        uri: String,
        /// Why, password redacted.
        message: String,
    },
    /// The server answered but refused the credentials.
    #[error("authentication to the MongoDB server at {hosts} failed: {message}")]
    Authentication {
        /// The hosts of the URI.
        hosts: String,
        /// The driver's message, password redacted.
        message: String,
    },
    /// Neither `--database` nor the URI names a database.
    #[error("no database")]
    NoDatabase,
    /// A migration name that the binary does not contain.
    #[error("no migration named {name:?} in this binary{}", hint(.suggestion))]
    UnknownTarget {
        /// The name given.
        name: String,
        /// The closest known name, if any is close.
        suggestion: Option<String>,
    },
    /// `accept-changes NAME` for a migration that has not changed since it was applied.
    #[error("{name} has not changed since it was applied (or is not applied): nothing to accept")]
    NotChanged {
        /// The name given.
        name: String,
    },
    /// A lease shorter than [`MIN_LEASE_TTL`](crate::lock::MIN_LEASE_TTL).
    #[error("a lease of {ttl:?} is too short: the lock would be stealable before its first renewal; use at least 1s (10s or more is recommended)")]
    LeaseTooShort {
        /// The lease asked for.
        ttl: Duration,
    },
    /// A server timeout that leaves renewals no room within the lease.
    #[error("a server timeout of {timeout:?} is too long for a lease of {ttl:?}: a renewal (every third of the lease) could wait longer than the lease has left; use a server timeout below a third of the lease ({:?})", *.ttl / 3)]
    ServerTimeoutTooLong {
        /// The server timeout.
        timeout: Duration,
        /// The lease.
        ttl: Duration,
    },
    /// A state collection name MongoDB would refuse, or one in the `system.` namespace.
    #[error("{name:?} cannot be the state collection: {reason}")]
    BadCollection {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The connection string turns retryable writes off, which state writes rely on.
    #[error("the connection string sets retryWrites=false: the migration state is written with retryable writes, so that a failover at a state write cannot turn a completed migration into an interrupted one; remove retryWrites=false")]
    RetryWritesDisabled,
    /// A connection option with which no migration can run (`w=0`, a `w` above the members):
    /// refused before the lock is taken.
    #[error("the connection string sets {option}, with which no migration can run: {reason}. Nothing was written.")]
    UnusableOption {
        /// The option as written in a URI.
        option: String,
        /// Why, and what to do.
        reason: String,
    },
    /// Migrations about to run are transactional, and the server cannot run transactions.
    #[error(
        "{} transactional ({}), but {reason}.\nNothing was run. Run them against a replica set or a mongos, or drop `TRANSACTIONAL` from them.",
        plural(.migrations.len(), "migration to run is", "migrations to run are"),
        .migrations.join(", ")
    )]
    TransactionsUnsupported {
        /// The transactional migrations that were about to run.
        migrations: Vec<String>,
        /// Why the server cannot run them, from its `hello` reply.
        reason: String,
    },
}

fn hint(s: &Option<String>) -> String {
    s.as_ref()
        .map(|s| format!(" (did you mean {s}?)"))
        .unwrap_or_default()
}

/// The server did not answer.
#[derive(Debug, thiserror::Error)]
#[error("cannot reach the MongoDB server at {hosts} within {timeout:?}: {message}")]
pub struct ConnectionError {
    /// The hosts of the URI.
    pub hosts: String,
    /// The server selection timeout that ran out.
    pub timeout: Duration,
    /// The driver's message, password redacted.
    pub message: String,
}

/// The lease lock could not be had or kept.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another runner held the lock for the whole timeout.
    #[error("lock not acquired within {waited:.1?}: {}", describe_holder(.holder))]
    NotAcquired {
        /// Who holds it, if the lock document could be read.
        holder: Option<LockHolder>,
        /// How long we waited.
        waited: Duration,
    },
    /// Our lease expired and another runner took it over; we stopped before writing state.
    #[error("lost the migration lock ({}); the running migration was stopped and nothing more was recorded", taken_by(.holder))]
    Lost {
        /// The new holder, if any.
        holder: Option<LockHolder>,
    },
    /// A database command on the lock collection failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The server's `hello` reply has no `localTime` to judge leases by.
    #[error("the server's hello reply has no localTime: cannot judge leases by the server clock")]
    NoServerTime,
}

fn describe_holder(h: &Option<LockHolder>) -> String {
    match h {
        Some(h) => format!("held by {h}"),
        None => "held by another runner".to_owned(),
    }
}

fn taken_by(h: &Option<LockHolder>) -> String {
    match h {
        Some(h) => format!("it is now held by {h}"),
        None => {
            "the lease expired or the lock was released by `unlock`; no one holds it now".to_owned()
        }
    }
}

/// Why a run was refused before it wrote anything.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// Failed or interrupted migrations are recorded.
    #[error(
        "{} recorded as failed: {}\n\nNothing was run.",
        plural(.failed.len(), "migration is", "migrations are"),
        .failed.join(", ")
    )]
    FailedRecord {
        /// The failed migrations.
        failed: Vec<String>,
    },
    /// `down` would roll back a migration declared irreversible (`IRREVERSIBLE`); nothing ran.
    #[error(
        "cannot roll back {name}: it is declared irreversible: {reason}\nNothing was rolled back."
    )]
    Irreversible {
        /// The migration.
        name: String,
        /// Its `IRREVERSIBLE` reason.
        reason: String,
    },
    /// `down` would run the downgrade of migrations that changed since they were applied.
    #[error(
        "{} to roll back changed since applied: {}\nThe downgrade that would run is not the one that was reviewed with the upgrade.",
        plural(.changed.len(), "migration", "migrations"),
        .changed.join(", ")
    )]
    ChangedDowngrade {
        /// The changed migrations.
        changed: Vec<String>,
    },
    /// Applied migrations whose checksum differs from the binary's.
    #[error(
        "{} changed since applied: {}\nAn applied migration is not re-run.",
        plural(.changed.len(), "migration", "migrations"),
        .changed.join(", ")
    )]
    Changed {
        /// The changed migrations.
        changed: Vec<String>,
    },
    /// Applied migrations absent from the binary.
    #[error(
        "the database records {} this binary does not contain: {}\nIs this binary older than the database?",
        plural(.unknown.len(), "migration", "migrations"),
        .unknown.join(", ")
    )]
    Unknown {
        /// The unknown names.
        unknown: Vec<String>,
    },
    /// Applied migrations whose dependencies are not applied.
    #[error(
        "the recorded history is out of order: {}\nApplying the missing dependencies now would run them after migrations that need them.",
        .applied_before.join("; ")
    )]
    OutOfOrder {
        /// One entry per applied migration: `NAME (applied, but not its dependency DEP, …)`.
        applied_before: Vec<String>,
    },
    /// `down` would roll back a migration that others still depend on.
    #[error(
        "cannot roll back {name}: {} on it: {}",
        plural(.dependents.len(), "applied or failed migration depends", "applied or failed migrations depend"),
        .dependents.join(", "),
    )]
    HasDependents {
        /// The migration that would be rolled back.
        name: String,
        /// The applied or failed migrations depending on it.
        dependents: Vec<String>,
        /// Whether a dependent is a failed record.
        failed_dependent: bool,
    },
}

impl Refusal {
    /// The `check` finding this refusal stands for; `None` for refusals of `down` that are not
    /// findings (dependents, irreversibility).
    pub fn finding(&self) -> Option<crate::FindingKind> {
        use crate::FindingKind as K;
        match self {
            Refusal::FailedRecord { .. } => Some(K::Failed),
            Refusal::Changed { .. } | Refusal::ChangedDowngrade { .. } => Some(K::Changed),
            Refusal::Unknown { .. } => Some(K::Unknown),
            Refusal::OutOfOrder { .. } => Some(K::OutOfOrder),
            Refusal::HasDependents { .. } | Refusal::Irreversible { .. } => None,
        }
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}
