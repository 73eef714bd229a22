//! Transactional migrations against the real server: the shim the build generates
//! (`transaction::run`), commit and rollback through the runner, the retry of a transient
//! error, and the round-trip harness over a transactional migration.

use std::sync::atomic::{AtomicU32, Ordering};

use futures::TryStreamExt;
use mongo_migrate::bson::{doc, Document};
use mongo_migrate::mongodb::Database;
use mongo_migrate::prelude::*;
use mongo_migrate::testing::{test_database, RoundTrip};
use mongo_migrate::transaction::{self, Transaction};
use mongo_migrate::{BoxFuture, Error, Migration, MigrationResult, Migrator, State};

// The migration functions, written as a migration file would write them.

async fn insert_then_fail(tx: &mut Transaction) -> MigrationResult<()> {
    tx.db
        .collection::<Document>("items")
        .insert_one(doc! { "_id": "tx" })
        .session(&mut tx.session)
        .await?;
    Err(anyhow!("failed after the insert")).context("upgrading")
}

async fn flag_items(tx: &mut Transaction) -> MigrationResult<()> {
    tx.db
        .collection::<Document>("items")
        .update_many(
            doc! { "flag": { "$exists": false } },
            doc! { "$set": { "flag": "0002" } },
        )
        .session(&mut tx.session)
        .await?;
    Ok(())
}

async fn unflag_items(tx: &mut Transaction) -> MigrationResult<()> {
    tx.db
        .collection::<Document>("items")
        .update_many(doc! { "flag": "0002" }, doc! { "$unset": { "flag": "" } })
        .session(&mut tx.session)
        .await?;
    Ok(())
}

// The shims, exactly as mongo-migrate-build generates them for `TRANSACTIONAL: bool = true`.

fn up_insert_then_fail(db: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    transaction::run(db, |tx| Box::pin(insert_then_fail(tx)))
}
fn up_flag(db: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    transaction::run(db, |tx| Box::pin(flag_items(tx)))
}
fn down_unflag(db: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    transaction::run(db, |tx| Box::pin(unflag_items(tx)))
}

/// The same body as `insert_then_fail`, without a transaction: the contrast.
fn up_insert_then_fail_plain(db: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    Box::pin(async move {
        db.collection::<Document>("items")
            .insert_one(doc! { "_id": "tx" })
            .await?;
        Err(anyhow!("failed after the insert")).context("upgrading")
    })
}
fn noop(_db: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    Box::pin(async { Ok(()) })
}

const fn m(
    name: &'static str,
    transactional: bool,
    upgrade: mongo_migrate::MigrationFn,
    downgrade: mongo_migrate::MigrationFn,
) -> Migration {
    Migration {
        name,
        dependencies: &[],
        description: "",
        checksum: "",
        transactional,
        upgrade,
        downgrade,
    }
}

static ROLLS_BACK: [Migration; 1] = [m("0001_insert_then_fail", true, up_insert_then_fail, noop)];
static NO_TRANSACTION: [Migration; 1] = [m(
    "0001_insert_then_fail",
    false,
    up_insert_then_fail_plain,
    noop,
)];
static FLAGS: [Migration; 1] = [m("0001_flag", true, up_flag, down_unflag)];

async fn ids(db: &Database) -> Vec<String> {
    let docs: Vec<Document> = db
        .collection::<Document>("items")
        .find(doc! {})
        .await
        .expect("find")
        .try_collect()
        .await
        .expect("read");
    docs.iter()
        .map(|d| d.get("_id").map(ToString::to_string).unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn a_failed_transactional_migration_leaves_nothing_and_is_recorded() {
    let t = test_database("tx_rollback").await;
    let err = Migrator::new(t.db.clone(), &ROLLS_BACK)
        .up()
        .await
        .expect_err("the migration fails");
    assert!(
        matches!(&err, Error::MigrationFailed { name, error, .. }
            if name == "0001_insert_then_fail" && error.contains("failed after the insert")),
        "{err}"
    );
    assert_eq!(
        ids(&t.db).await,
        Vec::<String>::new(),
        "the insert was rolled back"
    );
    let status = Migrator::new(t.db.clone(), &ROLLS_BACK)
        .status()
        .await
        .expect("status");
    assert_eq!(status.migrations[0].state, State::Failed);
}

#[tokio::test]
async fn the_same_failure_without_a_transaction_leaves_the_insert() {
    let t = test_database("tx_contrast").await;
    Migrator::new(t.db.clone(), &NO_TRANSACTION)
        .up()
        .await
        .expect_err("the migration fails");
    assert_eq!(ids(&t.db).await, ["\"tx\""]);
}

#[tokio::test]
async fn a_transactional_migration_commits_and_round_trips() {
    let t = test_database("tx_roundtrip").await;
    t.db.collection::<Document>("items")
        .insert_many([doc! { "_id": 1 }, doc! { "_id": 2, "flag": "theirs" }])
        .await
        .expect("seed");
    RoundTrip::new(&t.db, &FLAGS)
        .run()
        .await
        .expect("round trip");
    let items = t.db.collection::<Document>("items");
    assert_eq!(
        items
            .count_documents(doc! { "flag": "0002" })
            .await
            .expect("count"),
        1
    );
    assert_eq!(
        items
            .count_documents(doc! { "flag": "theirs" })
            .await
            .expect("count"),
        1
    );
}

static ATTEMPTS: AtomicU32 = AtomicU32::new(0);

/// On its first attempt, provokes a write conflict: the transaction reads (taking its snapshot),
/// a write outside it changes the document, then the transaction writes the same document.
async fn conflicts_once(tx: &mut Transaction) -> MigrationResult<()> {
    let attempt = ATTEMPTS.fetch_add(1, Ordering::SeqCst) + 1;
    let items = tx.db.collection::<Document>("items");
    items
        .find_one(doc! { "_id": 1 })
        .session(&mut tx.session)
        .await?;
    if attempt == 1 {
        items
            .update_one(doc! { "_id": 1 }, doc! { "$inc": { "outside": 1 } })
            .await?;
    }
    items
        .update_one(doc! { "_id": 1 }, doc! { "$inc": { "inside": 1 } })
        .session(&mut tx.session)
        .await
        .context("the transaction's write")?;
    Ok(())
}

#[tokio::test]
async fn a_transient_transaction_error_runs_the_body_again() {
    let t = test_database("tx_transient").await;
    let items = t.db.collection::<Document>("items");
    items.insert_one(doc! { "_id": 1 }).await.expect("seed");
    transaction::run(&t.db, |tx| Box::pin(conflicts_once(tx)))
        .await
        .expect("the second attempt commits");
    assert_eq!(ATTEMPTS.load(Ordering::SeqCst), 2);
    let doc = items
        .find_one(doc! { "_id": 1 })
        .await
        .expect("find")
        .expect("the document");
    assert_eq!(doc, doc! { "_id": 1, "outside": 1, "inside": 1 });
}
