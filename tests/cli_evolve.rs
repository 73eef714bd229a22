//! The plan changing under a database: `cargo mongodb-migrate new`, `new --merge`, and drift
//! after an edit and a rebuild (whitespace and comments are not drift).

use crate::cli_common;

use cli_common::{code, counter_source, migrate, run, stderr, stdout};
use mongodb_migrate::cli::exit_code;
use mongodb_migrate::testing::test_database;
use mongodb_migrate_test_support::{scaffold_command, FixtureCrate};

#[tokio::test(flavor = "multi_thread")]
async fn new_writes_a_migration_that_builds_and_merge_fixes_two_heads() {
    let app = FixtureCrate::new("evolve_new")
        .copy_dir(counter_source())
        .build();
    assert!(app.success, "{}", app.stderr);

    // The deployed binary says where scaffolding went.
    let moved = run(migrate(&app, "").args(["new", "add_flag"]));
    assert_eq!(code(&moved), i32::from(exit_code::USAGE));
    assert!(
        stderr(&moved).contains("cargo mongodb-migrate new NAME"),
        "{}",
        stderr(&moved)
    );
    assert!(!app.dir.join("migrations/0004_add_flag.rs").exists());

    let bad = run(scaffold_command(&app.dir).arg("new").arg("AddFlag"));
    assert_eq!(code(&bad), i32::from(exit_code::USAGE));
    assert!(stderr(&bad).contains("snake_case"), "{}", stderr(&bad));

    let created = run(scaffold_command(&app.dir).args(["new", "add_flag"]));
    assert_eq!(code(&created), 0, "{}", stderr(&created));
    assert!(
        stdout(&created).contains("0004_add_flag.rs"),
        "{}",
        stdout(&created)
    );
    let app = app.rebuild();
    assert!(
        app.success,
        "the generated migration must build:\n{}",
        app.stderr
    );
    let plan = stdout(&run(migrate(&app, "").args(["plan", "--format", "json"])));
    let plan: serde_json::Value = serde_json::from_str(&plan).expect("json");
    assert_eq!(plan["migrations"][3]["name"], "0004_add_flag");
    assert_eq!(plan["migrations"][3]["dependencies"][0], "0003_flaky");

    // A second branch also depends on 0003: two heads break the build.
    app.write(
        "migrations/0005_other_branch.rs",
        "//! Another branch.\nuse mongodb_migrate::prelude::*;\n\npub const NAME: &str = \"0005_other_branch\";\npub const DEPENDENCIES: &[&str] = &[\"0003_flaky\"];\n\npub async fn upgrade(_db: &Database) -> Result<()> {\n    Ok(())\n}\n\npub async fn downgrade(_db: &Database) -> Result<()> {\n    Ok(())\n}\n",
    );
    let broken = app.rebuild();
    assert!(!broken.success, "two heads must not build");
    // `new --merge` reads migrations/ itself, so it works while the build is broken.
    let merged = run(scaffold_command(&app.dir).args(["new", "--merge"]));
    assert_eq!(code(&merged), 0, "{}", stderr(&merged));
    let fixed = app.rebuild();
    assert!(
        fixed.success,
        "the merge migration must fix the build:\n{}",
        fixed.stderr
    );
    let plan = stdout(&run(migrate(&fixed, "").args(["plan", "--format", "json"])));
    let plan: serde_json::Value = serde_json::from_str(&plan).expect("json");
    let last = &plan["migrations"][5];
    let deps: Vec<&str> = last["dependencies"]
        .as_array()
        .expect("deps")
        .iter()
        .filter_map(|d| d.as_str())
        .collect();
    assert!(
        deps.contains(&"0004_add_flag") && deps.contains(&"0005_other_branch"),
        "{last}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_edited_migration_is_drift_but_reformatting_is_not() {
    let app = FixtureCrate::new("evolve_drift")
        .copy_dir(counter_source())
        .build();
    assert!(app.success, "{}", app.stderr);
    let t = test_database("cli_drift").await;
    let up = run(migrate(&app, &t.uri).args(["up", "--to", "0002_slow"]));
    assert_eq!(code(&up), 0, "{}", stderr(&up));

    // Comments, doc text and whitespace only: same token stream, no drift.
    let first = std::fs::read_to_string(app.dir.join("migrations/0001_first.rs")).expect("read");
    let reformatted = first
        .replace(
            "//! Count a run of the first migration.",
            "//! Count one run of the first migration (reworded).",
        )
        .replace(
            "    counter::count(db, NAME, \"up\").await\n",
            "    // A comment.\n    counter :: count( db,NAME,\"up\", ).await\n",
        );
    assert!(
        reformatted.contains("counter :: count( db,NAME"),
        "{reformatted}"
    );
    app.write("migrations/0001_first.rs", &reformatted);
    let app = app.rebuild();
    assert!(app.success, "{}", app.stderr);
    let status = stdout(&run(migrate(&app, &t.uri).arg("status")));
    assert!(!status.contains("changed since applied"), "{status}");

    // A real change to an applied migration's body.
    let slow = std::fs::read_to_string(app.dir.join("migrations/0002_slow.rs")).expect("read");
    app.write(
        "migrations/0002_slow.rs",
        slow.replace(
            "counter::count(db, NAME, \"up\").await?;",
            "counter::count(db, NAME, \"up\").await?;\n    counter::count(db, NAME, \"up-again\").await?;",
        ),
    );
    let app = app.rebuild();
    assert!(app.success, "{}", app.stderr);
    let status = stdout(&run(migrate(&app, &t.uri).arg("status")));
    let line = status
        .lines()
        .find(|l| l.contains("0002_slow"))
        .expect("line");
    assert!(line.contains("(changed since applied)"), "{status}");
    let verbose = stdout(&run(migrate(&app, &t.uri).args(["status", "-v"])));
    assert!(
        verbose.contains("changed since applied: recorded "),
        "{verbose}"
    );

    let refused = run(migrate(&app, &t.uri).arg("up"));
    assert_eq!(
        code(&refused),
        i32::from(exit_code::CHANGED),
        "{}",
        stderr(&refused)
    );
    assert!(
        stderr(&refused).contains("0002_slow"),
        "{}",
        stderr(&refused)
    );
    assert!(
        stderr(&refused).contains("migrate accept-changes"),
        "{}",
        stderr(&refused)
    );
    let check = run(migrate(&app, &t.uri).arg("check"));
    assert_eq!(code(&check), i32::from(exit_code::CHANGED));

    // Accepting names only changed migrations; then the edit is the recorded state.
    let not_changed = run(migrate(&app, &t.uri).args(["accept-changes", "0001_first"]));
    assert_eq!(
        code(&not_changed),
        i32::from(exit_code::USAGE),
        "{}",
        stderr(&not_changed)
    );
    assert!(
        stderr(&not_changed).contains("0001_first has not changed"),
        "{}",
        stderr(&not_changed)
    );
    let details =
        t.db.collection::<mongodb_migrate::bson::Document>("pymongo_migrate_details");
    let before = details
        .find_one(mongodb_migrate::bson::doc! { "_id": "0002_slow" })
        .await
        .expect("read")
        .expect("details");
    let accepted = run(migrate(&app, &t.uri).args(["accept-changes", "0002_slow"]));
    assert_eq!(code(&accepted), 0, "{}", stderr(&accepted));
    assert!(
        stdout(&accepted).contains("Accepted 0002_slow"),
        "{}",
        stdout(&accepted)
    );
    let after = details
        .find_one(mongodb_migrate::bson::doc! { "_id": "0002_slow" })
        .await
        .expect("read")
        .expect("details");
    let change = after
        .get_document("accepted_checksum_change")
        .expect("the accepted change");
    assert_eq!(
        change.get_str("previous").ok(),
        before.get_str("checksum").ok()
    );
    assert_ne!(
        after.get_str("checksum").ok(),
        before.get_str("checksum").ok()
    );
    let status = stdout(&run(migrate(&app, &t.uri).arg("status")));
    assert!(!status.contains("changed since applied"), "{status}");
    let check = run(migrate(&app, &t.uri).arg("check"));
    assert_eq!(
        code(&check),
        i32::from(exit_code::PENDING),
        "{}",
        stdout(&check)
    );
    // Nothing left to accept.
    let again = run(migrate(&app, &t.uri).arg("accept-changes"));
    assert_eq!(code(&again), 0);
    assert!(
        stdout(&again).contains("nothing to accept"),
        "{}",
        stdout(&again)
    );

    // --allow-changed also lets one run through without accepting: edit again to see it.
    let slow = std::fs::read_to_string(app.dir.join("migrations/0002_slow.rs")).expect("read");
    app.write(
        "migrations/0002_slow.rs",
        slow.replace("\"up-again\"", "\"up-thrice\""),
    );
    let app = app.rebuild();
    assert!(app.success, "{}", app.stderr);
    let allowed = run(migrate(&app, &t.uri).args(["up", "--allow-changed"]));
    assert_eq!(code(&allowed), 0, "{}", stderr(&allowed));
    assert!(
        stdout(&allowed).contains("Applied 1 migration"),
        "{}",
        stdout(&allowed)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_migrations_get_their_own_heading_and_block_up_and_down() {
    let app = cli_common::counter_app();
    let t = test_database("cli_unknown").await;
    let up = run(migrate(app, &t.uri).arg("up"));
    assert_eq!(code(&up), 0);
    t.db.collection::<mongodb_migrate::bson::Document>("pymongo_migrate")
        .insert_one(mongodb_migrate::bson::doc! { "name": "0009_newer", "applied": mongodb_migrate::bson::DateTime::now() })
        .await
        .expect("insert");
    let status = stdout(&run(migrate(app, &t.uri).arg("status")));
    assert!(
        status
            .contains("Unknown migrations (in the database, not in this binary):\n  ? 0009_newer"),
        "{status}"
    );
    for args in [&["up"][..], &["down"][..]] {
        let o = run(migrate(app, &t.uri).args(args));
        assert_eq!(
            code(&o),
            i32::from(exit_code::UNKNOWN),
            "{args:?}: {}",
            stderr(&o)
        );
        assert!(stderr(&o).contains("--allow-unknown"));
    }
    assert_eq!(
        code(&run(migrate(app, &t.uri).arg("check"))),
        i32::from(exit_code::UNKNOWN)
    );
    let o = run(migrate(app, &t.uri).args(["down", "--allow-unknown"]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}
