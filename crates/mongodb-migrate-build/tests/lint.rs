//! The destructive-operation lint on real plans: what must build clean does, the plan carries
//! the opt-outs, and the opt-outs never change a checksum.
//!
//! The findings themselves are pinned by the `destructive_*`, `allow_*` and `irreversible_*`
//! diagnostic snapshots (`tests/snapshots.rs`).

use std::path::{Path, PathBuf};

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Field Notes' own `migrations/`, at the workspace root.
fn field_notes() -> PathBuf {
    manifest_dir().join("../../migrations")
}

fn copy_migrations(from: &Path, to: &Path, skip: &[&str]) {
    for entry in std::fs::read_dir(from).expect("migrations dir") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("file name").to_owned();
        if skip.iter().any(|s| name == *s) {
            continue;
        }
        if path.is_dir() {
            std::fs::create_dir_all(to.join(&name)).expect("mkdir");
            copy_migrations(&path, &to.join(&name), skip);
        } else {
            std::fs::copy(&path, to.join(&name)).expect("copy");
        }
    }
}

/// The lookalikes snapshot has exactly one problem, in its last file; without that file the
/// plan resolves, and carries the one `ALLOW` and the one `IRREVERSIBLE` it declares.
#[test]
fn lookalikes_resolve_clean_and_the_plan_carries_the_opt_outs() {
    let temp = tempfile::tempdir().expect("temp dir");
    copy_migrations(
        &manifest_dir().join("tests/fixtures/destructive_lookalikes_are_fine/migrations"),
        temp.path(),
        &["0010_the_only_problem.rs"],
    );
    let plan = mongodb_migrate_build::resolve(temp.path()).unwrap_or_else(|r| panic!("{r}"));
    assert_eq!(plan.migrations.len(), 9);
    type OptOuts<'a> = (&'a str, Vec<(&'a str, &'a str, usize)>, Option<&'a str>);
    let opted_out: Vec<OptOuts<'_>> = plan
        .migrations
        .iter()
        .filter(|m| !m.allowed.is_empty() || m.irreversible.is_some())
        .map(|m| {
            (
                m.name.as_str(),
                m.allowed
                    .iter()
                    .map(|a| (a.finding.as_str(), a.reason.as_str(), a.line))
                    .collect(),
                m.irreversible.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        opted_out,
        [
            (
                "0008_set_language",
                vec![],
                Some("stories that had no language cannot be told apart afterwards")
            ),
            (
                "0009_retire_legacy",
                vec![("drop_collection", "legacy was copied to stories in 0001", 9)],
                None
            ),
        ]
    );
}

/// Field Notes' migrations, and the README's tutorial migration beside them, build clean.
#[test]
fn field_notes_and_the_readme_tutorial_build_clean() {
    let temp = tempfile::tempdir().expect("temp dir");
    copy_migrations(&field_notes(), temp.path(), &[]);
    let plan = mongodb_migrate_build::resolve(temp.path()).unwrap_or_else(|r| panic!("{r}"));
    assert!(plan.migrations.len() >= 4);
    assert!(plan
        .migrations
        .iter()
        .all(|m| m.allowed.is_empty() && m.irreversible.is_none()));

    let readme =
        std::fs::read_to_string(manifest_dir().join("../../README.md")).expect("README.md");
    let marker = "<!-- tutorial: migrations/0005_add_featured_flag.rs -->";
    let tutorial = readme
        .split_once(marker)
        .and_then(|(_, after)| after.split_once("```rust\n"))
        .and_then(|(_, block)| block.split_once("```"))
        .map(|(code, _)| code)
        .expect("the README's tutorial block");
    std::fs::write(temp.path().join("0005_add_featured_flag.rs"), tutorial).expect("write");
    let plan = mongodb_migrate_build::resolve(temp.path()).unwrap_or_else(|r| panic!("{r}"));
    assert_eq!(
        plan.head().map(|m| m.name.as_str()),
        Some("0005_add_featured_flag")
    );
}

/// `text` without its `pub const ALLOW …;` and `pub const IRREVERSIBLE …;` items, which may
/// span several lines.
fn without_opt_outs(text: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in text.lines() {
        skipping = skipping
            || line.starts_with("pub const ALLOW")
            || line.starts_with("pub const IRREVERSIBLE");
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
        if skipping && line.trim_end().ends_with(';') {
            skipping = false;
        }
    }
    out
}

/// Adding an allow or a reason to an applied migration does not mark it as changed: for every
/// migration of Field Notes and of the golden plan, the checksum with both opt-outs added is
/// the checksum without them.
#[test]
fn opt_outs_never_change_a_checksum() {
    let opt_outs =
        "pub const ALLOW: &[(&str, &str)] = &[(\"drop_collection\", \"replaced in 0012\")];\n\
                    pub const IRREVERSIBLE: &str = \"the old values are gone\";\n";
    let mut checked = 0;
    for dir in [
        field_notes(),
        manifest_dir().join("tests/fixtures/_valid_plan/migrations"),
    ] {
        for entry in std::fs::read_dir(&dir).expect("migrations dir") {
            let path = entry.expect("entry").path();
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read");
            let bare = without_opt_outs(&text);
            let marker = bare
                .lines()
                .find(|l| l.starts_with("pub const DEPENDENCIES"))
                .expect("DEPENDENCIES on one line");
            let with = bare.replacen(marker, &format!("{marker}\n{opt_outs}"), 1);
            assert_ne!(with, bare);
            let sum = |t: &str| mongodb_migrate_build::checksum_source(t).expect("lexes");
            assert_eq!(sum(&bare), sum(&with), "{}", path.display());
            assert_eq!(sum(&bare), sum(&text), "{}", path.display());
            checked += 1;
        }
    }
    assert!(checked >= 9, "only {checked} migrations");
}
