//! Machine-readable runs: `up`/`down --format json` as JSON Lines, and tracing spans on stderr
//! with MONGO_MIGRATE_LOG.

use crate::cli_common;

use cli_common::{code, counter_app, migrate, run, stderr, stdout};
use mongodb_migrate::cli::exit_code;
use mongodb_migrate::testing::test_database;
use serde_json::Value;

fn events(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn up_and_down_emit_one_json_event_per_line() {
    let app = counter_app();
    let t = test_database("events_json").await;
    let up = run(migrate(app, &t.uri).args(["up", "--format", "json"]));
    assert_eq!(code(&up), 0, "{}", stderr(&up));
    let lines = events(&stdout(&up));
    for e in &lines {
        assert_eq!(e["schema"], "mongodb-migrate/event/v1", "{e}");
        assert_eq!(e["database"], t.name(), "{e}");
        assert!(e["at"].is_string(), "{e}");
    }
    let kinds: Vec<&str> = lines.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "lock_acquired",
            "start",
            "finish",
            "start",
            "finish",
            "start",
            "finish",
            "summary"
        ],
        "{}",
        stdout(&up)
    );
    let summary = lines.last().expect("summary");
    assert_eq!(summary["ok"], true);
    assert_eq!(summary["exit_code"], 0);
    assert_eq!(summary["steps"].as_array().map(Vec::len), Some(3));
    assert_eq!(lines[1]["migration"], "0001_first");
    assert_eq!(lines[1]["direction"], "up");
    assert!(lines[2]["duration_ms"].is_u64());

    // A failure: the failed event, then a summary with the code and the error.
    let down = run(migrate(app, &t.uri).args(["down", "--to", "zero", "--format", "json"]));
    assert_eq!(code(&down), 0, "{}", stderr(&down));
    let fail = run(migrate(app, &t.uri)
        .args(["up", "--format", "json"])
        .env("FAIL_0003", "1"));
    assert_eq!(code(&fail), i32::from(exit_code::MIGRATION_FAILED));
    let lines = events(&stdout(&fail));
    let failed = lines
        .iter()
        .find(|e| e["event"] == "failed")
        .expect("a failed event");
    assert_eq!(failed["migration"], "0003_flaky");
    assert!(failed["error"]
        .as_str()
        .is_some_and(|e| e.contains("the source field is missing")));
    let summary = lines.last().expect("summary");
    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["ok"], false);
    assert_eq!(summary["exit_code"], exit_code::MIGRATION_FAILED);
}

#[tokio::test(flavor = "multi_thread")]
async fn tracing_spans_carry_the_run_and_each_migration() {
    let app = counter_app();
    let t = test_database("events_tracing").await;
    let up = run(migrate(app, &t.uri)
        .arg("up")
        .env("MONGO_MIGRATE_LOG", "info"));
    assert_eq!(code(&up), 0, "{}", stderr(&up));
    let err = stderr(&up);
    assert!(
        err.contains(&format!(
            "migrate.run{{database={} collection=pymongo_migrate",
            t.name()
        )),
        "{err}"
    );
    assert!(
        err.contains("migrate.migration{name=\"0001_first\" direction=\"up\"")
            || err.contains("migrate.migration{name=0001_first direction=up"),
        "{err}"
    );
    assert!(err.contains("migration ended outcome=\"done\""), "{err}");
    // Human output is unchanged.
    assert!(
        stdout(&up).contains("Applied 3 migrations"),
        "{}",
        stdout(&up)
    );
}
