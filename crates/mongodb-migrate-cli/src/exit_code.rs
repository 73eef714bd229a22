//! The process exit codes of the `migrate` command, in one place.
//!
//! They are a stable interface: deploy scripts branch on them. [`of_error`] maps every library
//! error to one of them, and nothing else does.
//!
//! ```
//! use mongodb_migrate_cli::exit_code;
//! use mongodb_migrate_core::FindingKind;
//! assert_eq!(exit_code::of_finding(FindingKind::Pending), exit_code::PENDING);
//! ```

use mongodb_migrate_core::rehearse::{RehearsalError, Verdict};
use mongodb_migrate_core::{Error, FindingKind, LockError, Refusal, StoreError};

/// Everything asked for was done (or there was nothing to do).
pub const SUCCESS: u8 = 0;
/// A migration's upgrade or downgrade returned an error or panicked; the failure is recorded.
pub const MIGRATION_FAILED: u8 = 1;
/// Bad command line or configuration: unknown option, no database named, unknown migration name,
/// transactional migrations to run on a server that cannot run transactions, a connection option
/// no migration can run with (`w=0`), a failed login, or a user without a role the command needs.
pub const USAGE: u8 = 2;
/// The database server could not be reached within `--server-timeout`.
pub const DATABASE_UNREACHABLE: u8 = 3;
/// Another runner held the lock for all of `--lock-timeout`, or this runner lost its lease.
pub const LOCK_NOT_ACQUIRED: u8 = 4;
/// Refused: a failed (or interrupted) migration is recorded; see `up --retry` and `down`.
pub const FAILED_RECORD: u8 = 5;
/// Refused, or `check` failed: an applied migration changed since it was applied.
pub const CHANGED: u8 = 6;
/// Refused, or `check` failed: the database records migrations this binary does not know.
pub const UNKNOWN: u8 = 7;
/// `check` only: migrations are pending (and nothing worse was found).
pub const PENDING: u8 = 8;
/// Refused: `down` would roll back a migration that another applied (or failed) one depends on.
pub const HAS_DEPENDENTS: u8 = 9;
/// A database command failed while reading or writing the state or the lock (or the `hello`
/// of the transaction pre-flight).
pub const DATABASE_ERROR: u8 = 10;
/// Refused, or `check` failed: an applied migration's dependency is not applied (the history is
/// out of order); see `up --allow-out-of-order`.
pub const OUT_OF_ORDER: u8 = 11;
/// `check` only: the database holds migrations newer than this binary that extend its plan
/// (applied by a newer version), and nothing worse was found. `up` succeeds with a note.
pub const AHEAD: u8 = 12;
/// `wait` only: the database did not reach this binary's plan within `--timeout`.
pub const WAIT_TIMEOUT: u8 = 13;
/// Refused: `down` would roll back a migration declared irreversible (`IRREVERSIBLE`); nothing
/// ran.
pub const IRREVERSIBLE: u8 = 14;
/// `rehearse` only: every migration ran on the copy, but a round trip is not exact: a re-run of
/// an upgrade changed the data, a downgrade did not restore it, or an upgrade again differed
/// from the first. (A migration that failed on the copy is [`MIGRATION_FAILED`].)
pub const NOT_EXACT: u8 = 15;
/// Cancelled by Ctrl-C (SIGINT); the lock was released, the running migration is recorded as
/// cancelled.
pub const INTERRUPTED: u8 = 130;
/// Cancelled by SIGTERM (how Kubernetes, systemd and CI stop a process); the lock was released,
/// the running migration is recorded as cancelled.
pub const TERMINATED: u8 = 143;

/// The exit code of `check` when `kind` is the highest-ranked finding.
pub fn of_finding(kind: FindingKind) -> u8 {
    use FindingKind as K;
    match kind {
        K::Failed => FAILED_RECORD,
        K::Changed => CHANGED,
        K::Unknown => UNKNOWN,
        K::OutOfOrder => OUT_OF_ORDER,
        K::Future => AHEAD,
        K::Pending => PENDING,
        // A finding newer than this crate: the framework's crates are released together.
        _ => USAGE,
    }
}

/// The exit code for a library error.
pub fn of_error(e: &Error) -> u8 {
    if e.is_unreachable() {
        return DATABASE_UNREACHABLE;
    }
    // A failed login, and a user without a privilege the runner needs (`Unauthorized`): both
    // are the account's configuration.
    if e.is_authentication()
        || crate::render::server_code(e).is_some_and(|(c, _)| c == crate::render::UNAUTHORIZED)
            && !matches!(e, Error::MigrationFailed { .. })
    {
        return USAGE;
    }
    match e {
        Error::Config(_) | Error::State(StoreError::Foreign { .. }) => USAGE,
        Error::Connection(_) => DATABASE_UNREACHABLE,
        Error::Lock(LockError::Store(_) | LockError::NoServerTime)
        | Error::State(_)
        | Error::Preflight(_) => DATABASE_ERROR,
        Error::Lock(_) => LOCK_NOT_ACQUIRED,
        Error::Refused(r) => of_refusal(r),
        Error::MigrationFailed { .. } => MIGRATION_FAILED,
        Error::Cancelled { reason, .. } if reason == "SIGTERM" => TERMINATED,
        Error::Cancelled { .. } => INTERRUPTED,
    }
}

/// The exit code for a refusal.
pub fn of_refusal(r: &Refusal) -> u8 {
    match r {
        Refusal::FailedRecord { .. } => FAILED_RECORD,
        Refusal::Changed { .. } | Refusal::ChangedDowngrade { .. } => CHANGED,
        Refusal::Unknown { .. } => UNKNOWN,
        Refusal::OutOfOrder { .. } => OUT_OF_ORDER,
        Refusal::HasDependents { .. } => HAS_DEPENDENTS,
        Refusal::Irreversible { .. } => IRREVERSIBLE,
    }
}

/// The exit code of a rehearsal's verdict.
pub fn of_verdict(verdict: Verdict) -> u8 {
    match verdict {
        Verdict::Exact | Verdict::NothingToRehearse => SUCCESS,
        Verdict::NotExact => NOT_EXACT,
        Verdict::Failed => MIGRATION_FAILED,
    }
}

/// The exit code for an error that stopped a rehearsal before its verdict.
pub fn of_rehearsal(e: &RehearsalError) -> u8 {
    if e.is_unreachable() {
        return DATABASE_UNREACHABLE;
    }
    if e.is_authorization() {
        return USAGE;
    }
    match e {
        RehearsalError::Source(e) | RehearsalError::Scratch(e) => of_error(e),
        RehearsalError::ScratchIsSource { .. }
        | RehearsalError::ScratchNotOurs { .. }
        | RehearsalError::BadScratchName { .. }
        | RehearsalError::UnknownCollection { .. } => USAGE,
        RehearsalError::ScratchInUse { .. } | RehearsalError::SourceLocked { .. } => {
            LOCK_NOT_ACQUIRED
        }
        RehearsalError::SourceInProgress { .. } => FAILED_RECORD,
        RehearsalError::Cancelled { reason } if reason == "SIGTERM" => TERMINATED,
        RehearsalError::Cancelled { .. } => INTERRUPTED,
        // A database command, a spill file, or the two sides of a comparison.
        _ => DATABASE_ERROR,
    }
}

/// The table shown at the end of `migrate --help`.
pub const HELP_TABLE: &str = "\
Exit codes:
    0  success (or nothing to do)
    1  a migration failed; the failure is recorded
    2  usage or configuration error (also: authentication failed; a missing role; a URI option
       no migration can run with, such as w=0; transactions unsupported; a lease under 1s;
       a state collection that is not migration state)
    3  database unreachable within --server-timeout
    4  lock not acquired within --lock-timeout, or lease lost (rehearse: the source's lock
       is held, or the scratch database is in use)
    5  refused: a failed or interrupted migration is recorded (fix, rebuild, `up --retry`; or `down`);
       rehearse: the source records a migration in progress
    6  refused / check: an applied migration changed since it was applied (--allow-changed);
       also down, for the migrations it would roll back
    7  refused / check: the database has migrations this binary does not know (--allow-unknown)
    8  check: migrations are pending
    9  refused: down would leave an applied or failed dependent without its dependency
   10  database error while reading or writing state or lock (rehearse: while copying,
       comparing or cleaning up)
   11  refused / check: an applied migration's dependency is not applied (--allow-out-of-order)
   12  check: the database is ahead of this binary (migrations newer than it, extending its plan)
   13  wait: the database did not reach this binary's plan within --timeout
   14  refused: down would roll back a migration declared irreversible
   15  rehearse: a round trip is not exact (a re-run changed the data, a downgrade did not
       restore it, or an upgrade again differed); a migration failing there is 1
  130  cancelled by Ctrl-C (SIGINT); recorded as cancelled, lock released
  143  cancelled by SIGTERM; recorded as cancelled, lock released
";
