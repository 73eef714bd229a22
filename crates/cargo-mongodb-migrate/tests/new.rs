//! `cargo mongodb-migrate new`: as cargo runs it, and run directly.

use crate::{text, tool};

#[test]
fn new_writes_numbered_files_depending_on_the_head() {
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = temp.path().join("migrations");
    // As cargo runs a subcommand: the subcommand's name comes first.
    let out = tool()
        .args(["mongodb-migrate", "-d"])
        .arg(&dir)
        .args(["new", "create_users"])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("0001_create_users.rs"),
        "{}",
        text(&out.stdout)
    );
    // Run directly, with the directory from the environment.
    let out = tool()
        .env("MONGO_MIGRATE_DIR", &dir)
        .args(["new", "add_flag"])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let second = std::fs::read_to_string(dir.join("0002_add_flag.rs")).expect("written");
    assert!(
        second.contains("pub const NAME: &str = \"0002_add_flag\";"),
        "{second}"
    );
    assert!(second.contains("&[\"0001_create_users\"]"), "{second}");
}

#[test]
fn mistakes_exit_2_with_the_reason() {
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = temp.path().join("migrations");
    let bad_name = tool()
        .arg("-d")
        .arg(&dir)
        .args(["new", "AddFlag"])
        .output()
        .expect("run");
    assert_eq!(bad_name.status.code(), Some(2));
    assert!(
        text(&bad_name.stderr).contains("snake_case"),
        "{}",
        text(&bad_name.stderr)
    );
    let no_name = tool().arg("-d").arg(&dir).arg("new").output().expect("run");
    assert_eq!(no_name.status.code(), Some(2));
    tool()
        .arg("-d")
        .arg(&dir)
        .args(["new", "only"])
        .assert()
        .success();
    let merge = tool()
        .arg("-d")
        .arg(&dir)
        .args(["new", "--merge"])
        .output()
        .expect("run");
    assert_eq!(merge.status.code(), Some(2));
    assert!(
        text(&merge.stderr).contains("nothing to merge"),
        "{}",
        text(&merge.stderr)
    );
    tool().arg("--help").assert().success();
}
