//! The `migrate` binary of a fixture app as separate processes against the real database:
//! concurrent runners, a runner killed mid-migration, a failing migration end to end.

use crate::cli_common;

use std::process::Stdio;
use std::time::Duration;

use cli_common::{code, counter_app, counters, migrate, run, stderr, stdout};
use mongodb_migrate::bson::{doc, Document};
use mongodb_migrate::cli::exit_code;
use mongodb_migrate::testing::test_database;

#[tokio::test(flavor = "multi_thread")]
async fn eight_concurrent_processes_apply_each_migration_exactly_once() {
    let app = counter_app();
    let t = test_database("cli_concurrent").await;
    let children: Vec<std::process::Child> = (0..8)
        .map(|_| {
            migrate(app, &t.uri)
                .arg("up")
                .env("SLOW_MS", "300")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn migrate up")
        })
        .collect();
    let outputs: Vec<std::process::Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().expect("wait"))
        .collect();
    for o in &outputs {
        assert_eq!(code(o), 0, "stdout:\n{}\nstderr:\n{}", stdout(o), stderr(o));
    }
    assert_eq!(
        counters(&t.db).await,
        [
            ("0001_first".to_owned(), 1, 0),
            ("0002_slow".to_owned(), 1, 0),
            ("0003_flaky".to_owned(), 1, 0)
        ]
    );
    // Exactly one process applied; the others waited for the lock and found nothing to do.
    let appliers = outputs
        .iter()
        .filter(|o| stdout(o).contains("Applied 3 migrations"))
        .count();
    assert_eq!(appliers, 1);
    let idle = outputs
        .iter()
        .filter(|o| stdout(o).contains("Nothing to apply."))
        .count();
    assert_eq!(idle, 7);
    assert!(outputs
        .iter()
        .any(|o| stdout(o).contains("for the migration lock held by")));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_runner_is_reported_and_its_lease_taken_over() {
    let app = counter_app();
    let t = test_database("cli_sigkill").await;
    let mut victim = migrate(app, &t.uri)
        .args(["--lease-ttl", "2s", "--server-timeout", "500ms", "up"])
        .env("SLOW_MS", "120000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    // Wait until the slow migration is under way: its in-progress marker is written and its
    // upgrade has counted its run (the marker alone comes before the upgrade starts).
    let details = t.db.collection::<Document>("pymongo_migrate_details");
    loop {
        let marker = details
            .find_one(doc! { "_id": "0002_slow", "started_at": { "$exists": true } })
            .await
            .expect("read details");
        let counted = counters(&t.db)
            .await
            .iter()
            .any(|(name, up, _)| name == "0002_slow" && *up == 1);
        if marker.is_some() && counted {
            break;
        }
        if let Some(status) = victim.try_wait().expect("try_wait") {
            panic!("the runner exited early: {status}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    victim.kill().expect("SIGKILL");
    victim.wait().expect("reap");

    // While the lease is still valid, status shows it running.
    let status = run(migrate(app, &t.uri).arg("status"));
    assert_eq!(code(&status), 0);

    let next = run(migrate(app, &t.uri).args([
        "--lease-ttl",
        "2s",
        "--server-timeout",
        "500ms",
        "--lock-timeout",
        "60s",
        "up",
    ]));
    let out = stdout(&next);
    assert_eq!(
        code(&next),
        i32::from(exit_code::FAILED_RECORD),
        "{out}\n{}",
        stderr(&next)
    );
    assert!(
        out.contains("Waiting up to 60s for the migration lock held by"),
        "{out}"
    );
    assert!(out.contains("0002_slow was interrupted"), "{out}");
    assert!(stderr(&next).contains("up --retry"), "{}", stderr(&next));

    let status = run(migrate(app, &t.uri).arg("status"));
    assert!(
        stdout(&status).contains("✗ 0002_slow"),
        "{}",
        stdout(&status)
    );
    assert!(
        stdout(&status).contains("interrupted"),
        "{}",
        stdout(&status)
    );

    let retry = run(migrate(app, &t.uri).args(["up", "--retry"]));
    assert_eq!(code(&retry), 0, "{}\n{}", stdout(&retry), stderr(&retry));
    assert_eq!(
        counters(&t.db).await,
        [
            ("0001_first".to_owned(), 1, 0),
            ("0002_slow".to_owned(), 2, 0),
            ("0003_flaky".to_owned(), 1, 0)
        ]
    );
    assert!(cli_common::lock_free(&t.db).await, "lock released");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_migration_is_recorded_refused_and_retried() {
    let app = counter_app();
    let t = test_database("cli_failure").await;
    let failed = run(migrate(app, &t.uri).arg("up").env("FAIL_0003", "1"));
    assert_eq!(code(&failed), i32::from(exit_code::MIGRATION_FAILED));
    let out = stdout(&failed);
    assert!(out.contains("✓ 0002_slow"), "{out}");
    assert!(
        out.contains("✗ 0003_flaky  upgrade failed after")
            && out.contains("copying the flaky field: the source field is missing"),
        "{out}"
    );
    assert!(
        stderr(&failed).contains("migration 0003_flaky failed (upgrade)"),
        "{}",
        stderr(&failed)
    );

    let status = run(migrate(app, &t.uri).arg("status"));
    let text = stdout(&status);
    assert!(
        text.contains("✓ 0001_first") && text.contains("✓ 0002_slow"),
        "{text}"
    );
    assert!(text.contains("✗ 0003_flaky  upgrade failed"), "{text}");
    assert!(
        text.contains("copying the flaky field: the source field is missing"),
        "{text}"
    );

    let refused = run(migrate(app, &t.uri).arg("up"));
    assert_eq!(code(&refused), i32::from(exit_code::FAILED_RECORD));
    assert!(
        stderr(&refused).contains("migrate up --retry"),
        "{}",
        stderr(&refused)
    );

    // The fix: FAIL_0003 is no longer set.
    let retried = run(migrate(app, &t.uri).args(["up", "--retry"]));
    assert_eq!(
        code(&retried),
        0,
        "{}\n{}",
        stdout(&retried),
        stderr(&retried)
    );
    assert!(
        stdout(&retried).contains("Applied 1 migration"),
        "{}",
        stdout(&retried)
    );
    let check = run(migrate(app, &t.uri).arg("check"));
    assert_eq!(code(&check), 0, "{}", stdout(&check));
    assert_eq!(counters(&t.db).await[2], ("0003_flaky".to_owned(), 2, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn up_status_down_status_through_the_binary() {
    let app = counter_app();
    let t = test_database("cli_up_down").await;
    let status = run(migrate(app, &t.uri).arg("status"));
    assert_eq!(
        stdout(&status),
        "Applied migrations:\n  (none)\n\nPending migrations:\n  0001_first\n  0002_slow\n  0003_flaky\n"
    );
    let up = run(migrate(app, &t.uri).arg("up"));
    assert_eq!(code(&up), 0, "{}", stderr(&up));
    let lines: Vec<String> = stdout(&up).lines().map(str::to_owned).collect();
    assert_eq!(lines[0], "[1/3] applying 0001_first …");
    assert!(
        lines[1].starts_with("✓ 0001_first  applied in "),
        "{lines:?}"
    );
    assert!(
        lines[6].starts_with("Applied 3 migrations in "),
        "{lines:?}"
    );

    let again = run(migrate(app, &t.uri).arg("up"));
    assert_eq!(stdout(&again), "Nothing to apply.\n");

    let status = stdout(&run(migrate(app, &t.uri).arg("status")));
    let re_line = |name: &str| {
        status
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{name} in {status}"))
            .to_owned()
    };
    for name in ["0001_first", "0002_slow", "0003_flaky"] {
        let line = re_line(name);
        // "  ✓ 0001_first YYYY-MM-DD HH:MM:SS UTC    N ms"
        assert!(line.starts_with(&format!("  ✓ {name} ")), "{line}");
        assert!(line.contains(" UTC ") && line.ends_with(" ms"), "{line}");
    }
    assert!(
        status.ends_with("Pending migrations:\n  (none)\n"),
        "{status}"
    );

    let down = run(migrate(app, &t.uri).arg("down"));
    assert_eq!(code(&down), 0);
    assert!(
        stdout(&down).contains("✓ 0003_flaky  reverted in"),
        "{}",
        stdout(&down)
    );
    let status = stdout(&run(migrate(app, &t.uri).arg("status")));
    assert!(
        status.ends_with("Pending migrations:\n  0003_flaky\n"),
        "{status}"
    );
    let state =
        t.db.collection::<Document>("pymongo_migrate")
            .find_one(doc! { "name": "0003_flaky" })
            .await
            .expect("read")
            .expect("kept");
    assert_eq!(
        state.get("applied"),
        Some(&mongodb_migrate::bson::Bson::Null)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_held_lock_times_out_with_its_own_code_and_unlock_shows_the_holder() {
    let app = counter_app();
    let t = test_database("cli_lock_timeout").await;
    let lock =
        mongodb_migrate::lock::LeaseLock::new(&t.db, "pymongo_migrate", Duration::from_secs(60));
    lock.try_acquire().await.expect("hold the lock");
    let waited = run(migrate(app, &t.uri).args(["--lock-timeout", "1s", "up"]));
    assert_eq!(code(&waited), i32::from(exit_code::LOCK_NOT_ACQUIRED));
    let pid = format!("pid {}", std::process::id());
    assert!(stderr(&waited).contains(&pid), "{}", stderr(&waited));
    let unlock = run(migrate(app, &t.uri).arg("unlock"));
    assert_eq!(code(&unlock), 0);
    assert!(
        stdout(&unlock).contains(&format!(
            "Released the migration lock held by {}",
            lock.runner().host
        )),
        "{}",
        stdout(&unlock)
    );
    assert!(stdout(&unlock).contains(&pid));
    let up = run(migrate(app, &t.uri).args(["--lock-timeout", "1s", "up"]));
    assert_eq!(code(&up), 0, "{}", stderr(&up));
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_releases_the_lock_and_records_the_cancellation() {
    let app = counter_app();
    let t = test_database("cli_ctrl_c").await;
    let child = migrate(app, &t.uri)
        .arg("up")
        .env("SLOW_MS", "120000")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let details = t.db.collection::<Document>("pymongo_migrate_details");
    while details
        .find_one(doc! { "_id": "0002_slow", "started_at": { "$exists": true } })
        .await
        .expect("read details")
        .is_none()
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(sent.success());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        code(&out),
        i32::from(exit_code::INTERRUPTED),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("cancelled by SIGINT: 0002_slow was stopped"),
        "{}",
        stderr(&out)
    );
    assert!(
        cli_common::lock_free(&t.db).await,
        "lock released on Ctrl-C"
    );
    // No waiting for a lease: the next run refuses over the recorded cancellation at once.
    let next = run(migrate(app, &t.uri).args(["--lock-timeout", "0s", "up"]));
    assert_eq!(
        code(&next),
        i32::from(exit_code::FAILED_RECORD),
        "{}",
        stderr(&next)
    );
    let status = run(migrate(app, &t.uri).args(["status"]));
    assert!(
        stdout(&status).contains("cancelled by SIGINT at "),
        "{}",
        stdout(&status)
    );
    assert!(stdout(&status).contains("its effects may be partial"));
}
