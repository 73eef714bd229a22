//! Strings that come from the database (unknown migration names, error texts, the lock
//! holder's host) are printed with control characters escaped, in human output and in DOT;
//! JSON stays exact.

use crate::cli_common;

use cli_common::{counter_app, migrate, run, stderr, stdout};
use mongodb_migrate::bson::{doc, DateTime, Document};
use mongodb_migrate::testing::test_database;

const EVIL_NAME: &str = "0009_\u{1b}[31mred\"quoted\"\nnext";
const EVIL_ERROR: &str = "boom \u{1b}[2J cleared \u{202e}reversed";

#[tokio::test(flavor = "multi_thread")]
async fn database_strings_are_escaped_in_human_output_and_dot_and_exact_in_json() {
    let app = counter_app();
    let t = test_database("sanitize").await;
    t.db.collection::<Document>("pymongo_migrate")
        .insert_one(doc! { "name": EVIL_NAME, "applied": DateTime::now() })
        .await
        .expect("unknown applied migration");
    t.db.collection::<Document>("pymongo_migrate_details")
        .insert_one(doc! {
            "_id": EVIL_NAME, "failed_at": DateTime::now(), "failed_direction": "up",
            "error": EVIL_ERROR, "tool": "a newer version",
        })
        .await
        .expect("its failure");
    t.db.collection::<Document>("pymongo_migrate_lock")
        .insert_one(doc! {
            "_id": "migrate",
            "owner": { "host": "evil\u{1b}]0;title\u{7}host", "pid": 1_i64, "token": "x" },
            "expires_at": DateTime::from_millis(DateTime::now().timestamp_millis() + 60_000),
        })
        .await
        .expect("a lock held");
    for args in [
        vec!["status", "-v"],
        vec!["check"],
        vec!["--lock-timeout", "0s", "up"],
        vec!["--lock-timeout", "0s", "up", "--allow-unknown"],
    ] {
        let o = run(migrate(app, &t.uri).args(&args));
        for (stream, text) in [("stdout", stdout(&o)), ("stderr", stderr(&o))] {
            // NO_COLOR is set by the tests' `migrate`: any escape would not be ours.
            assert!(
                !text.contains('\u{1b}'),
                "{args:?} {stream} has a raw escape: {text:?}"
            );
            assert!(!text.contains('\u{202e}'), "{args:?} {stream}: {text:?}");
            assert!(!text.contains('\u{7}'), "{args:?} {stream}: {text:?}");
        }
    }
    let status = run(migrate(app, &t.uri).args(["status", "-v"]));
    let text = stdout(&status);
    assert!(
        text.contains("0009_\\x1b[31mred\"quoted\"\\nnext"),
        "{text}"
    );
    assert!(text.contains("\\u{202e}reversed"), "{text}");
    assert!(text.contains("evil\\x1b]0;title\\x07host"), "{text}");

    let graph = run(migrate(app, &t.uri).arg("graph"));
    let dot = stdout(&graph);
    let line = dot
        .lines()
        .find(|l| l.contains("unknown: not in this binary"))
        .expect("the unknown node");
    assert!(
        // Graphviz shows the escape as `\x1b` text, and the quotes stay inside the id.
        line.starts_with(r#"    "0009_\\x1b[31mred\"quoted\"\\nnext" "#),
        "one quoted DOT id: {line}"
    );
    assert!(!dot.contains('\u{1b}'), "{dot:?}");

    // JSON is exact: the name round-trips.
    let json = run(migrate(app, &t.uri).args(["status", "--format", "json"]));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(v["unknown"][0]["name"], EVIL_NAME);
    assert_eq!(v["unknown"][0]["failure"]["error"], EVIL_ERROR);
}
