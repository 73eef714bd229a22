//! Progress of a rehearsal, for a front end to draw: the copy, collection by collection, and
//! each run of each migration. The runs' own events (a backfill's progress, notes) come through
//! the runner's [`Observer`](crate::Observer).

use super::report::{CheckReport, CollectionCopy, FailureReport, Phase, PhaseReport};

/// Something that happened during a rehearsal.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum RehearsalEvent<'a> {
    /// The scratch database is ready for the copy: its marker written.
    ScratchReady {
        /// Its name.
        database: &'a str,
        /// Whether a stale scratch database of that name (left by an earlier rehearsal) was
        /// dropped first.
        replaced: bool,
    },
    /// The rehearsal is over (or failed, or was cancelled): the scratch database was dropped,
    /// or kept.
    ScratchDone {
        /// Its name.
        database: &'a str,
        /// Left for inspection.
        kept: bool,
        /// Why it could not be dropped, if it could not.
        error: Option<&'a str>,
    },
    /// A collection's copy starts.
    CopyStart {
        /// The collection.
        collection: &'a str,
        /// 1-based position among the collections copied.
        index: usize,
        /// Collections to copy.
        total: usize,
        /// The documents it is expected to hold (the source's estimate, sampled).
        expected: u64,
    },
    /// Documents of the collection copied so far.
    CopyProgress {
        /// The collection.
        collection: &'a str,
        /// Documents copied.
        done: u64,
        /// Documents expected.
        expected: u64,
    },
    /// A collection is copied (documents, indexes, validator).
    CopyFinish {
        /// What was copied.
        copy: &'a CollectionCopy,
    },
    /// A run of a migration starts.
    PhaseStart {
        /// The migration.
        migration: &'a str,
        /// Which run.
        phase: Phase,
        /// 1-based position of the migration in the rehearsal.
        index: usize,
        /// Migrations rehearsed.
        total: usize,
    },
    /// The run ended; its data is being compared with a snapshot.
    Comparing {
        /// The migration.
        migration: &'a str,
        /// Which run.
        phase: Phase,
    },
    /// A run of a migration ended, with its comparison when it has one.
    PhaseFinish {
        /// The migration.
        migration: &'a str,
        /// Which run.
        phase: Phase,
        /// What it did.
        report: &'a PhaseReport,
        /// Its comparison.
        check: Option<&'a CheckReport>,
    },
    /// A run of a migration failed: the rehearsal ends here.
    PhaseFailed {
        /// The migration.
        migration: &'a str,
        /// The failure.
        failure: &'a FailureReport,
    },
}

/// Receives [`RehearsalEvent`]s. Must not block.
pub trait RehearsalObserver: Send + Sync {
    /// Called for every event, in order.
    fn on_event(&self, event: &RehearsalEvent<'_>);
}

impl RehearsalObserver for crate::Silent {
    fn on_event(&self, _: &RehearsalEvent<'_>) {}
}
