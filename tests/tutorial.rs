//! The README's "Writing a migration" tutorial is real: its `0005_add_featured_flag` example,
//! copied out of README.md, builds beside Field Notes' migrations, passes every build check and
//! round-trips on a real database through the built binary.
use std::path::Path;
use std::process::Command;

use mongo_migrate::prelude::*;
use mongo_migrate::testing::{test_database, FixtureCrate};

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

#[tokio::test]
async fn the_tutorial_migration_builds_and_round_trips() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let example = tutorial_example();
    assert!(
        example.contains("pub const NAME: &str = \"0005_add_featured_flag\";"),
        "{example}"
    );
    let fixture =
        FixtureCrate::new("tutorial").copy_dir_into(root.join("migrations"), "migrations");
    let built = fixture
        .file("migrations/0005_add_featured_flag.rs", &example)
        .build();
    let bin = built.binary().to_owned();

    let t = test_database("tutorial").await;
    t.db.collection::<Document>("stories")
        .insert_many([doc! { "_id": 1 }, doc! { "_id": 2, "featured": true }])
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
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(&["up"]);
    let stories = t.db.collection::<Document>("stories");
    assert_eq!(
        stories
            .count_documents(doc! { "featured": false })
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        stories
            .count_documents(doc! { "featured": true })
            .await
            .unwrap(),
        1
    );
    run(&["down"]);
    assert_eq!(
        stories
            .count_documents(doc! { "featured": { "$exists": true } })
            .await
            .unwrap(),
        1
    );
    let status = run(&["status"]);
    assert!(status.contains("0005_add_featured_flag"), "{status}");
}
