//! Reversible writes: every value a migration sets carries a marker, so its downgrade undoes
//! exactly its own writes and nothing the application wrote before or since.
//!
//! The marker is a top-level field named after the migration ([`marker_field`]). It records what
//! the field held before (`"absent"` or `"null"`), so the downgrade restores exactly that. All
//! updates are server-side `update_many` calls: a collection of any size is never loaded into
//! the migration's memory.
//!
//! # Examples
//! ```no_run
//! use mongo_migrate::markers;
//! use mongo_migrate::prelude::*;
//!
//! const NAME: &str = "0005_add_featured_flag";
//!
//! async fn upgrade(db: &Database) -> Result<()> {
//!     let stories = db.collection::<Document>("stories");
//!     markers::set_if_missing(&stories, doc! {}, "featured", false, NAME).await?;
//!     Ok(())
//! }
//!
//! async fn downgrade(db: &Database) -> Result<()> {
//!     let stories = db.collection::<Document>("stories");
//!     markers::unset_own(&stories, "featured", NAME).await?;
//!     Ok(())
//! }
//! ```

use bson::{doc, Bson, Document};
use mongodb::options::UpdateOptions;
use mongodb::Collection;

/// The name of the marker field `migration` writes: `_migrated_by_<migration>`.
pub fn marker_field(migration: &str) -> String {
    format!("_migrated_by_{migration}")
}

/// What [`set_if_missing`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SetCounts {
    /// Documents where `field` was absent.
    pub was_absent: u64,
    /// Documents where `field` was `null`.
    pub was_null: u64,
}

impl SetCounts {
    /// Every document set.
    pub fn total(&self) -> u64 {
        self.was_absent + self.was_null
    }
}

/// Sets `field` to `value` on the documents matching `filter` whose `field` is absent or null,
/// marking each one for [`unset_own`]. Documents that already hold a value are untouched, so a
/// second run changes nothing.
pub async fn set_if_missing(
    collection: &Collection<Document>,
    filter: Document,
    field: &str,
    value: impl Into<Bson>,
    migration: &str,
) -> mongodb::error::Result<SetCounts> {
    let marker = marker_field(migration);
    let value = value.into();
    let mut absent = filter.clone();
    absent.insert(field, doc! { "$exists": false });
    let was_absent = collection
        .update_many(
            absent,
            doc! { "$set": { field: value.clone(), &marker: "absent" } },
        )
        .await?
        .modified_count;
    let mut null = filter;
    null.insert(field, doc! { "$type": "null" });
    let was_null = collection
        .update_many(null, doc! { "$set": { field: value, &marker: "null" } })
        .await?
        .modified_count;
    Ok(SetCounts {
        was_absent,
        was_null,
    })
}

/// Undoes [`set_if_missing`]: restores `field` to absent or null on the documents `migration`
/// marked, and removes the marker. Returns how many documents were restored.
pub async fn unset_own(
    collection: &Collection<Document>,
    field: &str,
    migration: &str,
) -> mongodb::error::Result<u64> {
    let marker = marker_field(migration);
    let absent = collection
        .update_many(
            doc! { &marker: "absent" },
            doc! { "$unset": { field: "", &marker: "" } },
        )
        .await?
        .modified_count;
    let null = collection
        .update_many(
            doc! { &marker: "null" },
            doc! { "$set": { field: Bson::Null }, "$unset": { &marker: "" } },
        )
        .await?
        .modified_count;
    Ok(absent + null)
}

/// Inserts `document` unless a document matches `key`, marking an inserted one as created by
/// `migration` for [`delete_own`]. Returns whether it inserted.
///
/// It is one atomic upsert, so a concurrent writer of the same key cannot make it insert twice
/// when `key` is covered by a unique index.
pub async fn insert_if_absent(
    collection: &Collection<Document>,
    key: Document,
    mut document: Document,
    migration: &str,
) -> mongodb::error::Result<bool> {
    for k in key.keys() {
        document.remove(k);
    }
    document.insert(marker_field(migration), true);
    let result = collection
        .update_one(key, doc! { "$setOnInsert": document })
        .with_options(UpdateOptions::builder().upsert(true).build())
        .await?;
    Ok(result.upserted_id.is_some())
}

/// Deletes the documents `migration` created with [`insert_if_absent`]. Returns how many.
pub async fn delete_own(
    collection: &Collection<Document>,
    migration: &str,
) -> mongodb::error::Result<u64> {
    Ok(collection
        .delete_many(doc! { marker_field(migration): true })
        .await?
        .deleted_count)
}
