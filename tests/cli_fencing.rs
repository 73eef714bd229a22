//! The runner as an operator breaks it, with real processes: paused past its lease (SIGSTOP),
//! stopped by SIGTERM, its server stopped under it, and fed hostile configuration.

use crate::cli_common;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use cli_common::{code, counter_app, migrate, run, stderr, stdout};
use mongodb_migrate::bson::{doc, Document};
use mongodb_migrate::cli::exit_code;
use mongodb_migrate::lock::LeaseLock;
use mongodb_migrate::mongodb::Database;
use mongodb_migrate::testing::test_database;

fn signal(child: &Child, sig: &str) {
    let sent = std::process::Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success(), "kill {sig}");
}

async fn ticks(db: &Database) -> u64 {
    db.collection::<Document>("ticks")
        .count_documents(doc! {})
        .await
        .expect("count ticks")
}

/// Waits until the slow migration has written `n` ticks.
async fn wait_for_ticks(db: &Database, n: u64) {
    let start = Instant::now();
    while ticks(db).await < n {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the slow migration never wrote {n} ticks"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// SIGSTOP a runner mid-migration past its lease, take the lock over, SIGCONT it: it must send
/// at most the one write that was in flight, and exit 4 naming the new holder.
async fn paused_runner(label: &str, blocking: bool) {
    let app = counter_app();
    let t = test_database(label).await;
    let mut cmd = migrate(app, &t.uri);
    cmd.args(["--lease-ttl", "2s", "--server-timeout", "500ms", "up"])
        .env("SLOW_MS", "120000")
        .env("SLOW_WRITES", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if blocking {
        cmd.env("SLOW_BLOCKING", "1");
    }
    let child = cmd.spawn().expect("spawn");
    wait_for_ticks(&t.db, 3).await;
    signal(&child, "-STOP");
    // Past the lease: another runner takes the lock over.
    let next = LeaseLock::new(&t.db, "pymongo_migrate", Duration::from_secs(60));
    next.acquire(Duration::from_secs(10), |_| {})
        .await
        .expect("take over the expired lease");
    let before = ticks(&t.db).await;
    signal(&child, "-CONT");
    let out = child.wait_with_output().expect("wait");
    // Give a write that was on the wire time to land before counting.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = ticks(&t.db).await;
    assert!(
        after - before <= 1,
        "{} writes after the lease was lost (at most the one in flight)",
        after - before
    );
    assert_eq!(
        code(&out),
        i32::from(exit_code::LOCK_NOT_ACQUIRED),
        "{}",
        stderr(&out)
    );
    let err = stderr(&out);
    assert!(err.contains("lost the migration lock"), "{err}");
    assert!(
        err.contains(&format!("it is now held by {}", next.runner().host))
            && err.contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
    // Nothing was recorded for 0002_slow: its in-progress marker stays for the new holder.
    let details =
        t.db.collection::<Document>("pymongo_migrate_details")
            .find_one(doc! { "_id": "0002_slow" })
            .await
            .expect("details")
            .expect("0002_slow details");
    assert!(details.get_datetime("started_at").is_ok(), "{details}");
    assert!(details.get("failed_at").is_none(), "{details}");
    // The new holder still holds the lock.
    next.ensure_owned().await.expect("the new holder keeps it");
    assert!(next.release().await.expect("release"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_runner_paused_past_its_lease_stops_writing_and_exits_4() {
    paused_runner("fence_pause", false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_runner_blocking_its_thread_and_paused_past_its_lease_stops_too() {
    paused_runner("fence_pause_blocking", true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_cancels_releases_within_a_second_and_records_the_cancellation() {
    let app = counter_app();
    let t = test_database("fence_sigterm").await;
    let child = migrate(app, &t.uri)
        .arg("up")
        .env("SLOW_MS", "120000")
        .env("SLOW_WRITES", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    wait_for_ticks(&t.db, 2).await;
    let sent = Instant::now();
    signal(&child, "-TERM");
    while !cli_common::lock_free(&t.db).await {
        assert!(
            sent.elapsed() < Duration::from_secs(1),
            "the lease was not released within a second of SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        code(&out),
        i32::from(exit_code::TERMINATED),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("cancelled by SIGTERM: 0002_slow was stopped"),
        "{}",
        stderr(&out)
    );
    let status = run(migrate(app, &t.uri).args(["status"]));
    let text = stdout(&status);
    assert!(text.contains("cancelled by SIGTERM at "), "{text}");
    assert!(text.contains("its effects may be partial"), "{text}");
    // The next run refuses over the record at once (no lease to wait for).
    let next = run(migrate(app, &t.uri).args(["--lock-timeout", "0s", "up"]));
    assert_eq!(code(&next), i32::from(exit_code::FAILED_RECORD));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_signal_exits_at_once() {
    let app = counter_app();
    let t = test_database("fence_second_signal").await;
    // Each step blocks its thread for 50 ms: the first SIGTERM's cancellation is handled
    // between steps; the second exits without waiting for anything.
    let child = migrate(app, &t.uri)
        .arg("up")
        .env("SLOW_MS", "120000")
        .env("SLOW_WRITES", "1")
        .env("SLOW_BLOCKING", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    wait_for_ticks(&t.db, 2).await;
    signal(&child, "-TERM");
    signal(&child, "-TERM");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        code(&out),
        i32::from(exit_code::TERMINATED),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn failing_renewals_stop_the_runner_before_its_lease_ends() {
    let app = counter_app();
    let server = cli_common::OwnServer::start("fence-renewals");
    let uri = format!("{}/fence_renewals", server.uri());
    let child = migrate(app, &uri)
        .args(["--lease-ttl", "3s", "--server-timeout", "500ms", "up"])
        .env("SLOW_MS", "120000")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Let it reach the slow migration.
    let client = mongodb_migrate::mongodb::Client::with_uri_str(&uri)
        .await
        .expect("client");
    let db = client.database("fence_renewals");
    let start = Instant::now();
    while db
        .collection::<Document>("pymongo_migrate_details")
        .find_one(doc! { "_id": "0002_slow", "started_at": { "$exists": true } })
        .await
        .expect("details")
        .is_none()
    {
        assert!(start.elapsed() < Duration::from_secs(60), "never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stopped = Instant::now();
    server.stop();
    let out = child.wait_with_output().expect("wait");
    let took = stopped.elapsed();
    // The lease (3 s) would end at most 3 s after its last renewal; the runner stops at its
    // local deadline (four fifths of it) and then gives up on the release (0.5 s).
    assert!(
        took < Duration::from_secs(5),
        "the runner went on {took:?} after its server stopped"
    );
    assert_ne!(code(&out), 0, "{}", stderr(&out));
    assert!(
        [
            exit_code::LOCK_NOT_ACQUIRED,
            exit_code::DATABASE_UNREACHABLE
        ]
        .map(i32::from)
        .contains(&code(&out)),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn guardrails_refuse_hostile_configuration_with_exit_2() {
    let app = counter_app();
    let t = test_database("fence_guardrails").await;
    let cases: &[(&[&str], &str)] = &[
        (
            &["--lease-ttl", "0s", "up"],
            "a lease of 0ns is too short: the lock would be stealable before its first renewal; use at least 1s (10s or more is recommended)",
        ),
        (
            &["--lease-ttl", "900ms", "status"],
            "a lease of 900ms is too short",
        ),
        (
            &["--lease-ttl", "30s", "--server-timeout", "10s", "up"],
            "a server timeout of 10s is too long for a lease of 30s",
        ),
        (
            &["--collection", "system.users", "status"],
            "\"system.users\" cannot be the state collection: `system.` collections belong to the server",
        ),
        (
            &["--collection", "a$b", "up"],
            "\"a$b\" cannot be the state collection: MongoDB collection names cannot contain `$`",
        ),
        (
            &["--collection", "", "up"],
            "\"\" cannot be the state collection: the name is empty",
        ),
    ];
    for (args, message) in cases {
        let o = run(migrate(app, &t.uri).args(*args));
        assert_eq!(
            code(&o),
            i32::from(exit_code::USAGE),
            "{args:?}: {}",
            stderr(&o)
        );
        assert!(stderr(&o).contains(message), "{args:?}: {}", stderr(&o));
    }
    // retryWrites=false turns off what state writes rely on.
    let o = run(migrate(app, &format!("{}?retryWrites=false", t.uri)).arg("up"));
    assert_eq!(code(&o), i32::from(exit_code::USAGE), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("sets retryWrites=false"),
        "{}",
        stderr(&o)
    );

    // An application collection named as the state collection: refused before any write,
    // naming the collection and the fields found (never the values).
    t.db.collection::<Document>("users")
        .insert_one(doc! { "email": "ann@example.com", "role": "admin" })
        .await
        .expect("seed users");
    t.db.collection::<Document>("audit_details")
        .insert_one(doc! { "_id": "x", "who": "ann" })
        .await
        .expect("seed audit_details");
    t.db.collection::<Document>("jobs_lock")
        .insert_one(doc! { "_id": "nightly", "holder": "cron" })
        .await
        .expect("seed jobs_lock");
    for (collection, found) in [
        ("users", "collection users holds documents that are not migration state {name, applied}: found a document with fields {_id, email, role}"),
        ("audit", "collection audit_details holds documents that are not migration details: found a document with fields {_id, who}"),
        ("jobs", "collection jobs_lock holds documents that are not a migration lock: found a document with fields {_id, holder}"),
    ] {
        for sub in ["up", "status"] {
            let o = run(migrate(app, &t.uri).args(["--collection", collection, sub]));
            assert_eq!(code(&o), i32::from(exit_code::USAGE), "{collection} {sub}: {}", stderr(&o));
            assert!(stderr(&o).contains(found), "{collection} {sub}: {}", stderr(&o));
            assert!(!stderr(&o).contains("ann"), "values are never shown");
        }
    }
    let users: Vec<Document> = {
        use futures::TryStreamExt;
        t.db.collection::<Document>("users")
            .find(doc! {})
            .await
            .expect("find")
            .try_collect()
            .await
            .expect("read")
    };
    assert_eq!(users.len(), 1, "nothing was written to users");
    assert!(!t
        .db
        .list_collection_names()
        .await
        .expect("names")
        .contains(&"users_lock".to_owned()));
    // --lock-timeout 0s keeps its meaning: one attempt.
    let holder = LeaseLock::new(&t.db, "pymongo_migrate", Duration::from_secs(60));
    holder.try_acquire().await.expect("hold");
    let started = Instant::now();
    let o = run(migrate(app, &t.uri).args(["--lock-timeout", "0s", "up"]));
    assert_eq!(code(&o), i32::from(exit_code::LOCK_NOT_ACQUIRED));
    assert!(started.elapsed() < Duration::from_secs(5));
    holder.release().await.expect("release");
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_credentials_exit_2_and_never_show_the_password() {
    let app = counter_app();
    let t = test_database("fence_auth").await;
    let host = t
        .uri
        .trim_start_matches("mongodb://")
        .split('/')
        .next()
        .expect("host")
        .to_owned();
    let uri = format!("mongodb://ann:pa%2Fs%40s-s3cret@{host}/{}", t.name());
    for sub in ["status", "up", "check"] {
        let o = run(migrate(app, &uri).arg(sub));
        assert_eq!(
            code(&o),
            i32::from(exit_code::USAGE),
            "{sub}: {}",
            stderr(&o)
        );
        let err = stderr(&o);
        assert!(
            err.to_lowercase().contains("authentication"),
            "{sub}: {err}"
        );
        for secret in ["s3cret", "pa%2Fs%40s", "pa/s@s"] {
            assert!(
                !err.contains(secret) && !stdout(&o).contains(secret),
                "{sub}: {secret} shown: {err}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_state_write_the_server_rejects_is_a_database_error_exit_10() {
    let app = counter_app();
    let t = test_database("fence_db_error").await;
    // A validator (an application's schema rule, say) that our details documents fail.
    t.db.create_collection("pymongo_migrate_details")
        .validator(doc! { "$jsonSchema": { "bsonType": "object", "required": ["zzz"] } })
        .await
        .expect("create with a validator");
    let o = run(migrate(app, &t.uri).arg("up"));
    assert_eq!(
        code(&o),
        i32::from(exit_code::DATABASE_ERROR),
        "{}",
        stderr(&o)
    );
    let err = stderr(&o);
    assert!(err.contains("recording the state"), "{err}");
    assert!(err.contains("pymongo_migrate"), "{err}");
    // The lease was released on the way out.
    assert!(cli_common::lock_free(&t.db).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_older_binarys_lock_document_is_respected_both_ways() {
    let app = counter_app();
    let t = test_database("fence_mixed_versions").await;
    let lock = t.db.collection::<Document>("pymongo_migrate_lock");
    // A lease held by an older binary: its document has no `released_at` and an owner.
    let now = mongodb_migrate::bson::DateTime::now();
    let later = mongodb_migrate::bson::DateTime::from_millis(now.timestamp_millis() + 60_000);
    lock.insert_one(doc! {
        "_id": "migrate",
        "owner": { "host": "old-host", "pid": 4242_i64, "token": "old-token" },
        "acquired_at": now, "renewed_at": now, "expires_at": later,
    })
    .await
    .expect("an old holder");
    let o = run(migrate(app, &t.uri).args(["--lock-timeout", "1s", "up"]));
    assert_eq!(
        code(&o),
        i32::from(exit_code::LOCK_NOT_ACQUIRED),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("old-host pid 4242"), "{}", stderr(&o));
    // An older binary releases by deleting the document: the next runner takes it.
    lock.delete_one(doc! { "_id": "migrate", "owner.token": "old-token" })
        .await
        .expect("old release");
    let o = run(migrate(app, &t.uri).args(["up", "--to", "0001_first"]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // What this version leaves is free for an older binary: the exact acquisition filter of
    // the previous release matches it (an expired lease), and it finds no holder to show.
    let released = lock
        .find_one(doc! { "_id": "migrate" })
        .await
        .expect("read")
        .expect("the document stays");
    assert_eq!(
        released.get("owner"),
        Some(&mongodb_migrate::bson::Bson::Null)
    );
    let taken = lock
        .update_one(
            doc! { "_id": "migrate", "$or": [
                { "expires_at": { "$lt": mongodb_migrate::bson::DateTime::now() } },
                { "owner.token": "old-token" },
            ] },
            doc! { "$set": {
                "owner": { "host": "old-host", "pid": 4242_i64, "token": "old-token" },
                "expires_at": later,
            } },
        )
        .await
        .expect("old acquisition");
    assert_eq!(
        taken.matched_count, 1,
        "an older binary can take the released lock"
    );
}
