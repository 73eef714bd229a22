//! Reversible writes: every value a migration sets carries a marker, so its downgrade undoes its
//! own writes, and only those the application has not changed since.
//!
//! The marker is a top-level field named after the migration ([`marker_field`]) that records
//! what the migration did to that document:
//!
//! | helper | marker | the downgrade undoes it when |
//! |---|---|---|
//! | [`set_if_missing`] | `{prior: "absent" \| "null", wrote: <value>}` | the field still holds `wrote` (same value, same BSON type) |
//! | [`insert_if_absent`] | `{created: <the document as inserted, without _id>}` | the document still equals `created` (field order aside) |
//!
//! What the downgrade leaves, it counts, returns in [`UndoCounts`], and reports with
//! [`progress::note`](crate::progress::note), a sentence per collection and reason, shown in
//! the run output and stored in the migration's details record:
//!
//! - **changed since**: the application wrote another value, or edited a created document. The
//!   value is the application's now: the document keeps it and loses the marker.
//! - **still referenced** ([`delete_own_unreferenced`]): another document points at a created
//!   document. It stays, with its marker, so a later downgrade can delete it once nothing does.
//! - **old-format marker**: databases migrated before markers recorded values carry the string
//!   `"absent"`/`"null"` or `true`. Those do not say what was written, so no downgrade can tell
//!   the application's later writes apart: the document is left as it is, marker included, for
//!   an operator to judge (the note says how to find them).
//!
//! ### Warning
//! A document the application rewrites whole (`replace_one` from its model) loses the marker,
//! and the downgrade can no longer see it: it keeps the migration's values, and is not counted.
//! Markers are also visible to application code, serializers and `$jsonSchema` validators
//! (allow `^_migrated_by_` in `patternProperties` where `additionalProperties` is false). The
//! README's markers section weighs this against an undo log kept outside the documents.
//!
//! Upgrades are server-side `update_many` calls: a collection of any size is never loaded into
//! the migration's memory. Downgrades of set values are too; downgrades of created documents
//! read the marked documents as a stream, one at a time.
//!
//! # Examples
//! ```no_run
//! use mongodb_migrate_core::markers;
//! use mongodb_migrate_core::prelude::*;
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
//!     // Stories the application featured since keep `featured: true`, and a note says so.
//!     markers::unset_own(&stories, "featured", NAME).await?;
//!     Ok(())
//! }
//! ```

use std::collections::HashSet;

use bson::{doc, Bson, Document};
use futures::TryStreamExt;
use mongodb::options::{CollectionOptions, UpdateOptions};
use mongodb::Collection;

/// The marker's fields (format 2, a document). Format 1 was a bare string or `true`.
mod key {
    /// [`set_if_missing`](super::set_if_missing): `"absent"` or `"null"`, what the field held.
    pub const PRIOR: &str = "prior";
    /// [`set_if_missing`](super::set_if_missing): the value it wrote.
    pub const WROTE: &str = "wrote";
    /// [`insert_if_absent`](super::insert_if_absent): the document it inserted, without `_id`.
    pub const CREATED: &str = "created";
    pub const ABSENT: &str = "absent";
    pub const NULL: &str = "null";
}

/// How many created documents a downgrade holds at once, and how many ids one query carries:
/// bounds memory and query size whatever the number of documents a migration created.
const BATCH: usize = 1000;

/// The name of the marker field `migration` writes: `_migrated_by_<migration>`.
///
/// # Examples
/// ```
/// assert_eq!(
///     mongodb_migrate_core::markers::marker_field("0002_add_user_id"),
///     "_migrated_by_0002_add_user_id"
/// );
/// ```
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

/// What a downgrade helper ([`unset_own`], [`delete_own`], [`delete_own_unreferenced`]) undid,
/// and what it left and why. Every document it left is also reported with
/// [`progress::note`](crate::progress::note).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UndoCounts {
    /// Documents restored (fields) or deleted (created documents).
    pub undone: u64,
    /// Left as they are: the application changed them since the migration wrote them.
    pub changed: u64,
    /// Left in place: other documents still refer to them.
    pub referenced: u64,
    /// Left as they are: their marker predates recorded values, so a change cannot be told.
    pub old_marker: u64,
}

impl UndoCounts {
    /// Every document left rather than undone.
    pub fn left(&self) -> u64 {
        self.changed + self.referenced + self.old_marker
    }
}

/// A field whose documents point at other documents by `_id`: `stories.section_id` refers to
/// `sections`. A field holding an array refers to each of its elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reference<'a> {
    /// The referring collection, in the same database.
    pub collection: &'a str,
    /// The referring field (a dotted path reaches into sub-documents).
    pub field: &'a str,
}

/// Sets `field` to `value` on the documents matching `filter` whose `field` is absent or null,
/// marking each one for [`unset_own`] with what was there and what it wrote. Documents that
/// already hold a value are untouched, so a second run changes nothing.
///
/// # Examples
/// ```no_run
/// # async fn example(db: mongodb_migrate_core::mongodb::Database) -> mongodb_migrate_core::mongodb::error::Result<()> {
/// use mongodb_migrate_core::markers;
/// use mongodb_migrate_core::prelude::*;
/// let pages = db.collection::<Document>("pages");
/// let set = markers::set_if_missing(&pages, doc! { "slug": "about" }, "order", 2, "0007_order_pages").await?;
/// println!("{} pages ordered", set.total());
/// # Ok(()) }
/// ```
pub async fn set_if_missing(
    collection: &Collection<Document>,
    filter: Document,
    field: &str,
    value: impl Into<Bson>,
    migration: &str,
) -> mongodb::error::Result<SetCounts> {
    let value = value.into();
    let set = |prior: &'static str, missing: Document| {
        let mut filter = filter.clone();
        filter.insert(field, missing);
        let marker = doc! { key::PRIOR: prior, key::WROTE: value.clone() };
        let update = doc! { "$set": { field: value.clone(), marker_field(migration): marker } };
        async move {
            Ok::<_, mongodb::error::Error>(
                collection.update_many(filter, update).await?.modified_count,
            )
        }
    };
    Ok(SetCounts {
        was_absent: set(key::ABSENT, doc! { "$exists": false }).await?,
        was_null: set(key::NULL, doc! { "$type": "null" }).await?,
    })
}

/// Undoes [`set_if_missing`] where the migration's value is still there: restores `field` to
/// absent or null on the documents `migration` marked whose `field` still holds the value it
/// wrote, and removes the marker.
///
/// A document whose `field` the application changed since keeps the application's value and
/// loses the marker; one with an old-format marker is left as it is. Both are counted in the
/// returned [`UndoCounts`] and reported with [`progress::note`](crate::progress::note). Every step is
/// one server-side `update_many` (or count).
///
/// # Examples
/// ```no_run
/// # async fn example(db: mongodb_migrate_core::mongodb::Database) -> mongodb_migrate_core::mongodb::error::Result<()> {
/// use mongodb_migrate_core::markers;
/// use mongodb_migrate_core::prelude::*;
/// let stories = db.collection::<Document>("stories");
/// let undone = markers::unset_own(&stories, "user_id", "0002_add_user_id_to_content").await?;
/// assert_eq!(undone.referenced, 0, "only created documents can be referenced");
/// # Ok(()) }
/// ```
pub async fn unset_own(
    collection: &Collection<Document>,
    field: &str,
    migration: &str,
) -> mongodb::error::Result<UndoCounts> {
    let marker = marker_field(migration);
    let prior = format!("{marker}.{}", key::PRIOR);
    // Same value and same BSON type: aggregation `$eq` alone takes 1 and 1.0 for equal.
    let unchanged = doc! { "$and": [
        { "$eq": [format!("${field}"), format!("${marker}.{}", key::WROTE)] },
        { "$eq": [
            { "$type": format!("${field}") },
            { "$type": format!("${marker}.{}", key::WROTE) },
        ] },
    ] };
    let mut undone = UndoCounts::default();
    undone.undone += collection
        .update_many(
            doc! { &prior: key::ABSENT, "$expr": unchanged.clone() },
            doc! { "$unset": { field: "", &marker: "" } },
        )
        .await?
        .modified_count;
    undone.undone += collection
        .update_many(
            doc! { &prior: key::NULL, "$expr": unchanged },
            doc! { "$set": { field: Bson::Null }, "$unset": { &marker: "" } },
        )
        .await?
        .modified_count;
    // What is still marked by `set_if_missing` no longer holds the migration's value: it is the
    // application's now, so the marker goes and the value stays.
    undone.changed = collection
        .update_many(
            doc! { &prior: { "$exists": true } },
            doc! { "$unset": { &marker: "" } },
        )
        .await?
        .modified_count;
    let old_format = doc! { &marker: { "$in": [key::ABSENT, key::NULL] } };
    undone.old_marker = collection.count_documents(old_format.clone()).await?;

    let name = collection.name();
    if undone.changed > 0 {
        crate::progress::note(format!(
            "{migration}: {} in {name} changed since it was applied; {} \
             (`{field}` no longer holds the value the migration wrote)",
            documents(undone.changed),
            left(undone.changed),
        ));
    }
    if undone.old_marker > 0 {
        crate::progress::note(format!(
            "{migration}: {} in {name} {} an old-format marker, which does not record the value \
             the migration wrote, so a later change to `{field}` cannot be told; {}, marker \
             included (find them with {old_format})",
            documents(undone.old_marker),
            has(undone.old_marker),
            left(undone.old_marker),
        ));
    }
    Ok(undone)
}

/// Inserts `document` unless a document matches `key`, marking an inserted one as created by
/// `migration`, with a copy of what it inserted, for [`delete_own`]. Returns whether it inserted.
///
/// It is one atomic upsert, so a concurrent writer of the same key cannot make it insert twice
/// when `key` is covered by a unique index. `key` is an equality on top-level fields
/// (`{slug: "blog"}`): its fields become part of the inserted document.
///
/// # Examples
/// ```no_run
/// # async fn example(db: mongodb_migrate_core::mongodb::Database) -> mongodb_migrate_core::mongodb::error::Result<()> {
/// use mongodb_migrate_core::markers;
/// use mongodb_migrate_core::prelude::*;
/// let sections = db.collection::<Document>("sections");
/// let created = markers::insert_if_absent(
///     &sections,
///     doc! { "slug": "blog" },
///     doc! { "slug": "blog", "title": "Blog", "order": 1 },
///     "0003_seed_initial_sections",
/// )
/// .await?;
/// # Ok(()) }
/// ```
pub async fn insert_if_absent(
    collection: &Collection<Document>,
    key: Document,
    mut document: Document,
    migration: &str,
) -> mongodb::error::Result<bool> {
    for k in key.keys() {
        document.remove(k);
    }
    // The upsert stores the key's fields, then `$setOnInsert`'s: the copy holds both, as the
    // document will. A key that is not a plain equality makes the copy differ from what is
    // stored, so the downgrade sees a change and keeps the document: wrong in the safe way.
    let mut created = key.clone();
    created.extend(document.clone());
    created.remove("_id");
    document.insert(marker_field(migration), doc! { key::CREATED: created });
    let result = collection
        .update_one(key, doc! { "$setOnInsert": document })
        .with_options(UpdateOptions::builder().upsert(true).build())
        .await?;
    Ok(result.upserted_id.is_some())
}

/// Deletes the documents `migration` created with [`insert_if_absent`] that are unchanged since:
/// equal, field order aside, to what it inserted.
///
/// A document the application changed since stays and loses the marker (it is the
/// application's now); one with an old-format marker stays as it is. Both are counted and
/// reported with [`progress::note`](crate::progress::note). Each deletion is conditional on the
/// whole document still being what was read, so a write racing the downgrade is never lost.
///
/// It does not look for references: use [`delete_own_unreferenced`] when other documents may
/// point at what the migration created.
///
/// # Examples
/// ```no_run
/// # async fn example(db: mongodb_migrate_core::mongodb::Database) -> mongodb_migrate_core::mongodb::error::Result<()> {
/// use mongodb_migrate_core::markers;
/// use mongodb_migrate_core::prelude::*;
/// let users = db.collection::<Document>("users");
/// let undone = markers::delete_own(&users, "0001_create_admin_user").await?;
/// println!("{} deleted, {} left", undone.undone, undone.left());
/// # Ok(()) }
/// ```
pub async fn delete_own(
    collection: &Collection<Document>,
    migration: &str,
) -> mongodb::error::Result<UndoCounts> {
    delete_own_unreferenced(collection, migration, &[]).await
}

/// [`delete_own`], leaving in place the documents that `references` still point at: a document
/// is referenced when a document of `reference.collection` holds its `_id` in
/// `reference.field` (or in an array there). It stays with its marker, so a later downgrade
/// deletes it once nothing refers to it, and a note names the referring fields.
///
/// References are checked just before the deletions, not under a lock: a reference written
/// between the check and the deletion of the same document is not seen.
///
/// # Examples
/// ```no_run
/// # async fn example(db: mongodb_migrate_core::mongodb::Database) -> mongodb_migrate_core::mongodb::error::Result<()> {
/// use mongodb_migrate_core::markers::{self, Reference};
/// use mongodb_migrate_core::prelude::*;
/// let sections = db.collection::<Document>("sections");
/// markers::delete_own_unreferenced(
///     &sections,
///     "0003_seed_initial_sections",
///     &[
///         Reference { collection: "stories", field: "section_id" },
///         Reference { collection: "pages", field: "section_id" },
///     ],
/// )
/// .await?;
/// # Ok(()) }
/// ```
pub async fn delete_own_unreferenced(
    collection: &Collection<Document>,
    migration: &str,
    references: &[Reference<'_>],
) -> mongodb::error::Result<UndoCounts> {
    let marker = marker_field(migration);
    let mut deletion = Deletion {
        collection,
        marker: &marker,
        references,
        undone: UndoCounts::default(),
        changed: Vec::new(),
        referrers: Vec::new(),
    };
    // A batch at a time, so memory holds one batch of documents however many were created.
    let mut unchanged = Vec::new();
    // Format 2 markers of `insert_if_absent`, and format 1 ones (`true`); not those of
    // `set_if_missing` on documents the migration did not create.
    let created = format!("{marker}.{}", key::CREATED);
    let mut cursor = collection
        .find(doc! { "$or": [{ &marker: true }, { created: { "$exists": true } }] })
        .await?;
    while let Some(document) = cursor.try_next().await? {
        match Created::of(&document, &marker) {
            Created::Unchanged => unchanged.push(document),
            Created::Changed => deletion.changed(id_of(&document)).await?,
            Created::OldMarker => deletion.undone.old_marker += 1,
        }
        if unchanged.len() == BATCH {
            deletion.delete(std::mem::take(&mut unchanged)).await?;
        }
    }
    deletion.delete(unchanged).await?;
    deletion.finish(migration).await
}

/// The state of one [`delete_own_unreferenced`] call.
struct Deletion<'a> {
    collection: &'a Collection<Document>,
    marker: &'a str,
    references: &'a [Reference<'a>],
    undone: UndoCounts,
    /// Changed documents whose marker is still to be removed.
    changed: Vec<Bson>,
    referrers: Vec<Referrer>,
}

impl Deletion<'_> {
    /// Deletes the documents of `batch` that nothing refers to, each only if it is still
    /// exactly the document read (compare-and-delete), so a write racing the downgrade wins.
    async fn delete(&mut self, batch: Vec<Document>) -> mongodb::error::Result<()> {
        let (referenced, referrers) = referenced(self.collection, &batch, self.references).await?;
        self.referrers.extend(referrers);
        for document in batch {
            let id = id_of(&document);
            if referenced.contains(&id_key(&id)) {
                self.undone.referenced += 1;
                continue;
            }
            let same = doc! {
                "_id": id.clone(),
                "$expr": { "$eq": ["$$ROOT", { "$literal": document }] },
            };
            match self.collection.delete_one(same).await?.deleted_count {
                0 => self.changed(id).await?,
                _ => self.undone.undone += 1,
            }
        }
        Ok(())
    }

    /// Records a changed document; its marker goes (it is the application's now), a batch of
    /// ids at a time.
    async fn changed(&mut self, id: Bson) -> mongodb::error::Result<()> {
        self.undone.changed += 1;
        self.changed.push(id);
        if self.changed.len() == BATCH {
            self.unmark().await?;
        }
        Ok(())
    }

    async fn unmark(&mut self) -> mongodb::error::Result<()> {
        if self.changed.is_empty() {
            return Ok(());
        }
        let ids = std::mem::take(&mut self.changed);
        self.collection
            .update_many(
                doc! { "_id": { "$in": ids }, self.marker: { "$type": "object" } },
                doc! { "$unset": { self.marker: "" } },
            )
            .await?;
        Ok(())
    }

    /// Removes the last markers and notes what was left.
    async fn finish(mut self, migration: &str) -> mongodb::error::Result<UndoCounts> {
        self.unmark().await?;
        let undone = self.undone;
        let name = self.collection.name();
        if undone.changed > 0 {
            crate::progress::note(format!(
                "{migration}: {} in {name} changed since it was created; {}",
                documents(undone.changed),
                left(undone.changed),
            ));
        }
        if undone.referenced > 0 {
            crate::progress::note(format!(
                "{migration}: {} in {name} {} still referenced ({}); left in place",
                documents(undone.referenced),
                if undone.referenced == 1 { "is" } else { "are" },
                Referrer::summary(&self.referrers),
            ));
        }
        if undone.old_marker > 0 {
            crate::progress::note(format!(
                "{migration}: {} in {name} {} an old-format marker, which does not record what \
                 the migration inserted, so a later change cannot be told; {}, marker included \
                 (find them with {{\"{}\": true}})",
                documents(undone.old_marker),
                has(undone.old_marker),
                left(undone.old_marker),
                self.marker,
            ));
        }
        Ok(undone)
    }
}

/// What a document marked by [`insert_if_absent`] is now, compared with what was inserted.
enum Created {
    Unchanged,
    Changed,
    /// Format 1 (`true`), or a marker this version cannot read: what was inserted is unknown.
    OldMarker,
}

impl Created {
    fn of(document: &Document, marker: &str) -> Created {
        let Ok(created) = document
            .get_document(marker)
            .and_then(|m| m.get_document(key::CREATED))
        else {
            return Created::OldMarker;
        };
        let mut now = document.clone();
        now.remove("_id");
        now.remove(marker);
        // `Document` equality ignores field order (at every level) and compares BSON types.
        if &now == created {
            Created::Unchanged
        } else {
            Created::Changed
        }
    }
}

/// How many documents of one referring field point at the documents being deleted.
#[derive(Debug)]
struct Referrer {
    collection: String,
    field: String,
    documents: u64,
}

impl Referrer {
    /// `stories.section_id: 2 documents, pages.section_id: 1 document`, one entry per field.
    fn summary(referrers: &[Referrer]) -> String {
        let mut merged: Vec<Referrer> = Vec::new();
        for r in referrers {
            match merged
                .iter_mut()
                .find(|m| m.collection == r.collection && m.field == r.field)
            {
                Some(m) => m.documents += r.documents,
                None => merged.push(Referrer {
                    collection: r.collection.clone(),
                    field: r.field.clone(),
                    documents: r.documents,
                }),
            }
        }
        merged
            .iter()
            .map(|r| {
                format!(
                    "from {}.{} by {}",
                    r.collection,
                    r.field,
                    documents(r.documents)
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Which of `batch`'s `_id`s (as [`id_key`]s) `references` point at, and from where.
async fn referenced(
    collection: &Collection<Document>,
    batch: &[Document],
    references: &[Reference<'_>],
) -> mongodb::error::Result<(HashSet<String>, Vec<Referrer>)> {
    let mut referenced = HashSet::new();
    let mut referrers = Vec::new();
    if references.is_empty() || batch.is_empty() {
        return Ok((referenced, referrers));
    }
    let ids: Vec<Bson> = batch.iter().filter_map(|d| d.get("_id").cloned()).collect();
    let wanted: HashSet<String> = ids.iter().map(id_key).collect();
    let db = collection.client().database(&collection.namespace().db);
    // Read as the collection being downgraded reads (its read concern and preference).
    let options = CollectionOptions::builder()
        .selection_criteria(collection.selection_criteria().cloned())
        .read_concern(collection.read_concern().cloned())
        .build();
    for reference in references {
        let from = db.collection_with_options::<Document>(reference.collection, options.clone());
        let filter = doc! { reference.field: { "$in": ids.clone() } };
        let documents = from.count_documents(filter.clone()).await?;
        if documents == 0 {
            continue;
        }
        // `distinct` unwinds arrays, so an array of ids yields each id it holds.
        for value in from.distinct(reference.field, filter).await? {
            let key = id_key(&value);
            if wanted.contains(&key) {
                referenced.insert(key);
            }
        }
        referrers.push(Referrer {
            collection: reference.collection.to_owned(),
            field: reference.field.to_owned(),
            documents,
        });
    }
    Ok((referenced, referrers))
}

fn id_of(document: &Document) -> Bson {
    document.get("_id").cloned().unwrap_or(Bson::Null)
}

/// A hashable, type-exact key for an `_id` (`Bson` itself is not `Hash`).
fn id_key(id: &Bson) -> String {
    id.clone().into_canonical_extjson().to_string()
}

fn documents(n: u64) -> String {
    match n {
        1 => "1 document".to_owned(),
        n => format!("{n} documents"),
    }
}

fn left(n: u64) -> &'static str {
    if n == 1 {
        "left as it is"
    } else {
        "left as they are"
    }
}

fn has(n: u64) -> &'static str {
    if n == 1 {
        "has"
    } else {
        "have"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(created: Document, now: Document) -> Document {
        let mut document = now;
        document.insert("_id", 7);
        document.insert("_m", doc! { "created": created });
        document
    }

    #[test]
    fn a_created_document_is_unchanged_whatever_its_field_order() {
        let created = doc! { "slug": "blog", "title": "Blog", "meta": { "a": 1, "b": 2 } };
        let now = doc! { "meta": { "b": 2, "a": 1 }, "title": "Blog", "slug": "blog" };
        assert!(matches!(
            Created::of(&marked(created, now), "_m"),
            Created::Unchanged
        ));
    }

    #[test]
    fn an_edited_added_removed_or_retyped_field_is_a_change() {
        let created = doc! { "slug": "blog", "order": 1 };
        for now in [
            doc! { "slug": "blog", "order": 2 },
            doc! { "slug": "blog", "order": 1, "title": "Blog" },
            doc! { "slug": "blog" },
            doc! { "slug": "blog", "order": 1_i64 },
        ] {
            assert!(
                matches!(
                    Created::of(&marked(created.clone(), now.clone()), "_m"),
                    Created::Changed
                ),
                "{now}"
            );
        }
    }

    #[test]
    fn a_format_1_marker_cannot_tell() {
        let document = doc! { "_id": 1, "slug": "blog", "_m": true };
        assert!(matches!(Created::of(&document, "_m"), Created::OldMarker));
    }

    #[test]
    fn referrers_are_summed_per_field() {
        let r = |c: &str, f: &str, n| Referrer {
            collection: c.into(),
            field: f.into(),
            documents: n,
        };
        let summary = Referrer::summary(&[
            r("stories", "section_id", 1),
            r("pages", "section_id", 1),
            r("stories", "section_id", 2),
        ]);
        assert_eq!(
            summary,
            "from stories.section_id by 3 documents, from pages.section_id by 1 document"
        );
    }
}
