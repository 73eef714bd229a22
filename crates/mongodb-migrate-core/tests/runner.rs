//! The runner against a real database: state documents, idempotence, failure records, down,
//! targets, dry run, fake, drift and unknown migrations.

use crate::common;

use std::sync::atomic::{AtomicBool, Ordering};

use common::{docs, runs};
use mongodb_migrate_core::bson::{doc, Bson, Document};
use mongodb_migrate_core::mongodb::Database;
use mongodb_migrate_core::testing::{test_database, DbSnapshot};
use mongodb_migrate_core::{
    BoxFuture, ChecksumState, DownOptions, DownTarget, Error, Migration, MigrationResult, Migrator,
    Refusal, State, UpOptions,
};

logging_migration!(up_a, down_a, "0001_a");
logging_migration!(up_b, down_b, "0002_b");
logging_migration!(up_c, down_c, "0003_c");
logging_migration!(up_d, down_d, "0004_d");

static LINEAR: &[Migration] = &[
    migration!("0001_a", [], up_a, down_a),
    migration!("0002_b", ["0001_a"], up_b, down_b),
    migration!("0003_c", ["0002_b"], up_c, down_c),
];

/// a; b←a; c←a; d←b,c
static DIAMOND: &[Migration] = &[
    migration!("0001_a", [], up_a, down_a),
    migration!("0002_b", ["0001_a"], up_b, down_b),
    migration!("0003_c", ["0001_a"], up_c, down_c),
    migration!("0004_d", ["0002_b", "0003_c"], up_d, down_d),
];

fn strip_ids(mut docs: Vec<Document>) -> Vec<Document> {
    for d in &mut docs {
        d.remove("_id");
    }
    docs.sort_by(|a, b| a.get_str("name").ok().cmp(&b.get_str("name").ok()));
    docs
}

fn names(report: &mongodb_migrate_core::Report) -> Vec<&str> {
    report.steps.iter().map(|s| s.name).collect()
}

#[tokio::test]
async fn up_status_down_write_pymongo_shaped_state() {
    let t = test_database("up_status_down").await;
    let m = Migrator::new(t.db.clone(), LINEAR);

    let status = m.status().await.expect("status");
    assert!(status.migrations.iter().all(|s| s.state == State::Pending));

    let report = m.up().await.expect("up");
    assert_eq!(names(&report), ["0001_a", "0002_b", "0003_c"]);
    assert_eq!(runs(&t.db).await, ["0001_a:up", "0002_b:up", "0003_c:up"]);

    // The shared collection holds exactly {_id, name, applied} per migration.
    let state = docs(&t.db, "pymongo_migrate").await;
    assert_eq!(state.len(), 3);
    for d in &state {
        let keys: Vec<&str> = d.keys().map(String::as_str).collect();
        assert_eq!(keys, ["_id", "name", "applied"], "{d}");
        assert!(matches!(d.get("applied"), Some(Bson::DateTime(_))), "{d}");
    }
    // Our own fields live in the sidecar.
    let details = docs(&t.db, "pymongo_migrate_details").await;
    let a = details
        .iter()
        .find(|d| d.get_str("_id") == Ok("0001_a"))
        .expect("details of 0001_a");
    assert_eq!(a.get_str("checksum"), Ok("sum-0001_a"));
    assert!(a.get_i64("duration_ms").is_ok());
    assert_eq!(
        a.get_document("applied_by")
            .expect("applied_by")
            .get_i64("pid"),
        Ok(i64::from(std::process::id()))
    );
    assert!(a
        .get_str("tool")
        .expect("tool")
        .starts_with("mongodb-migrate "));
    assert_eq!(a.get_bool("fake"), Ok(false));
    assert!(a.get("started_at").is_none() && a.get("failed_at").is_none());
    // The lock is released.
    assert!(common::lock_free(&t.db).await);

    let status = m.status().await.expect("status");
    assert!(status.migrations.iter().all(|s| s.state == State::Applied));
    assert!(status
        .migrations
        .iter()
        .all(|s| s.checksum_state == ChecksumState::Matches));
    assert!(status.is_clean());

    let report = m.down().await.expect("down");
    assert_eq!(names(&report), ["0003_c"]);
    let state = strip_ids(docs(&t.db, "pymongo_migrate").await);
    assert_eq!(state[2], doc! { "name": "0003_c", "applied": Bson::Null });
    assert!(matches!(state[1].get("applied"), Some(Bson::DateTime(_))));
    let status = m.status().await.expect("status");
    let states: Vec<State> = status.migrations.iter().map(|s| s.state).collect();
    assert_eq!(states, [State::Applied, State::Applied, State::Pending]);
    assert_eq!(
        runs(&t.db).await.last().map(String::as_str),
        Some("0003_c:down")
    );
}

#[tokio::test]
async fn a_second_up_applies_nothing() {
    let t = test_database("idempotent").await;
    let m = Migrator::new(t.db.clone(), LINEAR);
    m.up().await.expect("first up");
    let second = m.up().await.expect("second up");
    assert!(second.steps.is_empty());
    assert_eq!(runs(&t.db).await.len(), 3);
}

static B_FIXED: AtomicBool = AtomicBool::new(false);

fn up_b_fails(db: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    Box::pin(async move {
        if B_FIXED.load(Ordering::SeqCst) {
            return common::log_run(db, "0002_b", "up").await;
        }
        let inner: MigrationResult<()> = Err(anyhow::anyhow!("field `x` is missing"));
        anyhow::Context::context(inner, "backfilling users")
    })
}

static FAILING: &[Migration] = &[
    migration!("0001_a", [], up_a, down_a),
    migration!("0002_b", ["0001_a"], up_b_fails, down_b),
    migration!("0003_c", ["0002_b"], up_c, down_c),
];

#[tokio::test]
async fn a_failure_is_recorded_refused_and_retried() {
    let t = test_database("failure").await;
    let m = Migrator::new(t.db.clone(), FAILING);
    let err = m.up().await.expect_err("b fails");
    assert_eq!(common::kind(&err), "migration failed");
    assert!(
        matches!(&err, Error::MigrationFailed { name, .. } if name == "0002_b"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("backfilling users: field `x` is missing"),
        "{err}"
    );
    // The run stopped: c never ran; a stays recorded.
    assert_eq!(runs(&t.db).await, ["0001_a:up"]);
    let state = strip_ids(docs(&t.db, "pymongo_migrate").await);
    assert_eq!(
        state.len(),
        1,
        "no state document for the failed one: {state:?}"
    );
    assert_eq!(state[0].get_str("name"), Ok("0001_a"), "{state:?}");
    assert!(
        matches!(state[0].get("applied"), Some(Bson::DateTime(_))),
        "{state:?}"
    );
    let details = docs(&t.db, "pymongo_migrate_details").await;
    let b = details
        .iter()
        .find(|d| d.get_str("_id") == Ok("0002_b"))
        .expect("b details");
    assert!(b.get_datetime("failed_at").is_ok());
    assert_eq!(
        b.get_str("error"),
        Ok("backfilling users: field `x` is missing")
    );
    assert_eq!(b.get_str("failed_direction"), Ok("up"));
    assert!(common::lock_free(&t.db).await, "lock released on error");

    let status = m.status().await.expect("status");
    assert_eq!(status.migrations[1].state, State::Failed);

    let refused = m.up().await.expect_err("refused");
    assert_eq!(common::kind(&refused), "failed record");
    assert!(
        refused.to_string().contains("recorded as failed: 0002_b"),
        "{refused}"
    );
    assert_eq!(runs(&t.db).await, ["0001_a:up"]);

    B_FIXED.store(true, Ordering::SeqCst);
    let retried = m
        .up_with(&UpOptions {
            retry: true,
            ..UpOptions::default()
        })
        .await
        .expect("retry");
    assert_eq!(names(&retried), ["0002_b", "0003_c"]);
    let status = m.status().await.expect("status");
    assert!(status.is_clean(), "{status:?}");
    let details = docs(&t.db, "pymongo_migrate_details").await;
    let b = details
        .iter()
        .find(|d| d.get_str("_id") == Ok("0002_b"))
        .expect("b details");
    assert!(
        b.get("failed_at").is_none() && b.get("error").is_none(),
        "{b}"
    );
}

fn up_panics(_db: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    Box::pin(async { panic!("boom at row 7") })
}

static PANICKING: &[Migration] = &[
    migration!("0001_a", [], up_a, down_a),
    migration!("0002_b", ["0001_a"], up_panics, down_b),
];

#[tokio::test]
async fn a_panic_is_a_recorded_failure() {
    let t = test_database("panic").await;
    let m = Migrator::new(t.db.clone(), PANICKING);
    let err = m.up().await.expect_err("panics");
    assert_eq!(common::kind(&err), "migration failed");
    assert!(err.to_string().contains("panicked: boom at row 7"), "{err}");
    let status = m.status().await.expect("status");
    assert_eq!(status.migrations[0].state, State::Applied);
    assert_eq!(status.migrations[1].state, State::Failed);
    assert!(common::lock_free(&t.db).await);
}

#[tokio::test]
async fn down_refuses_while_a_failed_dependent_exists_and_retry_reverts_it() {
    let t = test_database("down_dependents").await;
    // PANICKING, not FAILING: independent of the retry test's `B_FIXED` flag.
    let m = Migrator::new(t.db.clone(), PANICKING);
    m.up().await.expect_err("b panics");
    let err = m.down().await.expect_err("a has a failed dependent");
    assert_eq!(common::kind(&err), "has dependents");
    assert!(
        matches!(&err, Error::Refused(Refusal::HasDependents { name, dependents, .. })
        if name == "0001_a" && dependents == &["0002_b"]),
        "{err}"
    );
    let report = m
        .down_with(&DownOptions {
            retry: true,
            ..DownOptions::default()
        })
        .await
        .expect("down --retry reverts the failed one");
    assert_eq!(names(&report), ["0002_b"]);
    assert_eq!(runs(&t.db).await, ["0001_a:up", "0002_b:down"]);
    let report = m.down().await.expect("now a can go");
    assert_eq!(names(&report), ["0001_a"]);
}

#[tokio::test]
async fn diamond_up_to_applies_only_the_target_and_its_dependencies() {
    let t = test_database("diamond_up").await;
    let m = Migrator::new(t.db.clone(), DIAMOND);
    let report = m
        .up_with(&UpOptions {
            to: Some("0002_b".into()),
            ..UpOptions::default()
        })
        .await
        .expect("up --to b");
    assert_eq!(names(&report), ["0001_a", "0002_b"]);
    let report = m.up().await.expect("up");
    assert_eq!(names(&report), ["0003_c", "0004_d"]);
    assert_eq!(
        runs(&t.db).await,
        ["0001_a:up", "0002_b:up", "0003_c:up", "0004_d:up"]
    );
}

#[tokio::test]
async fn diamond_down_to_reverts_the_dependents_and_keeps_the_target() {
    let t = test_database("diamond_down").await;
    let m = Migrator::new(t.db.clone(), DIAMOND);
    m.up().await.expect("up");
    let report = m
        .down_with(&DownOptions {
            target: DownTarget::To("0002_b".into()),
            ..DownOptions::default()
        })
        .await
        .expect("down --to b");
    assert_eq!(names(&report), ["0004_d"]);
    let report = m
        .down_with(&DownOptions {
            target: DownTarget::To("0001_a".into()),
            ..DownOptions::default()
        })
        .await
        .expect("down --to a");
    assert_eq!(names(&report), ["0003_c", "0002_b"]);
    let status = m.status().await.expect("status");
    let states: Vec<State> = status.migrations.iter().map(|s| s.state).collect();
    assert_eq!(
        states,
        [
            State::Applied,
            State::Pending,
            State::Pending,
            State::Pending
        ]
    );
    let report = m
        .down_with(&DownOptions {
            target: DownTarget::Zero,
            ..DownOptions::default()
        })
        .await
        .expect("down --to zero");
    assert_eq!(names(&report), ["0001_a"]);
}

#[tokio::test]
async fn down_steps_reverts_the_last_n_in_plan_order() {
    let t = test_database("down_steps").await;
    let m = Migrator::new(t.db.clone(), DIAMOND);
    m.up().await.expect("up");
    let report = m
        .down_with(&DownOptions {
            target: DownTarget::Steps(3),
            ..DownOptions::default()
        })
        .await
        .expect("down --steps 3");
    assert_eq!(names(&report), ["0004_d", "0003_c", "0002_b"]);
}

#[tokio::test]
async fn an_unknown_target_is_a_usage_error() {
    let t = test_database("unknown_target").await;
    let m = Migrator::new(t.db.clone(), DIAMOND);
    let err = m
        .up_with(&UpOptions {
            to: Some("0002".into()),
            ..UpOptions::default()
        })
        .await
        .expect_err("no such migration");
    assert_eq!(common::kind(&err), "config");
    assert!(err.to_string().contains("did you mean 0002_b"), "{err}");
}

#[tokio::test]
async fn dry_run_writes_nothing_at_all() {
    let t = test_database("dry_run").await;
    let m = Migrator::new(t.db.clone(), DIAMOND);
    m.up_with(&UpOptions {
        to: Some("0002_b".into()),
        ..UpOptions::default()
    })
    .await
    .expect("up --to b");
    let before = DbSnapshot::take(&t.db, &[]).await.expect("snapshot");
    let names_before = t.db.list_collection_names().await.expect("list");

    let report = m
        .up_with(&UpOptions {
            dry_run: true,
            ..UpOptions::default()
        })
        .await
        .expect("dry up");
    assert!(report.dry_run);
    assert_eq!(names(&report), ["0003_c", "0004_d"]);
    let report = m
        .down_with(&DownOptions {
            dry_run: true,
            target: DownTarget::Zero,
            ..DownOptions::default()
        })
        .await
        .expect("dry down");
    assert_eq!(names(&report), ["0002_b", "0001_a"]);

    let after = DbSnapshot::take(&t.db, &[]).await.expect("snapshot");
    assert!(before.diff(&after).is_empty(), "{:?}", before.diff(&after));
    let mut names_after = t.db.list_collection_names().await.expect("list");
    let mut names_before = names_before;
    names_before.sort();
    names_after.sort();
    // The snapshot covers the lock document too: a dry run takes no lock.
    assert_eq!(names_before, names_after);
}

#[tokio::test]
async fn dry_run_on_an_empty_database_creates_no_collection() {
    let t = test_database("dry_run_empty").await;
    let m = Migrator::new(t.db.clone(), DIAMOND);
    let report = m
        .up_with(&UpOptions {
            dry_run: true,
            ..UpOptions::default()
        })
        .await
        .expect("dry up");
    assert_eq!(names(&report), ["0001_a", "0002_b", "0003_c", "0004_d"]);
    assert!(t.db.list_collection_names().await.expect("list").is_empty());
}

#[tokio::test]
async fn fake_round_trip_records_without_running() {
    let t = test_database("fake").await;
    let m = Migrator::new(t.db.clone(), LINEAR);
    let report = m
        .up_with(&UpOptions {
            fake: true,
            ..UpOptions::default()
        })
        .await
        .expect("fake up");
    assert_eq!(names(&report), ["0001_a", "0002_b", "0003_c"]);
    assert!(runs(&t.db).await.is_empty());
    let status = m.status().await.expect("status");
    assert!(status
        .migrations
        .iter()
        .all(|s| s.state == State::Applied && s.fake));
    let details = docs(&t.db, "pymongo_migrate_details").await;
    assert!(
        details.iter().all(|d| d.get_bool("fake") == Ok(true)),
        "{details:?}"
    );

    let report = m
        .down_with(&DownOptions {
            fake: true,
            target: DownTarget::Zero,
            ..DownOptions::default()
        })
        .await
        .expect("fake down");
    assert_eq!(names(&report), ["0003_c", "0002_b", "0001_a"]);
    assert!(runs(&t.db).await.is_empty());
    let state = strip_ids(docs(&t.db, "pymongo_migrate").await);
    assert!(
        state.iter().all(|d| d.get("applied") == Some(&Bson::Null)),
        "{state:?}"
    );
    // A real up after the fake down runs them all.
    m.up().await.expect("up");
    assert_eq!(runs(&t.db).await.len(), 3);
}

#[tokio::test]
async fn drift_is_detected_and_refused_unless_allowed() {
    let t = test_database("drift").await;
    let m = Migrator::new(t.db.clone(), LINEAR);
    m.up_with(&UpOptions {
        to: Some("0002_b".into()),
        ..UpOptions::default()
    })
    .await
    .expect("up --to b");
    t.db.collection::<Document>("pymongo_migrate_details")
        .update_one(
            doc! { "_id": "0001_a" },
            doc! { "$set": { "checksum": "old" } },
        )
        .await
        .expect("edit checksum");
    let status = m.status().await.expect("status");
    assert_eq!(status.migrations[0].checksum_state, ChecksumState::Changed);
    assert_eq!(status.migrations[1].checksum_state, ChecksumState::Matches);
    let err = m.up().await.expect_err("refused");
    assert_eq!(common::kind(&err), "changed");
    assert!(err.to_string().contains("0001_a"), "{err}");
    let report = m
        .up_with(&UpOptions {
            allow_changed: true,
            ..UpOptions::default()
        })
        .await
        .expect("allowed");
    assert_eq!(names(&report), ["0003_c"]);
}

#[tokio::test]
async fn state_without_checksum_is_not_a_change() {
    let t = test_database("no_checksum").await;
    t.db.collection::<Document>("pymongo_migrate")
        .insert_one(
            doc! { "name": "0001_a", "applied": mongodb_migrate_core::bson::DateTime::now() },
        )
        .await
        .expect("insert");
    let m = Migrator::new(t.db.clone(), LINEAR);
    let status = m.status().await.expect("status");
    assert_eq!(status.migrations[0].state, State::Applied);
    assert_eq!(
        status.migrations[0].checksum_state,
        ChecksumState::NotRecorded
    );
    let report = m.up().await.expect("not refused");
    assert_eq!(names(&report), ["0002_b", "0003_c"]);
}

#[tokio::test]
async fn unknown_migrations_are_listed_and_refused_unless_allowed() {
    let t = test_database("unknown").await;
    let m = Migrator::new(t.db.clone(), LINEAR);
    m.up_with(&UpOptions {
        to: Some("0001_a".into()),
        ..UpOptions::default()
    })
    .await
    .expect("up a");
    let state = t.db.collection::<Document>("pymongo_migrate");
    state
        .insert_one(doc! { "name": "0009_from_the_future", "applied": mongodb_migrate_core::bson::DateTime::now() })
        .await
        .expect("insert");
    // Not applied (downgraded by pymongo-migrate): not unknown.
    state
        .insert_one(doc! { "name": "0008_reverted", "applied": Bson::Null })
        .await
        .expect("insert");
    let status = m.status().await.expect("status");
    let unknown: Vec<&str> = status.unknown.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(unknown, ["0009_from_the_future"]);
    assert!(!status.is_clean());

    let err = m.up().await.expect_err("up refused");
    assert_eq!(common::kind(&err), "unknown");
    let err = m.down().await.expect_err("down refused");
    assert_eq!(common::kind(&err), "unknown");
    let report = m
        .up_with(&UpOptions {
            allow_unknown: true,
            ..UpOptions::default()
        })
        .await
        .expect("allowed");
    assert_eq!(names(&report), ["0002_b", "0003_c"]);
    let report = m
        .down_with(&DownOptions {
            allow_unknown: true,
            ..DownOptions::default()
        })
        .await
        .expect("allowed");
    assert_eq!(names(&report), ["0003_c"]);
}

#[tokio::test]
async fn status_reads_pymongo_shaped_documents() {
    let t = test_database("pymongo_shape").await;
    let applied = chrono::DateTime::parse_from_rfc3339("2025-03-04T05:06:07.123Z")
        .expect("date")
        .with_timezone(&chrono::Utc);
    t.db.collection::<Document>("pymongo_migrate")
        .insert_many([
            doc! { "name": "0001_a", "applied": mongodb_migrate_core::bson::DateTime::from_chrono(applied) },
            doc! { "name": "0002_b", "applied": Bson::Null },
        ])
        .await
        .expect("insert");
    let m = Migrator::new(t.db.clone(), LINEAR);
    let status = m.status().await.expect("status");
    assert_eq!(status.migrations[0].state, State::Applied);
    assert_eq!(status.migrations[0].applied_at, Some(applied));
    assert_eq!(status.migrations[1].state, State::Pending);
    assert_eq!(status.migrations[2].state, State::Pending);
    assert!(status.unknown.is_empty());

    m.up().await.expect("up");
    // b's document is updated in place (no duplicate), c's is created in the same shape.
    let state = strip_ids(docs(&t.db, "pymongo_migrate").await);
    assert_eq!(state.len(), 3, "{state:?}");
    for d in &state {
        assert_eq!(d.keys().collect::<Vec<_>>(), ["name", "applied"]);
        assert!(matches!(d.get("applied"), Some(Bson::DateTime(_))));
    }
    assert_eq!(runs(&t.db).await, ["0002_b:up", "0003_c:up"]);
}

#[tokio::test]
async fn a_custom_collection_names_all_three_collections() {
    let t = test_database("custom_collection").await;
    let m = Migrator::new(t.db.clone(), LINEAR).collection("schema_state");
    m.up().await.expect("up");
    let mut names = t.db.list_collection_names().await.expect("list");
    names.sort();
    // State, details and lock (which stays, released), and the test's own run log; none of
    // the default `pymongo_migrate*` collections.
    assert_eq!(
        names,
        [
            "runs",
            "schema_state",
            "schema_state_details",
            "schema_state_lock"
        ],
    );
    assert_eq!(docs(&t.db, "schema_state").await.len(), 3);
    assert_eq!(docs(&t.db, "schema_state_details").await.len(), 3);
    assert_eq!(docs(&t.db, "schema_state_lock").await.len(), 1);
    assert!(m.status().await.expect("status").is_clean());
}

static DOWN_FIXED: AtomicBool = AtomicBool::new(false);

fn down_b_fails(db: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    Box::pin(async move {
        if DOWN_FIXED.load(Ordering::SeqCst) {
            return common::log_run(db, "0002_b", "down").await;
        }
        Err(anyhow::anyhow!("index is still in use"))
    })
}

static FAILING_DOWN: &[Migration] = &[
    migration!("0001_a", [], up_a, down_a),
    migration!("0002_b", ["0001_a"], up_b, down_b_fails),
];

#[tokio::test]
async fn a_failed_downgrade_is_recorded_like_an_upgrade_failure() {
    let t = test_database("down_failure").await;
    let m = Migrator::new(t.db.clone(), FAILING_DOWN);
    m.up().await.expect("up");
    let applied_at = m.status().await.expect("status").migrations[1].applied_at;
    assert!(applied_at.is_some());
    let err = m.down().await.expect_err("downgrade fails");
    assert_eq!(common::kind(&err), "migration failed");
    assert!(
        matches!(&err, Error::MigrationFailed { name, direction: mongodb_migrate_core::Direction::Down, error, .. }
            if name == "0002_b" && error == "index is still in use"),
        "{err}"
    );
    let status = m.status().await.expect("status");
    assert_eq!(status.migrations[1].state, State::Failed);
    let failure = status.migrations[1].failure.as_ref().expect("failure");
    assert_eq!(failure.direction, mongodb_migrate_core::Direction::Down);
    // `applied` is left as it was: the downgrade did not complete.
    assert_eq!(status.migrations[1].applied_at, applied_at);

    assert_eq!(
        common::kind(&m.up().await.expect_err("refused")),
        "failed record"
    );
    assert_eq!(
        common::kind(&m.down().await.expect_err("refused")),
        "has dependents"
    );
    DOWN_FIXED.store(true, Ordering::SeqCst);
    let report = m
        .down_with(&DownOptions {
            retry: true,
            ..DownOptions::default()
        })
        .await
        .expect("down --retry");
    assert_eq!(names(&report), ["0002_b"]);
    let status = m.status().await.expect("status");
    let states: Vec<State> = status.migrations.iter().map(|s| s.state).collect();
    assert_eq!(states, [State::Applied, State::Pending]);
}

#[tokio::test]
async fn duplicate_state_documents_are_resolved_under_the_lock_keeping_the_applied_one() {
    let t = test_database("dedupe").await;
    // pymongo-migrate keeps no unique index: a name can have several documents.
    let state = t.db.collection::<Document>("pymongo_migrate");
    state
        .insert_many([
            doc! { "name": "0001_a", "applied": Bson::Null },
            doc! { "name": "0001_a", "applied": mongodb_migrate_core::bson::DateTime::now() },
            doc! { "name": "0001_a", "applied": Bson::Null },
        ])
        .await
        .expect("seed duplicates");
    let m = Migrator::new(t.db.clone(), LINEAR);
    let report = m.up().await.expect("up");
    assert_eq!(
        names(&report),
        ["0002_b", "0003_c"],
        "0001_a counts as applied"
    );
    assert!(!runs(&t.db).await.contains(&"0001_a:up".to_owned()));
    let left: Vec<Document> = docs(&t.db, "pymongo_migrate")
        .await
        .into_iter()
        .filter(|d| d.get_str("name") == Ok("0001_a"))
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(matches!(left[0].get("applied"), Some(Bson::DateTime(_))));
    // A later down writes exactly that one document.
    m.down_with(&DownOptions {
        target: DownTarget::Zero,
        ..DownOptions::default()
    })
    .await
    .expect("down");
    let left: Vec<Document> = strip_ids(docs(&t.db, "pymongo_migrate").await);
    assert_eq!(
        left,
        [
            doc! { "name": "0001_a", "applied": Bson::Null },
            doc! { "name": "0002_b", "applied": Bson::Null },
            doc! { "name": "0003_c", "applied": Bson::Null },
        ]
    );
}

#[tokio::test]
async fn down_refuses_a_migration_changed_since_applied_unless_allowed() {
    let t = test_database("down_changed").await;
    let m = Migrator::new(t.db.clone(), LINEAR);
    m.up().await.expect("up");
    t.db.collection::<Document>("pymongo_migrate_details")
        .update_one(
            doc! { "_id": "0003_c" },
            doc! { "$set": { "checksum": "reviewed-with-another-downgrade" } },
        )
        .await
        .expect("simulate an edit");
    let err = m.down().await.expect_err("changed");
    assert_eq!(common::kind(&err), "changed");
    assert!(err.to_string().contains("0003_c"), "{err}");
    assert!(
        err.to_string().contains("changed since applied: 0003_c"),
        "{err}"
    );
    assert_eq!(runs(&t.db).await.len(), 3, "no downgrade ran");
    let report = m
        .down_with(&DownOptions {
            allow_changed: true,
            ..DownOptions::default()
        })
        .await
        .expect("allowed");
    assert_eq!(names(&report), ["0003_c"]);
    assert_eq!(
        runs(&t.db).await.last().map(String::as_str),
        Some("0003_c:down")
    );
    // Rolling back something else is not affected: the refusal is about what would run. With
    // 0001_a changed, reverting 0002_b needs no `allow_changed`.
    t.db.collection::<Document>("pymongo_migrate_details")
        .update_one(
            doc! { "_id": "0001_a" },
            doc! { "$set": { "checksum": "edited-but-not-reverted" } },
        )
        .await
        .expect("simulate an edit");
    let report = m.down().await.expect("0002_b did not change");
    assert_eq!(names(&report), ["0002_b"]);
    assert_eq!(
        runs(&t.db).await.last().map(String::as_str),
        Some("0002_b:down")
    );
}
