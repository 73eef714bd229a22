//! A collection's definition as the server lists it: its kind, its creation options and its
//! indexes, read raw so that every option survives, including ones this driver has no type for.
//!
//! The round-trip harness compares them before and after a downgrade; the rehearsal copies them
//! to its scratch database and compares them the same way.

use std::collections::BTreeMap;

use bson::{doc, Document};
use futures::TryStreamExt;
use mongodb::Database;

/// `NamespaceNotFound`: the collection does not exist (yet).
const NAMESPACE_NOT_FOUND: i32 = 26;
/// `CommandNotSupportedOnView`: `listIndexes` on a view.
const NOT_SUPPORTED_ON_VIEW: i32 = 166;

/// One entry of `listCollections`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CollectionSpec {
    /// The collection's name.
    pub name: String,
    /// `collection`, `view` or `timeseries`.
    pub kind: String,
    /// The options it was created (or `collMod`ified) with: validator, collation, capped, a
    /// view's `viewOn` and `pipeline`, …
    pub options: Document,
}

impl CollectionSpec {
    /// Whether it is a view: no documents of its own, no indexes.
    pub fn is_view(&self) -> bool {
        self.kind == "view"
    }
}

/// Every collection of `db` (views included), in the server's order; `system.*` left out.
pub(crate) async fn list(db: &Database) -> mongodb::error::Result<Vec<CollectionSpec>> {
    let mut cursor = db
        .run_cursor_command(doc! { "listCollections": 1, "nameOnly": false })
        .await?;
    let mut out = Vec::new();
    while let Some(entry) = cursor.try_next().await? {
        let Ok(name) = entry.get_str("name") else {
            continue;
        };
        if name.starts_with("system.") {
            continue;
        }
        out.push(CollectionSpec {
            name: name.to_owned(),
            kind: entry.get_str("type").unwrap_or("collection").to_owned(),
            options: entry.get_document("options").cloned().unwrap_or_default(),
        });
    }
    Ok(out)
}

/// The indexes of collection `name`, by index name, as `listIndexes` gives them without the
/// index version `v` and the legacy `ns` (both the server's choice, not the index's
/// definition). Empty for a view or a collection that does not exist.
pub(crate) async fn indexes(
    db: &Database,
    name: &str,
) -> mongodb::error::Result<BTreeMap<String, Document>> {
    let mut cursor = match db.run_cursor_command(doc! { "listIndexes": name }).await {
        Ok(cursor) => cursor,
        Err(e)
            if command_code(&e)
                .is_some_and(|c| c == NAMESPACE_NOT_FOUND || c == NOT_SUPPORTED_ON_VIEW) =>
        {
            return Ok(BTreeMap::new())
        }
        Err(e) => return Err(e),
    };
    let mut out = BTreeMap::new();
    while let Some(mut spec) = cursor.try_next().await? {
        spec.remove("v");
        spec.remove("ns");
        let index = spec.get_str("name").unwrap_or("<unnamed>").to_owned();
        out.insert(index, spec);
    }
    Ok(out)
}

/// An empty collection with only the `_id_` index and no options is what MongoDB creates
/// implicitly on a first write; applications cannot tell it from no collection at all.
pub(crate) fn is_trivial(
    options: &Document,
    indexes: &BTreeMap<String, Document>,
    documents: u64,
) -> bool {
    documents == 0 && options.is_empty() && indexes.keys().all(|name| name == "_id_")
}

/// The server's error code of a failed command.
pub(crate) fn command_code(e: &mongodb::error::Error) -> Option<i32> {
    match *e.kind {
        mongodb::error::ErrorKind::Command(ref c) => Some(c.code),
        _ => None,
    }
}
