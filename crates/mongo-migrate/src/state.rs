//! The state store: the pymongo-migrate-compatible state collection plus our details sidecar.
//!
//! - `<collection>` (default `pymongo_migrate`) holds exactly `{_id, name, applied: date|null}`
//!   per migration, as pymongo-migrate 1.0.0 writes it. pymongo-migrate rebuilds a document
//!   with `MigrationState(**doc)`, a dataclass of exactly `name` and `applied`, so any extra
//!   field would crash it; and it writes with `replace_one`, which would wipe extra fields.
//! - `<collection>_details` holds everything else, one document per migration with
//!   `_id: <name>`: checksum, duration, who applied it, tool version, fake flag, the
//!   in-progress marker, and the failure record.
//!
//! Reading the whole state is one query per collection, never one per migration.

use std::collections::HashMap;

use bson::{doc, Bson, Document};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::{Collection, Database};

use crate::error::StateError;
use crate::lock::Runner;
use crate::status::Direction;

/// The tool and version written into the details of every migration we run.
pub const TOOL: &str = concat!("mongo-migrate ", env!("CARGO_PKG_VERSION"));

/// What the state collections say about one migration name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Record {
    /// The shared `applied` field: `Some` when applied.
    pub applied: Option<DateTime<Utc>>,
    /// The checksum recorded at apply time.
    pub checksum: Option<String>,
    /// How long the migration took, in milliseconds.
    pub duration_ms: Option<i64>,
    /// Who applied (or reverted) it.
    pub applied_by: Option<Runner>,
    /// Whether the last apply or revert was faked.
    pub fake: bool,
    /// Set while a runner executes it: when it started, in which direction, and by whom.
    pub in_progress: Option<(DateTime<Utc>, Direction, Runner)>,
    /// The failure record: when, in which direction, and the error.
    pub failure: Option<(DateTime<Utc>, Direction, String)>,
}

/// Reads and writes the state of one database.
#[derive(Debug, Clone)]
pub struct StateStore {
    state: Collection<Document>,
    details: Collection<Document>,
}

impl StateStore {
    /// The store over `collection` and `collection_details` in `db`.
    pub fn new(db: &Database, collection: &str) -> Self {
        StateStore {
            state: db.collection(collection),
            details: db.collection(&details_collection(collection)),
        }
    }

    fn state_err(&self, e: impl std::fmt::Display) -> StateError {
        StateError {
            collection: self.state.name().to_owned(),
            message: e.to_string(),
        }
    }

    fn details_err(&self, e: impl std::fmt::Display) -> StateError {
        StateError {
            collection: self.details.name().to_owned(),
            message: e.to_string(),
        }
    }

    /// Applies `update` to `name`'s details document, creating it if needed.
    async fn update_details(&self, name: &str, update: Document) -> Result<(), StateError> {
        self.details
            .update_one(doc! { "_id": name }, update)
            .upsert(true)
            .await
            .map_err(|e| self.details_err(e))?;
        Ok(())
    }

    /// The whole state by name, in one query.
    pub async fn load(&self) -> Result<HashMap<String, Record>, StateError> {
        Ok(self.load_with(None).await?.0)
    }

    /// The whole state by name and, when `lock_collection` is given, the lock document: one
    /// aggregation over the state collection that `$unionWith`s the details (and the lock), so
    /// reading the state costs one query whatever the number of migrations.
    pub async fn load_with(
        &self,
        lock_collection: Option<&str>,
    ) -> Result<(HashMap<String, Record>, Option<Document>), StateError> {
        const SOURCE: &str = "__mongo_migrate_source";
        let mut pipeline = vec![
            doc! { "$addFields": { SOURCE: "state" } },
            doc! { "$unionWith": {
                "coll": self.details.name(),
                "pipeline": [ { "$addFields": { SOURCE: "details" } } ],
            }},
        ];
        if let Some(lock) = lock_collection {
            pipeline.push(doc! { "$unionWith": {
                "coll": lock,
                "pipeline": [
                    { "$match": { "_id": crate::lock::LOCK_ID } },
                    { "$addFields": { SOURCE: "lock" } },
                ],
            }});
        }
        let docs: Vec<Document> = self
            .state
            .aggregate(pipeline)
            // One batch for any realistic plan: the documents are small.
            .batch_size(100_000)
            .await
            .map_err(|e| self.state_err(e))?
            .try_collect()
            .await
            .map_err(|e| self.state_err(e))?;
        let mut records: HashMap<String, Record> = HashMap::new();
        let mut lock_document = None;
        for mut d in docs {
            match d.get_str(SOURCE) {
                Ok("state") => {
                    if let Ok(name) = d.get_str("name") {
                        read_state(records.entry(name.to_owned()).or_default(), &d);
                    }
                }
                Ok("details") => {
                    if let Ok(name) = d.get_str("_id") {
                        read_details(records.entry(name.to_owned()).or_default(), &d);
                    }
                }
                Ok("lock") => {
                    d.remove(SOURCE);
                    lock_document = Some(d);
                }
                _ => {}
            }
        }
        Ok((records, lock_document))
    }

    /// Marks `name` as running in `direction` by `runner`: a crash leaves this marker behind,
    /// and the next runner reports the migration as interrupted.
    pub async fn begin(
        &self,
        name: &str,
        direction: Direction,
        runner: &Runner,
    ) -> Result<(), StateError> {
        self.update_details(
            name,
            doc! { "$set": {
                "started_at": bson::DateTime::now(),
                "direction": direction.as_str(),
                "started_by": runner.to_document(),
            }},
        )
        .await
    }

    /// Records `checksum` as `name`'s applied checksum: the user reviewed an edit to an applied
    /// migration and accepts it. The previous checksum is kept beside it.
    pub async fn accept_checksum(
        &self,
        name: &str,
        previous: Option<&str>,
        checksum: &str,
        runner: &Runner,
    ) -> Result<(), StateError> {
        self.update_details(
            name,
            doc! { "$set": {
                "checksum": checksum,
                "accepted_checksum_change": {
                    "previous": previous,
                    "at": bson::DateTime::now(),
                    "by": runner.to_document(),
                    "tool": TOOL,
                },
            }},
        )
        .await
    }

    /// Records `name` as applied now.
    pub async fn record_applied(
        &self,
        name: &str,
        checksum: &str,
        duration_ms: i64,
        runner: &Runner,
        fake: bool,
    ) -> Result<(), StateError> {
        // The shared document first: it is the truth both tools read. Every document of that
        // name: pymongo-migrate writes no unique index, so there may be more than one.
        self.state
            .update_many(
                doc! { "name": name },
                doc! { "$set": { "applied": bson::DateTime::now() } },
            )
            .upsert(true)
            .await
            .map_err(|e| self.state_err(e))?;
        self.update_details(
            name,
            doc! {
                "$set": {
                    "checksum": checksum,
                    "duration_ms": duration_ms,
                    "applied_by": runner.to_document(),
                    "tool": TOOL,
                    "fake": fake,
                },
                "$unset": {
                    "started_at": "", "direction": "", "started_by": "",
                    "failed_at": "", "failed_direction": "", "error": "",
                    "reverted_at": "",
                },
            },
        )
        .await
    }

    /// Records `name` as not applied (`applied: null`, the document kept, as pymongo-migrate does).
    pub async fn record_reverted(
        &self,
        name: &str,
        duration_ms: i64,
        runner: &Runner,
        fake: bool,
    ) -> Result<(), StateError> {
        self.state
            .update_many(
                doc! { "name": name },
                doc! { "$set": { "applied": Bson::Null } },
            )
            .await
            .map_err(|e| self.state_err(e))?;
        self.update_details(
            name,
            doc! {
                "$set": {
                    "reverted_at": bson::DateTime::now(),
                    "duration_ms": duration_ms,
                    "applied_by": runner.to_document(),
                    "tool": TOOL,
                    "fake": fake,
                },
                "$unset": {
                    "checksum": "",
                    "started_at": "", "direction": "", "started_by": "",
                    "failed_at": "", "failed_direction": "", "error": "",
                },
            },
        )
        .await
    }

    /// Records that `name` failed in `direction` with `error`; `applied` is left as it was.
    pub async fn record_failed(
        &self,
        name: &str,
        direction: Direction,
        error: &str,
        duration_ms: i64,
        runner: &Runner,
    ) -> Result<(), StateError> {
        self.update_details(
            name,
            doc! {
                "$set": {
                    "failed_at": bson::DateTime::now(),
                    "failed_direction": direction.as_str(),
                    "error": error,
                    "duration_ms": duration_ms,
                    "applied_by": runner.to_document(),
                    "tool": TOOL,
                },
                "$unset": { "started_at": "", "direction": "", "started_by": "" },
            },
        )
        .await
    }

    /// Turns a leftover in-progress marker (its runner died) into a failure record.
    pub async fn record_interrupted(
        &self,
        name: &str,
        direction: Direction,
        message: &str,
    ) -> Result<(), StateError> {
        self.update_details(
            name,
            doc! {
                "$set": {
                    "failed_at": bson::DateTime::now(),
                    "failed_direction": direction.as_str(),
                    "error": message,
                },
                "$unset": { "started_at": "", "direction": "", "started_by": "" },
            },
        )
        .await
    }
}

/// Reads a shared state document (`{name, applied}`) into `record`.
fn read_state(record: &mut Record, d: &Document) {
    // pymongo-migrate writes no unique index: if a name appears twice, applied wins.
    if let Ok(t) = d.get_datetime("applied") {
        record.applied = Some(t.to_chrono());
    }
}

/// Reads our details document into `record`.
fn read_details(record: &mut Record, d: &Document) {
    record.checksum = d.get_str("checksum").ok().map(str::to_owned);
    record.duration_ms = match d.get("duration_ms") {
        Some(Bson::Int64(v)) => Some(*v),
        Some(Bson::Int32(v)) => Some(i64::from(*v)),
        _ => None,
    };
    record.applied_by = d
        .get_document("applied_by")
        .ok()
        .and_then(Runner::from_document);
    record.fake = d.get_bool("fake").unwrap_or(false);
    if let (Ok(at), Some(dir), Some(by)) = (
        d.get_datetime("started_at"),
        d.get_str("direction").ok().and_then(Direction::parse),
        d.get_document("started_by")
            .ok()
            .and_then(Runner::from_document),
    ) {
        record.in_progress = Some((at.to_chrono(), dir, by));
    }
    if let Ok(at) = d.get_datetime("failed_at") {
        let dir = d
            .get_str("failed_direction")
            .ok()
            .and_then(Direction::parse)
            .unwrap_or(Direction::Up);
        let error = d.get_str("error").unwrap_or_default().to_owned();
        record.failure = Some((at.to_chrono(), dir, error));
    }
}

/// The name of the details collection beside state collection `collection`.
pub fn details_collection(collection: &str) -> String {
    format!("{collection}_details")
}

/// The name of the lock collection beside state collection `collection`.
pub fn lock_collection(collection: &str) -> String {
    format!("{collection}_lock")
}
