//! Rehearsing a plan on a copy of the real data before deploying it: how long each migration
//! takes on this data, whether it fails on a document nobody thought of, and whether its
//! downgrade really brings the data back.
//!
//! [`Rehearsal`] copies the source database's collections (documents, indexes, options,
//! validators) and its migration state into a scratch database, which it marks as its own
//! ([`scratch`]), then runs each migration there through the real [`Migrator`](crate::Migrator)
//! under the scratch database's own lock and state: up (recorded), its upgrade body once more
//! (idempotence), down (must restore the data before up exactly), up again (must give the first
//! up's data). Each comparison streams both sides in `_id` order and never holds a collection in
//! memory. The source is only read. The scratch database is dropped at the end, on failure and
//! on cancellation too.
//!
//! The `migrate rehearse` command is this module behind the CLI; its JSON output is
//! [`RehearsalReport`] under the schema `mongodb-migrate/rehearse/v1`.

mod bson_order;
mod compare;
mod copy;
mod error;
mod events;
mod monitor;
mod rehearsal;
mod report;
mod round_trip;
mod sample;
mod scope;
pub mod scratch;
mod snapshot;

pub use error::RehearsalError;
pub use events::{RehearsalEvent, RehearsalObserver};
pub use rehearsal::{Prepared, Rehearsal};
pub use report::{
    CheckReport, CollectionCopy, CopyReport, Difference, DifferenceKind, FailureReport,
    FieldDifference, IndexBuild, MigrationReport, Phase, PhaseReport, RehearsalReport, ScopeKind,
    ScratchSummary, SourceSummary, Verdict,
};
pub use sample::{BadSample, Sample};
pub use scope::{Planned, Scope};
pub use scratch::{cleanup, Cleaned, ScratchDatabase};
