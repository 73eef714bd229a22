//! A picture of the scratch database between two runs of a migration, kept on disk: each
//! collection's options and indexes in memory (they are small), its documents in a spill file
//! in `_id` order, streamed from the server and read back one document at a time. Memory stays
//! bounded by one document, whatever the collection's size; disk holds the data once per
//! snapshot kept (a rehearsal keeps two at a time).
//!
//! The files are raw BSON documents one after another (each starts with its length), in
//! temporary files deleted when the snapshot is dropped, under the system's temporary
//! directory (`TMPDIR`).

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use bson::{doc, Document, RawDocumentBuf};
use futures::TryStreamExt;
use mongodb::{Cursor, Database};

use super::bson_order;
use super::copy::{cancelled, simple};
use super::error::RehearsalError;
use crate::collection_spec::{self, CollectionSpec};
use crate::CancelHandle;

/// Every compared collection of a database at one moment.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    pub collections: BTreeMap<String, Shot>,
}

/// One collection of a [`Snapshot`].
#[derive(Debug)]
pub(crate) struct Shot {
    pub spec: CollectionSpec,
    pub indexes: BTreeMap<String, Document>,
    /// How its documents were read in `_id` order; the comparison reads the other side so.
    pub order: Order,
    file: Option<tempfile::NamedTempFile>,
}

/// How a collection's documents are read in `_id` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// Under the simple (binary) collation, named explicitly: the order of a collection with
    /// a default collation, as MongoDB documents it.
    Simple,
    /// Under the collection's default collation (none: binary). For a collated collection, the
    /// fallback for servers that do not give the simple collation its binary order (SecantusDB
    /// orders by the collection's locale then); the merge checks the order either way.
    Default,
}

impl Order {
    /// The order to try first for `spec`.
    pub fn first(spec: &CollectionSpec) -> Order {
        if spec.options.contains_key("collation") {
            Order::Simple
        } else {
            Order::Default
        }
    }
}

impl Shot {
    /// Its documents, in `_id` order.
    pub fn reader(&self) -> std::io::Result<SpillReader> {
        Ok(SpillReader {
            inner: match &self.file {
                Some(f) => Some(BufReader::with_capacity(1 << 16, f.reopen()?)),
                None => None,
            },
        })
    }
}

impl Snapshot {
    /// Reads every collection of `db` outside `exclude` (and `system.*`); collections that are
    /// trivial (empty, only `_id_`, no options) are left out, as the harness leaves them out:
    /// applications cannot tell them from none.
    pub async fn take(
        db: &Database,
        exclude: &HashSet<String>,
        spill: &Path,
        cancel: &CancelHandle,
    ) -> Result<Snapshot, RehearsalError> {
        let mut collections = BTreeMap::new();
        let specs = collection_spec::list(db)
            .await
            .map_err(RehearsalError::database(
                "listing the scratch database's collections",
            ))?;
        for spec in specs {
            if exclude.contains(&spec.name) {
                continue;
            }
            let indexes = collection_spec::indexes(db, &spec.name).await.map_err(
                RehearsalError::database(format!("listing the indexes of {}", spec.name)),
            )?;
            let first = Order::first(&spec);
            let (documents, file, order) = if spec.is_view() {
                (0, None, first)
            } else {
                match spill_documents(db, &spec, first, spill, cancel).await? {
                    Ok((n, file)) => (n, file, first),
                    Err(_) if first == Order::Simple => {
                        match spill_documents(db, &spec, Order::Default, spill, cancel).await? {
                            Ok((n, file)) => (n, file, Order::Default),
                            Err(pair) => return Err(unordered(&spec, pair)),
                        }
                    }
                    Err(pair) => return Err(unordered(&spec, pair)),
                }
            };
            let shot = Shot {
                spec,
                indexes,
                order,
                file,
            };
            if !(shot.spec.kind == "collection"
                && collection_spec::is_trivial(&shot.spec.options, &shot.indexes, documents))
            {
                collections.insert(shot.spec.name.clone(), shot);
            }
        }
        Ok(Snapshot { collections })
    }
}

fn unordered(spec: &CollectionSpec, (previous, id): (String, String)) -> RehearsalError {
    RehearsalError::IdOrder {
        collection: spec.name.clone(),
        previous,
        id,
    }
}

/// Spills the collection's documents in `order`; the first two `_id`s out of this tool's BSON
/// order when the server's order is not it (the merge could not follow it).
async fn spill_documents(
    db: &Database,
    spec: &CollectionSpec,
    order: Order,
    spill: &Path,
    cancel: &CancelHandle,
) -> Result<Result<(u64, Option<tempfile::NamedTempFile>), (String, String)>, RehearsalError> {
    let io = |source| RehearsalError::Spill {
        dir: spill.to_path_buf(),
        source,
    };
    let mut cursor = sorted(db, spec, order).await?;
    let mut last: Option<bson::RawBson> = None;
    let file = tempfile::Builder::new()
        .prefix("rehearsal-")
        .suffix(".bson")
        .tempfile_in(spill)
        .map_err(io)?;
    let mut n = 0_u64;
    {
        let mut out = BufWriter::with_capacity(1 << 16, file.as_file());
        while let Some(document) = cursor
            .try_next()
            .await
            .map_err(RehearsalError::database(format!("reading {}", spec.name)))?
        {
            let id = document
                .get("_id")
                .ok()
                .flatten()
                .unwrap_or(bson::RawBsonRef::MinKey);
            if let Some(previous) = &last {
                if bson_order::compare(previous.as_raw_bson_ref(), id) != std::cmp::Ordering::Less {
                    return Ok(Err((relaxed(previous.as_raw_bson_ref()), relaxed(id))));
                }
            }
            last = Some(id.to_raw_bson());
            out.write_all(document.as_bytes()).map_err(io)?;
            n += 1;
            if n.is_multiple_of(1000) && cancel.is_cancelled() {
                return Err(cancelled(cancel));
            }
        }
        out.flush().map_err(io)?;
    }
    Ok(Ok((n, (n > 0).then_some(file))))
}

/// A value in relaxed extended JSON.
pub(crate) fn relaxed(v: bson::RawBsonRef<'_>) -> String {
    bson::Bson::try_from(v.to_raw_bson())
        .map(|b| b.into_relaxed_extjson().to_string())
        .unwrap_or_else(|_| "?".to_owned())
}

/// The collection's documents in `_id` order, read as `order` says.
pub(crate) async fn sorted(
    db: &Database,
    spec: &CollectionSpec,
    order: Order,
) -> Result<Cursor<RawDocumentBuf>, RehearsalError> {
    let collection = db.collection::<RawDocumentBuf>(&spec.name);
    let find = collection.find(doc! {}).sort(doc! { "_id": 1 });
    let cursor = match order {
        // The `_id` index carries the collection's collation: this sort may not use it.
        Order::Simple => find.collation(simple()).allow_disk_use(true).await,
        Order::Default => find.await,
    };
    cursor.map_err(RehearsalError::database(format!(
        "reading {} in _id order",
        spec.name
    )))
}

/// Reads a spill file back, one document at a time.
#[derive(Debug)]
pub(crate) struct SpillReader {
    inner: Option<BufReader<File>>,
}

impl SpillReader {
    /// A reader of no documents (a collection the snapshot does not have).
    pub fn empty() -> Self {
        SpillReader { inner: None }
    }

    /// The next document, `None` at the end.
    pub fn next_document(&mut self) -> std::io::Result<Option<RawDocumentBuf>> {
        let Some(inner) = self.inner.as_mut() else {
            return Ok(None);
        };
        let mut length = [0_u8; 4];
        match inner.read_exact(&mut length) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        let total = usize::try_from(i32::from_le_bytes(length)).unwrap_or(0);
        if total < 5 {
            return Err(std::io::Error::other("a spilled document has a bad length"));
        }
        let mut bytes = vec![0_u8; total];
        bytes[..4].copy_from_slice(&length);
        inner.read_exact(&mut bytes[4..])?;
        RawDocumentBuf::from_bytes(bytes)
            .map(Some)
            .map_err(std::io::Error::other)
    }
}

/// The directory spill files go to.
pub(crate) fn spill_dir() -> PathBuf {
    std::env::temp_dir()
}
