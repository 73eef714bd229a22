//! The `migrate` binary of a fixture app: help, configuration and connection errors, JSON
//! documents (snapshots), dry run, graph, and `new`.

use crate::cli_common;

use cli_common::{code, counter_app, migrate, redact, run, stderr, stdout};
use mongodb_migrate::cli::exit_code;
use mongodb_migrate::testing::test_database;

#[test]
fn every_subcommand_explains_itself() {
    let app = counter_app();
    let root = run(migrate(app, "mongodb://unused").arg("--help"));
    assert_eq!(code(&root), 0);
    let text = stdout(&root);
    for needle in [
        "Run the database migrations compiled into this binary",
        "--uri",
        "[env: MONGO_URI]",
        "--database",
        "--collection",
        "[default: pymongo_migrate]",
        "--lock-timeout",
        "--server-timeout",
        "[default: 5s]",
        "Exit codes:",
        "4  lock not acquired",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    // The URI's value (it may hold a password) is never shown.
    let with_secret = run(migrate(app, "mongodb://ann:s3cret@h/db").arg("--help"));
    assert!(!stdout(&with_secret).contains("s3cret"));

    for (sub, needle) in [
        ("up", "Apply pending migrations in plan order"),
        ("down", "Roll back the most recently applied migration"),
        (
            "status",
            "Show applied, failed, pending and unknown migrations",
        ),
        ("unlock", "Force-release the lock"),
        ("plan", "offline"),
        ("graph", "DOT"),
        ("check", "deploy gate"),
    ] {
        let o = run(migrate(app, "mongodb://unused").args([sub, "--help"]));
        assert_eq!(code(&o), 0, "{sub}");
        assert!(stdout(&o).contains(needle), "{sub} --help:\n{}", stdout(&o));
    }
    // Scaffolding is not part of the deployed binary: `new` is not listed, and says where it went.
    let help = stdout(&run(migrate(app, "mongodb://unused").arg("--help")));
    assert!(!help.contains("  new "), "{help}");
    for args in [
        &["new", "add_flag"][..],
        &["new", "--help"],
        &["new", "--merge"],
    ] {
        let o = run(migrate(app, "mongodb://unused").args(args));
        assert_eq!(code(&o), i32::from(exit_code::USAGE), "{args:?}");
        assert!(
            stderr(&o).contains("cargo mongodb-migrate new NAME"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
    let up = stdout(&run(migrate(app, "mongodb://unused").args(["up", "--help"])));
    for flag in [
        "--to",
        "--dry-run",
        "--fake",
        "--retry",
        "--allow-changed",
        "--allow-unknown",
    ] {
        assert!(up.contains(flag), "up --help lacks {flag}");
    }
    let down = stdout(&run(
        migrate(app, "mongodb://unused").args(["down", "--help"])
    ));
    for flag in ["--to", "--steps", "--dry-run", "--fake", "--allow-unknown"] {
        assert!(down.contains(flag), "down --help lacks {flag}");
    }
}

#[test]
fn usage_errors_exit_2() {
    let app = counter_app();
    let o = run(migrate(app, "mongodb://unused").arg("sideways"));
    assert_eq!(code(&o), i32::from(exit_code::USAGE));
    let o = run(migrate(app, "mongodb://unused").args(["down", "--to", "x", "--steps", "2"]));
    assert_eq!(code(&o), i32::from(exit_code::USAGE));
    let o = run(migrate(app, "mongodb://127.0.0.1:1").arg("status"));
    assert_eq!(code(&o), i32::from(exit_code::USAGE), "{}", stderr(&o));
    assert!(stderr(&o).contains("no database"), "{}", stderr(&o));
    let o = run(migrate(app, "").env_remove("MONGO_URI").arg("status"));
    assert_eq!(code(&o), i32::from(exit_code::USAGE));
    assert!(stderr(&o).contains("MONGO_URI"), "{}", stderr(&o));
}

#[test]
fn an_unreachable_server_fails_within_the_timeout_naming_the_host_not_the_password() {
    let app = counter_app();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let uri = format!("mongodb://ann:s3cret-pw@127.0.0.1:{port}/app");
    for sub in ["status", "up", "down", "check", "unlock"] {
        let o = run(migrate(app, &uri).args(["--server-timeout", "1s", sub]));
        assert_eq!(
            code(&o),
            i32::from(exit_code::DATABASE_UNREACHABLE),
            "{sub}: {}",
            stderr(&o)
        );
        let err = stderr(&o);
        assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
        assert!(
            !err.contains("s3cret") && !stdout(&o).contains("s3cret"),
            "{err}"
        );
    }
    // A URI that does not parse is a configuration error, also redacted.
    let o = run(migrate(app, "mongodb://ann:s3cret-pw@h:notaport/app").arg("status"));
    assert_eq!(code(&o), i32::from(exit_code::USAGE));
    assert!(!stderr(&o).contains("s3cret"), "{}", stderr(&o));
    // A URI the driver rejects is never echoed: everything before the hosts is masked.
    assert!(stderr(&o).contains("mongodb://***@"), "{}", stderr(&o));
}

fn json(o: &std::process::Output) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", stdout(o)));
    redact(&mut v);
    v
}

#[test]
fn plan_is_offline_and_its_json_is_stable() {
    let app = counter_app();
    // No server at all: plan needs none.
    let o = run(migrate(app, "mongodb://127.0.0.1:1/none").args(["plan", "--format", "json"]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let raw: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    for m in raw["migrations"].as_array().expect("migrations") {
        let sum = m["checksum"].as_str().expect("checksum");
        assert!(
            sum.len() == 64 && sum.bytes().all(|b| b.is_ascii_hexdigit()),
            "{sum}"
        );
    }
    let v = json(&o);
    insta::assert_json_snapshot!("plan_json", v);
    let human = stdout(&run(migrate(app, "mongodb://127.0.0.1:1/none").arg("plan")));
    assert!(human.starts_with("Plan (3 migrations, in order):\n   1. 0001_first\n      Count a run of the first migration.\n      depends on: (none)\n"), "{human}");
}

#[tokio::test(flavor = "multi_thread")]
async fn status_and_check_json_documents() {
    let app = counter_app();
    let t = test_database("cli_json").await;
    let fresh = run(migrate(app, &t.uri).args(["status", "--format", "json"]));
    insta::assert_json_snapshot!("status_json_fresh", json(&fresh));
    let check = run(migrate(app, &t.uri).args(["check", "--format", "json"]));
    assert_eq!(code(&check), i32::from(exit_code::PENDING));
    insta::assert_json_snapshot!("check_json_pending", json(&check));

    let failed = run(migrate(app, &t.uri).arg("up").env("FAIL_0003", "1"));
    assert_eq!(code(&failed), i32::from(exit_code::MIGRATION_FAILED));
    let status = run(migrate(app, &t.uri).args(["status", "--format", "json"]));
    insta::assert_json_snapshot!("status_json_failed", json(&status));
    let check = run(migrate(app, &t.uri).args(["check", "--format", "json"]));
    assert_eq!(code(&check), i32::from(exit_code::FAILED_RECORD));
    insta::assert_json_snapshot!("check_json_failed", json(&check));

    let fixed = run(migrate(app, &t.uri).args(["up", "--retry"]));
    assert_eq!(code(&fixed), 0);
    let check = run(migrate(app, &t.uri).arg("check"));
    assert_eq!(code(&check), 0);
    assert!(stdout(&check).contains("Up to date"), "{}", stdout(&check));
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_prints_the_order_and_writes_nothing() {
    let app = counter_app();
    let t = test_database("cli_dry_run").await;
    let o = run(migrate(app, &t.uri).args(["up", "--dry-run"]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "Dry run: would apply 3 migrations, in this order:\n  0001_first\n  0002_slow\n  0003_flaky\nNothing was written.\n"
    );
    assert!(t.db.list_collection_names().await.expect("list").is_empty());

    let o = run(migrate(app, &t.uri).args(["up", "--to", "0002_slow"]));
    assert_eq!(code(&o), 0);
    let before = mongodb_migrate::testing::DbSnapshot::take(&t.db, &[])
        .await
        .expect("snapshot");
    let o = run(migrate(app, &t.uri).args(["down", "--to", "zero", "--dry-run"]));
    assert_eq!(
        stdout(&o),
        "Dry run: would roll back 2 migrations, in this order:\n  0002_slow\n  0001_first\nNothing was written.\n"
    );
    let after = mongodb_migrate::testing::DbSnapshot::take(&t.db, &[])
        .await
        .expect("snapshot");
    assert!(before.diff(&after).is_empty(), "{:?}", before.diff(&after));
}

#[tokio::test(flavor = "multi_thread")]
async fn fake_and_graph_through_the_binary() {
    let app = counter_app();
    let t = test_database("cli_fake_graph").await;
    let offline = run(migrate(app, "").env_remove("MONGO_URI").arg("graph"));
    assert_eq!(
        stdout(&offline),
        "digraph migrations {\n    rankdir=BT;\n    node [shape=box];\n    \"0001_first\";\n    \"0002_slow\";\n    \"0003_flaky\";\n    \"0002_slow\" -> \"0001_first\";\n    \"0003_flaky\" -> \"0002_slow\";\n}\n"
    );
    let o = run(migrate(app, &t.uri).args(["up", "--fake", "--to", "0002_slow"]));
    assert_eq!(code(&o), 0);
    assert!(
        stdout(&o).contains("Recorded 2 migrations as applied without running them (fake)."),
        "{}",
        stdout(&o)
    );
    assert!(
        cli_common::counters(&t.db).await.is_empty(),
        "fake runs nothing"
    );
    let status = stdout(&run(migrate(app, &t.uri).arg("status")));
    assert!(status.contains("(fake)"), "{status}");
    let graph = stdout(&run(migrate(app, &t.uri).arg("graph")));
    assert!(
        graph.contains("\"0001_first\" [style=filled, fillcolor=palegreen, tooltip=\"applied\"];"),
        "{graph}"
    );
    assert!(
        graph.contains("\"0003_flaky\" [tooltip=\"pending\"];"),
        "{graph}"
    );
    // Mermaid, styled as the DOT output; a name from the database is escaped.
    t.db.collection::<mongodb_migrate::bson::Document>("pymongo_migrate")
        .insert_one(mongodb_migrate::bson::doc! {
            "name": "0009_\"odd\" <name>", "applied": mongodb_migrate::bson::DateTime::now(),
        })
        .await
        .expect("an unknown migration");
    let mermaid = stdout(&run(
        migrate(app, &t.uri).args(["graph", "--format", "mermaid"])
    ));
    insta::assert_snapshot!("graph_mermaid", mermaid);
    let offline = stdout(&run(migrate(app, "")
        .env_remove("MONGO_URI")
        .args(["graph", "--format", "mermaid"])));
    insta::assert_snapshot!("graph_mermaid_offline", offline);
    t.db.collection::<mongodb_migrate::bson::Document>("pymongo_migrate")
        .delete_one(mongodb_migrate::bson::doc! { "name": "0009_\"odd\" <name>" })
        .await
        .expect("remove it");
    let o = run(migrate(app, &t.uri).args(["down", "--fake", "--steps", "2"]));
    assert_eq!(code(&o), 0);
    assert!(
        stdout(&o).contains("Recorded 2 migrations as not applied"),
        "{}",
        stdout(&o)
    );
    assert!(cli_common::counters(&t.db).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_uri_is_read_from_dot_env_and_the_environment_wins() {
    let app = counter_app();
    let t = test_database("cli_dotenv").await;
    let cwd = tempfile::tempdir().expect("tempdir");
    std::fs::write(cwd.path().join(".env"), format!("MONGO_URI={}\n", t.uri)).expect("write .env");
    let o = run(migrate(app, "")
        .env_remove("MONGO_URI")
        .current_dir(cwd.path())
        .args(["up", "--to", "0001_first"]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(cli_common::counters(&t.db).await.len(), 1);
    // A set variable wins over the file: this one names an unreachable server.
    let o = run(migrate(app, "mongodb://127.0.0.1:1/x")
        .current_dir(cwd.path())
        .args(["--server-timeout", "1s", "status"]));
    assert_eq!(
        code(&o),
        i32::from(exit_code::DATABASE_UNREACHABLE),
        "{}",
        stderr(&o)
    );
}
