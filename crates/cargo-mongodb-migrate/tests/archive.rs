//! `cargo mongodb-migrate archive --through NAME`: what it prints and its exit codes (what it
//! moves and writes is the build crate's `archive` tests).

use std::path::Path;

use crate::lint::app;
use crate::{text, tool};

fn valid_plan() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../mongodb-migrate-build/tests/fixtures/_valid_plan/migrations")
}

#[test]
fn archive_moves_and_says_what_it_did() {
    let app = app(
        "mongodb-migrate = \"0.1\"\n\n[build-dependencies]\nmongodb-migrate-build = \"0.1\"",
        &valid_plan(),
    );
    let out = tool()
        .current_dir(app.path())
        .args(["archive", "--through", "0002_add_featured_flag"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "Created the archive crate archive/ and named it in Cargo.toml (`[dependencies]`, `[package.metadata.mongodb-migrate] archive`).\n\
         Archived 2 migrations (0001_create_stories … 0002_add_featured_flag) into archive/migrations/.\n\
         Rebuild (`cargo build`): the archive compiles once; a change to a recent migration then recompiles only those in migrations/.\n"
    );
    // The lint reads the archive as the build does.
    let lint = tool()
        .current_dir(app.path())
        .arg("lint")
        .output()
        .expect("run");
    assert_eq!(
        text(&lint.stdout),
        "migrations/: no problems (5 migrations, head `0005_replace_title_index`)\n"
    );
    let again = tool()
        .current_dir(app.path())
        .args(["archive", "--through", "0001_create_stories"])
        .output()
        .expect("run");
    assert_eq!(again.status.code(), Some(0));
    assert!(text(&again.stdout)
        .starts_with("Nothing to move: `0001_create_stories` is archived already."));

    let unknown = tool()
        .current_dir(app.path())
        .args(["archive", "--through", "0009_x"])
        .output()
        .expect("run");
    assert_eq!(unknown.status.code(), Some(2));
    assert_eq!(
        text(&unknown.stderr),
        "error: no migration is named `0009_x`\n"
    );
    let usage = tool().args(["archive"]).output().expect("run");
    assert_eq!(usage.status.code(), Some(2));

    std::fs::write(app.path().join("migrations/9_bad.rs"), "").expect("write");
    let broken = tool()
        .current_dir(app.path())
        .args(["archive", "--through", "0004_merge_0002_0003"])
        .output()
        .expect("run");
    assert_eq!(broken.status.code(), Some(1));
    assert!(text(&broken.stderr).starts_with("error: `9_bad.rs` is not a migration file name"));
    assert!(
        app.path()
            .join("migrations/0004_merge_0002_0003.rs")
            .is_file(),
        "nothing moved"
    );
}
