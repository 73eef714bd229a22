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
    file: Option<tempfile::NamedTempFile>,
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
            let (documents, file) = if spec.is_view() {
                (0, None)
            } else {
                spill_documents(db, &spec, spill, cancel).await?
            };
            let shot = Shot {
                spec,
                indexes,
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

async fn spill_documents(
    db: &Database,
    spec: &CollectionSpec,
    spill: &Path,
    cancel: &CancelHandle,
) -> Result<(u64, Option<tempfile::NamedTempFile>), RehearsalError> {
    let io = |source| RehearsalError::Spill {
        dir: spill.to_path_buf(),
        source,
    };
    let mut cursor = sorted(db, spec).await?;
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
            out.write_all(document.as_bytes()).map_err(io)?;
            n += 1;
            if n.is_multiple_of(1000) && cancel.is_cancelled() {
                return Err(cancelled(cancel));
            }
        }
        out.flush().map_err(io)?;
    }
    Ok((n, (n > 0).then_some(file)))
}

/// The collection's documents in `_id` order under the simple collation (a collection with a
/// default collation would otherwise sort string `_id`s by it).
pub(crate) async fn sorted(
    db: &Database,
    spec: &CollectionSpec,
) -> Result<Cursor<RawDocumentBuf>, RehearsalError> {
    let collection = db.collection::<RawDocumentBuf>(&spec.name);
    let find = collection.find(doc! {}).sort(doc! { "_id": 1 });
    let cursor = if spec.options.contains_key("collation") {
        // The `_id` index carries the collection's collation: this sort may not use it.
        find.collation(simple()).allow_disk_use(true).await
    } else {
        find.await
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
