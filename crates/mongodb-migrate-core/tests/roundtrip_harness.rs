//! The round-trip harness itself: it passes a correct plan and pins down each broken property,
//! with and without the application's writes between an upgrade and its downgrade.
use mongodb_migrate_core::mongodb::Database;
use mongodb_migrate_core::prelude::*;
use mongodb_migrate_core::testing::{test_database, Broken, RoundTrip};
use mongodb_migrate_core::{BoxFuture, Migration, MigrationResult};

fn good_up(db: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    Box::pin(async move {
        let c = db.collection::<Document>("items");
        markers::set_if_missing(&c, doc! {}, "flag", true, "0001_good").await?;
        Ok(())
    })
}
fn good_down(db: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    Box::pin(async move {
        let c = db.collection::<Document>("items");
        markers::unset_own(&c, "flag", "0001_good").await?;
        Ok(())
    })
}
fn appends(db: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    Box::pin(async move {
        db.collection::<Document>("log")
            .insert_one(doc! { "ran": true })
            .await?;
        Ok(())
    })
}
fn noop(_db: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    Box::pin(async { Ok(()) })
}
fn sets_forever(db: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    Box::pin(async move {
        db.collection::<Document>("items")
            .update_many(doc! {}, doc! { "$set": { "forever": 1 } })
            .await?;
        Ok(())
    })
}
fn fails(_db: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    Box::pin(async { Err(anyhow!("disk on fire")).context("while doing the thing") })
}
fn panics(_db: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    Box::pin(async { panic!("boom") })
}
fn writes_state(db: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    Box::pin(async move {
        db.collection::<Document>("pymongo_migrate")
            .insert_one(doc! { "name": "x" })
            .await?;
        Ok(())
    })
}

/// The downgrade before markers recorded values: unsets every marked field, whoever wrote it
/// since.
fn clobbering_down(db: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    Box::pin(async move {
        let c = db.collection::<Document>("items");
        let marker = markers::marker_field("0001_good");
        c.update_many(
            doc! { format!("{marker}.prior"): "absent" },
            doc! { "$unset": { "flag": "", &marker: "" } },
        )
        .await?;
        c.update_many(
            doc! { format!("{marker}.prior"): "null" },
            doc! { "$set": { "flag": null }, "$unset": { &marker: "" } },
        )
        .await?;
        Ok(())
    })
}
/// Undoes only what is unchanged, as it should, but leaves the rest without a word.
fn quiet_down(db: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    Box::pin(async move {
        let c = db.collection::<Document>("items");
        let marker = markers::marker_field("0001_good");
        c.update_many(
            doc! { format!("{marker}.prior"): "absent", "flag": true },
            doc! { "$unset": { "flag": "", &marker: "" } },
        )
        .await?;
        c.update_many(
            doc! { format!("{marker}.prior"): "null", "flag": true },
            doc! { "$set": { "flag": null }, "$unset": { &marker: "" } },
        )
        .await?;
        c.update_many(
            doc! { &marker: { "$exists": true } },
            doc! { "$unset": { &marker: "" } },
        )
        .await?;
        Ok(())
    })
}
fn creates_up(db: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    Box::pin(async move {
        let c = db.collection::<Document>("items");
        markers::insert_if_absent(
            &c,
            doc! { "name": "seeded" },
            doc! { "name": "seeded", "v": 1 },
            "0001_creates",
        )
        .await?;
        Ok(())
    })
}
fn creates_down(db: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    Box::pin(async move {
        let c = db.collection::<Document>("items");
        markers::delete_own(&c, "0001_creates").await?;
        Ok(())
    })
}

/// The application changes item 1's flag, which `0001_good` set, and adds an item of its own.
fn app_changes_flag(db: &Database) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let items = db.collection::<Document>("items");
        items
            .update_one(
                doc! { "_id": 1, "flag": true },
                doc! { "$set": { "flag": "app" } },
            )
            .await
            .unwrap();
        items
            .update_one(
                doc! { "_id": 9 },
                doc! { "$setOnInsert": { "flag": "mine" } },
            )
            .upsert(true)
            .await
            .unwrap();
    })
}
/// The application edits the document `0001_creates` inserted.
fn app_edits_created(db: &Database) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        db.collection::<Document>("items")
            .update_one(doc! { "name": "seeded" }, doc! { "$set": { "v": 2 } })
            .await
            .unwrap();
    })
}

const fn m(
    name: &'static str,
    upgrade: mongodb_migrate_core::MigrationFn,
    downgrade: mongodb_migrate_core::MigrationFn,
) -> Migration {
    Migration {
        name,
        dependencies: &[],
        description: "",
        checksum: "",
        transactional: false,
        allowed: &[],
        irreversible: None,
        collections: &[],
        upgrade,
        downgrade,
    }
}

static GOOD: [Migration; 1] = [m("0001_good", good_up, good_down)];
static NOT_IDEMPOTENT: [Migration; 2] = [
    m("0001_good", good_up, good_down),
    m("0002_appends", appends, noop),
];
static NOT_EXACT: [Migration; 1] = [m("0001_sets_forever", sets_forever, noop)];
static FAILS: [Migration; 1] = [m("0001_fails", fails, noop)];
static PANICS_DOWN: [Migration; 1] = [m("0001_panics_down", good_up, panics)];
static STATEFUL: [Migration; 1] = [m("0001_state", writes_state, noop)];
static CLOBBERS: [Migration; 1] = [m("0001_good", good_up, clobbering_down)];
static QUIET: [Migration; 1] = [m("0001_good", good_up, quiet_down)];
static CREATES: [Migration; 1] = [m("0001_creates", creates_up, creates_down)];

async fn seeded(label: &str) -> mongodb_migrate_core::testing::TestDatabase {
    let t = test_database(label).await;
    t.db.collection::<Document>("items")
        .insert_many([
            doc! { "_id": 1 },
            doc! { "_id": 2, "flag": false },
            doc! { "_id": 3, "flag": null },
        ])
        .await
        .unwrap();
    t
}

#[tokio::test]
async fn a_reversible_idempotent_plan_passes() {
    let t = seeded("rt_good").await;
    RoundTrip::new(&t.db, &GOOD).run().await.unwrap();
    // The harness leaves the database upgraded.
    let items = t.db.collection::<Document>("items");
    assert_eq!(
        items.count_documents(doc! { "flag": true }).await.unwrap(),
        2
    );
    assert_eq!(
        items.count_documents(doc! { "flag": false }).await.unwrap(),
        1
    );
}

#[tokio::test]
async fn a_second_upgrade_that_changes_data_is_reported() {
    let t = seeded("rt_idem").await;
    let failure = RoundTrip::new(&t.db, &NOT_IDEMPOTENT)
        .run()
        .await
        .unwrap_err();
    assert_eq!(failure.migration, "0002_appends");
    let Broken::NotIdempotent(diffs) = &failure.broken else {
        panic!("{failure}")
    };
    assert_eq!(diffs.len(), 1, "{failure}");
    assert_eq!(diffs[0].collection, "log");
    assert!(failure.to_string().contains("not idempotent"), "{failure}");
}

#[tokio::test]
async fn a_downgrade_that_leaves_changes_names_the_documents() {
    let t = seeded("rt_exact").await;
    let failure = RoundTrip::new(&t.db, &NOT_EXACT).run().await.unwrap_err();
    assert_eq!(failure.migration, "0001_sets_forever");
    let Broken::DowngradeNotExact(diffs) = &failure.broken else {
        panic!("{failure}")
    };
    assert_eq!(diffs.len(), 3, "{failure}");
    let text = failure.to_string();
    assert!(
        text.contains(
            "items: document _id {\"$numberInt\":\"1\"}, field `forever`: before <absent>, after 1"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn errors_and_panics_are_reported_with_their_chain() {
    let t = seeded("rt_fail").await;
    let failure = RoundTrip::new(&t.db, &FAILS).run().await.unwrap_err();
    assert_eq!(
        failure.broken,
        Broken::UpgradeFailed {
            run: 1,
            error: "while doing the thing: disk on fire".into()
        }
    );
    let failure = RoundTrip::new(&t.db, &PANICS_DOWN).run().await.unwrap_err();
    assert_eq!(
        failure.broken,
        Broken::DowngradeFailed("panicked: boom".into())
    );
}

#[tokio::test]
async fn state_collections_are_not_compared() {
    let t = seeded("rt_excl").await;
    RoundTrip::new(&t.db, &STATEFUL).run().await.unwrap();
}

#[tokio::test]
async fn app_writes_survive_a_marker_downgrade_and_the_rest_is_restored() {
    let t = seeded("rt_app_good").await;
    RoundTrip::new(&t.db, &GOOD)
        .app_writes(app_changes_flag)
        .run()
        .await
        .unwrap_or_else(|failure| panic!("{failure}"));
    let items = t.db.collection::<Document>("items");
    let flags: Vec<(i32, Bson)> = items
        .find(doc! {})
        .sort(doc! { "_id": 1 })
        .await
        .unwrap()
        .map_ok(|d| (d.get_i32("_id").unwrap(), d.get("flag").cloned().unwrap()))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        flags,
        [
            (1, Bson::from("app")),
            (2, Bson::from(false)),
            (3, Bson::from(true)),
            (9, Bson::from("mine")),
        ],
        "the app's writes stay; the harness leaves the database upgraded"
    );
}

#[tokio::test]
async fn a_downgrade_that_undoes_an_app_write_is_reported() {
    let t = seeded("rt_app_clobber").await;
    let failure = RoundTrip::new(&t.db, &CLOBBERS)
        .app_writes(app_changes_flag)
        .run()
        .await
        .unwrap_err();
    let Broken::AppWritesNotKept { differences, .. } = &failure.broken else {
        panic!("{failure}")
    };
    assert_eq!(differences.len(), 1, "{failure}");
    let text = failure.to_string();
    assert!(
        text.contains(
            "items: document _id {\"$numberInt\":\"1\"}, field `flag`: before \"app\", after <absent>"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn a_skip_without_a_note_is_reported() {
    let t = seeded("rt_app_quiet").await;
    let failure = RoundTrip::new(&t.db, &QUIET)
        .app_writes(app_changes_flag)
        .run()
        .await
        .unwrap_err();
    assert_eq!(
        failure.broken,
        Broken::SkipNotReported {
            collections: vec!["items".into()],
            notes: vec![]
        },
        "{failure}"
    );
}

#[tokio::test]
async fn a_created_document_the_app_changed_stays_without_its_marker() {
    let t = seeded("rt_app_created").await;
    RoundTrip::new(&t.db, &CREATES)
        .app_writes(app_edits_created)
        .run()
        .await
        .unwrap_or_else(|failure| panic!("{failure}"));
    let kept =
        t.db.collection::<Document>("items")
            .find_one(doc! { "name": "seeded" })
            .await
            .unwrap()
            .expect("the edited document stays");
    assert_eq!(kept.get_i32("v").unwrap(), 2);
    assert!(
        !kept.contains_key(markers::marker_field("0001_creates")),
        "the application's now: {kept}"
    );
}

#[tokio::test]
async fn a_panicking_app_write_is_reported() {
    let t = seeded("rt_app_panic").await;
    let failure = RoundTrip::new(&t.db, &GOOD)
        .app_writes(|_| Box::pin(async { panic!("app crashed") }))
        .run()
        .await
        .unwrap_err();
    assert_eq!(
        failure.broken,
        Broken::AppWritesFailed("panicked: app crashed".into())
    );
}

fn irreversible_up(db: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    Box::pin(async move {
        db.collection::<Document>("squashed")
            .update_one(doc! { "_id": 1 }, doc! { "$set": { "done": true } })
            .upsert(true)
            .await?;
        Ok(())
    })
}

fn no_downgrade(_db: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    Box::pin(async { Ok(()) })
}

static IRREVERSIBLE: &[Migration] = &[Migration {
    name: "0001_squash",
    dependencies: &[],
    description: "",
    checksum: "",
    transactional: false,
    allowed: &[],
    irreversible: Some("the squashed history cannot be rebuilt"),
    collections: &[],
    upgrade: irreversible_up,
    downgrade: no_downgrade,
}];

#[tokio::test]
async fn an_irreversible_migration_is_checked_up_twice_and_its_downgrade_skipped() {
    let t = test_database("harness_irreversible").await;
    // Its downgrade restores nothing: checked, that would be a failure.
    RoundTrip::new(&t.db, IRREVERSIBLE)
        .run()
        .await
        .expect("up and up again only");
    let mut reversible = IRREVERSIBLE[0];
    reversible.irreversible = None;
    let plan: &'static [Migration] = Box::leak(vec![reversible].into_boxed_slice());
    let t2 = test_database("harness_irreversible_contrast").await;
    let err = RoundTrip::new(&t2.db, plan)
        .run()
        .await
        .expect_err("down not exact");
    assert!(err.to_string().contains("0001_squash"), "{err}");
}
