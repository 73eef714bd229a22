//! The archive crate (`cargo mongodb-migrate archive`): archived migrations keep their names
//! and checksums, the plan stays whole and checked as one, archived ones come first, and the
//! generated registry lists them from the archive crate instead of compiling them.

use std::path::{Path, PathBuf};

use mongodb_migrate_build::archive::{archive, ArchiveError};
use mongodb_migrate_build::{generate, Builder, Plan};

fn valid_plan() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/_valid_plan/migrations")
}

/// An app with the golden plan's migrations and a manifest like an adopter's.
fn app() -> tempfile::TempDir {
    let app = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        app.path().join("Cargo.toml"),
        "[package]\nname = \"notes\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [dependencies]\nmongodb-migrate = { version = \"0.1\", features = [\"cli\"] }\n\n\
         [build-dependencies]\nmongodb-migrate-build = { path = \"../framework/build\" }\n",
    )
    .expect("Cargo.toml");
    mongodb_migrate_test_support::copy_dir(&valid_plan(), &app.path().join("migrations"));
    app
}

/// [`app`], archived through `name`.
fn archived_through(name: &str) -> tempfile::TempDir {
    let app = app();
    archive(app.path(), Path::new("migrations"), name).expect("archives");
    app
}

fn lint(app: &Path) -> Plan {
    Builder::new()
        .lint(app)
        .unwrap_or_else(|r| panic!("{}", r.render(false)))
}

/// Name, checksum, archived, in plan order.
fn summary(plan: &Plan) -> Vec<(String, String, bool)> {
    plan.migrations
        .iter()
        .map(|m| (m.name.clone(), m.checksum.clone(), m.archived))
        .collect()
}

#[test]
fn archived_migrations_keep_their_names_and_checksums_and_come_first() {
    let app = app();
    let before = summary(&lint(app.path()));
    let done = archive(
        app.path(),
        Path::new("migrations"),
        "0002_add_featured_flag",
    )
    .expect("archives");
    assert!(done.created);
    assert_eq!(
        done.moved,
        ["0001_create_stories", "0002_add_featured_flag"]
    );
    assert!(app
        .path()
        .join("archive/migrations/0001_create_stories.rs")
        .is_file());
    assert!(!app
        .path()
        .join("migrations/0001_create_stories.rs")
        .exists());

    let plan = lint(app.path());
    assert_eq!(plan.archive.as_deref(), Some("notes_archive"));
    let after = summary(&plan);
    let unflagged: Vec<_> = after
        .iter()
        .map(|(n, c, _)| (n.clone(), c.clone(), false))
        .collect();
    assert_eq!(unflagged, before, "same names, checksums and order");
    let flags: Vec<bool> = after.iter().map(|m| m.2).collect();
    assert_eq!(flags, [true, true, false, false, false]);

    // The app's manifest names the crate twice; the crate's own manifest names the helpers and
    // rebases the framework's path dependency.
    let manifest = std::fs::read_to_string(app.path().join("Cargo.toml")).expect("read");
    assert!(
        manifest.contains("[dependencies]\nnotes-archive = { path = \"archive\" }\n"),
        "{manifest}"
    );
    assert!(
        manifest.contains("[package.metadata.mongodb-migrate]\n"),
        "{manifest}"
    );
    assert!(manifest.contains("\narchive = \"archive\"\n"), "{manifest}");
    let crate_manifest =
        std::fs::read_to_string(app.path().join("archive/Cargo.toml")).expect("read");
    assert!(
        crate_manifest.contains("name = \"notes-archive\""),
        "{crate_manifest}"
    );
    assert!(
        crate_manifest.contains("helpers = \"../migrations\""),
        "{crate_manifest}"
    );
    assert!(
        crate_manifest.contains("mongodb-migrate-build = { path = \"../../framework/build\" }"),
        "{crate_manifest}"
    );
    assert!(
        crate_manifest.contains("mongodb-migrate = { features = [\"cli\"], version = \"0.1\" }"),
        "{crate_manifest}"
    );

    // The archive crate's own plan: its migrations alone, with the app's helper modules.
    let own = Builder::new()
        .lint(app.path().join("archive"))
        .unwrap_or_else(|r| panic!("{}", r.render(false)));
    let names: Vec<&str> = own.migrations.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["0001_create_stories", "0002_add_featured_flag"]);
    assert_eq!(own.helpers.len(), 1);
    assert!(own.helpers[0].path.ends_with("migrations/common/mod.rs"));
    assert_eq!(own.archive, None);

    // Archiving again, further along the history: only what is new moves.
    let again =
        archive(app.path(), Path::new("migrations"), "0004_merge_0002_0003").expect("archives");
    assert!(!again.created);
    assert_eq!(again.moved, ["0003_index_sections", "0004_merge_0002_0003"]);
    let flags: Vec<bool> = summary(&lint(app.path())).iter().map(|m| m.2).collect();
    assert_eq!(flags, [true, true, true, true, false]);
}

#[test]
fn the_registry_lists_archived_entries_from_the_archive_crate() {
    let app = archived_through("0002_add_featured_flag");
    let plan = lint(app.path());
    let source = generate(&plan, "::mongodb_migrate", "migrations/").expect("generates");
    assert!(source.contains("::notes_archive::MIGRATIONS[0],\n    ::notes_archive::MIGRATIONS[1],\n    ::mongodb_migrate::Migration {\n        name: \"0003_index_sections\""), "{source}");
    assert!(
        source.contains("::std::assert!(\n    ::notes_archive::MIGRATIONS.len() == 2,"),
        "{source}"
    );
    assert!(
        !source.contains("0001_create_stories.rs"),
        "archived files are not compiled here"
    );
    assert!(source.contains("0003_index_sections.rs"));
    assert!(
        source.contains("#[allow(dead_code)]\nmod common;"),
        "{source}"
    );
    // The archive crate's registry is an ordinary one.
    let own = Builder::new()
        .lint(app.path().join("archive"))
        .expect("clean");
    let own_source = generate(&own, "::mongodb_migrate", "migrations/").expect("generates");
    assert!(own_source.contains("0001_create_stories.rs"));
    assert!(own_source.contains("pub static MIGRATIONS"));
    // A plan with archived migrations and no crate to list them from is not generated.
    let orphan = Plan {
        archive: None,
        ..plan.clone()
    };
    assert!(generate(&orphan, "::mongodb_migrate", "migrations/").is_err());
}

#[test]
fn refusals() {
    let app = app();
    let unknown =
        archive(app.path(), Path::new("migrations"), "0009_nothing").expect_err("unknown");
    assert!(matches!(unknown, ArchiveError::Unknown(_)), "{unknown}");
    archive(
        app.path(),
        Path::new("migrations"),
        "0002_add_featured_flag",
    )
    .expect("archives");
    // 0003 does not depend on 0002: the archive would not be one line of history.
    let sideways =
        archive(app.path(), Path::new("migrations"), "0003_index_sections").expect_err("refused");
    assert!(
        sideways
            .to_string()
            .contains("`0003_index_sections` does not depend on `0002_add_featured_flag`"),
        "{sideways}"
    );
    // A broken plan is not archived.
    std::fs::write(app.path().join("migrations/0006_x.rs"), "").expect("write");
    let broken =
        archive(app.path(), Path::new("migrations"), "0004_merge_0002_0003").expect_err("refused");
    assert!(matches!(broken, ArchiveError::Plan(_)), "{broken}");
    // A directory in the way of a new archive is not overwritten.
    let other = self::app();
    std::fs::create_dir(other.path().join("archive")).expect("mkdir");
    let taken =
        archive(other.path(), Path::new("migrations"), "0001_create_stories").expect_err("refused");
    assert!(matches!(taken, ArchiveError::Exists(_)), "{taken}");
}

#[test]
fn the_whole_plan_is_checked_across_the_archive() {
    let app = archived_through("0002_add_featured_flag");
    // An archived migration moved by hand that depends on a live one.
    std::fs::rename(
        app.path().join("migrations/0003_index_sections.rs"),
        app.path().join("archive/migrations/0003_index_sections.rs"),
    )
    .expect("move");
    std::fs::rename(
        app.path().join("archive/migrations/0001_create_stories.rs"),
        app.path().join("migrations/0001_create_stories.rs"),
    )
    .expect("move");
    let report = Builder::new().lint(app.path()).expect_err("broken");
    let text = report.render(false);
    assert!(
        text.contains("error: archived `0002_add_featured_flag` depends on `0001_create_stories`, which is not archived\n  --> archive/migrations/0002_add_featured_flag.rs:5:37"),
        "{text}"
    );
    assert!(
        text.contains("cargo mongodb-migrate archive --through 0002_add_featured_flag"),
        "{text}"
    );
    // A sequence number taken on both sides is one plan's duplicate.
    std::fs::copy(
        app.path().join("migrations/0004_merge_0002_0003.rs"),
        app.path()
            .join("archive/migrations/0004_merge_0002_0003.rs"),
    )
    .expect("copy");
    let text = Builder::new()
        .lint(app.path())
        .expect_err("broken")
        .render(false);
    assert!(
        text.contains("sequence number 4 is used by 2 migrations"),
        "{text}"
    );
    // The archive named, but not a dependency of the app.
    let other = self::app();
    archive(other.path(), Path::new("migrations"), "0001_create_stories").expect("archives");
    let manifest = other.path().join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).expect("read");
    std::fs::write(
        &manifest,
        text.replace("notes-archive = { path = \"archive\" }\n", ""),
    )
    .expect("write");
    let text = Builder::new()
        .lint(other.path())
        .expect_err("broken")
        .render(false);
    assert!(
        text.contains("error: the archive crate `archive` is not a dependency of the app")
            && text.contains("add `notes-archive = { path = \"archive\" }` to `[dependencies]`"),
        "{text}"
    );
}

/// `cargo mongodb-migrate new` numbers after the archive, and depends on its head when every
/// migration is archived.
#[test]
fn scaffolding_sees_the_archive() {
    let app = app();
    archive(
        app.path(),
        Path::new("migrations"),
        "0005_replace_title_index",
    )
    .expect("archives");
    let written = mongodb_migrate_build::scaffold::create(app.path().join("migrations"), "next")
        .expect("new");
    assert!(written.ends_with("0006_next.rs"), "{}", written.display());
    let text = std::fs::read_to_string(written).expect("read");
    assert!(text.contains("&[\"0005_replace_title_index\"]"), "{text}");
    let plan = lint(app.path());
    assert_eq!(plan.head().map(|m| m.name.as_str()), Some("0006_next"));
}
