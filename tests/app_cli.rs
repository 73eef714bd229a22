//! Field Notes' own `migrate` binary against a real database: the full up → status → down
//! cycle on its real migrations, and the ADMIN_EMAIL failure path with its way forward.
use assert_cmd::Command;
use mongodb_migrate::prelude::*;
use mongodb_migrate::testing::test_database;

fn migrate(uri: &str) -> Command {
    let mut cmd = Command::cargo_bin("migrate").unwrap();
    cmd.env("MONGO_URI", uri)
        .env("NO_COLOR", "1")
        .env_remove("ADMIN_EMAIL")
        .env_remove("MONGO_DATABASE")
        .env_remove("MONGO_MIGRATE_COLLECTION")
        // Never pick up a developer's .env.
        .current_dir(std::env::temp_dir());
    cmd
}

use crate::cli_common;
use cli_common::{stderr, stdout};

#[tokio::test]
async fn a_missing_admin_email_fails_0001_writes_nothing_and_retry_fixes_it() {
    let t = test_database("app_admin_email").await;
    let out = migrate(&t.uri).arg("up").output().unwrap();
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("0001_create_admin_user"), "{all}");
    assert!(
        all.contains("ADMIN_EMAIL environment variable is required"),
        "{all}"
    );

    // Nothing written by the migration; the failure recorded; applied stays null.
    let users = t.db.collection::<Document>("users");
    assert_eq!(users.count_documents(doc! {}).await.unwrap(), 0);
    let state = t.db.collection::<Document>("pymongo_migrate");
    let record = state
        .find_one(doc! { "name": "0001_create_admin_user" })
        .await
        .unwrap();
    if let Some(record) = record {
        assert_eq!(record.get("applied"), Some(&Bson::Null), "{record}");
    }
    let details = t.db.collection::<Document>("pymongo_migrate_details");
    let failed = details
        .find_one(doc! { "_id": "0001_create_admin_user" })
        .await
        .unwrap()
        .expect("a failure record");
    assert!(failed.get_datetime("failed_at").is_ok(), "{failed}");
    assert!(failed
        .get_str("error")
        .unwrap()
        .contains("ADMIN_EMAIL environment variable is required"));

    // status shows it distinctly; up refuses with the way forward.
    let status = migrate(&t.uri).arg("status").output().unwrap();
    let status = stdout(&status);
    assert!(status.contains("✗ 0001_create_admin_user"), "{status}");
    let refused = migrate(&t.uri)
        .arg("up")
        .env("ADMIN_EMAIL", "a@b.test")
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(5), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("--retry"), "{}", stderr(&refused));

    // The fix here is configuration, not code: retry runs it.
    let retry = migrate(&t.uri)
        .args(["up", "--retry"])
        .env("ADMIN_EMAIL", " Ops@Example.TEST ")
        .output()
        .unwrap();
    assert!(
        retry.status.success(),
        "{}\n{}",
        stdout(&retry),
        stderr(&retry)
    );
    let admin = users.find_one(doc! {}).await.unwrap().expect("the admin");
    assert_eq!(admin.get_str("email").unwrap(), "ops@example.test");
    let applied = state
        .count_documents(doc! { "applied": { "$type": "date" } })
        .await
        .unwrap();
    assert_eq!(applied as usize, field_notes::MIGRATIONS.len());
}

#[tokio::test]
async fn up_status_down_status_on_the_real_plan() {
    let t = test_database("app_cycle").await;
    t.db.collection::<Document>("pages")
        .insert_one(doc! { "slug": "about" })
        .await
        .unwrap();
    let up = migrate(&t.uri)
        .arg("up")
        .env("ADMIN_EMAIL", "admin@field-notes.test")
        .output()
        .unwrap();
    assert!(up.status.success(), "{}", stderr(&up));
    let status = stdout(&migrate(&t.uri).arg("status").output().unwrap());
    for m in field_notes::MIGRATIONS {
        assert!(status.contains(&format!("✓ {}", m.name)), "{status}");
    }
    assert!(status.contains("Pending migrations:\n  (none)"), "{status}");

    let down = migrate(&t.uri).arg("down").output().unwrap();
    assert!(down.status.success(), "{}", stderr(&down));
    let status = stdout(&migrate(&t.uri).arg("status").output().unwrap());
    assert!(
        status.contains("Pending migrations:\n  0004_backfill_section_id"),
        "{status}"
    );
    let page =
        t.db.collection::<Document>("pages")
            .find_one(doc! {})
            .await
            .unwrap()
            .unwrap();
    assert!(!page.contains_key("section_id"), "{page}");
    assert!(
        page.contains_key("user_id"),
        "0002 is still applied: {page}"
    );
    // pymongo-migrate's shape: the downgrade keeps the document with applied: null.
    let record =
        t.db.collection::<Document>("pymongo_migrate")
            .find_one(doc! { "name": "0004_backfill_section_id" })
            .await
            .unwrap()
            .unwrap();
    assert_eq!(record.get("applied"), Some(&Bson::Null));
    let mut keys: Vec<&str> = record.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["_id", "applied", "name"]);
}

#[test]
fn a_broken_dotenv_is_a_located_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "# settings\nMONGO_URI=mongodb://127.0.0.1:1/x\nPASSWORD IS s3cret-value\n",
    )
    .unwrap();
    let out = Command::cargo_bin("migrate")
        .unwrap()
        .env_remove("MONGO_URI")
        .current_dir(dir.path())
        .arg("status")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let stderr = stderr(&out);
    assert!(stderr.contains(".env:3:"), "{stderr}");
    // The line may hold a secret: it is located, never quoted.
    assert!(!stderr.contains("s3cret-value"), "{stderr}");
}

#[test]
fn only_the_working_directorys_dotenv_is_read() {
    let parent = tempfile::tempdir().unwrap();
    std::fs::write(
        parent.path().join(".env"),
        "MONGO_URI=mongodb://elsewhere:1/x\nMONGO_MIGRATE_COLLECTION=hijacked\n",
    )
    .unwrap();
    let child = parent.path().join("app");
    std::fs::create_dir(&child).unwrap();
    let configured = |dir: &std::path::Path| {
        Command::cargo_bin("migrate")
            .unwrap()
            .env_remove("MONGO_URI")
            .env_remove("MONGO_MIGRATE_COLLECTION")
            .current_dir(dir)
            .args(["configured", "MONGO_URI"])
            .output()
            .unwrap()
    };
    // A stray .env in a parent directory is never read.
    assert_eq!(configured(&child).status.code(), Some(1));
    assert_eq!(configured(parent.path()).status.code(), Some(0));
    let out = Command::cargo_bin("migrate")
        .unwrap()
        .env_remove("MONGO_URI")
        .current_dir(&child)
        .arg("status")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no MongoDB URI"), "{}", stderr(&out));
}

#[test]
fn a_dollar_that_dotenvy_would_substitute_is_refused_located() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "# a password with a dollar\nMONGO_URI=mongodb://ann:pa$word@h/x\n",
    )
    .unwrap();
    let out = Command::cargo_bin("migrate")
        .unwrap()
        .env_remove("MONGO_URI")
        .current_dir(dir.path())
        .arg("status")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(".env:2:27: `$` in this value would be replaced"),
        "{err}"
    );
    assert!(!err.contains("pa$word") && !err.contains("word@h"), "{err}");
    // Single-quoted, the value is taken as written.
    std::fs::write(
        dir.path().join(".env"),
        "MONGO_URI='mongodb://ann:pa$word@127.0.0.1:1/x'\n",
    )
    .unwrap();
    let out = Command::cargo_bin("migrate")
        .unwrap()
        .env_remove("MONGO_URI")
        .current_dir(dir.path())
        .args(["--server-timeout", "300ms", "status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(!stderr(&out).contains("pa$word"), "{}", stderr(&out));
}
