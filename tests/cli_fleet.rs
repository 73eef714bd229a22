//! Fleets: one command over 20 databases, one of which fails.

use crate::cli_common;

use std::process::Stdio;

use cli_common::{code, counter_app, migrate, run, stderr, stdout};
use mongodb_migrate::bson::{doc, Document};
use mongodb_migrate::cli::exit_code;
use mongodb_migrate::mongodb::{Client, Database};
use mongodb_migrate::testing::test_server_uri;

const N: usize = 20;

async fn fleet(prefix: &str, failing: Option<usize>) -> (Client, Vec<String>) {
    let client = Client::with_uri_str(test_server_uri())
        .await
        .expect("client");
    let names: Vec<String> = (0..N).map(|i| format!("{prefix}_{i:02}")).collect();
    for (i, name) in names.iter().enumerate() {
        let db = client.database(name);
        db.drop().await.expect("fresh");
        // Every database exists before the run (a glob lists existing databases).
        db.collection::<Document>("app")
            .insert_one(doc! { "tenant": i as i64 })
            .await
            .expect("seed");
        if failing == Some(i) {
            // The first migration's counter write fails validation in this database only.
            db.create_collection("counters")
                .validator(doc! { "$jsonSchema": { "bsonType": "object", "required": ["never"] } })
                .await
                .expect("validator");
        }
    }
    (client, names)
}

async fn counters(db: &Database) -> Vec<(String, i32)> {
    use futures::TryStreamExt;
    let docs: Vec<Document> = db
        .collection::<Document>("counters")
        .find(doc! {})
        .sort(doc! { "_id": 1 })
        .await
        .expect("find")
        .try_collect()
        .await
        .expect("read");
    docs.iter()
        .map(|d| {
            (
                d.get_str("_id").unwrap_or("").to_owned(),
                d.get_i32("up").unwrap_or(0),
            )
        })
        .collect()
}

fn base_uri() -> String {
    format!("{}/admin", test_server_uri().trim_end_matches('/'))
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_databases_one_failing_then_nothing_to_do() {
    let app = counter_app();
    let prefix = format!("fleet_{}", std::process::id());
    let (client, names) = fleet(&prefix, Some(7)).await;
    let spec = format!("{prefix}_*");
    let up = run(migrate(app, &base_uri()).args([
        "up",
        "--databases",
        &spec,
        "-j",
        "4",
        "--keep-going",
    ]));
    assert_eq!(
        code(&up),
        i32::from(exit_code::MIGRATION_FAILED),
        "{}\n{}",
        stdout(&up),
        stderr(&up)
    );
    let out = stdout(&up);
    for (i, name) in names.iter().enumerate() {
        assert!(
            out.contains(&format!("[{name}] ")),
            "lines prefixed with {name}:\n{out}"
        );
        let c = counters(&client.database(name)).await;
        if i == 7 {
            assert!(c.is_empty(), "{c:?}");
        } else {
            assert_eq!(
                c,
                [
                    ("0001_first".to_owned(), 1),
                    ("0002_slow".to_owned(), 1),
                    ("0003_flaky".to_owned(), 1)
                ],
                "{name}"
            );
        }
    }
    // The failure is recorded in its database.
    let failing = &names[7];
    let details = client
        .database(failing)
        .collection::<Document>("pymongo_migrate_details")
        .find_one(doc! { "_id": "0001_first" })
        .await
        .expect("details")
        .expect("a failure record");
    assert!(details.get_datetime("failed_at").is_ok(), "{details}");
    // The summary names every database and the failing one.
    assert!(out.contains("database"), "{out}");
    assert!(
        out.contains(&format!("Databases with a problem: {failing}")),
        "{out}"
    );

    // A second run applies nothing: the 19 are up to date; the failing one refuses (exit 5).
    let again = run(migrate(app, &base_uri()).args(["up", "--databases", &spec, "--keep-going"]));
    assert_eq!(
        code(&again),
        i32::from(exit_code::FAILED_RECORD),
        "{}",
        stderr(&again)
    );
    for (i, name) in names.iter().enumerate().filter(|(i, _)| *i != 7) {
        let c = counters(&client.database(name)).await;
        assert!(c.iter().all(|(_, up)| *up == 1), "{i}: {c:?}");
    }
    // check over the fleet: JSON Lines, one document per database, each naming it.
    let check =
        run(migrate(app, &base_uri()).args(["check", "--databases", &spec, "--format", "json"]));
    assert_eq!(code(&check), i32::from(exit_code::FAILED_RECORD));
    let lines: Vec<serde_json::Value> = stdout(&check)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), N);
    assert!(lines.iter().all(|l| l["database"]
        .as_str()
        .is_some_and(|d| d.starts_with(&prefix))));
    for name in &names {
        client.database(name).drop().await.expect("drop");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_fleet_runs_at_once_never_double_apply() {
    let app = counter_app();
    let prefix = format!("fleet2_{}", std::process::id());
    let (client, names) = fleet(&prefix, None).await;
    let list = names.join(",");
    let children: Vec<std::process::Child> = (0..2)
        .map(|_| {
            migrate(app, &base_uri())
                .args(["up", "--databases", &list, "-j", "8"])
                .env("SLOW_MS", "100")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }
    for name in &names {
        let c = counters(&client.database(name)).await;
        assert_eq!(c.len(), 3, "{name}: {c:?}");
        assert!(c.iter().all(|(_, up)| *up == 1), "{name}: {c:?}");
        client.database(name).drop().await.expect("drop");
    }
}
