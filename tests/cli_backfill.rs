//! Resumable backfills with real processes: killed mid-way (SIGKILL, SIGTERM), then resumed by
//! a plain `up`, redo no completed batch and end exact.

use crate::cli_common;

use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use cli_common::{code, migrate, run, stderr, stdout};
use futures::TryStreamExt;
use mongodb_migrate::bson::{doc, Document};
use mongodb_migrate::cli::exit_code;
use mongodb_migrate::mongodb::Database;
use mongodb_migrate::testing::test_database;
use mongodb_migrate_test_support::{FixtureBuild, FixtureCrate};

const ITEMS: i32 = 1_000;

fn backfill_app() -> &'static FixtureBuild {
    static BUILD: OnceLock<FixtureBuild> = OnceLock::new();
    BUILD.get_or_init(|| {
        let build = FixtureCrate::new("backfill")
            .copy_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/apps/backfill"))
            .build();
        assert!(
            build.success,
            "the backfill fixture must build:\n{}",
            build.stderr
        );
        build
    })
}

async fn seed(db: &Database) {
    let docs: Vec<Document> = (0..ITEMS).map(|i| doc! { "_id": i }).collect();
    db.collection::<Document>("items")
        .insert_many(docs)
        .await
        .expect("seed items");
}

async fn done(db: &Database) -> u64 {
    db.collection::<Document>("items")
        .count_documents(doc! { "done": true })
        .await
        .expect("count")
}

async fn writes(db: &Database) -> Vec<i32> {
    let docs: Vec<Document> = db
        .collection::<Document>("items")
        .find(doc! {})
        .await
        .expect("find")
        .try_collect()
        .await
        .expect("read");
    docs.iter()
        .map(|d| d.get_i32("writes").unwrap_or(0))
        .collect()
}

fn spawn(uri: &str) -> Child {
    migrate(backfill_app(), uri)
        .arg("up")
        // 1,000 items at 400 a second: about 2.5 s, long enough to stop it half-way.
        .env("BACKFILL_RATE", "400")
        .env("BACKFILL_BATCH", "50")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn")
}

async fn stop_half_way(label: &str, signal: &str) {
    let t = test_database(label).await;
    seed(&t.db).await;
    let child = spawn(&t.uri);
    let start = Instant::now();
    while done(&t.db).await < 300 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the backfill never got going"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sent = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    let out = child.wait_with_output().expect("wait");
    if signal == "-TERM" {
        assert_eq!(
            code(&out),
            i32::from(exit_code::TERMINATED),
            "{}",
            stderr(&out)
        );
    }
    // A bulk write the runner sent just before it died is still applied by the server: let it
    // settle before counting.
    let mut stopped_at = done(&t.db).await;
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = done(&t.db).await;
        if now == stopped_at {
            break;
        }
        stopped_at = now;
    }
    assert!(
        (300..u64::try_from(ITEMS).unwrap_or(0)).contains(&stopped_at),
        "stopped half-way: {stopped_at}"
    );
    // The checkpoint is in the details record, and matches what is done.
    let details =
        t.db.collection::<Document>("pymongo_migrate_details")
            .find_one(doc! { "_id": "0001_backfill_items" })
            .await
            .expect("details")
            .expect("a details record");
    let checkpoint = details
        .get_document("checkpoints")
        .and_then(|c| c.get_document("items"))
        .expect("a checkpoint");
    assert_eq!(
        u64::try_from(checkpoint.get_i64("done").expect("done")).ok(),
        Some(stopped_at),
        "{details}"
    );
    // A killed runner's lease must expire before the next one resumes.
    let lease_wait = if signal == "-KILL" { "60s" } else { "0s" };
    // status says it resumes; check counts it as pending, not failed.
    let check = run(migrate(backfill_app(), &t.uri).args(["--lock-timeout", lease_wait, "check"]));
    assert_eq!(
        code(&check),
        i32::from(exit_code::PENDING),
        "{}",
        stdout(&check)
    );
    // A plain `up`, as a restarted Kubernetes Job runs it: no --retry.
    let resumed = run(migrate(backfill_app(), &t.uri).args(["--lock-timeout", lease_wait, "up"]));
    assert_eq!(
        code(&resumed),
        0,
        "{}\n{}",
        stdout(&resumed),
        stderr(&resumed)
    );
    assert!(
        stdout(&resumed).contains(&format!(
            "resuming after the checkpoint ({stopped_at} documents already done)"
        )),
        "{}",
        stdout(&resumed)
    );
    // Exact: every item written once, none twice, none missed.
    let w = writes(&t.db).await;
    assert_eq!(w.len(), usize::try_from(ITEMS).unwrap_or(0));
    assert!(
        w.iter().all(|&n| n == 1),
        "a batch was redone or missed: {:?}",
        {
            let mut counts = std::collections::BTreeMap::new();
            for n in &w {
                *counts.entry(*n).or_insert(0) += 1;
            }
            counts
        }
    );
    // Applied: the checkpoint is cleared.
    let details =
        t.db.collection::<Document>("pymongo_migrate_details")
            .find_one(doc! { "_id": "0001_backfill_items" })
            .await
            .expect("details")
            .expect("a details record");
    assert!(details.get("checkpoints").is_none(), "{details}");
    // The downgrade undoes it all.
    let down = run(migrate(backfill_app(), &t.uri).arg("down"));
    assert_eq!(code(&down), 0, "{}", stderr(&down));
    assert_eq!(done(&t.db).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backfill_killed_by_sigkill_resumes_after_its_checkpoint() {
    stop_half_way("backfill_sigkill", "-KILL").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backfill_stopped_by_sigterm_resumes_after_its_checkpoint() {
    stop_half_way("backfill_sigterm", "-TERM").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rate_limit_is_a_lower_bound_on_the_duration() {
    let t = test_database("backfill_rate").await;
    seed(&t.db).await;
    let started = Instant::now();
    // 1,000 documents at 2,000 a second: at least half a second, whatever the machine.
    let o = run(migrate(backfill_app(), &t.uri)
        .arg("up")
        .env("BACKFILL_RATE", "2000")
        .env("BACKFILL_BATCH", "100"));
    let took = started.elapsed();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(took >= Duration::from_millis(500), "took {took:?}");
    // Progress with a total and an ETA, a line per tenth off a terminal.
    let out = stdout(&o);
    assert!(
        out.contains("    0001_backfill_items: 500/1000, 50%, ETA "),
        "{out}"
    );
    assert!(writes(&t.db).await.iter().all(|&n| n == 1));
}
