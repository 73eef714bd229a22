//! Interoperability with pymongo-migrate 1.0.0, run for real: each tool reads the state the
//! other wrote, and neither re-runs what the other applied.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::runs;
use mongodb_migrate_core::bson::{doc, Bson, Document};
use mongodb_migrate_core::testing::{test_database, TestDatabase};
use mongodb_migrate_core::{ChecksumState, Migration, Migrator, State};

logging_migration!(up_a, down_a, "0001_a");
logging_migration!(up_b, down_b, "0002_b");
logging_migration!(up_c, down_c, "0003_c");

static LINEAR: &[Migration] = &[
    migration!("0001_a", [], up_a, down_a),
    migration!("0002_b", ["0001_a"], up_b, down_b),
    migration!("0003_c", ["0002_b"], up_c, down_c),
];

/// The pymongo-migrate executable: `$PYMONGO_MIGRATE`, `$DEV_DB_VENV/bin/pymongo-migrate`, or
/// `.dev/venv/bin/pymongo-migrate` above this crate (installed by `scripts/dev-db install`).
fn pymongo_migrate() -> PathBuf {
    if let Some(p) = std::env::var_os("PYMONGO_MIGRATE") {
        return PathBuf::from(p);
    }
    if let Some(venv) = std::env::var_os("DEV_DB_VENV") {
        return Path::new(&venv).join("bin/pymongo-migrate");
    }
    let mut dir = Some(Path::new(env!("CARGO_MANIFEST_DIR")));
    while let Some(d) = dir {
        let candidate = d.join(".dev/venv/bin/pymongo-migrate");
        if candidate.is_file() {
            return candidate;
        }
        dir = d.parent();
    }
    panic!(
        "pymongo-migrate is not installed: run `scripts/dev-db install` (or set PYMONGO_MIGRATE)"
    );
}

/// The same three migrations as pymongo-migrate modules; they log runs with `by: python`.
fn python_migrations() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, deps) in [
        ("0001_a", "[]"),
        ("0002_b", "['0001_a']"),
        ("0003_c", "['0002_b']"),
    ] {
        let source = format!(
            "name = {name:?}\ndependencies = {deps}\n\n\
             def upgrade(db):\n    db.runs.insert_one({{'name': {name:?}, 'direction': 'up', 'by': 'python'}})\n\n\
             def downgrade(db):\n    db.runs.insert_one({{'name': {name:?}, 'direction': 'down', 'by': 'python'}})\n"
        );
        std::fs::write(dir.path().join(format!("{name}.py")), source).expect("write");
    }
    dir
}

fn py(t: &TestDatabase, dir: &Path, args: &[&str]) -> String {
    let out = Command::new(pymongo_migrate())
        .args(args)
        .args(["-u", &t.uri, "-d", t.name(), "-m"])
        .arg(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run pymongo-migrate");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "pymongo-migrate {args:?} failed:\n{text}"
    );
    text
}

fn shown_applied(show: &str, name: &str) -> bool {
    let line = show
        .lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("{name} not in:\n{show}"));
    !line.contains("Not applied")
}

#[tokio::test(flavor = "multi_thread")]
async fn pymongo_migrate_reads_and_continues_what_we_applied() {
    let t = test_database("interop_ours_first").await;
    let dir = python_migrations();
    let m = Migrator::new(t.db.clone(), LINEAR);
    m.up_with(&mongodb_migrate_core::UpOptions {
        to: Some("0002_b".into()),
        ..Default::default()
    })
    .await
    .expect("up --to b");

    let show = py(&t, dir.path(), &["show"]);
    assert!(
        shown_applied(&show, "0001_a") && shown_applied(&show, "0002_b"),
        "{show}"
    );
    assert!(!shown_applied(&show, "0003_c"), "{show}");

    // pymongo-migrate applies only what we have not: c.
    py(&t, dir.path(), &["migrate"]);
    assert_eq!(runs(&t.db).await, ["0001_a:up", "0002_b:up", "0003_c:up"]);

    // Its replace_one kept the shared shape; we read its write as applied, without checksum.
    let status = m.status().await.expect("status");
    assert!(status.migrations.iter().all(|s| s.state == State::Applied));
    assert_eq!(
        status.migrations[2].checksum_state,
        ChecksumState::NotRecorded
    );
    assert_eq!(status.migrations[0].checksum_state, ChecksumState::Matches);
    assert!(m.up().await.expect("nothing to do").steps.is_empty());

    // pymongo-migrate downgrades to a: applied becomes null, documents stay.
    py(&t, dir.path(), &["downgrade", "0001_a"]);
    let status = m.status().await.expect("status");
    let states: Vec<State> = status.migrations.iter().map(|s| s.state).collect();
    let show = py(&t, dir.path(), &["show"]);
    for (s, name) in status.migrations.iter().zip(["0001_a", "0002_b", "0003_c"]) {
        assert_eq!(
            s.state == State::Applied,
            shown_applied(&show, name),
            "{name}: {states:?}\n{show}"
        );
    }
    let state_docs: Vec<Document> = common::docs(&t.db, "pymongo_migrate").await;
    assert_eq!(state_docs.len(), 3, "{state_docs:?}");
    assert!(state_docs
        .iter()
        .any(|d| d.get("applied") == Some(&Bson::Null)));

    // We re-apply exactly what pymongo-migrate reverted.
    let reverted: Vec<&str> = status.in_state(State::Pending).map(|s| s.name).collect();
    let report = m.up().await.expect("up");
    let applied: Vec<&str> = report.steps.iter().map(|s| s.name).collect();
    assert_eq!(applied, reverted);
    let show = py(&t, dir.path(), &["show"]);
    assert!(
        ["0001_a", "0002_b", "0003_c"]
            .iter()
            .all(|n| shown_applied(&show, n)),
        "{show}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn we_read_and_continue_what_pymongo_migrate_applied() {
    let t = test_database("interop_theirs_first").await;
    let dir = python_migrations();
    py(&t, dir.path(), &["upgrade", "0002_b"]);
    let python_runs = runs(&t.db).await;
    assert_eq!(python_runs, ["0001_a:up", "0002_b:up"]);

    let m = Migrator::new(t.db.clone(), LINEAR);
    let status = m.status().await.expect("status");
    let states: Vec<State> = status.migrations.iter().map(|s| s.state).collect();
    assert_eq!(states, [State::Applied, State::Applied, State::Pending]);
    assert!(status.unknown.is_empty());
    let report = m.up().await.expect("up");
    assert_eq!(
        report.steps.iter().map(|s| s.name).collect::<Vec<_>>(),
        ["0003_c"]
    );

    // Our down writes applied: null and keeps the document, as pymongo-migrate expects.
    m.down().await.expect("down");
    let c =
        t.db.collection::<Document>("pymongo_migrate")
            .find_one(doc! { "name": "0003_c" })
            .await
            .expect("read")
            .expect("kept");
    assert_eq!(c.get("applied"), Some(&Bson::Null));
    let show = py(&t, dir.path(), &["show"]);
    assert!(
        shown_applied(&show, "0002_b") && !shown_applied(&show, "0003_c"),
        "{show}"
    );
    py(&t, dir.path(), &["migrate"]);
    assert_eq!(
        runs(&t.db).await.last().map(String::as_str),
        Some("0003_c:up")
    );
}
