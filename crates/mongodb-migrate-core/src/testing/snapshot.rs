//! A comparable picture of a database: every collection's options, indexes and documents.

use std::collections::BTreeMap;
use std::fmt;

use bson::{Bson, Document};
use futures::TryStreamExt;
use mongodb::Database;

use crate::collection_spec;

/// One collection as the harness compares it.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectionSnapshot {
    /// The collection's options from `listCollections` (validator, capped, …).
    pub options: Document,
    /// The index specifications, by index name, without the version field `v`.
    pub indexes: BTreeMap<String, Document>,
    /// The documents, by their `_id` in canonical extended JSON.
    pub documents: BTreeMap<String, Document>,
}

impl CollectionSnapshot {
    /// An empty collection with only the `_id_` index and no options is what MongoDB creates
    /// implicitly on a first write; applications cannot tell it from no collection at all.
    fn is_trivial(&self) -> bool {
        collection_spec::is_trivial(&self.options, &self.indexes, self.documents.len() as u64)
    }
}

/// Every collection of a database, except the excluded ones.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DbSnapshot {
    /// The collections by name. Trivial (empty, unindexed) collections are left out.
    pub collections: BTreeMap<String, CollectionSnapshot>,
}

/// The key a document is compared under: its `_id` in canonical extended JSON.
pub fn id_key(document: &Document) -> String {
    match document.get("_id") {
        Some(id) => id.clone().into_canonical_extjson().to_string(),
        None => "<no _id>".to_owned(),
    }
}

impl DbSnapshot {
    /// Reads every collection of `db` whose name is not in `exclude` (nor `system.*`).
    pub async fn take(db: &Database, exclude: &[String]) -> mongodb::error::Result<DbSnapshot> {
        let mut collections = BTreeMap::new();
        for spec in collection_spec::list(db).await? {
            if exclude.contains(&spec.name) {
                continue;
            }
            let indexes = collection_spec::indexes(db, &spec.name).await?;
            let mut documents = BTreeMap::new();
            if !spec.is_view() {
                let mut cursor = db
                    .collection::<Document>(&spec.name)
                    .find(bson::doc! {})
                    .await?;
                while let Some(document) = cursor.try_next().await? {
                    documents.insert(id_key(&document), document);
                }
            }
            let snapshot = CollectionSnapshot {
                options: spec.options,
                indexes,
                documents,
            };
            if !snapshot.is_trivial() {
                collections.insert(spec.name, snapshot);
            }
        }
        Ok(DbSnapshot { collections })
    }

    /// The differences from `self` (before) to `after`, one line each; empty when equal.
    pub fn diff(&self, after: &DbSnapshot) -> Vec<Difference> {
        let mut out = Vec::new();
        let empty = CollectionSnapshot {
            options: Document::new(),
            indexes: BTreeMap::new(),
            documents: BTreeMap::new(),
        };
        let names: std::collections::BTreeSet<&String> = self
            .collections
            .keys()
            .chain(after.collections.keys())
            .collect();
        for name in names {
            let a = self.collections.get(name).unwrap_or(&empty);
            let b = after.collections.get(name).unwrap_or(&empty);
            if a.options != b.options {
                out.push(Difference::new(
                    name,
                    "collection options",
                    &a.options,
                    &b.options,
                ));
            }
            diff_maps(&mut out, name, "index", &a.indexes, &b.indexes);
            diff_maps(&mut out, name, "document _id", &a.documents, &b.documents);
        }
        out
    }
}

fn diff_maps(
    out: &mut Vec<Difference>,
    collection: &str,
    what: &str,
    a: &BTreeMap<String, Document>,
    b: &BTreeMap<String, Document>,
) {
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for key in keys {
        match (a.get(key), b.get(key)) {
            (Some(x), Some(y)) if x == y => {}
            (Some(x), Some(y)) => {
                for field in changed_fields(x, y) {
                    out.push(Difference {
                        collection: collection.to_owned(),
                        item: format!("{what} {key}, field `{field}`"),
                        before: x.get(&field).map_or("<absent>".to_owned(), show),
                        after: y.get(&field).map_or("<absent>".to_owned(), show),
                    });
                }
            }
            (Some(x), None) => out.push(Difference {
                collection: collection.to_owned(),
                item: format!("{what} {key}"),
                before: show_doc(x),
                after: "<absent>".to_owned(),
            }),
            (None, Some(y)) => out.push(Difference {
                collection: collection.to_owned(),
                item: format!("{what} {key}"),
                before: "<absent>".to_owned(),
                after: show_doc(y),
            }),
            (None, None) => {}
        }
    }
}

fn changed_fields(x: &Document, y: &Document) -> Vec<String> {
    let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
    keys.into_iter()
        .filter(|k| x.get(k.as_str()) != y.get(k.as_str()))
        .cloned()
        .collect()
}

fn show(value: &Bson) -> String {
    value.clone().into_relaxed_extjson().to_string()
}

fn show_doc(document: &Document) -> String {
    show(&Bson::Document(document.clone()))
}

/// One way two snapshots differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The collection.
    pub collection: String,
    /// What differs in it: an index, a document, a field of a document.
    pub item: String,
    /// The value before (`<absent>` when there was none).
    pub before: String,
    /// The value after (`<absent>` when there is none).
    pub after: String,
}

impl Difference {
    fn new(collection: &str, item: &str, before: &Document, after: &Document) -> Self {
        Difference {
            collection: collection.to_owned(),
            item: item.to_owned(),
            before: show_doc(before),
            after: show_doc(after),
        }
    }
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: before {}, after {}",
            self.collection, self.item, self.before, self.after
        )
    }
}
