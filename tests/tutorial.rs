//! The README's "Writing a migration" tutorial is real: its `0005_add_featured_flag` example,
//! copied out of README.md, builds beside Field Notes' migrations, passes every build check,
//! runs up and down on a real database through the built binary, and goes through the
//! round-trip harness with Field Notes' own writes interleaved.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use mongodb_migrate::prelude::*;
use mongodb_migrate::testing::test_database;
use mongodb_migrate_test_support::{FixtureBuild, FixtureCrate};

const MARKER: &str = "<!-- tutorial: migrations/0005_add_featured_flag.rs -->";

fn tutorial_example() -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let after = readme
        .split_once(MARKER)
        .expect("README.md has the tutorial marker")
        .1;
    let block = after
        .split_once("```rust\n")
        .expect("a rust block follows the marker")
        .1;
    block
        .split_once("```")
        .expect("the block ends")
        .0
        .to_owned()
}

/// The fixture's manifest: the default one, plus the `testing` feature and a second binary that
/// runs the round-trip harness over the same generated registry.
fn cargo_toml(name: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let runtime = root.join("crates/mongodb-migrate");
    let build = root.join("crates/mongodb-migrate-build");
    format!(
        r#"[package]
name = "{name}"
version = "0.0.0"
edition = "2021"
publish = false

[[bin]]
name = "{name}"
path = "src/main.rs"

[[bin]]
name = "{name}_round_trip"
path = "src/round_trip.rs"

# Not a member of the framework's workspace.
[workspace]

[dependencies]
mongodb-migrate = {{ path = {runtime:?}, features = ["cli", "testing"] }}

[build-dependencies]
mongodb-migrate-build = {{ path = {build:?} }}

{profiles}"#,
        runtime = runtime.display().to_string(),
        build = build.display().to_string(),
        profiles = mongodb_migrate_test_support::workspace_profiles(),
    )
}

/// The harness binary: every migration of the tutorial's plan (0001–0005) through up → up →
/// down → up on Field Notes' seed, then up → Field Notes' writes → down → up. For 0005 the app
/// also features a story the migration flagged `false`, which the downgrade must keep.
const ROUND_TRIP: &str = r#"//! The round-trip harness over the tutorial's plan, with the app's writes.
mod registry;
mod support;

use mongodb_migrate::prelude::*;
use mongodb_migrate::BoxFuture;

fn seed(db: &Database) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        support::seed(db).await;
    })
}

fn app_writes(db: &Database) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        support::app_writes(db).await;
        db.collection::<Document>("stories")
            .update_one(
                doc! { "_id": "s-orphan", "featured": false },
                doc! { "$set": { "featured": true } },
            )
            .await
            .expect("the app features s-orphan");
    })
}

fn main() {
    support::admin_env();
    mongodb_migrate::testing::round_trip_test(
        "tutorial_app_writes",
        registry::MIGRATIONS,
        &[seed],
        Some(app_writes),
    );
}
"#;

/// Field Notes with the tutorial's migration, built once per test binary.
fn tutorial_app() -> &'static FixtureBuild {
    static BUILD: OnceLock<FixtureBuild> = OnceLock::new();
    BUILD.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let example = tutorial_example();
        assert!(
            example.contains("pub const NAME: &str = \"0005_add_featured_flag\";"),
            "{example}"
        );
        let fixture =
            FixtureCrate::new("tutorial").copy_dir_into(root.join("migrations"), "migrations");
        let cargo_toml = cargo_toml(fixture.name());
        let support = std::fs::read_to_string(root.join("tests/support/mod.rs")).unwrap();
        fixture
            .file("Cargo.toml", cargo_toml)
            .file("src/round_trip.rs", ROUND_TRIP)
            .file("src/support.rs", support)
            .file("migrations/0005_add_featured_flag.rs", &example)
            .build()
    })
}

/// The harness binary beside the app's own.
fn round_trip_binary(built: &FixtureBuild) -> PathBuf {
    let app = built.binary();
    let name = app.file_name().unwrap().to_string_lossy();
    app.with_file_name(format!("{name}_round_trip"))
}

#[test]
fn the_tutorial_migration_round_trips_with_the_apps_writes() {
    let built = tutorial_app();
    let out = Command::new(round_trip_binary(built))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn the_tutorial_migration_builds_and_runs_up_and_down() {
    let bin = tutorial_app().binary().to_owned();

    let t = test_database("tutorial").await;
    t.db.collection::<Document>("stories")
        .insert_many([
            doc! { "_id": 1 },
            doc! { "_id": 2, "featured": true },
            doc! { "_id": 3 },
        ])
        .await
        .unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(&bin)
            .args(args)
            .env("MONGO_URI", &t.uri)
            .env("ADMIN_EMAIL", "admin@field-notes.test")
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    run(&["up"]);
    let stories = t.db.collection::<Document>("stories");
    let featured = || async {
        let mut flags: Vec<(i32, Option<bool>)> = stories
            .find(doc! {})
            .await
            .unwrap()
            .map_ok(|s| (s.get_i32("_id").unwrap(), s.get_bool("featured").ok()))
            .try_collect()
            .await
            .unwrap();
        flags.sort();
        flags
    };
    assert_eq!(
        featured().await,
        [(1, Some(false)), (2, Some(true)), (3, Some(false))]
    );
    // The app features story 1 after the upgrade: the downgrade keeps that, and says so.
    stories
        .update_one(doc! { "_id": 1 }, doc! { "$set": { "featured": true } })
        .await
        .unwrap();
    let down = run(&["down"]);
    assert_eq!(
        featured().await,
        [(1, Some(true)), (2, Some(true)), (3, None)]
    );
    assert!(
        down.contains(
            "0005_add_featured_flag: 1 document in stories changed since it was applied; \
             left as it is"
        ),
        "{down}"
    );
    let status = run(&["status"]);
    assert!(status.contains("0005_add_featured_flag"), "{status}");
}
