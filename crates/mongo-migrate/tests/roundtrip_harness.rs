//! The round-trip harness itself: it passes a correct plan and pins down each broken property.
use mongo_migrate::mongodb::Database;
use mongo_migrate::prelude::*;
use mongo_migrate::testing::{test_database, Broken, RoundTrip};
use mongo_migrate::{BoxFuture, Migration, MigrationResult};

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

const fn m(
    name: &'static str,
    upgrade: mongo_migrate::MigrationFn,
    downgrade: mongo_migrate::MigrationFn,
) -> Migration {
    Migration {
        name,
        dependencies: &[],
        description: "",
        checksum: "",
        transactional: false,
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

async fn seeded(label: &str) -> mongo_migrate::testing::TestDatabase {
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
