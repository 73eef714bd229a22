//! End to end: a real `cargo build` of a tiny app whose `migrations/` is broken, one per class
//! of check, asserting what the user sees: the file, the problem, the hint, and no panic.
//!
//! Fixtures live in `tests/fixtures/compile_fail/<case>/migrations/`.

use std::path::{Path, PathBuf};

use mongo_migrate::testing::{FixtureBuild, FixtureCrate};

fn case_dir(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/compile_fail")
        .join(case)
}

fn build(case: &str) -> FixtureBuild {
    FixtureCrate::new(case).copy_dir(case_dir(case)).build()
}

/// The build failed in our build script, with a clean report that contains every `expected`.
fn assert_reported(build: &FixtureBuild, problems: usize, expected: &[&str]) {
    let stderr = &build.stderr;
    assert!(!build.success, "the build succeeded:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("stack backtrace"), "{stderr}");
    let summary = if problems == 1 {
        "the migration plan in migrations/ has 1 problem, shown below".to_owned()
    } else {
        format!("the migration plan in migrations/ has {problems} problems, shown below")
    };
    assert!(
        stderr.contains(&summary),
        "expected `{summary}` in:\n{stderr}"
    );
    for text in expected {
        assert!(stderr.contains(text), "expected `{text}` in:\n{stderr}");
    }
}

#[test]
fn check_1_file_name() {
    assert_reported(
        &build("file_name"),
        1,
        &[
            "error: `AddFlag.rs` is not a migration file name: expected `NNNN_snake_case.rs`",
            "--> migrations/AddFlag.rs:1:1",
            "help: rename it (e.g. `0002_add_flag.rs`)",
        ],
    );
}

#[test]
fn check_2_name_mismatch() {
    assert_reported(
        &build("name_mismatch"),
        1,
        &[
            "error: `NAME` does not match the file name",
            "--> migrations/0001_create_users.rs:4:24",
            "^^^^^^^^^^^^^^^^^^ `NAME` is \"0001_create_user\"",
            "the file name says \"0001_create_users\"",
        ],
    );
}

#[test]
fn check_3_unknown_dependency_with_suggestion() {
    assert_reported(
        &build("dependency_unknown"),
        1,
        &[
            "error: dependency `0001_crate_users` does not exist",
            "--> migrations/0002_add_flag.rs:5:37",
            "help: did you mean `0001_create_users`?",
        ],
    );
}

#[test]
fn check_4_dependency_not_earlier() {
    assert_reported(
        &build("dependency_not_earlier"),
        1,
        &[
            "error: `0001_create_users` depends on `0002_add_flag`, which does not come before it",
            "--> migrations/0001_create_users.rs:5:37",
            "number 2 is not smaller than 1",
        ],
    );
}

#[test]
fn check_5_cycle() {
    assert_reported(
        &build("cycle"),
        2,
        &[
            "error: dependency cycle: 0002_a → 0003_b → 0002_a",
            "--> migrations/0002_a.rs:5:58",
            "--> migrations/0003_b.rs:5:37",
        ],
    );
}

#[test]
fn check_6_duplicate_sequence_number() {
    assert_reported(
        &build("duplicate_sequence"),
        1,
        &[
            "error: sequence number 1 is used by 2 migrations: `0001_create_stories`, `0001_create_users`",
            "--> migrations/0001_create_users.rs:4:24",
            "--> migrations/0001_create_stories.rs:4:24",
        ],
    );
}

#[test]
fn check_7_two_heads() {
    assert_reported(
        &build("two_heads"),
        1,
        &[
            "error: the plan has 2 heads: `0002_add_flag`, `0003_add_index`",
            "--> migrations/0002_add_flag.rs:4:24",
            "--> migrations/0003_add_index.rs:4:24",
            "migrate new --merge",
        ],
    );
}

#[test]
fn check_8_functions() {
    assert_reported(
        &build("functions"),
        2,
        &[
            "error: `upgrade` must be a `pub async fn` with one parameter",
            "--> migrations/0001_create_users.rs:7:1",
            "this is not `async`",
            "error: missing `downgrade` function",
        ],
    );
}

#[test]
fn check_9_invalid_rust() {
    assert_reported(
        &build("invalid_rust"),
        1,
        &[
            "error: this file is not valid Rust: unexpected token, expected `;`",
            "--> migrations/0001_create_users.rs:9:5",
        ],
    );
}

#[test]
fn rustc_type_errors_point_at_the_migration_file() {
    let build = build("type_error_in_body");
    let stderr = &build.stderr;
    assert!(!build.success, "{stderr}");
    assert!(
        stderr.contains("error[E0308]: mismatched types"),
        "{stderr}"
    );
    assert!(
        stderr.contains("/migrations/0001_create_users.rs:8:22"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// A transactional migration whose function still takes `&Database` is caught by the build
/// script at the parameter, before rustc would report a type error inside the generated shim.
#[test]
fn a_transactional_migration_taking_the_database_is_reported_at_its_parameter() {
    let build = build("transactional_signature");
    let stderr = &build.stderr;
    assert!(!build.success, "{stderr}");
    assert!(
        stderr.contains("error: `upgrade` of a transactional migration must take the transaction"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--> migrations/0001_create_users.rs:8:26"),
        "{stderr}"
    );
    assert!(
        stderr.contains("help: write `pub async fn upgrade(tx: &mut Transaction) -> Result<()>`"),
        "{stderr}"
    );
    assert!(!stderr.contains("error[E0308]"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// `migrate new` and `migrate new --merge` write files that compile, and the merge repairs a
/// two-heads build.
#[test]
fn scaffolded_migrations_build_and_merge_repairs_two_heads() {
    use mongo_migrate_build::scaffold::{create, create_merge};
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = temp.path().join("migrations");
    create(&dir, "create_users").expect("new");
    let a = create(&dir, "add_flag").expect("new");
    let b = std::fs::read_to_string(a)
        .expect("read")
        .replace("0002_add_flag", "0003_add_index");
    std::fs::write(dir.join("0003_add_index.rs"), b).expect("write");

    let broken = FixtureCrate::new("scaffold").copy_dir(temp.path()).build();
    assert_reported(&broken, 1, &["the plan has 2 heads"]);

    let merge = create_merge(&dir, None).expect("merge");
    let text = std::fs::read_to_string(&merge).expect("read");
    broken.write("migrations/0004_merge_0002_0003.rs", text);
    let fixed = broken.rebuild();
    assert!(fixed.success, "{}", fixed.stderr);
    assert!(!fixed.stderr.contains("warning"), "{}", fixed.stderr);
}
