//! `migrate wait` as an init container runs it: blocks while migrations are pending, returns 0
//! once they are applied, times out with its own code, and stops at once when waiting cannot
//! help.

use crate::cli_common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use cli_common::{code, counter_app, migrate, run, stderr, stdout};
use mongodb_migrate::cli::exit_code;
use mongodb_migrate::testing::test_database;

#[tokio::test(flavor = "multi_thread")]
async fn wait_blocks_until_the_job_has_applied_everything() {
    let app = counter_app();
    let t = test_database("wait_ready").await;
    let waiter = migrate(app, &t.uri)
        .args(["wait", "--timeout", "120s", "--interval", "100ms"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn wait");
    tokio::time::sleep(Duration::from_millis(500)).await;
    // The "Job": a slow up.
    let job = run(migrate(app, &t.uri).arg("up").env("SLOW_MS", "1500"));
    assert_eq!(code(&job), 0, "{}", stderr(&job));
    let job_done = Instant::now();
    let out = waiter.wait_with_output().expect("wait");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        job_done.elapsed() < Duration::from_secs(15),
        "wait returned promptly"
    );
    let text = stdout(&out);
    assert!(text.contains("Waiting for 3 pending migrations"), "{text}");
    assert!(
        text.contains("Ready: all 3 migrations of this binary are applied."),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_times_out_with_its_own_code() {
    let app = counter_app();
    let t = test_database("wait_timeout").await;
    let started = Instant::now();
    let o = run(migrate(app, &t.uri).args(["wait", "--timeout", "1s", "--interval", "200ms"]));
    assert_eq!(
        code(&o),
        i32::from(exit_code::WAIT_TIMEOUT),
        "{}",
        stderr(&o)
    );
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert!(
        stderr(&o).contains("did not reach this binary's plan within 1s"),
        "{}",
        stderr(&o)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_stops_at_once_when_waiting_cannot_help() {
    let app = counter_app();
    let t = test_database("wait_failed").await;
    let up = run(migrate(app, &t.uri).arg("up").env("FAIL_0003", "1"));
    assert_eq!(code(&up), i32::from(exit_code::MIGRATION_FAILED));
    let started = Instant::now();
    let o = run(migrate(app, &t.uri).args(["wait", "--timeout", "60s"]));
    assert_eq!(
        code(&o),
        i32::from(exit_code::FAILED_RECORD),
        "{}",
        stderr(&o)
    );
    assert!(started.elapsed() < Duration::from_secs(10), "no waiting");
    assert!(
        stderr(&o).contains("waiting will not help: a migration failed (0003_flaky)"),
        "{}",
        stderr(&o)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_a_wait_at_once() {
    let app = counter_app();
    let t = test_database("wait_sigterm").await;
    let waiter = migrate(app, &t.uri)
        .args(["wait", "--timeout", "120s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn wait");
    tokio::time::sleep(Duration::from_millis(800)).await;
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &waiter.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    let started = Instant::now();
    let out = waiter.wait_with_output().expect("wait");
    assert_eq!(
        code(&out),
        i32::from(exit_code::TERMINATED),
        "{}",
        stderr(&out)
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}
