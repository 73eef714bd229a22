//! Progress events a [`Migrator`](crate::Migrator) reports while it runs.

use std::time::Duration;

use crate::model::{Direction, LockHolder};
use crate::status::Failure;

/// Something that happened during a run.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Event<'a> {
    /// The lock is held by someone else; we wait. Reported again when the holder changes.
    LockWait {
        /// The holder, if the lock document could be read.
        holder: Option<&'a LockHolder>,
        /// How long we are prepared to wait.
        timeout: Duration,
    },
    /// We hold the lock.
    LockAcquired,
    /// A migration was found marked as running by a runner that is gone; it is now recorded as failed.
    Interrupted {
        /// The migration.
        name: &'a str,
        /// The failure record written for it.
        failure: &'a Failure,
    },
    /// The state collection held several documents of one name (pymongo-migrate keeps no
    /// unique index); the surplus ones are removed under the lock, keeping the applied one.
    Deduplicated {
        /// The migration name.
        name: &'a str,
        /// How many documents are removed.
        removed: usize,
    },
    /// The database holds migrations newer than this binary, which extend its plan: they are
    /// left as they are.
    Ahead {
        /// Their names.
        names: &'a [String],
    },
    /// A migration starts.
    Start {
        /// The migration.
        name: &'a str,
        /// Upgrade or downgrade.
        direction: Direction,
        /// 1-based position in this run.
        index: usize,
        /// Steps in this run.
        total: usize,
        /// Only recorded, not run.
        fake: bool,
    },
    /// A migration about to run holds destructive operations its author allowed (`ALLOW`):
    /// reported before it runs, with their reasons.
    Destructive {
        /// The migration.
        name: &'a str,
        /// What is allowed, and why.
        allowed: &'a [crate::Allowed],
    },
    /// A running migration reported progress ([`progress::report`](crate::progress::report)).
    Progress {
        /// The migration.
        name: &'a str,
        /// Units done.
        done: u64,
        /// Units in all, when known.
        total: Option<u64>,
    },
    /// A running migration left a note ([`progress::note`](crate::progress::note)).
    Note {
        /// The migration.
        name: &'a str,
        /// The note.
        message: &'a str,
    },
    /// A migration finished successfully and is recorded.
    Finish {
        /// The migration.
        name: &'a str,
        /// Upgrade or downgrade.
        direction: Direction,
        /// How long it took.
        elapsed: Duration,
        /// Only recorded, not run.
        fake: bool,
    },
    /// A migration failed; the failure is recorded and the run stops.
    Failed {
        /// The migration.
        name: &'a str,
        /// Upgrade or downgrade.
        direction: Direction,
        /// How long it ran.
        elapsed: Duration,
        /// The cause chain.
        error: &'a str,
    },
}

/// Receives [`Event`]s; the CLI draws progress with it. Must not block.
pub trait Observer: Send + Sync {
    /// Called for every event, in order.
    fn on_event(&self, event: &Event<'_>);
}

/// Ignores every event (the library default).
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Observer for Silent {
    fn on_event(&self, _: &Event<'_>) {}
}
