//! Where a resumable backfill keeps its place: the runner scopes each migration's future with
//! its lease and the checkpoints stored for it (a task-local, like [`progress`](crate::progress)),
//! so [`batch::backfill`](crate::batch::backfill) writes each batch *with* its checkpoint in one
//! fenced command, and resumes after the stored one.
//!
//! Outside a run (a test calling `upgrade` directly, the round-trip harness) there is no scope:
//! batches are written directly and nothing is checkpointed.

use std::collections::BTreeMap;
use std::future::Future;

use bson::Bson;
use mongodb::Database;

use crate::lock::LeaseLock;
use crate::store::{AppUpdates, Change, CheckpointRecord, WritePath};

pub(crate) struct Scope {
    migration: &'static str,
    lease: LeaseLock,
    stored: BTreeMap<String, CheckpointRecord>,
}

tokio::task_local! {
    static CURRENT: Scope;
}

/// Runs `future` (a migration's body) with its lease and stored checkpoints.
pub(crate) async fn scope<F: Future>(
    migration: &'static str,
    lease: LeaseLock,
    stored: BTreeMap<String, CheckpointRecord>,
    future: F,
) -> F::Output {
    CURRENT
        .scope(
            Scope {
                migration,
                lease,
                stored,
            },
            future,
        )
        .await
}

/// Whether a migration runs under the runner (rather than called directly).
pub(crate) fn in_run() -> bool {
    CURRENT.try_with(|_| ()).is_ok()
}

/// The checkpoint stored for backfill `id` of the running migration, if any.
pub(crate) fn stored(id: &str) -> Option<CheckpointRecord> {
    CURRENT
        .try_with(|s| s.stored.get(id).cloned())
        .ok()
        .flatten()
}

/// What [`write_batch`] records beside the batch.
pub(crate) struct Mark {
    pub id: String,
    pub key: String,
    pub value: Bson,
    pub done: u64,
}

/// Writes one batch of updates: inside a run, fenced by the lease and (with `mark`) with its
/// checkpoint, in one command where the server has `bulkWrite`; outside a run, directly.
pub(crate) async fn write_batch(
    db: &Database,
    updates: AppUpdates,
    mark: Option<Mark>,
    direct: WritePath,
) -> Result<(), crate::Error> {
    let within = CURRENT.try_with(|s| (s.migration, s.lease.clone())).ok();
    match within {
        Some((migration, lease)) => {
            let changes: Vec<Change> = mark
                .map(|m| Change::Checkpoint {
                    name: migration.to_owned(),
                    id: m.id,
                    key: m.key,
                    value: m.value,
                    done: m.done,
                })
                .into_iter()
                .collect();
            lease.commit_with(Some(&updates), &changes).await
        }
        None => {
            match direct {
                WritePath::Bulk => updates.send_bulk(db.client()).await?,
                WritePath::Separate => updates.send_as_command(db).await?,
            }
            Ok(())
        }
    }
}
