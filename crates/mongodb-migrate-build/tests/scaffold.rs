//! `cargo mongodb-migrate new` and `new --merge` (the scaffolding library): the files written pass every build check.

use mongodb_migrate_build::resolve;
use mongodb_migrate_build::scaffold::{create, create_merge, ScaffoldError};

#[test]
fn first_migration_has_no_dependency_and_resolves() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = create(dir.path(), "create_users").expect("created");
    assert_eq!(path, dir.path().join("0001_create_users.rs"));
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.starts_with("//! "), "{text}");
    assert!(text.contains("use mongodb_migrate::prelude::*;"), "{text}");
    assert!(
        text.contains("pub const DEPENDENCIES: &[&str] = &[];"),
        "{text}"
    );
    let plan = resolve(dir.path()).unwrap_or_else(|r| panic!("{r}"));
    assert_eq!(plan.migrations.len(), 1);
    assert_eq!(plan.migrations[0].name, "0001_create_users");
    assert!(!plan.migrations[0].description.is_empty());
}

#[test]
fn next_migration_is_numbered_after_the_highest_and_depends_on_the_head() {
    let dir = tempfile::tempdir().expect("temp dir");
    create(dir.path(), "create_users").expect("created");
    // A gap in the numbers: the next one follows the highest, not the count.
    let second = create(dir.path(), "add_flag").expect("created");
    let renamed = dir.path().join("0007_add_flag.rs");
    let text = std::fs::read_to_string(&second)
        .expect("read")
        .replace("0002_add_flag", "0007_add_flag");
    std::fs::remove_file(&second).expect("rm");
    std::fs::write(&renamed, text).expect("write");
    let third = create(dir.path(), "backfill").expect("created");
    assert_eq!(third, dir.path().join("0008_backfill.rs"));
    let plan = resolve(dir.path()).unwrap_or_else(|r| panic!("{r}"));
    let names: Vec<&str> = plan.migrations.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        ["0001_create_users", "0007_add_flag", "0008_backfill"]
    );
    assert_eq!(plan.migrations[2].dependencies, ["0007_add_flag"]);
}

#[test]
fn wider_numbers_are_kept() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = std::fs::read_to_string(create(dir.path(), "a").expect("created")).expect("read");
    std::fs::remove_file(dir.path().join("0001_a.rs")).expect("rm");
    std::fs::write(
        dir.path().join("000041_a.rs"),
        text.replace("0001_a", "000041_a"),
    )
    .expect("write");
    assert_eq!(
        create(dir.path(), "b").expect("created"),
        dir.path().join("000042_b.rs")
    );
    resolve(dir.path()).unwrap_or_else(|r| panic!("{r}"));
}

#[test]
fn refuses_names_that_are_not_snake_case() {
    let dir = tempfile::tempdir().expect("temp dir");
    for name in [
        "AddFlag",
        "add-flag",
        "add flag",
        "_add",
        "add__flag",
        "",
        "9lives",
        "add_",
    ] {
        assert!(
            matches!(create(dir.path(), name), Err(ScaffoldError::InvalidName(_))),
            "{name}"
        );
    }
    assert!(std::fs::read_dir(dir.path()).expect("dir").next().is_none());
}

/// `0001_root`, then two branches `0002_branch_a` and `0003_branch_b` both after it.
fn two_heads() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    create(dir.path(), "root").expect("created");
    let a = create(dir.path(), "branch_a").expect("created");
    let text = std::fs::read_to_string(a)
        .expect("read")
        .replace("0002_branch_a", "0003_branch_b");
    std::fs::write(dir.path().join("0003_branch_b.rs"), text).expect("write");
    dir
}

#[test]
fn new_refuses_while_there_are_two_heads() {
    let dir = two_heads();
    match create(dir.path(), "more") {
        Err(ScaffoldError::SeveralHeads(heads)) => {
            assert_eq!(heads, ["0002_branch_a", "0003_branch_b"])
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn merge_fixes_a_two_heads_plan() {
    let dir = two_heads();
    let report = resolve(dir.path()).expect_err("two heads");
    assert!(report.render(false).contains("the plan has 2 heads"));
    let merge = create_merge(dir.path(), None).expect("merged");
    assert_eq!(merge, dir.path().join("0004_merge_0002_0003.rs"));
    let plan = resolve(dir.path()).unwrap_or_else(|r| panic!("{r}"));
    let head = plan.head().expect("a head");
    assert_eq!(head.name, "0004_merge_0002_0003");
    assert_eq!(head.dependencies, ["0002_branch_a", "0003_branch_b"]);
    assert_eq!(
        head.description,
        "Merge the heads 0002_branch_a, 0003_branch_b."
    );
    // After the merge, `new` works again and follows the merge.
    let next = create(dir.path(), "after").expect("created");
    assert!(next.ends_with("0005_after.rs"));
    let plan = resolve(dir.path()).unwrap_or_else(|r| panic!("{r}"));
    assert_eq!(
        plan.head().expect("head").dependencies,
        ["0004_merge_0002_0003"]
    );
}

#[test]
fn merge_takes_a_name_and_works_despite_other_problems() {
    let dir = two_heads();
    // A wrong NAME elsewhere does not hide the graph, so it does not stop the merge.
    let root = dir.path().join("0001_root.rs");
    let text = std::fs::read_to_string(&root)
        .expect("read")
        .replace("\"0001_root\";", "\"0001_rot\";");
    std::fs::write(&root, text).expect("write");
    let merge = create_merge(dir.path(), Some("join_branches")).expect("merged");
    assert!(merge.ends_with("0004_join_branches.rs"));
    let report = resolve(dir.path()).expect_err("the NAME is still wrong");
    assert_eq!(report.len(), 1, "{report}");
}

#[test]
fn merge_refuses_with_fewer_than_two_heads() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(matches!(
        create_merge(dir.path(), None),
        Err(ScaffoldError::NothingToMerge(0))
    ));
    create(dir.path(), "root").expect("created");
    assert!(matches!(
        create_merge(dir.path(), None),
        Err(ScaffoldError::NothingToMerge(1))
    ));
}

#[test]
fn merge_refuses_when_a_file_cannot_be_parsed() {
    let dir = two_heads();
    std::fs::write(
        dir.path().join("0003_branch_b.rs"),
        "pub const NAME: &str = \"0003_branch_b\"\n",
    )
    .expect("write");
    match create_merge(dir.path(), None) {
        Err(error @ ScaffoldError::Unreadable(_)) => {
            let text = error.to_string();
            assert!(
                text.contains("0003_branch_b.rs") && text.contains("expected `;`"),
                "{text}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn never_overwrites() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("0001_x.rs")).expect("a directory in the way");
    // The directory is not a migration file, so the next number is 1 and the path is taken.
    assert!(matches!(
        create(dir.path(), "x"),
        Err(ScaffoldError::Exists(_))
    ));
}
