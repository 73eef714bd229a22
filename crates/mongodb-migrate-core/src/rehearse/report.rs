//! What a rehearsal found, as serializable outcome structs: the CLI renders them as text or as
//! the JSON document `mongodb-migrate/rehearse/v1`.

use serde::Serialize;

use super::sample::Sample;
use crate::FailingDocument;

/// The whole rehearsal: what was copied where, and what each migration did there.
#[derive(Debug, Clone, Serialize)]
pub struct RehearsalReport {
    /// The database rehearsed.
    pub source: SourceSummary,
    /// Where it was rehearsed.
    pub scratch: ScratchSummary,
    /// `pending`, `to` or `all`.
    pub scope: ScopeKind,
    /// The sample, when not every document was copied.
    pub sample: Option<Sample>,
    /// The copy.
    pub copy: CopyReport,
    /// One entry per migration rehearsed, in plan order; a failed one is the last.
    pub migrations: Vec<MigrationReport>,
    /// The verdict over them all.
    pub verdict: Verdict,
    /// The whole rehearsal's wall time, copy and clean-up included.
    pub duration_ms: u64,
}

/// Which migrations a rehearsal runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeKind {
    /// The pending migrations of the source's state.
    Pending,
    /// The pending migrations up to a named one (`--to NAME`).
    To,
    /// The whole plan from an empty state, over the source's data (`--all`).
    All,
}

/// The source side.
#[derive(Debug, Clone, Serialize)]
pub struct SourceSummary {
    /// The source database.
    pub database: String,
    /// The data collections copied (views included), by name.
    pub collections: Vec<String>,
    /// Whether they are every collection of the source (no `--collections`).
    pub all_collections: bool,
    /// Whether the migration state was copied (not with `--all`, which starts from none).
    pub state_copied: bool,
    /// The collections the build's analyzer saw the rehearsed migrations name: a suggestion
    /// for `--collections`, not the whole truth (helpers and markers reach others).
    pub suggested: Vec<String>,
}

/// The scratch side.
#[derive(Debug, Clone, Serialize)]
pub struct ScratchSummary {
    /// The scratch database.
    pub database: String,
    /// The hosts of the deployment it lives on.
    pub hosts: String,
    /// Whether that is the source's deployment (no `--scratch-uri`).
    pub same_deployment: bool,
    /// Left for inspection (`--keep`).
    pub kept: bool,
    /// Dropped at the end.
    pub dropped: bool,
    /// Why dropping it failed, if it did (`migrate rehearse --cleanup` drops it later).
    pub drop_error: Option<String>,
}

/// The copy into the scratch database.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CopyReport {
    /// Each collection copied, in the order copied (state collections last).
    pub collections: Vec<CollectionCopy>,
    /// Documents copied in all.
    pub documents: u64,
    /// Their size in bytes (BSON).
    pub bytes: u64,
    /// The copy's wall time.
    pub duration_ms: u64,
    /// Documents copied per second.
    pub documents_per_second: f64,
}

/// One collection copied.
#[derive(Debug, Clone, Serialize)]
pub struct CollectionCopy {
    /// Its name.
    pub name: String,
    /// `collection`, `view` or `timeseries`.
    pub kind: String,
    /// Whether it is migration state (copied whole, never sampled).
    pub state: bool,
    /// Documents copied.
    pub documents: u64,
    /// Documents in the source, as its metadata estimates them before the copy.
    pub source_documents: u64,
    /// Bytes copied (BSON).
    pub bytes: u64,
    /// Indexes built, `_id_` aside.
    pub indexes: usize,
    /// Whether a validator was set on it after its documents were in.
    pub validator: bool,
    /// Wall time, index builds included.
    pub duration_ms: u64,
}

/// What a rehearsal concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every migration applied, its re-run changed nothing, its downgrade restored the data
    /// exactly, and its upgrade again gave the first upgrade's data.
    Exact,
    /// Every migration ran, but a round trip is not exact: a re-run changed the data, a
    /// downgrade did not restore it, or an upgrade again differed from the first.
    NotExact,
    /// A migration's upgrade or downgrade failed (the first failure ends the rehearsal).
    Failed,
    /// Nothing to rehearse: no migration pending.
    NothingToRehearse,
}

/// One migration's rehearsal.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationReport {
    /// The migration.
    pub name: &'static str,
    /// Its `IRREVERSIBLE` reason: its downgrade and upgrade again are skipped.
    pub irreversible: Option<&'static str>,
    /// The upgrade, through the runner (recorded in the scratch state).
    pub up: Option<PhaseReport>,
    /// The upgrade's body once more on the upgraded data (not recorded).
    pub rerun: Option<PhaseReport>,
    /// The downgrade, through the runner.
    pub down: Option<PhaseReport>,
    /// The upgrade again, through the runner.
    pub up_again: Option<PhaseReport>,
    /// After the re-run against after the upgrade: must be equal.
    pub idempotent: Option<CheckReport>,
    /// After the downgrade against before the upgrade: must be equal.
    pub downgrade_exact: Option<CheckReport>,
    /// After the upgrade again against after the first upgrade: must be equal, except what
    /// the migration's markers declare it creates afresh.
    pub up_again_equal: Option<CheckReport>,
    /// The failure that ended the rehearsal here.
    pub failure: Option<FailureReport>,
    /// The notes its runs left.
    pub notes: Vec<String>,
}

impl MigrationReport {
    pub(crate) fn new(name: &'static str, irreversible: Option<&'static str>) -> Self {
        MigrationReport {
            name,
            irreversible,
            up: None,
            rerun: None,
            down: None,
            up_again: None,
            idempotent: None,
            downgrade_exact: None,
            up_again_equal: None,
            failure: None,
            notes: Vec::new(),
        }
    }

    /// Whether every check that ran found equal data.
    pub fn exact(&self) -> bool {
        [
            &self.idempotent,
            &self.downgrade_exact,
            &self.up_again_equal,
        ]
        .into_iter()
        .flatten()
        .all(|c| c.equal)
    }
}

/// One of the four runs of a migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The upgrade through the runner.
    Up,
    /// The upgrade's body again, unrecorded.
    Rerun,
    /// The downgrade through the runner.
    Down,
    /// The upgrade again through the runner.
    UpAgain,
}

impl Phase {
    /// How the phase is named in text.
    pub fn label(self) -> &'static str {
        match self {
            Phase::Up => "up",
            Phase::Rerun => "re-run",
            Phase::Down => "down",
            Phase::UpAgain => "up again",
        }
    }
}

/// What one run of a migration did, measured from the commands its body sent.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PhaseReport {
    /// How long its body ran.
    pub duration_ms: u64,
    /// When sampled: the duration projected to the full collections it touched, from the
    /// measured rate (linear in their documents). A projection, not a measurement.
    pub projected_ms: Option<u64>,
    /// Documents the server returned to it (find, aggregate, getMore, findAndModify).
    pub documents_read: u64,
    /// Documents it inserted, modified, upserted or deleted.
    pub documents_written: u64,
    /// The index builds it ran.
    pub index_builds: Vec<IndexBuild>,
    /// The collections its commands named.
    pub collections: Vec<String>,
}

/// One `createIndexes` a migration ran.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndexBuild {
    /// The collection.
    pub collection: String,
    /// The indexes it created.
    pub indexes: Vec<String>,
    /// How long the command took.
    pub duration_ms: u64,
}

/// One comparison of the scratch database with a snapshot of it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckReport {
    /// Whether the data is equal (what the check tolerates aside).
    pub equal: bool,
    /// Documents compared (the larger side of each collection).
    pub documents_compared: u64,
    /// Documents present on both sides that differ.
    pub changed: u64,
    /// Documents present only after.
    pub added: u64,
    /// Documents present only before.
    pub removed: u64,
    /// Differences of indexes and collection options.
    pub definitions: u64,
    /// For the upgrade again: documents the migration created anew (its marker says it
    /// created them), with new `_id`s, paired with the first upgrade's.
    pub recreated: u64,
    /// For the upgrade again: date, timestamp and ObjectId values that differ in documents
    /// the migration marked (values a run generates, such as `created_at: now`).
    pub regenerated: u64,
    /// For the re-run: whether the migration's state or details record changed.
    pub record_changed: bool,
    /// The first differences, by collection and `_id` order.
    pub examples: Vec<Difference>,
}

impl CheckReport {
    /// Differences of any kind.
    pub fn differences(&self) -> u64 {
        self.changed + self.added + self.removed + self.definitions + u64::from(self.record_changed)
    }
}

/// One difference between two sides of a check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    /// The collection.
    pub collection: String,
    /// What differs.
    pub kind: DifferenceKind,
    /// The document's `_id` (relaxed extended JSON), for document differences.
    pub id: Option<String>,
    /// The index, for index differences.
    pub index: Option<String>,
    /// For a changed document, index or options: what differs, by field path.
    pub fields: Vec<FieldDifference>,
}

/// The kinds of [`Difference`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DifferenceKind {
    /// A document on both sides, with other values.
    Changed,
    /// A document only after.
    Added,
    /// A document only before.
    Removed,
    /// An index added, removed or changed.
    Index,
    /// The collection's options (validator, collation, …) changed.
    Options,
}

/// One field that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldDifference {
    /// The dotted path (`address.city`, `tags.2`).
    pub path: String,
    /// The value before: its BSON type (`string`, `absent`), or the value itself with
    /// `show_values`.
    pub before: String,
    /// The value after, shown the same way.
    pub after: String,
}

/// A failure that ended the rehearsal.
#[derive(Debug, Clone, Serialize)]
pub struct FailureReport {
    /// The run that failed.
    pub phase: Phase,
    /// The error's cause chain, as the runner records it.
    pub error: String,
    /// The document the failed write was about, when the server's error names it.
    pub document: Option<Box<FailingDocument>>,
}

pub(crate) fn per_second(n: u64, ms: u64) -> f64 {
    if ms == 0 {
        return 0.0;
    }
    n as f64 * 1000.0 / ms as f64
}

/// The verdict over the migrations rehearsed.
pub(crate) fn verdict(migrations: &[MigrationReport]) -> Verdict {
    if migrations.is_empty() {
        Verdict::NothingToRehearse
    } else if migrations.iter().any(|m| m.failure.is_some()) {
        Verdict::Failed
    } else if migrations.iter().all(MigrationReport::exact) {
        Verdict::Exact
    } else {
        Verdict::NotExact
    }
}
