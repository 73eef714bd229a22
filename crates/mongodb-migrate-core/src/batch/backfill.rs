//! Backfills over collections of any size: batched bulk writes, progress with a total and an
//! ETA, a throttle (rate and replication lag), and checkpoints that let a stopped run resume.

use std::time::{Duration, Instant};

use bson::{doc, Bson, Document};
use futures::TryStreamExt;
use mongodb::Collection;

use super::lag::{self, Reading};
use crate::checkpoint::{self, Mark};
use crate::migration::MigrationResult;
use crate::progress;
use crate::store::{AppUpdates, WritePath};

/// Where a backfill's total comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Total {
    /// `estimatedDocumentCount` of the whole collection: free (collection metadata), but it
    /// ignores the filter, so progress is an upper bound on what is left.
    #[default]
    Estimated,
    /// `countDocuments` of the filter: exact, but a scan of what the filter matches.
    Counted,
    /// No total: progress without a percentage or an ETA.
    Unknown,
}

/// What a backfill did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BackfillReport {
    /// Documents handed to the update function in this run.
    pub processed: u64,
    /// Updates written in this run.
    pub updated: u64,
    /// Batches written in this run.
    pub batches: u64,
    /// Documents done before this run, when it resumed after a checkpoint.
    pub resumed_after: Option<u64>,
    /// How many times it paused for replication lag.
    pub lag_pauses: u64,
}

/// A backfill of the documents of a collection that match a filter. Build it with
/// [`backfill`](crate::batch::backfill), then run it with [`update_each`](Self::update_each).
#[derive(Debug, Clone)]
pub struct Backfill {
    collection: Collection<Document>,
    filter: Document,
    size: usize,
    total: Total,
    rate: Option<f64>,
    max_lag: Option<Duration>,
    resumable: bool,
    key: String,
    id: String,
}

/// How often the replication lag is read, at most.
const LAG_CHECK_EVERY: Duration = Duration::from_secs(1);
/// A pause after which the walk's cursor is reopened rather than resumed: well under the
/// server's default idle cursor timeout (`cursorTimeoutMillis`, 10 minutes).
const CURSOR_IDLE_LIMIT: Duration = Duration::from_secs(5 * 60);
/// How long to wait before reading the lag again while it is over the bound.
const LAG_WAIT: Duration = Duration::from_millis(500);

/// A backfill of the documents of `collection` matching `filter`, in batches of 500, walking
/// `_id` in order; see [`Backfill`]'s methods for the total, the throttle and resumption.
///
/// # Examples
///
/// Give every story a `slug`, 1,000 documents a batch, at most 5,000 documents a second,
/// pausing while a secondary is more than 10 s behind, resuming after a stop:
///
/// ```no_run
/// use mongodb_migrate_core::batch::{self, Total};
/// use mongodb_migrate_core::prelude::*;
///
/// pub const NAME: &str = "0007_backfill_story_slugs";
///
/// pub async fn upgrade(db: &Database) -> Result<()> {
///     let stories = db.collection::<Document>("stories");
///     batch::backfill(&stories, doc! { "slug": { "$exists": false } })
///         .batch_size(1_000)
///         .total(Total::Counted)
///         .max_rate(5_000.0)
///         .max_replication_lag(std::time::Duration::from_secs(10))
///         .resumable()
///         .update_each(|story| {
///             let title = story.get_str("title").unwrap_or_default();
///             let slug = title.to_lowercase().replace(' ', "-");
///             Some(doc! { "$set": { "slug": slug } })
///         })
///         .await?;
///     Ok(())
/// }
/// ```
pub fn backfill(collection: &Collection<Document>, filter: Document) -> Backfill {
    Backfill {
        collection: collection.clone(),
        filter,
        size: 500,
        total: Total::default(),
        rate: None,
        max_lag: None,
        resumable: false,
        key: "_id".to_owned(),
        id: collection.name().to_owned(),
    }
}

impl Backfill {
    /// Documents per batch (default 500): one read (a `getMore` of the walk's cursor) and one
    /// bulk write each.
    pub fn batch_size(mut self, size: usize) -> Self {
        self.size = size.max(1);
        self
    }

    /// Where the total for progress and the ETA comes from (default [`Total::Estimated`]).
    pub fn total(mut self, total: Total) -> Self {
        self.total = total;
        self
    }

    /// At most this many documents a second, over the whole run (a lower bound on its
    /// duration: K documents take at least K / rate seconds).
    pub fn max_rate(mut self, documents_per_second: f64) -> Self {
        self.rate = (documents_per_second > 0.0).then_some(documents_per_second);
        self
    }

    /// Pause before a batch while the slowest healthy secondary is more than `bound` behind
    /// the primary (read from `replSetGetStatus` at most once a second; see
    /// [`lag`](crate::batch::lag)). No effect on a standalone or single-node server.
    pub fn max_replication_lag(mut self, bound: Duration) -> Self {
        self.max_lag = Some(bound);
        self
    }

    /// Records a checkpoint with every batch (the last key done, in the migration's details
    /// record, written in the same fenced command as the batch) and, when one is stored,
    /// resumes after it instead of starting over.
    ///
    /// A migration that uses a resumable backfill opts into resumption: after a failure, a
    /// cancellation (SIGTERM) or a lost lease, a plain `migrate up` runs it again from its
    /// checkpoint — a Kubernetes Job restarted with the same arguments resumes, without
    /// `--retry`. Once the migration is applied, the checkpoint is cleared. Its downgrade must
    /// undo a partial run as well as a whole one (write with the
    /// [`markers`](crate::markers) helpers' conventions, or filter on what the upgrade set).
    pub fn resumable(mut self) -> Self {
        self.resumable = true;
        self
    }

    /// The key walked in order, and recorded in checkpoints (default `_id`). It must be unique
    /// and totally ordered among the matching documents, and should be indexed.
    pub fn key(mut self, field: impl Into<String>) -> Self {
        self.key = field.into();
        self
    }

    /// The name of this backfill's checkpoint (default: the collection's name), for a
    /// migration with several backfills over one collection.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }

    /// Calls `update` with each matching document, in key order, and writes the updates it
    /// returns (`None`: leave the document) as one bulk write per batch, each update filtered
    /// on the document's `_id`.
    ///
    /// # Errors
    /// The first error of a query, a write, or a lost lease; the batches before it stay done
    /// (and, when resumable, checkpointed).
    pub async fn update_each<F>(self, mut update: F) -> MigrationResult<BackfillReport>
    where
        F: FnMut(&Document) -> Option<Document>,
    {
        let db = self.database();
        let in_run = checkpoint::in_run();
        // Outside a run, writes go straight to the server, by the path it supports.
        let direct = if in_run {
            WritePath::Bulk
        } else {
            let hello = db
                .client()
                .database("admin")
                .run_command(doc! { "hello": 1 })
                .await?;
            WritePath::for_server(hello.get_i32("maxWireVersion").ok())
        };
        let stored = if self.resumable {
            checkpoint::stored(&self.id).filter(|c| c.key == self.key)
        } else {
            None
        };
        let mut report = BackfillReport {
            resumed_after: stored.as_ref().map(|c| u64::try_from(c.done).unwrap_or(0)),
            ..BackfillReport::default()
        };
        let mut last: Option<Bson> = stored.as_ref().map(|c| c.value.clone());
        let mut done = report.resumed_after.unwrap_or(0);
        let total = match self.total {
            Total::Estimated => Some(self.collection.estimated_document_count().await?),
            Total::Counted => Some(self.collection.count_documents(self.filter.clone()).await?),
            Total::Unknown => None,
        };
        if let Some(done_before) = report.resumed_after {
            progress::note(format!(
                "{}: resuming after the checkpoint ({done_before} documents already done)",
                self.collection.name()
            ));
        }
        progress::report(done, total.map(|t| t.max(done)));
        let started = Instant::now();
        let mut lag_checked: Option<Instant> = None;
        let mut lag_enabled = self.max_lag.is_some();
        let namespace = self.collection.namespace();
        // One cursor walks the collection in key order, a getMore per batch: a fresh query per
        // batch would cost a scan and a sort each wherever `key` has no index (and on servers
        // that do not use the index for a range), which is quadratic over a large collection.
        // It is reopened after `last` when the server has closed it, and before it could idle
        // out during a long pause (throttle, replication lag).
        let mut cursor: Option<mongodb::Cursor<Document>> = None;
        let mut paused_since = Instant::now();
        loop {
            if lag_enabled && lag_checked.is_none_or(|t| t.elapsed() >= LAG_CHECK_EVERY) {
                lag_enabled = self.wait_for_replication(&db, &mut report).await?;
                lag_checked = Some(Instant::now());
            }
            if paused_since.elapsed() >= CURSOR_IDLE_LIMIT {
                cursor = None;
            }
            let mut batch: Vec<Document> = Vec::with_capacity(self.size.min(10_000));
            let mut reopened = false;
            while batch.len() < self.size {
                let open = match cursor.as_mut() {
                    Some(open) => open,
                    None => {
                        let mut query = self.filter.clone();
                        let after = batch
                            .last()
                            .and_then(|d| d.get(&self.key).cloned())
                            .or_else(|| last.clone());
                        if let Some(after) = after {
                            query = doc! { "$and": [query, { &self.key: { "$gt": after } }] };
                        }
                        cursor.insert(
                            self.collection
                                .find(query)
                                .sort(doc! { &self.key: 1 })
                                .batch_size(u32::try_from(self.size).unwrap_or(u32::MAX))
                                .await?,
                        )
                    }
                };
                match open.try_next().await {
                    Ok(Some(document)) => batch.push(document),
                    Ok(None) => break,
                    // Closed by the server (idle timeout, a restart): go on after the last
                    // document read, once.
                    Err(e) if cursor_lost(&e) && !reopened => {
                        cursor = None;
                        reopened = true;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            let Some(tail) = batch.last() else { break };
            let tail_key = tail.get(&self.key).cloned().ok_or_else(|| {
                anyhow::anyhow!(
                    "a document of {} has no `{}`, the key this backfill walks",
                    self.collection.name(),
                    self.key
                )
            })?;
            let updates: Vec<(Document, Document)> = batch
                .iter()
                .filter_map(|d| {
                    let id = d.get("_id")?.clone();
                    update(d).map(|u| (doc! { "_id": id }, u))
                })
                .collect();
            let count = batch.len() as u64;
            report.processed += count;
            report.updated += updates.len() as u64;
            report.batches += 1;
            done += count;
            let mark = self.resumable.then(|| Mark {
                id: self.id.clone(),
                key: self.key.clone(),
                value: tail_key.clone(),
                done,
            });
            let app = AppUpdates {
                namespace: namespace.clone(),
                updates,
            };
            let written = app.updates.len() as u64;
            checkpoint::write_batch(&db, app, mark, direct).await?;
            progress::changed(written);
            last = Some(tail_key);
            progress::report(done, total.map(|t| t.max(done)));
            paused_since = Instant::now();
            if let Some(rate) = self.rate {
                // Sleep until this run's documents fit the rate: the whole run then takes at
                // least processed / rate seconds.
                let due = Duration::from_secs_f64(report.processed as f64 / rate);
                if let Some(wait) = due.checked_sub(started.elapsed()) {
                    tokio::time::sleep(wait).await;
                }
            }
            if batch.len() < self.size {
                break;
            }
        }
        Ok(report)
    }

    fn database(&self) -> mongodb::Database {
        let ns = self.collection.namespace();
        self.collection.client().database(&ns.db)
    }

    /// Waits while the replication lag is over the bound; returns whether to keep checking.
    async fn wait_for_replication(
        &self,
        db: &mongodb::Database,
        report: &mut BackfillReport,
    ) -> MigrationResult<bool> {
        let Some(bound) = self.max_lag else {
            return Ok(false);
        };
        let mut noted = false;
        loop {
            match lag::read(db).await? {
                Reading::NoReplication => return Ok(false),
                Reading::Unauthorized => {
                    progress::note(
                        "cannot read the replication lag (replSetGetStatus needs the clusterMonitor role); running without the lag bound",
                    );
                    return Ok(false);
                }
                Reading::Lag(Some(lag)) if lag > bound => {
                    if !noted {
                        report.lag_pauses += 1;
                        progress::note(format!(
                            "{}: paused, replication lag {:.1} s is over {:.1} s",
                            self.collection.name(),
                            lag.as_secs_f64(),
                            bound.as_secs_f64()
                        ));
                        noted = true;
                    }
                    tokio::time::sleep(LAG_WAIT).await;
                }
                Reading::Lag(_) => return Ok(true),
            }
        }
    }
}

/// Whether the server no longer has the cursor (`CursorNotFound`, code 43).
fn cursor_lost(e: &mongodb::error::Error) -> bool {
    matches!(&*e.kind, mongodb::error::ErrorKind::Command(c) if c.code == 43)
}
