//! Batches: work through a large collection a slice at a time, with progress.
//!
//! Prefer a server-side `update_many` (see [`markers`](crate::markers)) when the change can be
//! expressed as an update. For a data migration on a large collection, [`backfill`] adds what
//! production needs: bulk writes, a total and an ETA, a throttle (documents per second, and
//! replication lag), and checkpoints to resume after a stop. When each document needs code of its own, [`for_each_batch`] streams
//! the matching documents in `_id` order, hands them over `size` at a time, and reports progress
//! to the runner, so memory stays bounded by one batch whatever the collection's size.

mod backfill;
pub mod lag;

use std::future::Future;

use bson::{doc, Document};
use futures::TryStreamExt;
use mongodb::Collection;

use crate::migration::MigrationResult;
use crate::progress;

pub use backfill::{backfill, Backfill, BackfillReport, Total};

/// Calls `f` with the documents matching `filter`, `size` at a time, in `_id` order, reporting
/// progress (documents done of those matching at the start). Returns how many it handed over.
///
/// `f` usually writes each batch back with one `bulk_write` or `update_many` on the batch's
/// `_id`s; make it idempotent (skip what is already done), so a rerun after a failure resumes.
///
/// # Examples
/// ```no_run
/// use mongodb_migrate_core::batch;
/// use mongodb_migrate_core::prelude::*;
///
/// async fn upgrade(db: &Database) -> Result<()> {
///     let stories = db.collection::<Document>("stories");
///     let filter = doc! { "slug": { "$exists": false } };
///     batch::for_each_batch(&stories, filter, 500, |docs| {
///         let stories = stories.clone();
///         async move {
///             for story in docs {
///                 let title = story.get_str("title").unwrap_or_default();
///                 let slug = title.to_lowercase().replace(' ', "-");
///                 stories
///                     .update_one(doc! { "_id": story.get("_id"), "slug": { "$exists": false } },
///                                 doc! { "$set": { "slug": slug } })
///                     .await?;
///             }
///             Ok(())
///         }
///     })
///     .await?;
///     Ok(())
/// }
/// ```
///
/// # Errors
/// The first error of the query or of `f`; the batches before it stay done.
pub async fn for_each_batch<F, Fut>(
    collection: &Collection<Document>,
    filter: Document,
    size: usize,
    mut f: F,
) -> MigrationResult<u64>
where
    F: FnMut(Vec<Document>) -> Fut,
    Fut: Future<Output = MigrationResult<()>>,
{
    let size = size.max(1);
    let total = collection.count_documents(filter.clone()).await?;
    progress::report(0, Some(total));
    let mut cursor = collection
        .find(filter)
        .sort(doc! { "_id": 1 })
        .batch_size(u32::try_from(size).unwrap_or(u32::MAX))
        .await?;
    let mut done = 0u64;
    let mut batch = Vec::with_capacity(size);
    while let Some(document) = cursor.try_next().await? {
        batch.push(document);
        if batch.len() == size {
            done += batch.len() as u64;
            f(std::mem::replace(&mut batch, Vec::with_capacity(size))).await?;
            progress::report(done, Some(total.max(done)));
        }
    }
    if !batch.is_empty() {
        done += batch.len() as u64;
        f(batch).await?;
        progress::report(done, Some(total.max(done)));
    }
    Ok(done)
}
