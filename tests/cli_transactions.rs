//! Transactional migrations end to end: the `tx` fixture app (`0001_tx_insert` opts in with
//! `TRANSACTIONAL`, `0002_plain_insert` is the same shape without it), built with cargo and run
//! as a process against the real database, and against a standalone server, which cannot run
//! transactions.

use crate::cli_common;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;

use cli_common::{code, migrate, run, stderr, stdout};
use futures::TryStreamExt;
use mongodb_migrate::bson::{doc, Document};
use mongodb_migrate::cli::exit_code;
use mongodb_migrate::mongodb::{Client, Database};
use mongodb_migrate::testing::test_database;
use mongodb_migrate::transaction;
use mongodb_migrate_test_support::{FixtureBuild, FixtureCrate};

fn tx_app() -> &'static FixtureBuild {
    static BUILD: OnceLock<FixtureBuild> = OnceLock::new();
    BUILD.get_or_init(|| {
        let build = FixtureCrate::new("tx")
            .copy_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/apps/tx"))
            .build();
        assert!(
            build.success,
            "the tx fixture must build:\n{}",
            build.stderr
        );
        build
    })
}

/// `migrate` of the tx app with neither failure switch set.
fn tx_migrate(uri: &str) -> Command {
    let mut cmd = migrate(tx_app(), uri);
    cmd.env_remove("FAIL_TX").env_remove("FAIL_PLAIN");
    cmd
}

/// The `_id`s in `items`, sorted.
async fn items(db: &Database) -> Vec<String> {
    let docs: Vec<Document> = db
        .collection::<Document>("items")
        .find(doc! {})
        .sort(doc! { "_id": 1 })
        .await
        .expect("find items")
        .try_collect()
        .await
        .expect("read items");
    docs.iter()
        .map(|d| d.get_str("_id").expect("string _id").to_owned())
        .collect()
}

/// `(name, state)` of every migration, from `migrate status --format json`.
fn states(uri: &str) -> Vec<(String, String)> {
    let o = run(tx_migrate(uri).args(["status", "--format", "json"]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let status: serde_json::Value = serde_json::from_slice(&o.stdout).expect("status JSON");
    status["migrations"]
        .as_array()
        .expect("migrations")
        .iter()
        .map(|m| {
            (
                m["name"].as_str().expect("name").to_owned(),
                m["state"].as_str().expect("state").to_owned(),
            )
        })
        .collect()
}

fn pair(name: &str, state: &str) -> (String, String) {
    (name.to_owned(), state.to_owned())
}

fn explain(o: &Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", stdout(o), stderr(o))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_transactional_migration_is_rolled_back_and_a_plain_one_is_not() {
    let t = test_database("cli_tx_rollback").await;

    // The transactional migration inserts, then fails: the insert is rolled back.
    let o = run(tx_migrate(&t.uri).arg("up").env("FAIL_TX", "1"));
    assert_eq!(
        code(&o),
        i32::from(exit_code::MIGRATION_FAILED),
        "{}",
        explain(&o)
    );
    assert!(
        stderr(&o).contains("failing after the insert (FAIL_TX is set)"),
        "{}",
        explain(&o)
    );
    assert_eq!(items(&t.db).await, Vec::<String>::new());
    assert_eq!(
        states(&t.uri),
        [
            pair("0001_tx_insert", "failed"),
            pair("0002_plain_insert", "pending")
        ]
    );

    // Fixed: the retry commits the insert, once.
    let o = run(tx_migrate(&t.uri).args(["up", "--retry", "--to", "0001_tx_insert"]));
    assert_eq!(code(&o), 0, "{}", explain(&o));
    assert_eq!(items(&t.db).await, ["0001_tx_insert"]);

    // The same shape without TRANSACTIONAL: its insert stays behind the failure.
    let o = run(tx_migrate(&t.uri).arg("up").env("FAIL_PLAIN", "1"));
    assert_eq!(
        code(&o),
        i32::from(exit_code::MIGRATION_FAILED),
        "{}",
        explain(&o)
    );
    assert_eq!(items(&t.db).await, ["0001_tx_insert", "0002_plain_insert"]);
    assert_eq!(
        states(&t.uri),
        [
            pair("0001_tx_insert", "applied"),
            pair("0002_plain_insert", "failed")
        ]
    );

    // Down runs the transactional downgrade too.
    let o = run(tx_migrate(&t.uri).args(["down", "--retry", "--to", "0001_tx_insert"]));
    assert_eq!(code(&o), 0, "{}", explain(&o));
    let o = run(tx_migrate(&t.uri).arg("down"));
    assert_eq!(code(&o), 0, "{}", explain(&o));
    assert_eq!(items(&t.db).await, Vec::<String>::new());
}

#[test]
fn plan_shows_which_migrations_are_transactional() {
    // `plan` is offline: no database.
    let o = run(tx_migrate("mongodb://127.0.0.1:9/unused").arg("plan"));
    assert_eq!(code(&o), 0, "{}", explain(&o));
    let text = stdout(&o);
    let first = text.find("0001_tx_insert").expect("0001 listed");
    let second = text.find("0002_plain_insert").expect("0002 listed");
    assert_eq!(
        text.matches("transactional: yes").count(),
        1,
        "only 0001 is transactional:\n{text}"
    );
    let marker = text.find("transactional: yes").expect("marker");
    assert!(first < marker && marker < second, "{text}");

    let o = run(tx_migrate("mongodb://127.0.0.1:9/unused").args(["plan", "--format", "json"]));
    assert_eq!(code(&o), 0, "{}", explain(&o));
    let plan: serde_json::Value = serde_json::from_slice(&o.stdout).expect("plan JSON");
    assert_eq!(plan["schema"], "mongodb-migrate/plan/v1");
    let flags: Vec<(&str, bool)> = plan["migrations"]
        .as_array()
        .expect("migrations")
        .iter()
        .map(|m| {
            (
                m["name"].as_str().expect("name"),
                m["transactional"].as_bool().expect("transactional"),
            )
        })
        .collect();
    assert_eq!(
        flags,
        [("0001_tx_insert", true), ("0002_plain_insert", false)]
    );
}

/// A SecantusDB started with `--standalone` through `scripts/dev-db`, stopped when dropped
/// (also when the test fails).
struct StandaloneServer {
    name: String,
    port: String,
}

fn dev_db() -> Command {
    let mut cmd = Command::new("bash");
    cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/dev-db"));
    cmd
}

impl StandaloneServer {
    fn start(label: &str) -> Self {
        let o = dev_db()
            .arg("free-port")
            .output()
            .expect("dev-db free-port");
        assert!(o.status.success(), "{}", explain(&o));
        let port = stdout(&o).trim().to_owned();
        let name = format!("{label}-{}", std::process::id());
        let o = dev_db()
            .args([
                "start",
                "--standalone",
                "--throwaway",
                "--name",
                &name,
                "--port",
                &port,
            ])
            .output()
            .expect("dev-db start");
        let server = StandaloneServer { name, port };
        assert!(o.status.success(), "{}", explain(&o));
        server
    }

    fn uri(&self, database: &str) -> String {
        format!("mongodb://127.0.0.1:{}/{database}", self.port)
    }
}

impl Drop for StandaloneServer {
    fn drop(&mut self) {
        let _ = dev_db().args(["stop", "--name", &self.name]).output();
    }
}

async fn count(db: &Database, collection: &str) -> u64 {
    db.collection::<Document>(collection)
        .count_documents(doc! {})
        .await
        .expect("count")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_standalone_server_is_refused_before_anything_runs() {
    let server = StandaloneServer::start("tx-standalone");
    let uri = server.uri("tx_preflight");
    let client = Client::with_uri_str(&uri).await.expect("client");
    let db = client.database("tx_preflight");

    let hello = client
        .database("admin")
        .run_command(doc! { "hello": 1 })
        .await
        .expect("hello");
    assert!(
        transaction::support(&hello).is_err(),
        "a standalone server: {hello}"
    );
    // Unlike a standalone mongod (which answers a transaction number with IllegalOperation),
    // SecantusDB --standalone accepts transactions; only its hello reply is a standalone's. The
    // pre-flight reads nothing but hello, so that is what this test exercises.

    // --dry-run runs nothing, so it needs no transactions.
    let o = run(tx_migrate(&uri).args(["up", "--dry-run"]));
    assert_eq!(code(&o), 0, "{}", explain(&o));
    assert!(stdout(&o).contains("0001_tx_insert"), "{}", explain(&o));

    let o = run(tx_migrate(&uri).arg("up"));
    assert_eq!(code(&o), i32::from(exit_code::USAGE), "{}", explain(&o));
    let message = stderr(&o);
    for needle in [
        "0001_tx_insert",
        "transactional",
        "standalone",
        "Nothing was run",
    ] {
        assert!(
            message.contains(needle),
            "{needle:?} missing:\n{}",
            explain(&o)
        );
    }
    assert!(!message.contains("0002_plain_insert"), "{message}");
    // Nothing applied, no state written.
    assert_eq!(count(&db, "items").await, 0);
    assert_eq!(count(&db, "pymongo_migrate").await, 0);
    assert_eq!(count(&db, "pymongo_migrate_details").await, 0);

    // `down` is refused the same way (after --fake recorded the plan, which runs nothing).
    let o = run(tx_migrate(&uri).args(["up", "--fake"]));
    assert_eq!(code(&o), 0, "{}", explain(&o));
    let o = run(tx_migrate(&uri).args(["down", "--to", "0001_tx_insert"]));
    assert_eq!(code(&o), 0, "0002 is not transactional: {}", explain(&o));
    let o = run(tx_migrate(&uri).arg("down"));
    assert_eq!(code(&o), i32::from(exit_code::USAGE), "{}", explain(&o));
    assert!(stderr(&o).contains("0001_tx_insert"), "{}", explain(&o));
    drop(server);
}
