//! `migrate rehearse` end to end, on real servers: Field Notes' plan rehearsed exactly with the
//! source untouched; a downgrade that loses a field (exit 15); a migration failing on one
//! document of the copy (exit 1, its `_id`); a sampled run; a scratch database on a second
//! server; a source the rehearsal's user may only read; SIGTERM and SIGKILL mid-rehearsal and
//! `--cleanup`; and the refusals that keep a rehearsal from copying at all.
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use mongodb_migrate::bson::{doc, Bson, Document};
use mongodb_migrate::mongodb::{Client, Database};
use mongodb_migrate::testing::{test_database, DbSnapshot, TestDatabase};
use mongodb_migrate_test_support::{FixtureBuild, FixtureCrate};
use serde_json::Value;

use crate::{cli_common, support};
use cli_common::{code, counter_app, stderr, stdout, OwnServer};

const ADMIN: &str = "admin@field-notes.test";

/// Field Notes' own `migrate`, against `uri`, in an empty directory (no `.env`).
fn field_notes(uri: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_migrate"));
    cmd.env("MONGO_URI", uri)
        .env("ADMIN_EMAIL", ADMIN)
        .env("NO_COLOR", "1")
        .env_remove("MONGO_DATABASE")
        .env_remove("MONGO_MIGRATE_COLLECTION")
        .env_remove("MONGO_MIGRATE_SCRATCH_URI")
        .current_dir(std::env::temp_dir());
    cmd
}

/// The fixture app of `tests/fixtures/apps/rehearse`: 0001_move_contact (its downgrade forgets
/// `fax`), 0002_rescale_scores (fails under the app's validator on a score below 10).
fn rehearse_app() -> &'static FixtureBuild {
    static BUILD: OnceLock<FixtureBuild> = OnceLock::new();
    BUILD.get_or_init(|| {
        let source =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/apps/rehearse");
        let build = FixtureCrate::new("rehearse").copy_dir(source).build();
        assert!(
            build.success,
            "the rehearse fixture must build:\n{}",
            build.stderr
        );
        build
    })
}

fn fixture(app: &FixtureBuild, uri: &str) -> Command {
    let mut cmd = cli_common::migrate(app, uri);
    cmd.env_remove("MONGO_MIGRATE_SCRATCH_URI");
    cmd
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", stdout(out), stderr(out)))
}

fn both(out: &Output) -> String {
    format!("{}\n{}", stdout(out), stderr(out))
}

/// A scratch database name of the test's own (so parallel tests never share one).
fn scratch_of(t: &TestDatabase) -> String {
    format!("{}_scratch", t.name())
}

async fn databases(client: &Client) -> Vec<String> {
    client.list_database_names().await.expect("list databases")
}

/// Everything of the source, its state and lock collections included.
async fn everything(db: &Database) -> DbSnapshot {
    DbSnapshot::take(db, &[]).await.expect("snapshot")
}

/// Some hundred stories, pages and users beside `support::seed`'s.
async fn more_content(db: &Database, stories: i32) {
    let docs: Vec<Document> = (0..stories)
        .map(|i| doc! { "_id": mongodb_migrate::bson::oid::ObjectId::new(), "title": format!("Story {i}"), "body": "x".repeat(100) })
        .collect();
    db.collection::<Document>("stories")
        .insert_many(docs)
        .await
        .unwrap();
    db.collection::<Document>("stories")
        .create_index(
            mongodb_migrate::mongodb::IndexModel::builder()
                .keys(doc! { "title": 1 })
                .build(),
        )
        .await
        .unwrap();
}

fn check<'a>(m: &'a Value, name: &str) -> &'a Value {
    &m[name]
}

#[tokio::test]
async fn field_notes_rehearses_exactly_and_leaves_the_source_as_it_was() {
    let t = test_database("rehearse_exact").await;
    support::seed(&t.db).await;
    more_content(&t.db, 200).await;
    let up = field_notes(&t.uri)
        .args(["up", "--to", "0001_create_admin_user"])
        .output()
        .unwrap();
    assert_eq!(code(&up), 0, "{}", both(&up));
    let before = everything(&t.db).await;
    let scratch = scratch_of(&t);

    let out = field_notes(&t.uri)
        .args(["rehearse", "--format", "json", "--scratch-db", &scratch])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", both(&out));
    let report = json(&out);
    assert_eq!(report["schema"], "mongodb-migrate/rehearse/v1");
    assert_eq!(report["verdict"], "exact");
    assert_eq!(report["scope"], "pending");
    assert_eq!(report["source"]["state_copied"], true);
    // What the build's analyzer saw 0002–0004 name (0002 reaches stories and pages through a
    // loop over a constant array, which it cannot follow; 0004 names them).
    assert_eq!(
        report["source"]["suggested"],
        serde_json::json!(["pages", "sections", "stories", "users"])
    );
    assert_eq!(
        report["source"]["collections"],
        serde_json::json!(["pages", "sections", "stories", "users"])
    );
    let names: Vec<&str> = report["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "0002_add_user_id_to_content",
            "0003_seed_initial_sections",
            "0004_backfill_section_id"
        ]
    );
    for m in report["migrations"].as_array().unwrap() {
        for c in ["idempotent", "downgrade_exact", "up_again_equal"] {
            assert_eq!(
                check(m, c)["equal"],
                true,
                "{}: {c}: {}",
                m["name"],
                check(m, c)
            );
        }
        assert!(m["failure"].is_null());
    }
    let m0002 = &report["migrations"][0];
    // 202 stories without an author (2 seeded, 200 more) and 4 of the 5 pages.
    assert_eq!(m0002["up"]["documents_written"], 206, "{m0002}");
    assert_eq!(m0002["rerun"]["documents_written"], 0, "{m0002}");
    assert_eq!(m0002["down"]["documents_written"], 206, "{m0002}");
    let m0003 = &report["migrations"][1];
    assert_eq!(
        m0003["up"]["index_builds"][0]["indexes"][0],
        "slug_unique__0003_seed_initial_sections"
    );
    // On seeded data the Blog section exists, so 0003 creates 3 sections, and again with new ids.
    assert_eq!(m0003["up_again_equal"]["recreated"], 3, "{m0003}");
    let copied: Vec<&str> = report["copy"]["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        copied,
        [
            "pages",
            "sections",
            "stories",
            "users",
            "pymongo_migrate",
            "pymongo_migrate_details"
        ]
    );
    assert_eq!(report["copy"]["documents"], 214, "{}", report["copy"]);
    assert_eq!(report["scratch"]["dropped"], true);

    assert!(
        !databases(&t.client).await.contains(&scratch),
        "the scratch database is dropped"
    );
    assert_eq!(
        before,
        everything(&t.db).await,
        "the source, its state and its lock are untouched"
    );
}

#[tokio::test]
async fn a_downgrade_that_loses_a_field_is_reported_by_id_and_path_with_exit_15() {
    let app = rehearse_app();
    let t = test_database("rehearse_lossy").await;
    t.db.collection::<Document>("people")
        .insert_many([
            doc! { "_id": "p1", "name": "Ann", "email": "ann@x.test", "phone": "1", "score": 50 },
            doc! { "_id": "p2", "name": "Bob", "email": "bob@x.test", "fax": "555-0100", "score": 40 },
        ])
        .await
        .unwrap();
    let out = fixture(app, &t.uri).arg("rehearse").output().unwrap();
    let text = stdout(&out);
    assert_eq!(code(&out), 15, "{}", both(&out));
    assert!(
        text.contains(
            "0001_move_contact: its downgrade did not restore the data before the upgrade:"
        ),
        "{text}"
    );
    assert!(text.contains("1 document changed"), "{text}");
    assert!(text.contains("- people: document _id \"p2\""), "{text}");
    assert!(text.contains("fax: before string, after absent"), "{text}");
    assert!(
        !text.contains("555-0100"),
        "values are hidden without --show-values:\n{text}"
    );
    assert!(
        text.contains("A round trip is not exact (exit 15)"),
        "{text}"
    );

    let out = fixture(app, &t.uri)
        .args(["rehearse", "--format", "json", "--show-values"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 15, "{}", both(&out));
    let report = json(&out);
    assert_eq!(report["verdict"], "not_exact");
    let down = &report["migrations"][0]["downgrade_exact"];
    assert_eq!(down["equal"], false);
    assert_eq!(down["changed"], 1);
    assert_eq!(
        down["examples"][0],
        serde_json::json!({ "collection": "people", "kind": "changed", "id": "\"p2\"", "index": null,
            "fields": [{ "path": "fax", "before": "\"555-0100\"", "after": "absent" }] })
    );
    // The rehearsal goes on past an inexact migration: 0002 is rehearsed too, and exact.
    let m0002 = &report["migrations"][1];
    assert_eq!(m0002["name"], "0002_rescale_scores");
    assert_eq!(m0002["downgrade_exact"]["equal"], true, "{m0002}");
    assert!(databases(&t.client)
        .await
        .iter()
        .all(|d| !d.starts_with(&format!("{}_rehearsal_", t.name()))));
}

#[tokio::test]
async fn a_migration_failing_on_one_document_of_the_copy_names_its_id() {
    let app = rehearse_app();
    let t = test_database("rehearse_fails").await;
    t.db.run_command(doc! {
        "create": "people",
        "validator": { "$jsonSchema": { "properties": { "score": { "bsonType": "int", "minimum": 0 } } } },
    })
    .await
    .unwrap();
    t.db.collection::<Document>("people")
        .insert_many([
            doc! { "_id": "p1", "name": "Ann", "email": "ann@x.test", "score": 50 },
            doc! { "_id": "p3", "name": "Cy", "email": "cy@x.test", "score": 5 },
        ])
        .await
        .unwrap();
    let out = fixture(app, &t.uri)
        .args(["rehearse", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", both(&out));
    let report = json(&out);
    assert_eq!(report["verdict"], "failed");
    let copy = &report["copy"]["collections"][0];
    assert_eq!(
        (copy["name"].as_str(), copy["validator"].as_bool()),
        (Some("people"), Some(true))
    );
    assert_eq!(report["migrations"][0]["downgrade_exact"]["equal"], true);
    let failed = &report["migrations"][1];
    assert_eq!(failed["name"], "0002_rescale_scores");
    assert_eq!(failed["failure"]["phase"], "up");
    assert_eq!(failed["failure"]["document"]["code"], 121);
    assert_eq!(failed["failure"]["document"]["id"], "\"p3\"");
    assert!(
        failed["failure"]["error"]
            .as_str()
            .unwrap()
            .contains("rescaling the scores"),
        "{failed}"
    );

    let out = fixture(app, &t.uri).arg("rehearse").output().unwrap();
    assert_eq!(code(&out), 1, "{}", both(&out));
    assert!(
        stdout(&out).contains("the failing document: _id \"p3\""),
        "{}",
        stdout(&out)
    );
    // The failure is the copy's: the source records nothing.
    let names = t.db.list_collection_names().await.unwrap();
    assert_eq!(names, ["people"], "the source gained no state collection");
}

#[tokio::test]
async fn a_sampled_rehearsal_copies_the_same_documents_every_time_and_projects_durations() {
    let t = test_database("rehearse_sample").await;
    support::seed(&t.db).await;
    more_content(&t.db, 400).await;
    let scratch = scratch_of(&t);
    let stories = t
        .client
        .database(&scratch)
        .collection::<Document>("stories");
    let ids = || async {
        let mut ids: Vec<String> = Vec::new();
        let mut cursor = stories.find(doc! {}).sort(doc! { "_id": 1 }).await.unwrap();
        use futures::TryStreamExt;
        while let Some(d) = cursor.try_next().await.unwrap() {
            ids.push(d.get("_id").unwrap().to_string());
        }
        ids
    };
    let rehearse = |sample: &str| {
        field_notes(&t.uri)
            .args([
                "rehearse",
                "--format",
                "json",
                "--keep",
                "--sample",
                sample,
                "--scratch-db",
                &scratch,
            ])
            .output()
            .unwrap()
    };

    let first = rehearse("25%");
    assert_eq!(code(&first), 0, "{}", both(&first));
    let report = json(&first);
    assert_eq!(
        report["sample"],
        serde_json::json!({ "kind": "percent", "value": 25.0 })
    );
    assert_eq!(report["scratch"]["kept"], true);
    let copied = &report["copy"]["collections"];
    let stories_copy = copied
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "stories")
        .unwrap();
    assert_eq!(stories_copy["source_documents"], 404);
    let n = stories_copy["documents"].as_u64().unwrap();
    assert!(
        (60..=145).contains(&n),
        "about a quarter of 404 stories: {n}"
    );
    let up = &report["migrations"][1]["up"];
    let (ms, projected) = (
        up["duration_ms"].as_u64().unwrap(),
        up["projected_ms"].as_u64().unwrap(),
    );
    assert!(projected >= ms, "{up}");
    let kept = ids().await;
    assert_eq!(kept.len() as u64, n);

    // The same documents again: the earlier (kept, now stale) scratch database is replaced.
    let again = rehearse("25%");
    assert_eq!(code(&again), 0, "{}", both(&again));
    assert_eq!(ids().await, kept);

    // The first 20 by _id.
    let first_n = rehearse("20");
    assert_eq!(code(&first_n), 0, "{}", both(&first_n));
    let mut all: Vec<String> = Vec::new();
    let mut cursor =
        t.db.collection::<Document>("stories")
            .find(doc! {})
            .sort(doc! { "_id": 1 })
            .limit(20)
            .await
            .unwrap();
    use futures::TryStreamExt;
    while let Some(d) = cursor.try_next().await.unwrap() {
        all.push(d.get("_id").unwrap().to_string());
    }
    assert_eq!(ids().await, all);

    let cleanup = field_notes(&t.uri)
        .args(["rehearse", "--cleanup", "--scratch-db", &scratch])
        .output()
        .unwrap();
    assert_eq!(code(&cleanup), 0, "{}", both(&cleanup));
    assert!(
        stdout(&cleanup).contains(&format!("dropped {scratch}")),
        "{}",
        stdout(&cleanup)
    );
    assert!(!databases(&t.client).await.contains(&scratch));
}

/// One server of the test's own, with users: the source of a read-only rehearsal, and the
/// `--scratch-uri` of a rehearsal of the shared server's database.
#[tokio::test]
async fn a_read_only_source_and_a_scratch_database_on_another_server() {
    // The rehearsal's user: read on the source; readWrite (copy, run) and dbAdmin (collMod to
    // set validators, dropDatabase) on the scratch database, and nothing else. (A user is made
    // in the database of its first role: its authSource.)
    let server = OwnServer::start_with(
        "rehearse-auth",
        &[
            "--auth",
            "--user",
            "root:root-pw:root@admin",
            "--user",
            "rehearser:rehearser-pw:read@src,readWrite@src_scratch,dbAdmin@src_scratch",
            "--user",
            "reader:reader-pw:read@src",
        ],
    );
    let host = server.uri().trim_start_matches("mongodb://").to_owned();
    let root_uri = format!("mongodb://root:root-pw@{host}/?authSource=admin&directConnection=true");
    let root = Client::with_uri_str(&root_uri).await.unwrap();
    support::seed(&root.database("src")).await;
    root.database("src")
        .run_command(doc! { "collMod": "stories", "validator": { "title": { "$type": "string" } } })
        .await
        .unwrap();
    let before = everything(&root.database("src")).await;

    // A user that may only read the source cannot make a scratch database: refused, with the
    // roles to grant, before anything is written.
    let out = field_notes(&format!(
        "mongodb://reader:reader-pw@{host}/src?authSource=src&directConnection=true"
    ))
    .args(["rehearse", "--scratch-db", "src_scratch"])
    .output()
    .unwrap();
    assert_eq!(code(&out), 2, "{}", both(&out));
    assert!(stderr(&out).contains("needs `read` on the source database, and `readWrite` and `dbAdmin` on the scratch database"), "{}", stderr(&out));

    let reader_uri =
        format!("mongodb://rehearser:rehearser-pw@{host}/src?authSource=src&directConnection=true");
    let reader = Client::with_uri_str(&reader_uri).await.unwrap();
    let refused = reader
        .database("src")
        .collection::<Document>("stories")
        .insert_one(doc! { "x": 1 })
        .await;
    assert!(
        refused.is_err(),
        "the rehearsal's user cannot write the source"
    );
    let out = field_notes(&reader_uri)
        .args([
            "rehearse",
            "--format",
            "json",
            "--scratch-db",
            "src_scratch",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", both(&out));
    let report = json(&out);
    assert_eq!(report["verdict"], "exact", "{report}");
    assert_eq!(report["migrations"].as_array().unwrap().len(), 4);
    let stories = report["copy"]["collections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "stories")
        .unwrap()
        .clone();
    assert_eq!(stories["validator"], true);
    assert!(!both(&out).contains("rehearser-pw"));
    assert_eq!(
        before,
        everything(&root.database("src")).await,
        "the source is as it was"
    );
    assert!(!databases(&root).await.contains(&"src_scratch".to_owned()));

    // The shared server's database rehearsed on this one.
    let t = test_database("rehearse_scratch_uri").await;
    support::seed(&t.db).await;
    let out = field_notes(&t.uri)
        .args([
            "rehearse",
            "--format",
            "json",
            "--keep",
            "--scratch-db",
            "far_scratch",
            "--scratch-uri",
            &root_uri,
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", both(&out));
    let report = json(&out);
    assert_eq!(report["verdict"], "exact", "{report}");
    assert_eq!(report["scratch"]["same_deployment"], false);
    assert!(
        !both(&out).contains("root-pw"),
        "the scratch URI's password never shows:\n{}",
        both(&out)
    );
    assert!(databases(&root).await.contains(&"far_scratch".to_owned()));
    assert!(!databases(&t.client)
        .await
        .contains(&"far_scratch".to_owned()));

    // --cleanup lists and drops what rehearsals left, and only that.
    root.database("not_a_scratch")
        .collection::<Document>("things")
        .insert_one(doc! { "_id": 1 })
        .await
        .unwrap();
    let out = field_notes(&root_uri)
        .args(["rehearse", "--cleanup", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", both(&out));
    let cleaned = json(&out);
    assert_eq!(cleaned["schema"], "mongodb-migrate/rehearse-cleanup/v1");
    let listed: Vec<(&str, bool)> = cleaned["databases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["scratch"]["name"].as_str().unwrap(),
                d["dropped"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(listed, [("far_scratch", true)]);
    let left = databases(&root).await;
    assert!(!left.contains(&"far_scratch".to_owned()), "{left:?}");
    assert!(
        left.contains(&"not_a_scratch".to_owned()) && left.contains(&"src".to_owned()),
        "{left:?}"
    );
}

/// Spawns the counter app's rehearsal with 0002_slow taking `slow_ms`, and returns it once
/// 0002_slow runs on the copy.
fn rehearse_until_slow(t: &TestDatabase, scratch: &str) -> std::process::Child {
    let mut child = cli_common::migrate(counter_app(), &t.uri)
        .args(["rehearse", "--scratch-db", scratch])
        .env("SLOW_MS", "60000")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    loop {
        let line = lines
            .next()
            .expect("the rehearsal reaches 0002_slow")
            .unwrap();
        if line.contains("[2/3] 0002_slow") {
            break;
        }
    }
    // Keep draining stdout, so the rehearsal never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    child
}

fn signal(child: &std::process::Child, name: &str) {
    let sent = Command::new("kill")
        .args([name, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

#[tokio::test]
async fn sigterm_stops_the_rehearsal_and_drops_its_scratch_database() {
    let t = test_database("rehearse_sigterm").await;
    let scratch = scratch_of(&t);
    let mut child = rehearse_until_slow(&t, &scratch);
    assert!(databases(&t.client).await.contains(&scratch));
    signal(&child, "-TERM");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143));
    assert!(
        !databases(&t.client).await.contains(&scratch),
        "dropped on SIGTERM"
    );
    assert!(
        t.db.list_collection_names().await.unwrap().is_empty(),
        "the source stays empty"
    );
}

#[tokio::test]
async fn a_rehearsal_killed_with_sigkill_leaves_a_marked_database_that_cleanup_drops() {
    let t = test_database("rehearse_sigkill").await;
    t.db.collection::<Document>("notes")
        .insert_one(doc! { "_id": 1 })
        .await
        .unwrap();
    let scratch = scratch_of(&t);
    let mut child = rehearse_until_slow(&t, &scratch);
    signal(&child, "-KILL");
    child.wait().unwrap();
    assert!(
        databases(&t.client).await.contains(&scratch),
        "SIGKILL leaves it behind"
    );

    // --cleanup drops only a rehearsal's database: not the source, named as a scratch one.
    let out = cli_common::migrate(counter_app(), &t.uri)
        .args(["rehearse", "--cleanup", "--scratch-db", t.name()])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", both(&out));
    assert!(
        stdout(&out).contains("No scratch database"),
        "{}",
        stdout(&out)
    );
    let out = cli_common::migrate(counter_app(), &t.uri)
        .args(["rehearse", "--cleanup", "--scratch-db", &scratch])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", both(&out));
    assert!(
        stdout(&out).contains(&format!("dropped {scratch}")),
        "{}",
        stdout(&out)
    );
    let left = databases(&t.client).await;
    assert!(
        !left.contains(&scratch) && left.contains(&t.name().to_owned()),
        "{left:?}"
    );
}

#[tokio::test]
async fn an_upgrade_that_changes_the_data_when_run_again_is_not_idempotent() {
    let t = test_database("rehearse_not_idempotent").await;
    let out = cli_common::migrate(counter_app(), &t.uri)
        .args(["rehearse", "--format", "json", "--to", "0001_first"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 15, "{}", both(&out));
    let report = json(&out);
    let m = &report["migrations"][0];
    assert_eq!(m["idempotent"]["equal"], false, "{m}");
    assert_eq!(m["idempotent"]["changed"], 1);
    assert_eq!(
        m["idempotent"]["record_changed"], false,
        "the re-run records nothing"
    );
    assert_eq!(m["idempotent"]["examples"][0]["fields"][0]["path"], "up");
}

#[tokio::test]
async fn a_source_that_cannot_be_rehearsed_is_refused_before_anything_is_copied() {
    let t = test_database("rehearse_refused").await;
    support::seed(&t.db).await;
    let refused = |args: &[&str]| {
        let mut all = vec!["rehearse"];
        all.extend_from_slice(args);
        field_notes(&t.uri).args(all).output().unwrap()
    };
    let out = refused(&["--scratch-db", t.name()]);
    assert_eq!(code(&out), 2, "{}", both(&out));
    assert!(
        stderr(&out).contains("is the source database"),
        "{}",
        stderr(&out)
    );

    let foreign = format!("{}_other", t.name());
    t.client
        .database(&foreign)
        .collection::<Document>("keep")
        .insert_one(doc! { "_id": 1 })
        .await
        .unwrap();
    let out = refused(&["--scratch-db", &foreign]);
    assert_eq!(code(&out), 2, "{}", both(&out));
    assert!(
        stderr(&out).contains("already exists and was not made by a rehearsal (it holds keep)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        t.client
            .database(&foreign)
            .collection::<Document>("keep")
            .count_documents(doc! {})
            .await
            .unwrap(),
        1
    );
    t.client.database(&foreign).drop().await.unwrap();

    let out = refused(&["--collections", "storys"]);
    assert_eq!(code(&out), 2, "{}", both(&out));
    assert!(
        stderr(&out).contains("has no collection \"storys\" (did you mean \"stories\"?)"),
        "{}",
        stderr(&out)
    );

    let out = refused(&["--confirm-above", "10B"]);
    assert_eq!(code(&out), 2, "{}", both(&out));
    assert!(
        stderr(&out).contains("above --confirm-above 10 B: pass --yes"),
        "{}",
        stderr(&out)
    );

    let lock = t.db.collection::<Document>("pymongo_migrate_lock");
    lock.insert_one(doc! {
        "_id": "migrate",
        "owner": { "host": "deploy-7", "pid": 42, "token": "t" },
        "acquired_at": Bson::DateTime(mongodb_migrate::bson::DateTime::now()),
        "expires_at": Bson::DateTime(mongodb_migrate::bson::DateTime::from_millis(mongodb_migrate::bson::DateTime::now().timestamp_millis() + 3_600_000)),
    })
    .await
    .unwrap();
    let out = refused(&[]);
    assert_eq!(code(&out), 4, "{}", both(&out));
    assert!(
        stderr(&out).contains("lock is held by deploy-7 pid 42"),
        "{}",
        stderr(&out)
    );
    lock.delete_many(doc! {}).await.unwrap();

    t.db.collection::<Document>("pymongo_migrate_details")
        .insert_one(doc! {
            "_id": "0001_create_admin_user",
            "started_at": mongodb_migrate::bson::DateTime::now(),
            "direction": "up",
            "started_by": { "host": "deploy-7", "pid": 42, "token": "t" },
        })
        .await
        .unwrap();
    let out = refused(&[]);
    assert_eq!(code(&out), 5, "{}", both(&out));
    assert!(
        stderr(&out).contains("in progress or interrupted: 0001_create_admin_user"),
        "{}",
        stderr(&out)
    );
    t.db.collection::<Document>("pymongo_migrate_details")
        .delete_many(doc! {})
        .await
        .unwrap();

    let up = field_notes(&t.uri).arg("up").output().unwrap();
    assert_eq!(code(&up), 0, "{}", both(&up));
    let out = refused(&[]);
    assert_eq!(code(&out), 0, "{}", both(&out));
    assert!(
        stdout(&out).contains("Nothing to rehearse"),
        "{}",
        stdout(&out)
    );
    // --all: the whole plan from an empty state, over data the plan already migrated. 0001's
    // downgrade then removes the admin its real run created (the marker says so): the report
    // says what a downgrade of this data would undo.
    let out = refused(&["--all", "--format", "json"]);
    assert_eq!(code(&out), 15, "{}", both(&out));
    let report = json(&out);
    assert_eq!(
        (
            report["scope"].as_str(),
            report["source"]["state_copied"].as_bool()
        ),
        (Some("all"), Some(false))
    );
    assert_eq!(report["migrations"].as_array().unwrap().len(), 4);
    let down = &report["migrations"][0]["downgrade_exact"];
    assert_eq!(
        (
            down["removed"].as_u64(),
            down["examples"][0]["collection"].as_str()
        ),
        (Some(1), Some("users")),
        "{down}"
    );
    let leftovers: Vec<String> = databases(&t.client)
        .await
        .into_iter()
        .filter(|d| d.starts_with(t.name()) && d != t.name())
        .collect();
    assert!(
        leftovers.is_empty(),
        "no scratch database is left: {leftovers:?}"
    );
}
