//! Checksum continuity across the crates' renames (packages `mongo-migrate` → `mongodb-migrate`,
//! then the import path `mongo_migrate` → `mongodb_migrate`): Field Notes databases migrated
//! before them hold these values, and must still pass `check`.

use crate::support;

use mongodb_migrate::bson::doc;
use mongodb_migrate::testing::test_database;
use mongodb_migrate::{ChecksumState, Migrator};

/// The checksums the binary built before the rename recorded (read from its generated
/// registry), when every migration still said `use mongo_migrate::prelude::*;`. Untagged:
/// checksum algorithm version 1.
const RECORDED_BEFORE_THE_RENAME: [(&str, &str); 4] = [
    (
        "0001_create_admin_user",
        "c72295d5035f81de5684eaffd4f4abcc5af5ec652430067f03fcce65e38e96e2",
    ),
    (
        "0002_add_user_id_to_content",
        "bacacac1db59acf92d9528f233630d3dc81a0e6f86a5eb0cabc4dd788856209c",
    ),
    (
        "0003_seed_initial_sections",
        "20d29c937944bab9c87c19852625e62fd49cded82c136934f6d1977a4263c4be",
    ),
    (
        "0004_backfill_section_id",
        "ad26b974073d735c2cbc56cb8865fa464d18f8fc58a065c2efbb075268c74fbc",
    ),
];

/// The app's `migrate` against `uri`.
fn migrate(uri: &str, args: &[&str]) -> std::process::Output {
    assert_cmd::Command::cargo_bin("migrate")
        .expect("binary")
        .env("MONGO_URI", uri)
        .env("NO_COLOR", "1")
        .current_dir(std::env::temp_dir())
        .args(args)
        .output()
        .expect("run")
}

#[test]
fn every_field_notes_checksum_is_the_one_recorded_before_the_rename() {
    let now: Vec<(&str, &str)> = field_notes::MIGRATIONS
        .iter()
        .map(|m| (m.name, m.checksum))
        .collect();
    assert_eq!(now, RECORDED_BEFORE_THE_RENAME);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_migrated_before_the_rename_passes_check() {
    let t = test_database("checksum_continuity").await;
    support::admin_env();
    let migrator = Migrator::new(t.db.clone(), field_notes::MIGRATIONS);
    migrator.up().await.expect("up");
    // The details records as the earlier binary wrote them.
    let details =
        t.db.collection::<mongodb_migrate::bson::Document>("pymongo_migrate_details");
    for (name, checksum) in RECORDED_BEFORE_THE_RENAME {
        details
            .update_one(
                doc! { "_id": name },
                doc! { "$set": { "checksum": checksum } },
            )
            .await
            .expect("record");
    }
    let status = migrator.status().await.expect("status");
    assert!(
        status
            .migrations
            .iter()
            .all(|m| m.checksum_state == ChecksumState::Matches),
        "{status:?}"
    );
    assert!(status.verdict().is_clean(), "{:?}", status.verdict());
}

/// A checksum a later version recorded with another algorithm (`v2:…`) is not drift: `check`
/// passes and `status` says it was not compared.
#[tokio::test(flavor = "multi_thread")]
async fn a_checksum_of_a_later_algorithm_is_not_drift_for_this_binary() {
    let t = test_database("checksum_v2").await;
    support::admin_env();
    Migrator::new(t.db.clone(), field_notes::MIGRATIONS)
        .up()
        .await
        .expect("up");
    t.db.collection::<mongodb_migrate::bson::Document>("pymongo_migrate_details")
        .update_one(
            doc! { "_id": "0002_add_user_id_to_content" },
            doc! { "$set": { "checksum": "v2:computed-by-a-later-algorithm" } },
        )
        .await
        .expect("record");
    let migrate = |args: &[&str]| migrate(&t.uri, args);
    let check = migrate(&["check"]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let status = migrate(&["status", "--verbose"]);
    let text = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(
        text.contains("checksum recorded by another algorithm"),
        "{text}"
    );
    let json = migrate(&["status", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(
        doc["migrations"][1]["checksum_state"], "other_algorithm",
        "{doc}"
    );
}

/// The state exactly as `migrate up` of a binary built before the import path's rename (commit
/// 0f6a99a, `use mongo_migrate::prelude::*;` in every migration) wrote it, read back from the
/// database: `check` of this binary, whose migrations say `use mongodb_migrate::…`, passes.
#[tokio::test(flavor = "multi_thread")]
async fn a_database_an_older_binary_migrated_passes_check_with_the_renamed_files() {
    use mongodb_migrate::bson::{Bson, Document};
    let t = test_database("checksum_pre_rename").await;
    let recorded: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/pre_rename_state.json"))
            .expect("the recorded state is JSON");
    for collection in ["pymongo_migrate", "pymongo_migrate_details"] {
        let docs: Vec<Document> = recorded[collection]
            .as_array()
            .expect("a list of documents")
            .iter()
            .map(
                |d| match Bson::try_from(d.clone()).expect("extended JSON") {
                    Bson::Document(d) => d,
                    other => panic!("not a document: {other}"),
                },
            )
            .collect();
        assert_eq!(docs.len(), 4, "{collection}");
        t.db.collection::<Document>(collection)
            .insert_many(docs)
            .await
            .expect("insert the recorded state");
    }
    let details = recorded["pymongo_migrate_details"]
        .as_array()
        .expect("details");
    assert!(
        details.iter().all(|d| d["tool"] == "mongo-migrate 0.1.0"),
        "{details:?}"
    );
    for m in field_notes::MIGRATIONS {
        let source = std::fs::read_to_string(format!(
            "{}/migrations/{}.rs",
            env!("CARGO_MANIFEST_DIR"),
            m.name
        ))
        .expect("the migration's file");
        assert!(
            source.contains("use mongodb_migrate::prelude::*;"),
            "{}",
            m.name
        );
        assert!(!source.contains("mongo_migrate::"), "{}", m.name);
    }
    let migrate = |args: &[&str]| migrate(&t.uri, args);
    let check = migrate(&["check"]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let json = migrate(&["status", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    let states: Vec<&serde_json::Value> = doc["migrations"]
        .as_array()
        .expect("migrations")
        .iter()
        .map(|m| &m["checksum_state"])
        .collect();
    assert_eq!(states, ["matches"; 4], "{doc}");
}
