//! What stops a rehearsal before it has a verdict. A migration that fails in the rehearsal is
//! not one of these: it is the rehearsal's finding, in its [report](super::RehearsalReport).

use std::path::PathBuf;

use crate::model::LockHolder;
use crate::Error;

/// Why a rehearsal could not run to its verdict.
#[derive(Debug, thiserror::Error)]
pub enum RehearsalError {
    /// The scratch database would be the source itself.
    #[error(
        "the scratch database {name:?} is the source database: a rehearsal only reads the source"
    )]
    ScratchIsSource {
        /// The name.
        name: String,
    },
    /// The scratch database exists and holds no rehearsal's marker.
    #[error(
        "the scratch database {name:?} already exists and was not made by a rehearsal (it holds {}); \
         a rehearsal replaces only its own scratch databases",
        .collections.join(", ")
    )]
    ScratchNotOurs {
        /// The name.
        name: String,
        /// Some of its collections.
        collections: Vec<String>,
    },
    /// The scratch database belongs to a rehearsal that is still running.
    #[error("the scratch database {name:?} is in use by a rehearsal on {host} (pid {pid}) started {since}")]
    ScratchInUse {
        /// The name.
        name: String,
        /// The host of that rehearsal.
        host: String,
        /// Its process.
        pid: u32,
        /// When it made the database (server time).
        since: String,
    },
    /// Not a database name MongoDB accepts.
    #[error("{name:?} cannot be a scratch database: {reason}")]
    BadScratchName {
        /// The name.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// `--collections` names a collection the source does not have.
    #[error("the source database {database} has no collection {name:?}{}", suggest(.suggestion))]
    UnknownCollection {
        /// The source database.
        database: String,
        /// The name given.
        name: String,
        /// A close name, if any.
        suggestion: Option<String>,
    },
    /// A runner holds the source's migration lock right now.
    #[error(
        "the source database's migration lock is held by {holder}: a runner is migrating it, so \
         its data and state are changing; rehearse once it is done (the lock document is never copied)"
    )]
    SourceLocked {
        /// The holder.
        holder: Box<LockHolder>,
    },
    /// The source records migrations in progress (running, or interrupted by a runner that died).
    #[error(
        "the source database records {} in progress or interrupted: {}; a copy of it would \
         rehearse a half-applied migration (in-progress markers are never copied). Let the runner \
         finish, or run `migrate up` (or `migrate status`) to record the interruption first",
        if .migrations.len() == 1 { "a migration" } else { "migrations" },
        .migrations.join(", ")
    )]
    SourceInProgress {
        /// The migrations.
        migrations: Vec<String>,
    },
    /// Reading the source's state, or judging its plan, failed: as `up` would refuse (a failed
    /// record, drift, unknown migrations, an unknown `--to`), or a state read failed.
    #[error(transparent)]
    Source(Box<Error>),
    /// The runner failed on the scratch database for a reason other than a migration's error
    /// (its lock, its state writes).
    #[error("on the scratch database: {0}")]
    Scratch(#[source] Box<Error>),
    /// A command of the copy, a snapshot, a comparison or the scratch database's upkeep failed.
    #[error("{what} failed")]
    Database {
        /// What was being done.
        what: String,
        /// The driver's error.
        #[source]
        source: mongodb::error::Error,
    },
    /// A comparison's spill file could not be written or read.
    #[error("cannot use the comparison's spill file under {dir}")]
    Spill {
        /// The directory.
        dir: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The server's `_id` order disagrees with this tool's, so the two sides cannot be merged.
    #[error(
        "collection {collection}: the server returned _id {id} after {previous}, which this tool \
         orders first; the comparison cannot merge the two sides by _id"
    )]
    IdOrder {
        /// The collection.
        collection: String,
        /// The earlier `_id`.
        previous: String,
        /// The later one.
        id: String,
    },
    /// The runner on the scratch database ran other migrations than the source's plan named
    /// (the two states diverged while the rehearsal ran).
    #[error("on the scratch database the runner ran {ran:?} where the rehearsal expected only {expected}")]
    PlanMismatch {
        /// The migration the rehearsal was running.
        expected: String,
        /// What the runner ran.
        ran: Vec<String>,
    },
    /// Cancelled (a signal in the CLI, or the application's [`CancelHandle`](crate::CancelHandle)).
    #[error("the rehearsal was cancelled by {reason}")]
    Cancelled {
        /// `SIGTERM`, `SIGINT` or the application's reason.
        reason: String,
    },
}

fn suggest(s: &Option<String>) -> String {
    s.as_ref()
        .map(|s| format!(" (did you mean {s:?}?)"))
        .unwrap_or_default()
}

impl RehearsalError {
    pub(crate) fn source(e: impl Into<Error>) -> Self {
        RehearsalError::Source(Box::new(e.into()))
    }

    pub(crate) fn scratch(e: impl Into<Error>) -> Self {
        RehearsalError::Scratch(Box::new(e.into()))
    }

    pub(crate) fn database(what: impl Into<String>) -> impl FnOnce(mongodb::error::Error) -> Self {
        let what = what.into();
        move |source| RehearsalError::Database { what, source }
    }

    /// Whether the server could not be reached.
    pub fn is_unreachable(&self) -> bool {
        match self {
            RehearsalError::Source(e) | RehearsalError::Scratch(e) => e.is_unreachable(),
            RehearsalError::Database { source, .. } => {
                matches!(
                    *source.kind,
                    mongodb::error::ErrorKind::ServerSelection { .. }
                )
            }
            _ => false,
        }
    }

    /// Whether the server refused the credentials or the user's roles.
    pub fn is_authorization(&self) -> bool {
        match self {
            RehearsalError::Source(e) | RehearsalError::Scratch(e) => e.is_authentication(),
            RehearsalError::Database { source, .. } => {
                matches!(
                    *source.kind,
                    mongodb::error::ErrorKind::Authentication { .. }
                ) || crate::collection_spec::command_code(source) == Some(UNAUTHORIZED)
            }
            _ => false,
        }
    }
}

/// `Unauthorized`: the user's roles do not grant the action.
pub(crate) const UNAUTHORIZED: i32 = 13;
