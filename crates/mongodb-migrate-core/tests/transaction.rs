//! Transactional migrations against the real server: the shim the build generates
//! (`transaction::run`), commit and rollback through the runner, the retry of a transient
//! error, and the round-trip harness over a transactional migration.

use std::sync::atomic::{AtomicU32, Ordering};

use futures::TryStreamExt;
use mongodb_migrate_core::bson::{doc, Document};
use mongodb_migrate_core::mongodb::Database;
use mongodb_migrate_core::prelude::*;
use mongodb_migrate_core::testing::{test_database, RoundTrip};
use mongodb_migrate_core::transaction::{self, Transaction};
use mongodb_migrate_core::{BoxFuture, Error, Migration, MigrationResult, Migrator, State};

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

// The shims, exactly as mongodb-migrate-build generates them for `TRANSACTIONAL: bool = true`.

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
    upgrade: mongodb_migrate_core::MigrationFn,
    downgrade: mongodb_migrate_core::MigrationFn,
) -> Migration {
    Migration {
        name,
        dependencies: &[],
        description: "",
        checksum: "",
        transactional,
        allowed: &[],
        irreversible: None,
        collections: &[],
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

static ALWAYS_ATTEMPTS: AtomicU32 = AtomicU32::new(0);

/// Provokes a write conflict on every attempt.
async fn conflicts_always(tx: &mut Transaction) -> MigrationResult<()> {
    ALWAYS_ATTEMPTS.fetch_add(1, Ordering::SeqCst);
    let items = tx.db.collection::<Document>("items");
    items
        .find_one(doc! { "_id": 1 })
        .session(&mut tx.session)
        .await?;
    items
        .update_one(doc! { "_id": 1 }, doc! { "$inc": { "outside": 1 } })
        .await?;
    items
        .update_one(doc! { "_id": 1 }, doc! { "$inc": { "inside": 1 } })
        .session(&mut tx.session)
        .await
        .context("the transaction's write")?;
    Ok(())
}

fn up_conflicts_always(db: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    transaction::run(db, |tx| Box::pin(conflicts_always(tx)))
}

static ALWAYS_CONFLICTS: [Migration; 1] = [m("0001_conflicts", true, up_conflicts_always, noop)];

#[tokio::test]
async fn transient_errors_are_retried_at_most_max_attempts_times_then_recorded() {
    let t = test_database("tx_retry_cap").await;
    let items = t.db.collection::<Document>("items");
    items.insert_one(doc! { "_id": 1 }).await.expect("seed");
    let err = Migrator::new(t.db.clone(), &ALWAYS_CONFLICTS)
        .up()
        .await
        .expect_err("never commits");
    assert_eq!(
        ALWAYS_ATTEMPTS.load(Ordering::SeqCst),
        transaction::MAX_ATTEMPTS
    );
    assert!(matches!(err, Error::MigrationFailed { .. }), "{err}");
    let doc = items
        .find_one(doc! { "_id": 1 })
        .await
        .expect("find")
        .expect("doc");
    assert_eq!(doc.get("inside"), None, "no attempt committed: {doc}");
    let status = Migrator::new(t.db.clone(), &ALWAYS_CONFLICTS)
        .status()
        .await
        .expect("status");
    assert_eq!(status.migrations[0].state, State::Failed);
    assert_eq!(status.migrations[0].applied_at, None);
}

/// Inserts, after another runner took the lock over (as after an expired lease).
async fn insert_after_takeover(tx: &mut Transaction) -> MigrationResult<()> {
    tx.db
        .collection::<Document>("pymongo_migrate_lock")
        .update_one(
            doc! { "_id": "migrate" },
            doc! { "$set": { "owner": { "host": "elsewhere", "pid": 1_i64, "token": "thief" } } },
        )
        .await?;
    tx.db
        .collection::<Document>("items")
        .insert_one(doc! { "_id": "stale" })
        .session(&mut tx.session)
        .await?;
    Ok(())
}

fn up_insert_after_takeover(db: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    transaction::run(db, |tx| Box::pin(insert_after_takeover(tx)))
}

static TAKEN_OVER: [Migration; 1] = [m("0001_taken_over", true, up_insert_after_takeover, noop)];

#[tokio::test]
async fn a_transaction_whose_lease_was_taken_over_is_aborted_and_records_nothing() {
    let t = test_database("tx_taken_over").await;
    let err = Migrator::new(t.db.clone(), &TAKEN_OVER)
        .up()
        .await
        .expect_err("lost");
    assert!(
        matches!(
            err,
            Error::Lock(mongodb_migrate_core::LockError::Lost { .. })
        ),
        "{err}"
    );
    assert!(ids(&t.db).await.is_empty(), "the transaction was aborted");
    let state: Vec<Document> =
        t.db.collection::<Document>("pymongo_migrate")
            .find(doc! {})
            .await
            .expect("find")
            .try_collect()
            .await
            .expect("read");
    assert!(state.is_empty(), "nothing recorded: {state:?}");
}

/// A TCP proxy to the test server that forwards everything, but drops the connection right
/// after forwarding a `commitTransaction`, before its reply: the commit happens on the server,
/// and the client sees a network error, which the driver labels
/// `UnknownTransactionCommitResult`.
async fn commit_dropping_proxy(upstream: String) -> (String, std::sync::Arc<AtomicU32>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let dropped = std::sync::Arc::new(AtomicU32::new(0));
    let count = std::sync::Arc::clone(&dropped);
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let upstream = upstream.clone();
            let count = std::sync::Arc::clone(&count);
            tokio::spawn(async move {
                let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else {
                    return;
                };
                let (mut cr, mut cw) = client.split();
                let (mut sr, mut sw) = server.split();
                // Set before a commit goes upstream: its reply is then never forwarded.
                let cut = std::sync::atomic::AtomicBool::new(false);
                let up = async {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        let n = match cr.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        let commit = buf[..n].windows(17).any(|w| w == b"commitTransaction");
                        if commit {
                            cut.store(true, Ordering::SeqCst);
                        }
                        if sw.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                        if commit {
                            count.fetch_add(1, Ordering::SeqCst);
                            // Let the server commit, then cut the connection.
                            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                            return;
                        }
                    }
                };
                let down = async {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        let n = match sr.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        if cut.load(Ordering::SeqCst) || cw.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                };
                tokio::select! {
                    () = up => {}
                    () = down => {}
                }
            });
        }
    });
    (format!("127.0.0.1:{port}"), dropped)
}
#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_commit_result_is_resolved_by_reading_the_state() {
    let t = test_database("tx_unknown_commit").await;
    let server_uri = mongodb_migrate_core::testing::test_server_uri();
    let upstream = server_uri
        .trim_start_matches("mongodb://")
        .split(['/', '?'])
        .next()
        .expect("host")
        .to_owned();
    let (proxy, dropped) = commit_dropping_proxy(upstream).await;
    // directConnection: the driver must not discover the real address and bypass the proxy.
    let client = mongodb_migrate_core::mongodb::Client::with_uri_str(format!(
        "mongodb://{proxy}/?directConnection=true&serverSelectionTimeoutMS=5000"
    ))
    .await
    .expect("client");
    let db = client.database(t.name());
    t.db.collection::<Document>("items")
        .insert_one(doc! { "_id": 1 })
        .await
        .expect("seed");
    let report = Migrator::new(db, &FLAGS)
        .up()
        .await
        .expect("the commit happened: the runner reads the state rather than guessing \"failed\"");
    assert_eq!(report.steps.len(), 1);
    assert!(
        dropped.load(Ordering::SeqCst) >= transaction::MAX_COMMIT_ATTEMPTS,
        "every commit attempt lost its reply ({})",
        dropped.load(Ordering::SeqCst)
    );
    let status = Migrator::new(t.db.clone(), &FLAGS)
        .status()
        .await
        .expect("status");
    assert_eq!(status.migrations[0].state, State::Applied);
    let item =
        t.db.collection::<Document>("items")
            .find_one(doc! { "_id": 1 })
            .await
            .expect("find")
            .expect("item");
    assert_eq!(
        item.get_str("flag"),
        Ok("0002"),
        "applied exactly once: {item}"
    );
}
