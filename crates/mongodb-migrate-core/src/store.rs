//! The one boundary between the runner and its bookkeeping: every read and write of the state,
//! details and lock documents goes through here, as typed documents.
//!
//! - `<collection>` (default `pymongo_migrate`) holds exactly `{_id, name, applied: date|null}`
//!   per migration, as pymongo-migrate 1.0.0 writes it. pymongo-migrate rebuilds a document
//!   with `MigrationState(**doc)`, a dataclass of exactly `name` and `applied`, so any extra
//!   field would crash it; and it writes with `replace_one`, which would wipe extra fields.
//! - `<collection>_details` holds everything else, one `DetailsDoc` per migration with
//!   `_id: <name>`: checksum, duration, who applied it, the in-progress marker, the failure.
//! - `<collection>_lock` holds one `LockDoc`, `_id: "migrate"`. It is never deleted by this
//!   version: releasing clears its owner, so the fence below can rely on it being present.
//!
//! # Concerns
//! Whatever the connection string says, this module reads from the **primary** with **majority**
//! read concern, and writes with **majority** write concern and **journaling**: a runner must
//! never judge the state from a lagging secondary, and a failover must never roll back a lock
//! or an `applied` record. The URI's settings keep applying to the migrations' own operations.
//! Every write is a single-document operation or a `bulkWrite` of them, which the driver retries
//! once on a retryable error (a step-down, a dropped connection), so a failover at a state write
//! does not turn a completed migration into an interrupted one.
//!
//! # Fenced writes
//! `Store::commit_with` writes a group of state changes only while the lease is ours:
//! - on servers with `bulkWrite` (MongoDB 8.0+) it is **one** ordered `bulkWrite` whose first
//!   operation is an owner-filtered upsert of the lock document. When the document belongs to
//!   someone else the upsert's insert collides on `_id` (E11000) and, the bulk being ordered,
//!   nothing after it is written;
//! - elsewhere, an owner-filtered `update` of the lock document immediately before the writes,
//!   each its own command ([`WritePath::Separate`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bson::{doc, Bson, Document, RawBsonRef, RawDocument, RawDocumentBuf};
use futures::TryStreamExt;
use mongodb::options::{
    Acknowledgment, CollectionOptions, DeleteOneModel, ReadConcern, ReadPreference,
    SelectionCriteria, UpdateOneModel, WriteConcern, WriteModel,
};
use mongodb::{ClientSession, Collection, Database, Namespace};
use serde::{Deserialize, Serialize};

use crate::model::{Direction, LockHolder, Runner};

/// The fixed `_id` of the lock document.
pub const LOCK_ID: &str = "migrate";

/// The tool and version written into the details of every migration we run.
pub const TOOL: &str = concat!("mongodb-migrate ", env!("CARGO_PKG_VERSION"));

/// The name of the details collection beside state collection `collection`.
pub fn details_collection(collection: &str) -> String {
    format!("{collection}_details")
}

/// The name of the lock collection beside state collection `collection`.
pub fn lock_collection(collection: &str) -> String {
    format!("{collection}_lock")
}

/// The collections a runner whose state collection is `collection` writes (state, details,
/// lock): never part of the data a comparison looks at.
pub fn state_collections(collection: &str) -> Vec<String> {
    vec![
        collection.to_owned(),
        details_collection(collection),
        lock_collection(collection),
    ]
}

/// How state writes reach the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WritePath {
    /// One ordered, fenced `bulkWrite` per group (MongoDB 8.0+).
    Bulk,
    /// An owner-filtered lock update, then one command per write (servers without `bulkWrite`).
    Separate,
}

impl WritePath {
    /// The environment variable that forces [`WritePath::Separate`] (`separate`), so the fallback
    /// runs under the same tests on a server that has `bulkWrite`.
    pub const ENV: &'static str = "MONGO_MIGRATE_STATE_WRITES";

    /// The state commands this path sends per migration, beside the migration's own: what
    /// `doctor` reports and `docs/state-format.md` explains.
    pub fn commands_per_migration(self) -> &'static str {
        match self {
            WritePath::Bulk => "own + 1",
            WritePath::Separate => "own + 4",
        }
    }

    /// Whether [`ENV`](Self::ENV) forces the fallback.
    pub(crate) fn forced_separate() -> bool {
        std::env::var(Self::ENV).is_ok_and(|v| v.eq_ignore_ascii_case("separate"))
    }

    /// The path for a server whose `hello` reports `max_wire_version` (25 is MongoDB 8.0), when
    /// nothing more is known; a run judges the server once and takes
    /// [`ServerInfo::write_path`](crate::server::ServerInfo::write_path), which also asks
    /// `listCommands`.
    pub(crate) fn for_server(max_wire_version: Option<i32>) -> Self {
        if Self::forced_separate() || max_wire_version.unwrap_or(0) < 25 {
            WritePath::Separate
        } else {
            WritePath::Bulk
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Documents

/// A shared state document, as pymongo-migrate writes it (read by [`state_doc`]; written field
/// by field, `applied` alone, so that its shape stays pymongo-migrate's).
#[derive(Debug, Clone)]
pub(crate) struct StateDoc {
    pub id: Bson,
    pub name: String,
    pub applied: Option<bson::DateTime>,
}

/// Our details document of one migration. Every field is optional: documents written by older
/// versions lack the newer ones, and later versions may add fields this one ignores.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct DetailsDoc {
    #[serde(rename = "_id")]
    pub name: String,
    pub checksum: Option<String>,
    pub duration_ms: Option<i64>,
    pub applied_by: Option<Runner>,
    pub tool: Option<String>,
    pub fake: Option<bool>,
    pub started_at: Option<bson::DateTime>,
    pub direction: Option<Direction>,
    pub started_by: Option<Runner>,
    pub failed_at: Option<bson::DateTime>,
    pub failed_direction: Option<Direction>,
    pub error: Option<String>,
    pub reverted_at: Option<bson::DateTime>,
    pub notes: Option<Vec<String>>,
    pub dependencies: Option<Vec<String>>,
    pub description: Option<String>,
    pub checkpoints: Option<std::collections::BTreeMap<String, CheckpointRecord>>,
}

/// How far one resumable backfill of a migration got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointRecord {
    /// The key the backfill walks in order (`_id` by default).
    pub key: String,
    /// The last processed document's value of `key`: the backfill resumes after it.
    pub value: Bson,
    /// Documents processed so far.
    pub done: i64,
}

/// The lock document.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct LockDoc {
    #[serde(rename = "_id")]
    pub id: String,
    /// `None` (stored as `null`) while nobody holds it.
    pub owner: Option<Runner>,
    pub acquired_at: Option<bson::DateTime>,
    pub renewed_at: Option<bson::DateTime>,
    pub expires_at: Option<bson::DateTime>,
    pub released_at: Option<bson::DateTime>,
}

impl LockDoc {
    /// The holder, when the document names an owner.
    pub fn holder(&self) -> Option<LockHolder> {
        Some(LockHolder {
            owner: self.owner.clone()?,
            acquired_at: self.acquired_at.map(bson::DateTime::to_chrono),
            expires_at: self.expires_at.map(bson::DateTime::to_chrono),
        })
    }
}

/// The field names this module writes, each named once.
mod field {
    pub const NAME: &str = "name";
    pub const APPLIED: &str = "applied";
    pub const OWNER: &str = "owner";
    pub const OWNER_TOKEN: &str = "owner.token";
    pub const EXPIRES_AT: &str = "expires_at";
    pub const RENEWED_AT: &str = "renewed_at";
    pub const ACQUIRED_AT: &str = "acquired_at";
    pub const RELEASED_AT: &str = "released_at";
    pub const CHECKSUM: &str = "checksum";
    pub const STARTED: [&str; 3] = ["started_at", "direction", "started_by"];
    pub const FAILED: [&str; 3] = ["failed_at", "failed_direction", "error"];
    pub const REVERTED_AT: &str = "reverted_at";
    pub const ACCEPTED: &str = "accepted_checksum_change";
    pub const NOTES: &str = "notes";
    pub const DEPENDENCIES: &str = "dependencies";
    pub const CHECKPOINTS: &str = "checkpoints";
    pub const DESCRIPTION: &str = "description";
}

/// What the state collections say about one migration name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Record {
    /// The shared `applied` field: `Some` when applied.
    pub applied: Option<chrono::DateTime<chrono::Utc>>,
    /// The checksum recorded at apply time.
    pub checksum: Option<String>,
    /// How long the migration took, in milliseconds.
    pub duration_ms: Option<i64>,
    /// Who applied (or reverted) it.
    pub applied_by: Option<Runner>,
    /// Whether the last apply or revert was faked.
    pub fake: bool,
    /// Set while a runner executes it.
    pub in_progress: Option<InProgress>,
    /// The failure record.
    pub failure: Option<FailureRecord>,
    /// The notes its last run left.
    pub notes: Vec<String>,
    /// The dependencies stored when it was applied (`None`: applied by pymongo-migrate, or by
    /// a version that did not store them).
    pub dependencies: Option<Vec<String>>,
    /// The description stored when it was applied.
    pub description: Option<String>,
    /// The checkpoints of its resumable backfills, by backfill id: set while it is not applied.
    pub checkpoints: std::collections::BTreeMap<String, CheckpointRecord>,
}

/// The in-progress marker: a runner started this migration and has not recorded an outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InProgress {
    /// When it started.
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// In which direction.
    pub direction: Direction,
    /// By whom.
    pub by: Runner,
}

/// A recorded failure, cancellation or interruption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureRecord {
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
    /// In which direction.
    pub direction: Direction,
    /// The error, as recorded.
    pub error: String,
}

impl Record {
    fn read_details(&mut self, d: DetailsDoc) {
        self.checksum = d.checksum;
        self.duration_ms = d.duration_ms;
        self.applied_by = d.applied_by;
        self.fake = d.fake.unwrap_or(false);
        self.notes = d.notes.unwrap_or_default();
        self.dependencies = d.dependencies;
        self.description = d.description;
        self.checkpoints = d.checkpoints.unwrap_or_default();
        if let (Some(at), Some(direction), Some(by)) = (d.started_at, d.direction, d.started_by) {
            self.in_progress = Some(InProgress {
                started_at: at.to_chrono(),
                direction,
                by,
            });
        }
        if let Some(at) = d.failed_at {
            self.failure = Some(FailureRecord {
                at: at.to_chrono(),
                direction: d.failed_direction.unwrap_or(Direction::Up),
                error: d.error.unwrap_or_default(),
            });
        }
    }
}

/// The state as read in one query.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// Every recorded name.
    pub records: HashMap<String, Record>,
    /// The lock document, when it was asked for and exists.
    pub(crate) lock: Option<LockDoc>,
    /// Surplus shared documents of a name (pymongo-migrate keeps no unique index): the `_id`s
    /// to remove so that one document per name remains, by name.
    pub duplicates: Vec<(String, Vec<Bson>)>,
}

// ---------------------------------------------------------------------------------------------
// Errors

/// Reading or writing the state, details or lock collections failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A database command failed.
    #[error("{operation} on collection {collection} failed")]
    Database {
        /// The collection.
        collection: String,
        /// What was being done.
        operation: &'static str,
        /// The driver's error.
        #[source]
        source: mongodb::error::Error,
    },
    /// The server rejected a write of a batch (a write error in the reply).
    #[error("writing a batch to {collection} failed: {message}")]
    Rejected {
        /// The collection.
        collection: String,
        /// The server's message.
        message: String,
    },
    /// A command about the server itself (`hello`, `listCommands`) failed.
    #[error("{operation} failed")]
    Server {
        /// What was being asked.
        operation: &'static str,
        /// The driver's error.
        #[source]
        source: mongodb::error::Error,
    },
    /// The fence found the lease held by someone else (or released): nothing was written.
    #[error("the lease is no longer ours")]
    Lost,
    /// A collection we would write to holds documents that are not migration state.
    #[error("collection {collection} holds documents that are not {what}: found {found}")]
    Foreign {
        /// The collection.
        collection: String,
        /// What it should hold.
        what: &'static str,
        /// The first foreign document's field names (never its values).
        found: String,
    },
}

impl StoreError {
    /// The driver error underneath, if any.
    pub fn driver_error(&self) -> Option<&mongodb::error::Error> {
        match self {
            StoreError::Database { source, .. } | StoreError::Server { source, .. } => Some(source),
            _ => None,
        }
    }
}

fn db_err<'a>(
    collection: &'a str,
    operation: &'static str,
) -> impl FnOnce(mongodb::error::Error) -> StoreError + 'a {
    move |source| StoreError::Database {
        collection: collection.to_owned(),
        operation,
        source,
    }
}

// ---------------------------------------------------------------------------------------------
// Writes

/// A fence: the lease this runner believes it holds, and the renewal the fenced write carries.
#[derive(Debug, Clone)]
pub(crate) struct Fence {
    pub token: String,
    pub now: bson::DateTime,
    pub expires_at: bson::DateTime,
}

impl Fence {
    fn filter(&self) -> Document {
        doc! { "_id": LOCK_ID, field::OWNER_TOKEN: &self.token }
    }

    fn renewal(&self) -> Document {
        doc! { "$set": { field::RENEWED_AT: self.now, field::EXPIRES_AT: self.expires_at } }
    }
}

/// One change of the recorded state.
#[derive(Debug, Clone)]
pub(crate) enum Change {
    /// Marks `name` as running: a crash leaves this marker, and the next runner reports the
    /// migration as interrupted.
    Begin {
        name: String,
        direction: Direction,
        runner: Runner,
    },
    /// Records `name` as applied, with its dependencies and description: an older binary that
    /// does not know it can then tell whether it only extends what it knows (a "future"
    /// migration) or conflicts with it.
    Applied {
        name: String,
        checksum: String,
        dependencies: Vec<String>,
        description: String,
        duration_ms: i64,
        runner: Runner,
        fake: bool,
        notes: Vec<String>,
    },
    /// Records `name` as not applied (`applied: null`, the document kept, as pymongo-migrate does).
    Reverted {
        name: String,
        duration_ms: i64,
        runner: Runner,
        fake: bool,
        notes: Vec<String>,
    },
    /// Records a failure, cancellation or interruption; `applied` is left as it was.
    Failed {
        name: String,
        direction: Direction,
        error: String,
        duration_ms: Option<i64>,
        runner: Option<Runner>,
    },
    /// Records `checksum` as `name`'s applied checksum, keeping the previous one beside it.
    AcceptChecksum {
        name: String,
        previous: Option<String>,
        checksum: String,
        runner: Runner,
    },
    /// Removes a surplus shared document of a name.
    RemoveDuplicate { id: Bson },
    /// Records how far a resumable backfill (`id`) of `name` got: the last processed `key`
    /// value, and how many documents are done.
    Checkpoint {
        name: String,
        id: String,
        key: String,
        value: Bson,
        done: u64,
    },
}

/// A single-document write: where, which document, and what.
enum Write {
    /// To the shared document of `name`, addressed by the store (see [`StateIds`]).
    State {
        name: String,
        update: Document,
        upsert: bool,
    },
    /// To the details document of `name`.
    Details { name: String, update: Document },
    /// Removes a surplus shared document.
    Delete { filter: Document },
}

fn unset(fields: &[&str]) -> Document {
    fields
        .iter()
        .map(|f| ((*f).to_owned(), Bson::from("")))
        .collect()
}

/// The last run's notes (see [`progress::note`](crate::progress::note)): set when there are
/// any, removed otherwise, so the record always speaks of the last run.
fn note_fields(set: &mut Document, unsets: &mut Document, notes: &[String]) {
    if notes.is_empty() {
        unsets.insert(field::NOTES, "");
    } else {
        set.insert(field::NOTES, notes);
    }
}

fn runner_bson(r: &Runner) -> Bson {
    bson::to_bson(r).unwrap_or(Bson::Null)
}

/// A successful run of a migration in either direction, as written: the shared document's
/// `applied`, then the details with what this direction records (`set`), who ran it, how long
/// it took and its notes. The in-progress marker, any failure record, any backfill checkpoint
/// and the other direction's field (`unset`) go.
struct Outcome<'a> {
    name: &'a str,
    applied: Bson,
    set: Document,
    unset: &'static str,
    duration_ms: i64,
    runner: &'a Runner,
    fake: bool,
    notes: &'a [String],
}

impl Outcome<'_> {
    fn writes(self) -> Vec<Write> {
        let mut set = self.set;
        set.insert("duration_ms", self.duration_ms);
        set.insert("applied_by", runner_bson(self.runner));
        set.insert("tool", TOOL);
        set.insert("fake", self.fake);
        let mut unsets = unset(&field::STARTED);
        unsets.extend(unset(&field::FAILED));
        unsets.insert(self.unset, "");
        // Applied or reverted: a backfill's checkpoint has served its purpose.
        unsets.insert(field::CHECKPOINTS, "");
        note_fields(&mut set, &mut unsets, self.notes);
        vec![
            // The shared document first: it is the truth both tools read. Reverting keeps it
            // (`applied: null`), as pymongo-migrate does, and never creates one.
            Write::State {
                name: self.name.to_owned(),
                upsert: self.applied != Bson::Null,
                update: doc! { "$set": { field::APPLIED: self.applied } },
            },
            Write::Details {
                name: self.name.to_owned(),
                update: doc! { "$set": set, "$unset": unsets },
            },
        ]
    }
}

impl Change {
    fn writes(&self, now: bson::DateTime) -> Vec<Write> {
        let details = |name: &str, update: Document| Write::Details {
            name: name.to_owned(),
            update,
        };
        match self {
            Change::Begin {
                name,
                direction,
                runner,
            } => vec![details(
                name,
                doc! { "$set": {
                    field::STARTED[0]: now,
                    field::STARTED[1]: direction.as_str(),
                    field::STARTED[2]: runner_bson(runner),
                }},
            )],
            Change::Applied {
                name,
                checksum,
                dependencies,
                description,
                duration_ms,
                runner,
                fake,
                notes,
            } => Outcome {
                name,
                applied: Bson::DateTime(now),
                set: doc! {
                    field::CHECKSUM: checksum,
                    field::DEPENDENCIES: dependencies,
                    field::DESCRIPTION: description,
                },
                unset: field::REVERTED_AT,
                duration_ms: *duration_ms,
                runner,
                fake: *fake,
                notes,
            }
            .writes(),
            Change::Reverted {
                name,
                duration_ms,
                runner,
                fake,
                notes,
            } => Outcome {
                name,
                applied: Bson::Null,
                set: doc! { field::REVERTED_AT: now },
                unset: field::CHECKSUM,
                duration_ms: *duration_ms,
                runner,
                fake: *fake,
                notes,
            }
            .writes(),
            Change::Failed {
                name,
                direction,
                error,
                duration_ms,
                runner,
            } => {
                let mut set = doc! {
                    field::FAILED[0]: now,
                    field::FAILED[1]: direction.as_str(),
                    field::FAILED[2]: error,
                };
                if let Some(ms) = duration_ms {
                    set.insert("duration_ms", ms);
                }
                if let Some(r) = runner {
                    set.insert("applied_by", runner_bson(r));
                    set.insert("tool", TOOL);
                }
                vec![details(
                    name,
                    doc! { "$set": set, "$unset": unset(&field::STARTED) },
                )]
            }
            Change::AcceptChecksum {
                name,
                previous,
                checksum,
                runner,
            } => vec![details(
                name,
                doc! { "$set": {
                    field::CHECKSUM: checksum,
                    field::ACCEPTED: {
                        "previous": previous,
                        "at": now,
                        "by": runner_bson(runner),
                        "tool": TOOL,
                    },
                }},
            )],
            Change::RemoveDuplicate { id } => vec![Write::Delete {
                filter: doc! { "_id": id.clone() },
            }],
            Change::Checkpoint {
                name,
                id,
                key,
                value,
                done,
            } => vec![details(
                name,
                doc! { "$set": {
                    format!("{}.{id}", field::CHECKPOINTS): {
                        "key": key,
                        "value": value.clone(),
                        "done": i64::try_from(*done).unwrap_or(i64::MAX),
                        "at": now,
                    },
                }},
            )],
        }
    }
}

/// The `_id` of each name's shared document: the one the last full [`Store::load`] kept, or the
/// one this store chose for a document it inserts.
///
/// Shared documents are written by `_id`, not by `name`: pymongo-migrate creates no index on
/// `name`, so a write filtered by it scans the collection, and recording N migrations would read
/// O(N²) documents (on SecantusDB, 200 migrations took twice as long). Every run loads the state
/// under the lock before it writes, so these are the documents it writes. The filter keeps the
/// name as well, so a stale `_id` can never touch another migration's document: an upsert would
/// collide on `_id` instead.
///
/// A store that has not loaded the state yet knows no `_id` and filters by name: a chosen `_id`
/// there could add a second document beside one it never saw.
#[derive(Debug, Clone, Default)]
struct StateIds(Arc<Mutex<Option<HashMap<String, Bson>>>>);

impl StateIds {
    fn replace(&self, ids: HashMap<String, Bson>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(ids);
    }

    /// The filter of `name`'s shared document. For an upsert of a name without a document, a
    /// fresh `_id` is chosen and kept, so a retry (ours, or a transaction's) inserts one
    /// document, not two.
    fn filter(&self, name: &str, upsert: bool) -> Document {
        let mut loaded = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(ids) = loaded.as_mut() else {
            return doc! { field::NAME: name };
        };
        match ids.get(name) {
            Some(id) => doc! { "_id": id.clone(), field::NAME: name },
            None if upsert => {
                let id = Bson::ObjectId(bson::oid::ObjectId::new());
                ids.insert(name.to_owned(), id.clone());
                doc! { "_id": id, field::NAME: name }
            }
            // Nothing to revert that we know of: the name alone, so a document written since
            // (by a runner without a lock) is still found.
            None => doc! { field::NAME: name },
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The store

/// Reads and writes the state, details and lock documents of one database.
#[derive(Debug, Clone)]
pub struct Store {
    db: Database,
    state: Collection<Document>,
    details: Collection<Document>,
    lock: Collection<Document>,
    path: WritePath,
    ids: StateIds,
    reads: Reads,
}

/// Whether the server refused `$unionWith` in a state read, shared by the stores of a run.
#[derive(Debug, Clone, Default)]
pub(crate) struct Reads(Arc<AtomicBool>);

impl Reads {
    fn refuse(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Which collection a group of read documents came from.
#[derive(Debug, Clone, Copy)]
enum Tag {
    State,
    Details,
    Lock,
}

/// Whether a failed state read is the server refusing `$unionWith`: MongoDB's code for an
/// unknown stage (40324), `CommandNotSupported` (115), or a command error naming the stage.
fn refuses_union(e: &mongodb::error::Error) -> bool {
    match e.kind.as_ref() {
        mongodb::error::ErrorKind::Command(c) => {
            matches!(c.code, 40324 | 115) || c.message.contains("unionWith")
        }
        _ => false,
    }
}

/// Majority, journaled: a failover never rolls back what we recorded.
pub(crate) fn durable() -> WriteConcern {
    WriteConcern::builder()
        .w(Acknowledgment::Majority)
        .journal(true)
        .build()
}

fn options() -> CollectionOptions {
    CollectionOptions::builder()
        .read_concern(ReadConcern::majority())
        .write_concern(durable())
        .selection_criteria(SelectionCriteria::ReadPreference(ReadPreference::Primary))
        .build()
}

impl Store {
    /// The store of state collection `collection` (and its `_details` and `_lock`) in `db`.
    pub fn new(db: &Database, collection: &str) -> Self {
        Store {
            db: db.clone(),
            state: db.collection_with_options(collection, options()),
            details: db.collection_with_options(&details_collection(collection), options()),
            lock: db.collection_with_options(&lock_collection(collection), options()),
            path: WritePath::Bulk,
            ids: StateIds::default(),
            reads: Reads::default(),
        }
    }

    /// The same store writing through `path`.
    pub(crate) fn with_path(mut self, path: WritePath) -> Self {
        self.path = path;
        self
    }

    /// How writes reach the server.
    pub fn path(&self) -> WritePath {
        self.path
    }

    /// The whole state by name and, when `with_lock`, the lock document: one aggregation over
    /// the state collection that `$unionWith`s the details and the lock, so reading the state
    /// costs one query whatever the number of migrations (three, one per collection, on a
    /// server without `$unionWith`: see [`reads_with_union`](Self::reads_with_union)).
    ///
    /// Each collection comes back as one document (a `$group` of at most [`MAX_DOCUMENTS`] of
    /// its documents): the server evaluates no predicate per document, and a collection that
    /// is not ours is never read whole. Every document is checked here: a `--collection` naming
    /// an application collection is refused, naming the collection and the fields found.
    pub async fn load(&self, with_lock: bool) -> Result<Loaded, StoreError> {
        self.read(with_lock, MAX_DOCUMENTS).await
    }

    /// Checks the first document of each of the three collections (`$limit: 1` each): one
    /// bounded query, run before the lock is taken, so that a `--collection` naming an
    /// application collection is refused before anything is written. [`load`](Self::load)
    /// then checks every document.
    pub async fn probe(&self) -> Result<(), StoreError> {
        self.read(false, 1).await.map(|_| ())
    }

    /// Whether this store reads the state in one aggregation (`$unionWith`) rather than three
    /// queries; it turns false for good once the server refused the stage.
    pub fn reads_with_union(&self) -> bool {
        !self.reads.0.load(Ordering::Relaxed)
    }

    /// The same store shaped for `server` (see [`ServerInfo`](crate::server::ServerInfo)): its
    /// write path, and three queries for the state where `$unionWith` does not exist. `reads`
    /// is shared with the other stores of the run, so a refusal learnt by one holds for all.
    pub(crate) fn for_server(mut self, server: &crate::server::ServerInfo, reads: &Reads) -> Self {
        self.path = server.write_path();
        if !server.union_read() {
            reads.refuse();
        }
        self.reads = reads.clone();
        self
    }

    /// The same store, sharing what `reads` learnt about the server's `$unionWith`.
    pub(crate) fn sharing(mut self, reads: &Reads) -> Self {
        self.reads = reads.clone();
        self
    }

    async fn read(&self, with_lock: bool, limit: usize) -> Result<Loaded, StoreError> {
        let groups = if self.reads_with_union() {
            match self.read_union(limit).await {
                Ok(groups) => groups,
                // A server that does not know the stage (Amazon DocumentDB before 8.0.3, Azure
                // Cosmos DB's RU offering): three queries from now on.
                Err(StoreError::Database { source, .. }) if refuses_union(&source) => {
                    self.reads.refuse();
                    self.read_each(limit).await?
                }
                Err(e) => return Err(e),
            }
        } else {
            self.read_each(limit).await?
        };
        self.parse(groups, with_lock, limit)
    }

    /// The three collections in one aggregation, each as one `$group`ed document.
    async fn read_union(
        &self,
        limit: usize,
    ) -> Result<Vec<(Tag, Vec<RawDocumentBuf>)>, StoreError> {
        let bound = i64::try_from(limit).unwrap_or(i64::MAX);
        let grouped = |tag: &str| {
            // One more than allowed: a collection with more cannot be migration state.
            let take = if limit > 1 { bound + 1 } else { 1 };
            vec![
                doc! { "$limit": take },
                doc! { "$group": { "_id": tag, "docs": { "$push": "$$ROOT" } } },
            ]
        };
        let mut pipeline = grouped("state");
        pipeline.push(doc! { "$unionWith": {
            "coll": self.details.name(),
            "pipeline": grouped("details"),
        }});
        pipeline.push(doc! { "$unionWith": {
            "coll": self.lock.name(),
            "pipeline": grouped("lock"),
        }});
        // Raw documents, each checked and deserialized once: `status` reads every document of
        // two collections, and building a `Document` of each first was most of its CPU time.
        let groups: Vec<RawDocumentBuf> = self
            .state
            .aggregate(pipeline)
            .with_type::<RawDocumentBuf>()
            .await
            .map_err(db_err(self.state.name(), "reading the state"))?
            .try_collect()
            .await
            .map_err(db_err(self.state.name(), "reading the state"))?;
        Ok(groups
            .iter()
            .map(|group| {
                let tag = match group.get_str("_id").unwrap_or_default() {
                    "state" => Tag::State,
                    "details" => Tag::Details,
                    _ => Tag::Lock,
                };
                let docs = group
                    .get_array("docs")
                    .map(|a| {
                        a.into_iter()
                            .filter_map(|b| b.ok().and_then(|b| b.as_document()))
                            .map(RawDocument::to_raw_document_buf)
                            .collect()
                    })
                    .unwrap_or_default();
                (tag, docs)
            })
            .collect())
    }

    /// The three collections in three queries, for servers without `$unionWith`.
    async fn read_each(&self, limit: usize) -> Result<Vec<(Tag, Vec<RawDocumentBuf>)>, StoreError> {
        let take = if limit > 1 {
            limit.saturating_add(1)
        } else {
            1
        };
        let take = i64::try_from(take).unwrap_or(i64::MAX);
        let mut groups = Vec::with_capacity(3);
        for (tag, coll) in [
            (Tag::State, &self.state),
            (Tag::Details, &self.details),
            (Tag::Lock, &self.lock),
        ] {
            let docs: Vec<RawDocumentBuf> = coll
                .clone_with_type::<RawDocumentBuf>()
                .find(doc! {})
                .limit(take)
                .await
                .map_err(db_err(coll.name(), "reading the state"))?
                .try_collect()
                .await
                .map_err(db_err(coll.name(), "reading the state"))?;
            groups.push((tag, docs));
        }
        Ok(groups)
    }

    fn parse(
        &self,
        groups: Vec<(Tag, Vec<RawDocumentBuf>)>,
        with_lock: bool,
        limit: usize,
    ) -> Result<Loaded, StoreError> {
        let mut loaded = Loaded::default();
        let mut shared: HashMap<String, Vec<StateDoc>> = HashMap::new();
        for (tag, docs) in &groups {
            let tag = match tag {
                Tag::State => "state",
                Tag::Details => "details",
                Tag::Lock => "lock",
            };
            let (coll, what) = match tag {
                "state" => (&self.state, WHAT_STATE),
                "details" => (&self.details, WHAT_DETAILS),
                _ => (&self.lock, WHAT_LOCK),
            };
            if limit > 1 && docs.len() > limit {
                return Err(StoreError::Foreign {
                    collection: coll.name().to_owned(),
                    what,
                    found: format!("more than {limit} documents"),
                });
            }
            for d in docs.iter().map(|d| d.as_ref()) {
                let foreign = || StoreError::Foreign {
                    collection: coll.name().to_owned(),
                    what,
                    found: describe_fields(d),
                };
                match tag {
                    "state" => {
                        let s = state_doc(d).ok_or_else(foreign)?;
                        shared.entry(s.name.clone()).or_default().push(s);
                    }
                    "details" => {
                        let details = details_doc(d).ok_or_else(foreign)?;
                        loaded
                            .records
                            .entry(details.name.clone())
                            .or_default()
                            .read_details(details);
                    }
                    _ => {
                        let lock = lock_doc(d).ok_or_else(foreign)?;
                        if with_lock {
                            loaded.lock = Some(lock);
                        }
                    }
                }
            }
        }
        let mut ids = HashMap::with_capacity(shared.len());
        for (name, mut docs) in shared {
            // If a name appears twice, the applied one is the truth (pymongo-migrate keeps no
            // unique index); the others are surplus.
            docs.sort_by_key(|d| d.applied.is_none());
            ids.insert(name.clone(), docs[0].id.clone());
            let record = loaded.records.entry(name.clone()).or_default();
            record.applied = docs[0].applied.map(bson::DateTime::to_chrono);
            if docs.len() > 1 {
                let surplus = docs.drain(1..).map(|d| d.id).collect();
                loaded.duplicates.push((name, surplus));
            }
        }
        loaded.duplicates.sort_by(|a, b| a.0.cmp(&b.0));
        if limit > 1 {
            self.ids.replace(ids);
        }
        Ok(loaded)
    }

    /// Writes `changes` in order, only while `fence` holds: see the module documentation.
    ///
    /// [`StoreError::Lost`] means nothing was written.
    ///
    /// With `app`, a migration's own single-document updates (a backfill
    /// batch) written after the fence and before `changes`: on the `bulkWrite` path the batch
    /// and its checkpoint are one command, so a batch is never written without its checkpoint
    /// (nor the other way round), and never once the lease is lost.
    pub(crate) async fn commit_with(
        &self,
        fence: &Fence,
        app: Option<&AppUpdates>,
        changes: &[Change],
    ) -> Result<(), StoreError> {
        let now = fence.now;
        let writes: Vec<Write> = changes.iter().flat_map(|c| c.writes(now)).collect();
        match self.path {
            WritePath::Bulk => {
                let mut models: Vec<WriteModel> = Vec::with_capacity(writes.len() + 1);
                models.push(
                    UpdateOneModel::builder()
                        .namespace(self.lock.namespace())
                        .filter(fence.filter())
                        .update(fence.renewal())
                        .upsert(true)
                        .build()
                        .into(),
                );
                if let Some(app) = app {
                    models.extend(app.models());
                }
                models.extend(writes.into_iter().map(|w| self.model(w)));
                let result = self
                    .db
                    .client()
                    .bulk_write(models)
                    .ordered(true)
                    .write_concern(durable())
                    .await;
                match result {
                    Ok(_) => Ok(()),
                    Err(e) if fence_collided(&e) => Err(StoreError::Lost),
                    Err(e) => Err(db_err(self.state.name(), "recording the state")(e)),
                }
            }
            WritePath::Separate => {
                let renewed = self
                    .lock
                    .update_one(fence.filter(), fence.renewal())
                    .await
                    .map_err(db_err(self.lock.name(), "renewing the lease"))?;
                if renewed.matched_count != 1 {
                    return Err(StoreError::Lost);
                }
                if let Some(app) = app {
                    app.send_as_command(&self.db).await?;
                }
                for w in writes {
                    self.write_one(w, None).await?;
                }
                Ok(())
            }
        }
    }

    /// Writes `changes` inside the transaction of `session`, after *reading* the lock document
    /// in it to check the lease is `token`'s. Reading, not writing: a write would conflict with
    /// the heartbeat's renewals of the same document and abort the transaction.
    pub(crate) async fn commit_in_transaction(
        &self,
        session: &mut ClientSession,
        token: &str,
        now: bson::DateTime,
        changes: &[Change],
    ) -> Result<(), StoreError> {
        let plain: Collection<Document> = self.db.collection(self.lock.name());
        let lock = plain
            .find_one(doc! { "_id": LOCK_ID })
            .session(&mut *session)
            .await
            .map_err(db_err(self.lock.name(), "checking the lease"))?;
        let ours = lock
            .and_then(|d| bson::from_document::<LockDoc>(d).ok())
            .and_then(|l| l.owner)
            .is_some_and(|o| o.token == token);
        if !ours {
            return Err(StoreError::Lost);
        }
        for w in changes.iter().flat_map(|c| c.writes(now)) {
            self.write_one(w, Some(&mut *session)).await?;
        }
        Ok(())
    }

    fn model(&self, w: Write) -> WriteModel {
        match w {
            Write::State {
                name,
                update,
                upsert,
            } => UpdateOneModel::builder()
                .namespace(self.state.namespace())
                .filter(self.ids.filter(&name, upsert))
                .update(update)
                .upsert(upsert)
                .build()
                .into(),
            Write::Details { name, update } => UpdateOneModel::builder()
                .namespace(self.details.namespace())
                .filter(doc! { "_id": name })
                .update(update)
                .upsert(true)
                .build()
                .into(),
            Write::Delete { filter } => DeleteOneModel::builder()
                .namespace(self.state.namespace())
                .filter(filter)
                .build()
                .into(),
        }
    }

    async fn write_one(
        &self,
        w: Write,
        session: Option<&mut ClientSession>,
    ) -> Result<(), StoreError> {
        let (coll, filter, update, upsert) = match w {
            Write::State {
                name,
                update,
                upsert,
            } => (&self.state, self.ids.filter(&name, upsert), update, upsert),
            Write::Details { name, update } => (&self.details, doc! { "_id": name }, update, true),
            Write::Delete { filter } => {
                let plain = self.db.collection::<Document>(self.state.name());
                let result = match session {
                    Some(s) => plain.delete_one(filter).session(s).await,
                    None => self.state.delete_one(filter).await,
                };
                result.map_err(db_err(self.state.name(), "removing a duplicate"))?;
                return Ok(());
            }
        };
        let result = match session {
            // Inside a transaction the commit's write concern applies; a per-operation one is
            // an error.
            Some(s) => {
                self.db
                    .collection::<Document>(coll.name())
                    .update_one(filter, update)
                    .upsert(upsert)
                    .session(s)
                    .await
            }
            None => coll.update_one(filter, update).upsert(upsert).await,
        };
        result.map_err(db_err(coll.name(), "recording the state"))?;
        Ok(())
    }

    /// Reads the lock document.
    pub(crate) async fn read_lock(&self) -> Result<Option<LockDoc>, StoreError> {
        let found = self
            .lock
            .find_one(doc! { "_id": LOCK_ID })
            .await
            .map_err(db_err(self.lock.name(), "reading the lock"))?;
        Ok(found.and_then(|d| bson::from_document(d).ok()))
    }

    /// One atomic attempt to take the lease at server time `now` until `expires_at`: the
    /// document is absent, released, expired, or already ours.
    ///
    /// When the document exists and the filter does not match it, the upsert's insert collides
    /// on `_id` (E11000): that is "held", also for a concurrent upsert that lost. Returns
    /// whether we hold it.
    pub(crate) async fn try_take_lock(
        &self,
        me: &Runner,
        now: bson::DateTime,
        expires_at: bson::DateTime,
    ) -> Result<bool, StoreError> {
        let filter = doc! {
            "_id": LOCK_ID,
            "$or": [
                { field::EXPIRES_AT: { "$lt": now } },
                { field::OWNER_TOKEN: &me.token },
                { field::OWNER: Bson::Null },
            ],
        };
        let update = doc! {
            "$set": {
                field::OWNER: runner_bson(me),
                field::ACQUIRED_AT: now,
                field::RENEWED_AT: now,
                field::EXPIRES_AT: expires_at,
            },
            "$unset": { field::RELEASED_AT: "" },
        };
        match self.lock.update_one(filter, update).upsert(true).await {
            Ok(_) => Ok(true),
            Err(e) if is_duplicate_key(&e) => Ok(false),
            Err(e) => Err(db_err(self.lock.name(), "taking the lock")(e)),
        }
    }

    /// Renews the lease of `fence` (a heartbeat); `Ok(false)` when it is no longer ours.
    pub(crate) async fn renew(&self, fence: &Fence) -> Result<bool, StoreError> {
        let r = self
            .lock
            .update_one(fence.filter(), fence.renewal())
            .await
            .map_err(db_err(self.lock.name(), "renewing the lease"))?;
        Ok(r.matched_count == 1)
    }

    /// Releases the lease of `token` at server time `now`, keeping the document (with no
    /// owner). Returns whether it was ours.
    pub(crate) async fn release_lock(
        &self,
        token: &str,
        now: bson::DateTime,
    ) -> Result<bool, StoreError> {
        let r = self
            .lock
            .update_one(
                doc! { "_id": LOCK_ID, field::OWNER_TOKEN: token },
                release_update(now),
            )
            .await
            .map_err(db_err(self.lock.name(), "releasing the lock"))?;
        Ok(r.matched_count == 1)
    }

    /// Clears the lock's owner whoever it is, returning the holder it had.
    pub(crate) async fn force_release_lock(
        &self,
        now: bson::DateTime,
    ) -> Result<Option<LockHolder>, StoreError> {
        let previous = self
            .lock
            .find_one_and_update(
                doc! { "_id": LOCK_ID, field::OWNER: { "$ne": Bson::Null } },
                release_update(now),
            )
            .await
            .map_err(db_err(self.lock.name(), "releasing the lock"))?;
        Ok(previous
            .and_then(|d| bson::from_document::<LockDoc>(d).ok())
            .and_then(|l| l.holder()))
    }

    /// The server's `hello`, from the primary.
    pub(crate) async fn hello(&self) -> Result<Document, StoreError> {
        self.db
            .run_command(doc! { "hello": 1 })
            .selection_criteria(SelectionCriteria::ReadPreference(ReadPreference::Primary))
            .await
            .map_err(db_err(self.lock.name(), "asking the server's time (hello)"))
    }
}

/// A migration's own single-document updates on one collection, sent as one command.
#[derive(Debug, Clone)]
pub(crate) struct AppUpdates {
    pub namespace: Namespace,
    /// `(filter, update)` pairs, each matching one document.
    pub updates: Vec<(Document, Document)>,
}

impl AppUpdates {
    fn models(&self) -> impl Iterator<Item = WriteModel> + '_ {
        self.updates.iter().map(|(filter, update)| {
            UpdateOneModel::builder()
                .namespace(self.namespace.clone())
                .filter(filter.clone())
                .update(update.clone())
                .build()
                .into()
        })
    }

    /// As one `bulkWrite` (MongoDB 8.0+).
    pub(crate) async fn send_bulk(&self, client: &mongodb::Client) -> Result<(), StoreError> {
        if self.updates.is_empty() {
            return Ok(());
        }
        client
            .bulk_write(self.models().collect::<Vec<_>>())
            .ordered(true)
            .await
            .map(|_| ())
            .map_err(db_err(&self.namespace.coll, "writing a batch"))
    }

    /// As one `update` command with a statement per document, for servers without
    /// `bulkWrite`: still one round trip per batch, not one per document.
    pub(crate) async fn send_as_command(&self, db: &Database) -> Result<(), StoreError> {
        if self.updates.is_empty() {
            return Ok(());
        }
        let statements: Vec<Document> = self
            .updates
            .iter()
            .map(|(q, u)| doc! { "q": q.clone(), "u": u.clone(), "multi": false })
            .collect();
        let target = db.client().database(&self.namespace.db);
        let reply = target
            .run_command(doc! {
                "update": &self.namespace.coll,
                "updates": statements,
                "ordered": true,
            })
            .await
            .map_err(db_err(&self.namespace.coll, "writing a batch"))?;
        if let Ok(errors) = reply.get_array("writeErrors") {
            if let Some(first) = errors.first().and_then(Bson::as_document) {
                return Err(StoreError::Rejected {
                    collection: self.namespace.coll.clone(),
                    message: first
                        .get_str("errmsg")
                        .unwrap_or("a write error")
                        .to_owned(),
                });
            }
        }
        Ok(())
    }
}

fn release_update(now: bson::DateTime) -> Document {
    // An expiry in the past, so that older versions (which take a lock whose `expires_at` has
    // passed, and read a holder only from an `owner` document) see it as free.
    doc! { "$set": {
        field::OWNER: Bson::Null,
        field::EXPIRES_AT: now,
        field::RELEASED_AT: now,
    }}
}

/// At most this many documents are read from each of the state and details collections: more
/// cannot be migration state, and the bound keeps a wrong `--collection` from reading a large
/// application collection (each collection comes back as one document, under 16 MB).
pub const MAX_DOCUMENTS: usize = 20_000;

const WHAT_STATE: &str = "migration state {name, applied}";
const WHAT_DETAILS: &str = "migration details";
const WHAT_LOCK: &str = "a migration lock";

/// A shared state document: exactly `{_id, name: string, applied: date | null}`, read in one
/// pass over its elements.
fn state_doc(d: &RawDocument) -> Option<StateDoc> {
    let (mut id, mut name, mut applied, mut fields) = (None, None, None, 0);
    for element in d {
        let (key, value) = element.ok()?;
        fields += 1;
        match (key, value) {
            ("_id", v) => id = Some(Bson::try_from(v.to_raw_bson()).ok()?),
            (field::NAME, RawBsonRef::String(n)) => name = Some(n.to_owned()),
            (field::APPLIED, RawBsonRef::DateTime(t)) => applied = Some(Some(t)),
            (field::APPLIED, RawBsonRef::Null) => applied = Some(None),
            _ => return None,
        }
    }
    if fields != 3 {
        return None;
    }
    Some(StateDoc {
        id: id?,
        name: name?,
        applied: applied?,
    })
}

/// A details document: a string `_id` and at least one field every version of this tool
/// writes; later versions may add others.
fn details_doc(d: &RawDocument) -> Option<DetailsDoc> {
    const OURS: [&str; 5] = [
        "started_at",
        "failed_at",
        "tool",
        field::CHECKSUM,
        field::ACCEPTED,
    ];
    let (mut named, mut ours) = (false, false);
    for element in d {
        let (key, value) = element.ok()?;
        if key == "_id" {
            named = matches!(value, RawBsonRef::String(_));
        }
        ours |= OURS.contains(&key);
    }
    if !(named && ours) {
        return None;
    }
    bson::from_slice(d.as_bytes()).ok()
}

/// The lock document: `_id: "migrate"` with an `owner` (a runner, or null once released).
fn lock_doc(d: &RawDocument) -> Option<LockDoc> {
    if d.get_str("_id").ok() != Some(LOCK_ID) || !matches!(d.get(field::OWNER), Ok(Some(_))) {
        return None;
    }
    bson::from_slice(d.as_bytes()).ok()
}

/// The field names of a document, for an error message that never shows values.
fn describe_fields(d: &RawDocument) -> String {
    let keys: Vec<&str> = d
        .iter()
        .filter_map(|e| e.ok().map(|(k, _)| k))
        .take(8)
        .collect();
    format!("a document with fields {{{}}}", keys.join(", "))
}

/// Whether `e` is the fence's collision: the owner-filtered upsert of the lock document (the
/// first operation) failed on a duplicate `_id`.
fn fence_collided(e: &mongodb::error::Error) -> bool {
    match e.kind.as_ref() {
        mongodb::error::ErrorKind::BulkWrite(b) => {
            b.write_errors.get(&0).is_some_and(|w| w.code == 11000)
        }
        _ => false,
    }
}

pub(crate) fn is_duplicate_key(e: &mongodb::error::Error) -> bool {
    use mongodb::error::{ErrorKind, WriteFailure};
    match e.kind.as_ref() {
        ErrorKind::Command(c) => c.code == 11000,
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == 11000,
        _ => false,
    }
}

/// A lease length as milliseconds for date arithmetic.
pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(d: Document) -> RawDocumentBuf {
        RawDocumentBuf::from_document(&d).expect("raw")
    }

    #[test]
    fn a_state_document_is_exactly_id_name_and_applied() {
        let id = bson::oid::ObjectId::new();
        let at = bson::DateTime::from_millis(1_700_000_000_000);
        let s =
            state_doc(&raw(doc! { "_id": id, "name": "0001_a", "applied": at })).expect("applied");
        assert_eq!(
            (s.id, s.name.as_str(), s.applied),
            (Bson::ObjectId(id), "0001_a", Some(at))
        );
        let s = state_doc(&raw(
            doc! { "_id": 7, "name": "0001_a", "applied": Bson::Null },
        ))
        .expect("reverted");
        assert_eq!((s.id, s.applied), (Bson::Int32(7), None));

        for foreign in [
            doc! { "_id": 1, "name": "0001_a", "applied": at, "email": "x" },
            doc! { "_id": 1, "name": "0001_a" },
            doc! { "_id": 1, "name": 3, "applied": at },
            doc! { "_id": 1, "name": "0001_a", "applied": "yesterday" },
            doc! { "name": "0001_a", "applied": at, "other": 1 },
        ] {
            assert!(state_doc(&raw(foreign.clone())).is_none(), "{foreign}");
        }
    }

    #[test]
    fn a_details_document_has_a_string_id_and_one_field_we_write() {
        let d = details_doc(&raw(doc! {
            "_id": "0001_a", "checksum": "ab", "later_version_field": 1,
        }))
        .expect("ours");
        assert_eq!(
            (d.name.as_str(), d.checksum.as_deref()),
            ("0001_a", Some("ab"))
        );
        assert!(details_doc(&raw(doc! { "_id": 1, "checksum": "ab" })).is_none());
        assert!(details_doc(&raw(doc! { "_id": "u1", "email": "x" })).is_none());
        // Written before the crates' rename: the tool's name decides nothing.
        let old = details_doc(&raw(doc! {
            "_id": "0001_a", "tool": "mongo-migrate 0.1.0", "checksum": "ab",
        }))
        .expect("a record of the tool's old name");
        assert_eq!(old.tool.as_deref(), Some("mongo-migrate 0.1.0"));
    }

    #[test]
    fn state_writes_are_addressed_by_the_loaded_id_or_a_chosen_one() {
        let ids = StateIds::default();
        // Before any load nothing is known: by name, never a chosen `_id`.
        assert_eq!(ids.filter("0001_a", true), doc! { "name": "0001_a" });
        ids.replace(HashMap::from([("0001_a".to_owned(), Bson::Int32(5))]));
        assert_eq!(
            ids.filter("0001_a", true),
            doc! { "_id": 5, "name": "0001_a" }
        );
        // An unknown name gets one fresh `_id`, the same on every later write.
        let first = ids.filter("0002_b", true);
        assert!(
            matches!(first.get("_id"), Some(Bson::ObjectId(_))),
            "{first}"
        );
        assert_eq!(ids.filter("0002_b", false), first);
        // Reverting a name without a known document looks it up by name.
        assert_eq!(ids.filter("0003_c", false), doc! { "name": "0003_c" });
    }
}

/// Unit tests that need a database live in modules named `db_tests`: `make test-quick` skips them.
#[cfg(all(test, feature = "testing"))]
mod db_tests {
    use super::*;

    /// The fallback for servers without `$unionWith` reads exactly what the aggregation reads.
    #[tokio::test]
    async fn three_queries_read_what_one_aggregation_reads() {
        let t = crate::testing::test_database("store_three_queries").await;
        let at = bson::DateTime::from_millis(1_700_000_000_000);
        t.db.collection::<Document>("pymongo_migrate")
            .insert_many([
                doc! { "name": "0001_a", "applied": at },
                doc! { "name": "0002_b", "applied": Bson::Null },
                doc! { "name": "0002_b", "applied": Bson::Null },
            ])
            .await
            .expect("state");
        t.db.collection::<Document>("pymongo_migrate_details")
            .insert_one(doc! { "_id": "0001_a", "checksum": "ab", "tool": TOOL })
            .await
            .expect("details");
        t.db.collection::<Document>("pymongo_migrate_lock")
            .insert_one(doc! { "_id": LOCK_ID, "owner": Bson::Null, "expires_at": at })
            .await
            .expect("lock");
        let union = Store::new(&t.db, "pymongo_migrate");
        let reads = Reads::default();
        reads.refuse();
        let each = Store::new(&t.db, "pymongo_migrate").sharing(&reads);
        assert!(union.reads_with_union() && !each.reads_with_union());
        let (a, b) = (
            union.load(true).await.expect("one"),
            each.load(true).await.expect("three"),
        );
        assert_eq!(a.records, b.records);
        assert_eq!(a.duplicates.len(), 1);
        assert_eq!(a.duplicates.len(), b.duplicates.len());
        assert!(a.lock.is_some() && b.lock.is_some());
        // The bounded probe and the foreign-document check hold on both paths.
        t.db.collection::<Document>("pymongo_migrate_details")
            .insert_one(doc! { "_id": "u1", "email": "x" })
            .await
            .expect("foreign");
        for store in [&union, &each] {
            assert!(matches!(
                store.load(false).await,
                Err(StoreError::Foreign { .. })
            ));
        }
        t.drop().await.expect("drop");
    }
}
