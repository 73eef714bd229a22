//! The rehearsal's copy and comparisons through the library, on a real database: what a copy
//! carries over (collations, validators set after the documents, indexes, views), what the
//! checks report (an index a downgrade leaves, an unmarked document created afresh), and what
//! the upgrade-again check tolerates (what the migration's markers declare, and nothing else).

use std::collections::BTreeMap;

use futures::TryStreamExt;
use mongodb_migrate_core::bson::{doc, Document};
use mongodb_migrate_core::mongodb::{Database, IndexModel};
use mongodb_migrate_core::rehearse::{DifferenceKind, Rehearsal, RehearsalReport, Verdict};
use mongodb_migrate_core::testing::{test_database, TestDatabase};
use mongodb_migrate_core::{markers, BoxFuture, Migration, MigrationResult};

use crate::common::plain as migration;

async fn rehearse(t: &TestDatabase, plan: &'static [Migration], keep: bool) -> RehearsalReport {
    let rehearsal = Rehearsal::new(&t.uri, plan)
        .scratch_database(Some(format!("{}_s", t.name())))
        .keep(keep);
    let prepared = rehearsal.prepare().await.expect("prepare");
    rehearsal.run(prepared).await.expect("a verdict")
}

async fn indexes(db: &Database, collection: &str) -> BTreeMap<String, Document> {
    let mut out = BTreeMap::new();
    let mut cursor = db
        .run_cursor_command(doc! { "listIndexes": collection })
        .await
        .unwrap();
    while let Some(mut spec) = cursor.try_next().await.unwrap() {
        spec.remove("v");
        spec.remove("ns");
        out.insert(spec.get_str("name").unwrap().to_owned(), spec);
    }
    out
}

async fn options(db: &Database, collection: &str) -> Document {
    let mut cursor = db
        .run_cursor_command(doc! { "listCollections": 1, "filter": { "name": collection } })
        .await
        .unwrap();
    let spec = cursor.try_next().await.unwrap().expect("the collection");
    spec.get_document("options").cloned().unwrap_or_default()
}

fn tag_up(db: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    Box::pin(async move {
        let tags = db.collection::<Document>("tags");
        markers::set_if_missing(&tags, doc! {}, "seen", true, "0001_tag").await?;
        Ok(())
    })
}

fn tag_down(db: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    Box::pin(async move {
        let tags = db.collection::<Document>("tags");
        markers::unset_own(&tags, "seen", "0001_tag").await?;
        Ok(())
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_copy_carries_collations_validators_indexes_and_views() {
    static PLAN: std::sync::LazyLock<[Migration; 1]> =
        std::sync::LazyLock::new(|| [migration("0001_tag", tag_up, tag_down)]);
    let t = test_database("rehearse_copy").await;
    // String `_id`s under a case-insensitive default collation: the merge must still follow
    // the simple (binary) order.
    t.db.run_command(doc! { "create": "tags", "collation": { "locale": "en", "strength": 2 } })
        .await
        .unwrap();
    t.db.collection::<Document>("tags")
        .insert_many(["b", "A", "c", "a2", "Z", "é"].map(|id| doc! { "_id": id }))
        .await
        .unwrap();
    // A document the validator refuses, written before the validator: it must copy.
    let people = t.db.collection::<Document>("people");
    people
        .insert_one(doc! { "_id": 1, "name": 7 })
        .await
        .unwrap();
    t.db.run_command(doc! {
        "collMod": "people",
        "validator": { "$jsonSchema": { "properties": { "name": { "bsonType": "string" } } } },
        "validationLevel": "moderate",
    })
    .await
    .unwrap();
    let events = t.db.collection::<Document>("events");
    events
        .insert_one(
            doc! { "_id": 1, "at": mongodb_migrate_core::bson::DateTime::now(), "key": "k" },
        )
        .await
        .unwrap();
    for index in [
        IndexModel::builder()
            .keys(doc! { "key": 1 })
            .options(
                mongodb_migrate_core::mongodb::options::IndexOptions::builder()
                    .unique(true)
                    .name("key_unique".to_owned())
                    .build(),
            )
            .build(),
        IndexModel::builder()
            .keys(doc! { "at": 1 })
            .options(
                mongodb_migrate_core::mongodb::options::IndexOptions::builder()
                    .expire_after(std::time::Duration::from_secs(3600))
                    .build(),
            )
            .build(),
    ] {
        events.create_index(index).await.unwrap();
    }
    t.db.run_command(
        doc! { "create": "recent", "viewOn": "events", "pipeline": [{ "$match": { "key": "k" } }] },
    )
    .await
    .unwrap();

    let report = rehearse(&t, &*PLAN, true).await;
    assert_eq!(report.verdict, Verdict::Exact, "{report:#?}");
    let copied: Vec<(&str, &str, u64, bool)> = report
        .copy
        .collections
        .iter()
        .map(|c| (c.name.as_str(), c.kind.as_str(), c.documents, c.validator))
        .collect();
    assert_eq!(
        copied,
        [
            ("events", "collection", 1, false),
            ("people", "collection", 1, true),
            ("tags", "collection", 6, false),
            ("recent", "view", 0, false),
        ]
    );
    let scratch = t.client.database(&report.scratch.database);
    for name in ["tags", "people", "events", "recent"] {
        assert_eq!(
            options(&scratch, name).await,
            options(&t.db, name).await,
            "{name}"
        );
    }
    for name in ["tags", "people", "events"] {
        assert_eq!(
            indexes(&scratch, name).await,
            indexes(&t.db, name).await,
            "{name}"
        );
    }
    let up = report.migrations[0].up.as_ref().unwrap();
    assert_eq!(
        (up.documents_written, up.collections.as_slice()),
        (6, &["tags".to_owned()][..])
    );

    let cleaned =
        mongodb_migrate_core::rehearse::cleanup(&t.client, Some(&report.scratch.database))
            .await
            .unwrap();
    assert_eq!(cleaned.len(), 1);
    assert!(cleaned[0].dropped && cleaned[0].scratch.kept, "{cleaned:?}");
}

fn index_up(db: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    Box::pin(async move {
        db.collection::<Document>("items")
            .create_index(IndexModel::builder().keys(doc! { "sku": 1 }).build())
            .await?;
        Ok(())
    })
}

fn nothing(_: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    Box::pin(async { Ok(()) })
}

fn unmarked_up(db: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    Box::pin(async move {
        let items = db.collection::<Document>("items");
        if items.count_documents(doc! { "kind": "default" }).await? == 0 {
            items.insert_one(doc! { "kind": "default" }).await?;
        }
        Ok(())
    })
}

fn unmarked_down(db: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    Box::pin(async move {
        db.collection::<Document>("items")
            .delete_many(doc! { "kind": "default" })
            .await?;
        Ok(())
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_left_index_and_an_unmarked_document_created_afresh_are_differences() {
    static PLAN: std::sync::LazyLock<[Migration; 2]> = std::sync::LazyLock::new(|| {
        [
            migration("0001_index_left_behind", index_up, nothing),
            Migration {
                dependencies: &["0001_index_left_behind"],
                ..migration("0002_unmarked_default", unmarked_up, unmarked_down)
            },
        ]
    });
    let t = test_database("rehearse_differences").await;
    t.db.collection::<Document>("items")
        .insert_one(doc! { "_id": 1, "sku": "a" })
        .await
        .unwrap();
    let report = rehearse(&t, &*PLAN, false).await;
    assert_eq!(report.verdict, Verdict::NotExact);
    let index = report.migrations[0].downgrade_exact.as_ref().unwrap();
    assert_eq!(
        (index.equal, index.definitions, index.changed),
        (false, 1, 0)
    );
    assert_eq!(index.examples[0].kind, DifferenceKind::Index);
    assert_eq!(index.examples[0].index.as_deref(), Some("sku_1"));
    // Its re-run and its upgrade again were fine: only the downgrade left something.
    assert!(report.migrations[0].idempotent.as_ref().unwrap().equal);
    assert!(report.migrations[0].up_again_equal.as_ref().unwrap().equal);

    // A document created with a new `_id` on each run, declared by no marker: not tolerated.
    let again = report.migrations[1].up_again_equal.as_ref().unwrap();
    assert_eq!(
        (again.equal, again.added, again.removed, again.recreated),
        (false, 1, 1, 0)
    );
    assert!(report.migrations[1].downgrade_exact.as_ref().unwrap().equal);
    assert!(!t
        .client
        .list_database_names()
        .await
        .unwrap()
        .contains(&report.scratch.database));
}

fn admin_up(db: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    Box::pin(async move {
        let users = db.collection::<Document>("users");
        let now = mongodb_migrate_core::bson::DateTime::now();
        markers::insert_if_absent(
            &users,
            doc! { "role": "admin" },
            doc! { "role": "admin", "created_at": now },
            "0001_admin",
        )
        .await?;
        let stories = db.collection::<Document>("stories");
        markers::set_if_missing(&stories, doc! {}, "migrated_at", now, "0001_admin").await?;
        Ok(())
    })
}

fn admin_down(db: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    Box::pin(async move {
        markers::delete_own(&db.collection::<Document>("users"), "0001_admin").await?;
        markers::unset_own(
            &db.collection::<Document>("stories"),
            "migrated_at",
            "0001_admin",
        )
        .await?;
        Ok(())
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn what_the_markers_declare_a_run_generates_is_tolerated_again() {
    static PLAN: std::sync::LazyLock<[Migration; 1]> =
        std::sync::LazyLock::new(|| [migration("0001_admin", admin_up, admin_down)]);
    let t = test_database("rehearse_tolerance").await;
    t.db.collection::<Document>("stories")
        .insert_many((0..3).map(|i| doc! { "_id": i, "title": format!("s{i}") }))
        .await
        .unwrap();
    let report = rehearse(&t, &*PLAN, false).await;
    assert_eq!(report.verdict, Verdict::Exact, "{report:#?}");
    let m = &report.migrations[0];
    assert!(m.idempotent.as_ref().unwrap().equal);
    assert!(m.downgrade_exact.as_ref().unwrap().equal);
    let again = m.up_again_equal.as_ref().unwrap();
    assert_eq!(again.recreated, 1, "{again:?}");
    assert!(again.equal && again.examples.is_empty(), "{again:?}");
    // The admin's created_at, in the document and in its marker; each story's migrated_at, in
    // the field and in its marker. (The re-run, the downgrade and two comparisons lie between
    // the two upgrades: their clocks differ.)
    assert_eq!(again.regenerated, 2 + 3 * 2, "{again:?}");
}
