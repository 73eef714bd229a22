//! The lease lock against a real database: acquire, contend, expire, take over, stale owner,
//! release, force-unlock.

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::docs;
use mongodb_migrate_core::bson::{doc, Document};
use mongodb_migrate_core::lock::{force_release, Attempt, LeaseLock, LOCK_ID};
use mongodb_migrate_core::mongodb::Database;
use mongodb_migrate_core::testing::test_database;
use mongodb_migrate_core::{
    BoxFuture, Error, Event, LockError, Migration, MigrationResult, Migrator, Observer, State,
};

const LOCK: &str = "pymongo_migrate_lock";
const STATE: &str = "pymongo_migrate";

#[tokio::test]
async fn one_holder_at_a_time_and_release_frees_it() {
    let t = test_database("lock_basic").await;
    let a = LeaseLock::new(&t.db, STATE, Duration::from_secs(30));
    let b = LeaseLock::new(&t.db, STATE, Duration::from_secs(30));
    assert_eq!(a.try_acquire().await.expect("a"), Attempt::Acquired);
    let expires_at = |d: &Document| *d.get_datetime("expires_at").expect("expires_at");
    let first_expiry = expires_at(&docs(&t.db, LOCK).await[0]);
    tokio::time::sleep(Duration::from_millis(50)).await;
    // Re-acquiring our own lease renews it.
    assert_eq!(a.try_acquire().await.expect("a again"), Attempt::Acquired);
    let renewed_expiry = expires_at(&docs(&t.db, LOCK).await[0]);
    assert!(
        renewed_expiry > first_expiry,
        "not renewed: {first_expiry} then {renewed_expiry}"
    );
    match b.try_acquire().await.expect("b") {
        Attempt::Held(Some(holder)) => {
            assert_eq!(holder.owner, *a.runner());
            assert!(holder.expires_at > holder.acquired_at);
        }
        other => panic!("expected held by a, got {other:?}"),
    }
    let lock_doc = &docs(&t.db, LOCK).await[0];
    assert_eq!(lock_doc.get_str("_id"), Ok(LOCK_ID));
    assert!(a.release().await.expect("release"));
    assert!(!b.release().await.expect("b holds nothing"));
    assert_eq!(b.try_acquire().await.expect("b"), Attempt::Acquired);
}

#[tokio::test]
async fn concurrent_attempts_give_exactly_one_holder() {
    let t = test_database("lock_race").await;
    let locks: Vec<LeaseLock> = (0..8)
        .map(|_| LeaseLock::new(&t.db, STATE, Duration::from_secs(30)))
        .collect();
    let attempts = futures::future::join_all(locks.iter().map(|l| l.try_acquire())).await;
    let acquired = attempts
        .into_iter()
        .map(|a| a.expect("attempt"))
        .filter(|a| *a == Attempt::Acquired)
        .count();
    assert_eq!(acquired, 1);
}

#[tokio::test]
async fn waiting_times_out_naming_the_holder() {
    let t = test_database("lock_wait").await;
    let a = LeaseLock::new(&t.db, STATE, Duration::from_secs(30));
    a.try_acquire().await.expect("a");
    let b = LeaseLock::new(&t.db, STATE, Duration::from_secs(30));
    let mut seen = Vec::new();
    let err = b
        .acquire(Duration::from_millis(600), |h| seen.push(h.cloned()))
        .await
        .expect_err("held");
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].as_ref().map(|h| h.owner.clone()),
        Some(a.runner().clone())
    );
    assert!(
        matches!(&err, LockError::NotAcquired { holder: Some(h), .. } if h.owner == *a.runner())
    );
    assert!(
        err.to_string().contains(&format!("pid {}", a.runner().pid)),
        "{err}"
    );
}

#[tokio::test]
async fn an_expired_lease_is_taken_over_and_the_stale_owner_cannot_renew() {
    let t = test_database("lock_expire").await;
    let lease = Duration::from_millis(400);
    let dead = LeaseLock::new(&t.db, STATE, lease);
    let before = Instant::now();
    dead.try_acquire().await.expect("dead");
    // No heartbeat: the holder "died". The next runner waits until the lease runs out.
    let next = LeaseLock::new(&t.db, STATE, Duration::from_secs(30));
    let mut seen = Vec::new();
    next.acquire(Duration::from_secs(10), |h| {
        seen.push(h.map(|h| h.owner.clone()))
    })
    .await
    .expect("takeover");
    assert!(
        before.elapsed() >= lease,
        "taken over after {:?}, before the {lease:?} lease ran out",
        before.elapsed()
    );
    assert_eq!(
        seen,
        [Some(dead.runner().clone())],
        "it waited on the dead holder"
    );
    let err = dead.ensure_owned().await.expect_err("stale");
    assert!(
        matches!(&err, LockError::Lost { holder: Some(h) } if h.owner == *next.runner()),
        "{err}"
    );
    assert!(
        !dead.release().await.expect("release"),
        "a stale owner releases nothing"
    );
    next.ensure_owned().await.expect("still ours");
}

#[tokio::test]
async fn the_heartbeat_keeps_a_short_lease_alive() {
    let t = test_database("lock_heartbeat").await;
    let a = LeaseLock::new(&t.db, STATE, Duration::from_millis(600));
    a.try_acquire().await.expect("a");
    let beat = a.heartbeat();
    let b = LeaseLock::new(&t.db, STATE, Duration::from_secs(30));
    // Five lease lengths: without renewal b would get it.
    let err = b
        .acquire(Duration::from_secs(3), |_| {})
        .await
        .expect_err("renewed");
    assert!(matches!(err, LockError::NotAcquired { .. }));
    assert!(!beat.lost());
    beat.stop();
}

#[tokio::test]
async fn force_release_shows_the_holder() {
    let t = test_database("lock_force").await;
    let a = LeaseLock::new(&t.db, STATE, Duration::from_secs(30));
    a.try_acquire().await.expect("a");
    let holder = force_release(&t.db, STATE)
        .await
        .expect("force")
        .expect("a holder");
    assert_eq!(holder.owner, *a.runner());
    // The document stays, with no owner: a runner that still believes it holds the lease
    // finds it gone at its next renewal or fenced write.
    let lock_docs = docs(&t.db, LOCK).await;
    assert_eq!(lock_docs.len(), 1, "{lock_docs:?}");
    assert!(common::lock_free(&t.db).await);
    assert!(a.ensure_owned().await.is_err(), "a's lease is gone");
    assert!(force_release(&t.db, STATE).await.expect("again").is_none());
    let m = Migrator::new(t.db.clone(), &[]);
    assert!(m.unlock().await.expect("unlock").is_none());
}

fn up_steals_the_lock(db: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    Box::pin(async move {
        // Another runner takes over while this migration runs (as after an expired lease).
        db.collection::<Document>(LOCK)
            .update_one(
                doc! { "_id": LOCK_ID },
                doc! { "$set": { "owner": { "host": "elsewhere", "pid": 1_i64, "token": "thief" } } },
            )
            .await?;
        common::log_run(db, "0001_steal", "up").await
    })
}

static STEALING: &[Migration] = &[
    Migration {
        name: "0001_steal",
        dependencies: &[],
        description: "",
        checksum: "x",
        transactional: false,
        allowed: &[],
        irreversible: None,
        collections: &[],
        upgrade: up_steals_the_lock,
        downgrade: common::noop,
    },
    Migration {
        name: "0002_after",
        dependencies: &["0001_steal"],
        description: "",
        checksum: "y",
        transactional: false,
        allowed: &[],
        irreversible: None,
        collections: &[],
        upgrade: common::noop,
        downgrade: common::noop,
    },
];

#[tokio::test]
async fn a_runner_that_lost_its_lease_stops_before_writing_state() {
    let t = test_database("lock_stale_runner").await;
    let m = Migrator::new(t.db.clone(), STEALING);
    let err = m.up().await.expect_err("lease lost");
    assert_eq!(common::kind(&err), "lock");
    assert!(
        matches!(&err, Error::Lock(LockError::Lost { holder: Some(h) }) if h.owner.host == "elsewhere"),
        "{err}"
    );
    // Nothing recorded as applied; the thief's lock is untouched.
    assert!(docs(&t.db, "pymongo_migrate").await.is_empty());
    let lock = &docs(&t.db, LOCK).await[0];
    assert_eq!(
        lock.get_document("owner").expect("owner").get_str("token"),
        Ok("thief")
    );
    // While the thief's lease is valid, only the thief's own in-progress migration would read
    // as running: the marker our runner left is not the thief's run, so it reads as failed.
    let status = m.status().await.expect("status");
    assert_eq!(
        status.migrations[0].state,
        State::Failed,
        "our marker is not the thief's run"
    );
    assert_eq!(
        status.lock.as_ref().map(|h| h.owner.token.as_str()),
        Some("thief")
    );
    // Once the lock is gone, the next runner reports the migration as interrupted.
    m.unlock().await.expect("unlock");
    let err = m.up().await.expect_err("interrupted record refuses");
    assert_eq!(common::kind(&err), "failed record");
    let status = m.status().await.expect("status");
    let failure = status.migrations[0].failure.as_ref().expect("failure");
    assert!(
        failure.error.starts_with("interrupted:"),
        "{}",
        failure.error
    );
}

/// When `0001_slow`'s upgrade finished (it sleeps [`SLOW`] while its runner holds the lock).
static SLOW_FINISHED: Mutex<Option<Instant>> = Mutex::new(None);
const SLOW: Duration = Duration::from_millis(1500);

fn up_slowly(db: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    Box::pin(async move {
        common::log_run(db, "0001_slow", "up").await?;
        tokio::time::sleep(SLOW).await;
        *SLOW_FINISHED.lock().unwrap() = Some(Instant::now());
        Ok(())
    })
}

static SLOW_PLAN: &[Migration] = &[Migration {
    name: "0001_slow",
    dependencies: &[],
    description: "",
    checksum: "y",
    transactional: false,
    allowed: &[],
    irreversible: None,
    collections: &[],
    upgrade: up_slowly,
    downgrade: common::noop,
}];

/// The lock events a runner reported, with when.
#[derive(Default)]
struct LockEvents(Mutex<Vec<(&'static str, Option<String>, Instant)>>);

impl Observer for LockEvents {
    fn on_event(&self, event: &Event<'_>) {
        let seen = match event {
            Event::LockWait { holder, .. } => ("wait", holder.map(|h| h.owner.token.clone())),
            Event::LockAcquired => ("acquired", None),
            _ => return,
        };
        self.0
            .lock()
            .unwrap()
            .push((seen.0, seen.1, Instant::now()));
    }
}

#[tokio::test]
async fn a_second_migrator_waits_then_finds_nothing_to_do() {
    let t = test_database("lock_two_migrators").await;
    let first = Migrator::new(t.db.clone(), SLOW_PLAN);
    let second_events = Arc::new(LockEvents::default());
    let second = Migrator::new(t.db.clone(), SLOW_PLAN)
        .lock_timeout(Duration::from_secs(10))
        .observer(second_events.clone());
    let impatient = Migrator::new(t.db.clone(), SLOW_PLAN).lock_timeout(Duration::from_millis(100));

    let (first_report, (impatient_err, second_report, holder)) = tokio::join!(first.up(), async {
        // Start the others once the first runner holds the lock and runs the migration.
        let deadline = Instant::now() + Duration::from_secs(10);
        while common::runs(&t.db).await.is_empty() {
            assert!(Instant::now() < deadline, "the first runner never started");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let holder = docs(&t.db, LOCK).await[0]
            .get_document("owner")
            .expect("the first runner holds the lock")
            .get_str("token")
            .expect("token")
            .to_owned();
        let impatient_err = impatient.up().await.expect_err("times out");
        (impatient_err, second.up().await, holder)
    });
    let first_report = first_report.expect("first up");
    let second_report = second_report.expect("second up");

    // A runner that will not wait gives up with the lock's exit code.
    assert_eq!(common::kind(&impatient_err), "lock");
    // The second runner waited for the first: it saw the lock held by it, and got the lock only
    // after the first runner's migration had finished.
    let events = second_events.0.lock().unwrap().clone();
    let kinds: Vec<&str> = events.iter().map(|e| e.0).collect();
    assert_eq!(kinds, ["wait", "acquired"], "{events:?}");
    assert_eq!(events[0].1.as_deref(), Some(holder.as_str()));
    let finished = SLOW_FINISHED
        .lock()
        .unwrap()
        .expect("the migration finished");
    assert!(
        events[1].2 >= finished,
        "the second runner got the lock before the first one's migration finished"
    );
    assert!(events[1].2 - events[0].2 >= SLOW / 2, "{events:?}");
    // Then it found nothing to do: the first runner applied everything, once.
    assert_eq!(
        first_report
            .steps
            .iter()
            .map(|s| s.name)
            .collect::<Vec<_>>(),
        ["0001_slow"]
    );
    assert!(second_report.steps.is_empty(), "{second_report:?}");
    assert_eq!(common::runs(&t.db).await, ["0001_slow:up"]);
    let status = second.status().await.expect("status");
    assert_eq!(status.in_state(State::Applied).count(), 1);
    assert!(common::lock_free(&t.db).await);
}
