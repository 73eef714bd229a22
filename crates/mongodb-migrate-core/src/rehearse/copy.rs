//! The copy into the scratch database, one collection after another: its options, its
//! documents (streamed in batches, reads and writes in flight at once), its indexes, then its
//! validator.
//!
//! Memory stays bounded whatever the collection's size: a batch holds at most
//! [`BATCH_DOCUMENTS`] documents or [`BATCH_BYTES`] bytes, at most [`IN_FLIGHT`] batches wait
//! between the reader and the writers, and at most [`WRITERS`] are being inserted at once. Indexes are built after the documents are in (one
//! build instead of an update per insert), and the validator is set last, so documents the
//! source accepted under an older validator (or `validationLevel: moderate`) copy as they are.

use std::time::Instant;

use bson::{doc, Document, RawDocumentBuf};
use futures::TryStreamExt;
use mongodb::Database;

use super::error::RehearsalError;
use super::events::{RehearsalEvent, RehearsalObserver};
use super::report::CollectionCopy;
use super::sample::Sample;
use crate::collection_spec::{self, CollectionSpec};
use crate::CancelHandle;

/// Documents per batch at most.
pub(crate) const BATCH_DOCUMENTS: usize = 1000;
/// Bytes per batch at most (a batch closes at the first document past it).
pub(crate) const BATCH_BYTES: usize = 8 * 1024 * 1024;
/// Batches read ahead of the writers at most.
pub(crate) const IN_FLIGHT: usize = 2;
/// Batches being inserted at once.
pub(crate) const WRITERS: usize = 2;

/// The options validation lives in: set after the documents are in.
const VALIDATION: [&str; 3] = ["validator", "validationLevel", "validationAction"];

/// One collection to copy.
#[derive(Debug)]
pub(crate) struct Job<'a> {
    pub spec: &'a CollectionSpec,
    /// `None` copies every document.
    pub sample: Option<Sample>,
    /// The documents expected (the source's estimate, sampled), for progress.
    pub expected: u64,
    /// Its estimated document count in the source.
    pub source_documents: u64,
    /// Whether it is migration state.
    pub state: bool,
    pub index: usize,
    pub total: usize,
}

/// Copies one collection from `source` into `target`.
pub(crate) async fn collection(
    source: &Database,
    target: &Database,
    job: Job<'_>,
    observer: &dyn RehearsalObserver,
    cancel: &CancelHandle,
) -> Result<CollectionCopy, RehearsalError> {
    let started = Instant::now();
    let name = job.spec.name.as_str();
    observer.on_event(&RehearsalEvent::CopyStart {
        collection: name,
        index: job.index,
        total: job.total,
        expected: job.expected,
    });
    let mut create = doc! { "create": name };
    let mut validation = Document::new();
    for (key, value) in &job.spec.options {
        if VALIDATION.contains(&key.as_str()) {
            validation.insert(key.clone(), value.clone());
        } else {
            create.insert(key.clone(), value.clone());
        }
    }
    target
        .run_command(create)
        .await
        .map_err(RehearsalError::database(format!(
            "creating {name} in the scratch database"
        )))?;
    let mut copied = CollectionCopy {
        name: name.to_owned(),
        kind: job.spec.kind.clone(),
        state: job.state,
        documents: 0,
        source_documents: job.source_documents,
        bytes: 0,
        indexes: 0,
        validator: false,
        duration_ms: 0,
    };
    if !job.spec.is_view() {
        let (documents, bytes) = documents(source, target, &job, observer, cancel).await?;
        copied.documents = documents;
        copied.bytes = bytes;
        let indexes: Vec<Document> = collection_spec::indexes(source, name)
            .await
            .map_err(RehearsalError::database(format!(
                "listing the indexes of {name} in the source"
            )))?
            .into_iter()
            .filter(|(index, _)| index != "_id_")
            .map(|(_, spec)| spec)
            .collect();
        copied.indexes = indexes.len();
        if !indexes.is_empty() {
            target
                .run_command(doc! { "createIndexes": name, "indexes": indexes })
                .await
                .map_err(RehearsalError::database(format!(
                    "building the indexes of {name} in the scratch database"
                )))?;
        }
        if !validation.is_empty() {
            let mut command = doc! { "collMod": name };
            command.extend(validation);
            target
                .run_command(command)
                .await
                .map_err(RehearsalError::database(format!(
                    "setting the validator of {name} in the scratch database"
                )))?;
            copied.validator = true;
        }
    }
    copied.duration_ms = millis(started);
    observer.on_event(&RehearsalEvent::CopyFinish { copy: &copied });
    Ok(copied)
}

/// Streams the documents: a reader fills batches while the writer inserts the previous one.
/// Returns the documents and bytes copied.
async fn documents(
    source: &Database,
    target: &Database,
    job: &Job<'_>,
    observer: &dyn RehearsalObserver,
    cancel: &CancelHandle,
) -> Result<(u64, u64), RehearsalError> {
    let name = job.spec.name.as_str();
    let from = source.collection::<RawDocumentBuf>(name);
    let to = target.collection::<RawDocumentBuf>(name);
    let find = from.find(doc! {});
    let cursor = match job.sample {
        // The first N by `_id`, under the simple collation whatever the collection's default.
        Some(Sample::First(n)) => {
            let find = find
                .sort(doc! { "_id": 1 })
                .limit(i64::try_from(n).unwrap_or(i64::MAX));
            if job.spec.options.contains_key("collation") {
                find.collation(simple()).allow_disk_use(true).await
            } else {
                find.await
            }
        }
        _ => find.await,
    }
    .map_err(RehearsalError::database(format!(
        "reading {name} from the source"
    )))?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<RawDocumentBuf>>(IN_FLIGHT);
    let sample = job.sample;
    let read = async move {
        let mut cursor = cursor;
        let mut batch = Vec::with_capacity(BATCH_DOCUMENTS);
        let mut size = 0;
        while let Some(document) =
            cursor
                .try_next()
                .await
                .map_err(RehearsalError::database(format!(
                    "reading {name} from the source"
                )))?
        {
            if let Some(s) = sample {
                if !s.keeps(document.get("_id").ok().flatten()) {
                    continue;
                }
            }
            size += document.as_bytes().len();
            batch.push(document);
            if batch.len() >= BATCH_DOCUMENTS || size >= BATCH_BYTES {
                if cancel.is_cancelled() {
                    return Err(cancelled(cancel));
                }
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_DOCUMENTS));
                size = 0;
                if tx.send(full).await.is_err() {
                    // The writer stopped: its error is the one to report.
                    return Ok(());
                }
            }
        }
        if !batch.is_empty() {
            let _ = tx.send(batch).await;
        }
        Ok(())
    };
    let write = async {
        use futures::StreamExt as _;
        let batches = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|batch| (batch, rx))
        });
        let written = batches
            .map(|batch| {
                let n = batch.len() as u64;
                let b = batch.iter().map(|d| d.as_bytes().len() as u64).sum::<u64>();
                // Ordered: the copy stops at the first error anyway, and SecantusDB inserts an
                // unordered batch 15–25% slower; two batches in flight give the parallelism.
                let insert = to.insert_many(batch);
                async move { insert.await.map(|_| (n, b)) }
            })
            .buffer_unordered(WRITERS);
        let mut written = std::pin::pin!(written);
        let (mut documents, mut bytes) = (0_u64, 0_u64);
        while let Some(done) = written.next().await {
            let (n, b) = done.map_err(RehearsalError::database(format!(
                "writing {name} into the scratch database"
            )))?;
            documents += n;
            bytes += b;
            observer.on_event(&RehearsalEvent::CopyProgress {
                collection: name,
                done: documents,
                expected: job.expected,
            });
        }
        Ok::<_, RehearsalError>((documents, bytes))
    };
    let ((), copied) = futures::try_join!(read, write)?;
    if cancel.is_cancelled() {
        return Err(cancelled(cancel));
    }
    Ok(copied)
}

/// The simple (binary) collation: `_id` order as the comparison's merge expects it.
pub(crate) fn simple() -> mongodb::options::Collation {
    mongodb::options::Collation::builder()
        .locale("simple")
        .build()
}

pub(crate) fn cancelled(cancel: &CancelHandle) -> RehearsalError {
    RehearsalError::Cancelled {
        reason: cancel.reason().unwrap_or_else(|| "request".to_owned()),
    }
}

pub(crate) fn millis(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}
