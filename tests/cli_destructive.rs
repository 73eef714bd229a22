//! The plan carries the destructive-operation lint's opt-outs: `plan` and `check` show them,
//! `up` announces them before it runs them, and `down` refuses an irreversible migration before
//! anything runs.

use crate::cli_common;

use std::path::Path;
use std::sync::OnceLock;

use cli_common::{code, migrate, run, stderr, stdout};
use mongodb_migrate::bson::{doc, Document};
use mongodb_migrate::cli::exit_code;
use mongodb_migrate::testing::test_database;
use mongodb_migrate_test_support::{FixtureBuild, FixtureCrate};

fn app() -> &'static FixtureBuild {
    static BUILD: OnceLock<FixtureBuild> = OnceLock::new();
    BUILD.get_or_init(|| {
        let build = FixtureCrate::new("destructive")
            .copy_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/apps/destructive"))
            .build();
        assert!(build.success, "the fixture must build:\n{}", build.stderr);
        build
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn allowed_operations_and_irreversibility_travel_with_the_plan() {
    let app = app();
    let plan = stdout(&run(migrate(app, "").env_remove("MONGO_URI").arg("plan")));
    assert!(
        plan.contains("allows drop_collection (line 9): legacy is replaced by items in 0001"),
        "{plan}"
    );
    assert!(
        plan.contains("irreversible: the squashed history cannot be rebuilt"),
        "{plan}"
    );
    let json = run(migrate(app, "")
        .env_remove("MONGO_URI")
        .args(["plan", "--format", "json"]));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(
        v["migrations"][1]["allowed"][0]["finding"],
        "drop_collection"
    );
    assert_eq!(
        v["migrations"][2]["irreversible"],
        "the squashed history cannot be rebuilt"
    );
    assert_eq!(v["migrations"][0]["irreversible"], serde_json::Value::Null);

    let t = test_database("destructive").await;
    t.db.collection::<Document>("legacy")
        .insert_one(doc! { "old": true })
        .await
        .expect("legacy data");
    // check: a deploy pipeline sees what the pending migrations are allowed to destroy.
    let check = run(migrate(app, &t.uri).args(["check", "--format", "json"]));
    assert_eq!(code(&check), i32::from(exit_code::PENDING));
    let v: serde_json::Value = serde_json::from_slice(&check.stdout).expect("JSON");
    assert_eq!(v["allowed_destructive"][0]["migration"], "0002_drop_legacy");
    assert_eq!(v["allowed_destructive"][0]["finding"], "drop_collection");
    // --dry-run lists them; up announces them before it runs them.
    let dry = stdout(&run(migrate(app, &t.uri).args(["up", "--dry-run"])));
    assert!(
        dry.contains("allowed destructive operation: drop_collection (line 9): legacy is replaced"),
        "{dry}"
    );
    let up = run(migrate(app, &t.uri).arg("up"));
    assert_eq!(code(&up), 0, "{}", stderr(&up));
    let out = stdout(&up);
    let announced = out
        .find("0002_drop_legacy will run an allowed destructive operation: drop_collection")
        .unwrap_or_else(|| panic!("announced:\n{out}"));
    let ran = out.find("[2/3] applying 0002_drop_legacy").expect("ran");
    assert!(announced < ran, "announced before it runs:\n{out}");

    // down over an irreversible migration refuses before anything runs.
    let names_before = t.db.list_collection_names().await.expect("names");
    let down = run(migrate(app, &t.uri).args(["down", "--to", "zero"]));
    assert_eq!(
        code(&down),
        i32::from(exit_code::IRREVERSIBLE),
        "{}",
        stderr(&down)
    );
    assert!(
        stderr(&down).contains(
            "cannot roll back 0003_squash_history: it is declared irreversible: the squashed history cannot be rebuilt"
        ),
        "{}",
        stderr(&down)
    );
    let status = stdout(&run(migrate(app, &t.uri).arg("status")));
    assert!(
        !status.contains("Pending migrations:\n  0"),
        "nothing reverted:\n{status}"
    );
    let mut names_after = t.db.list_collection_names().await.expect("names");
    let mut names_before = names_before;
    names_before.sort();
    names_after.sort();
    assert_eq!(names_before, names_after, "legacy was not recreated");
}
