//! Two binaries built from two plans against one database: an older binary meets migrations a
//! newer one applied (a rolling deploy, or a rollback of the app).

use crate::cli_common;

use std::sync::OnceLock;

use cli_common::{code, counter_app, counter_source, migrate, run, stderr, stdout};
use mongodb_migrate::bson::{doc, DateTime, Document};
use mongodb_migrate::cli::exit_code;
use mongodb_migrate::testing::test_database;
use mongodb_migrate_test_support::{FixtureBuild, FixtureCrate};

/// The counter app with one more migration, `0004_newer` ← `0003_flaky`.
fn newer_app() -> &'static FixtureBuild {
    static BUILD: OnceLock<FixtureBuild> = OnceLock::new();
    BUILD.get_or_init(|| {
        let build = FixtureCrate::new("counter_newer")
            .copy_dir(counter_source())
            .file(
                "migrations/0004_newer.rs",
                r#"//! A newer binary's migration.
use mongodb_migrate::prelude::*;

use super::common::counter;

pub const NAME: &str = "0004_newer";
pub const DEPENDENCIES: &[&str] = &["0003_flaky"];

pub async fn upgrade(db: &Database) -> Result<()> {
    counter::count(db, NAME, "up").await
}

pub async fn downgrade(db: &Database) -> Result<()> {
    counter::count(db, NAME, "down").await
}
"#,
            )
            .build();
        assert!(build.success, "the newer app must build:\n{}", build.stderr);
        build
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn an_older_binary_runs_beside_a_newer_ones_migrations_and_keeps_what_they_need() {
    let old = counter_app();
    let new = newer_app();
    let t = test_database("skew_future").await;
    let up = run(migrate(new, &t.uri).arg("up"));
    assert_eq!(code(&up), 0, "{}", stderr(&up));

    // up: succeeds with a note, so app pods calling `up` at start-up don't crash-loop.
    let up = run(migrate(old, &t.uri).arg("up"));
    assert_eq!(code(&up), 0, "{}", stderr(&up));
    assert!(
        stdout(&up)
            .contains("the database is ahead of this binary: 1 newer migration (0004_newer)"),
        "{}",
        stdout(&up)
    );
    // status: listed as newer than this binary, not as unknown.
    let status = stdout(&run(migrate(old, &t.uri).arg("status")));
    assert!(status.contains("Newer than this binary"), "{status}");
    assert!(!status.contains("Unknown migrations"), "{status}");
    // check: its own exit code.
    let check = run(migrate(old, &t.uri).arg("check"));
    assert_eq!(
        code(&check),
        i32::from(exit_code::AHEAD),
        "{}",
        stdout(&check)
    );
    let json = run(migrate(old, &t.uri).args(["check", "--format", "json"]));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(v["ahead"][0], "0004_newer");
    assert_eq!(v["exit_code"], exit_code::AHEAD);
    // down: no --allow-unknown needed, but never reverts what the newer migration needs.
    let down = run(migrate(old, &t.uri).arg("down"));
    assert_eq!(
        code(&down),
        i32::from(exit_code::HAS_DEPENDENTS),
        "{}",
        stderr(&down)
    );
    assert!(
        stderr(&down).contains("cannot roll back 0003_flaky")
            && stderr(&down).contains("0004_newer"),
        "{}",
        stderr(&down)
    );
    let down = run(migrate(old, &t.uri).args(["down", "--to", "0001_first", "--allow-unknown"]));
    assert_eq!(
        code(&down),
        i32::from(exit_code::HAS_DEPENDENTS),
        "{}",
        stderr(&down)
    );
    // The newer binary, meanwhile, sees a clean database.
    let check = run(migrate(new, &t.uri).arg("check"));
    assert_eq!(code(&check), 0, "{}", stdout(&check));
    // Once the newer binary rolled its migration back, the older one may go down.
    let back = run(migrate(new, &t.uri).arg("down"));
    assert_eq!(code(&back), 0, "{}", stderr(&back));
    let down = run(migrate(old, &t.uri).arg("down"));
    assert_eq!(code(&down), 0, "{}", stderr(&down));
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_migrations_that_do_not_extend_the_plan_are_refused_as_before() {
    let old = counter_app();
    let t = test_database("skew_conflict").await;
    let up = run(migrate(old, &t.uri).arg("up"));
    assert_eq!(code(&up), 0, "{}", stderr(&up));
    let state = t.db.collection::<Document>("pymongo_migrate");
    let details = t.db.collection::<Document>("pymongo_migrate_details");
    // Applied by pymongo-migrate (no stored dependencies): conservatively a conflict.
    state
        .insert_one(doc! { "name": "0004_from_python", "applied": DateTime::now() })
        .await
        .expect("insert");
    let o = run(migrate(old, &t.uri).arg("up"));
    assert_eq!(code(&o), i32::from(exit_code::UNKNOWN), "{}", stderr(&o));
    state
        .delete_one(doc! { "name": "0004_from_python" })
        .await
        .expect("delete");
    // Built on a migration this binary does not have: a conflict too.
    state
        .insert_one(doc! { "name": "0005_other_branch", "applied": DateTime::now() })
        .await
        .expect("insert");
    details
        .insert_one(doc! {
            "_id": "0005_other_branch", "checksum": "x", "tool": "mongo-migrate 0.1.0",
            "dependencies": ["0004_not_here"],
        })
        .await
        .expect("insert details");
    let o = run(migrate(old, &t.uri).arg("up"));
    assert_eq!(code(&o), i32::from(exit_code::UNKNOWN), "{}", stderr(&o));
    let check = run(migrate(old, &t.uri).arg("check"));
    assert_eq!(code(&check), i32::from(exit_code::UNKNOWN));
    // With --allow-unknown, down still keeps what the unknown migration's stored
    // dependencies name (none of ours here), so it may roll back.
    let down = run(migrate(old, &t.uri).args(["down", "--allow-unknown"]));
    assert_eq!(code(&down), 0, "{}", stderr(&down));
}
