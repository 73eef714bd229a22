//! End to end: a real `cargo build` of a tiny app whose `migrations/` is broken, one per class
//! of check. What cargo shows under `--- stderr` must be exactly the rendered report pinned by
//! the build crate's diagnostic snapshot of the same case
//! (`crates/mongodb-migrate-build/tests/fixtures/<case>/expected.txt`), with no panic and with
//! cargo's one-line summary first. The fixtures are shared, not copied.
//!
//! Cases only a real build can show (rustc's own errors) live in `tests/fixtures/compile_fail/`.

use std::path::{Path, PathBuf};

use mongodb_migrate_test_support::{FixtureBuild, FixtureCrate};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn snapshot_case(case: &str) -> PathBuf {
    root()
        .join("crates/mongodb-migrate-build/tests/fixtures")
        .join(case)
}

fn build(dir: &Path, label: &str) -> FixtureBuild {
    FixtureCrate::new(label).copy_dir(dir).build()
}

/// The build script's stderr as cargo shows it (under `--- stderr`, indented by two spaces).
fn build_script_stderr(cargo_stderr: &str) -> String {
    let section = cargo_stderr
        .split_once("--- stderr\n")
        .map_or("", |(_, rest)| rest);
    let mut out = String::new();
    // The section ends at cargo's next unindented line (say, "build failed, waiting for other
    // jobs to finish" when the failure races other compilations).
    for line in section.lines() {
        let Some(ours) = line
            .strip_prefix("  ")
            .or((line.trim().is_empty()).then_some(""))
        else {
            break;
        };
        out.push_str(ours.trim_end());
        out.push('\n');
    }
    out.trim_end().to_owned()
}

/// The build of the snapshot case `case` fails in our build script, showing the user exactly the
/// snapshot's report, after cargo's summary line with the problem count.
fn assert_reports_snapshot(case: &str) {
    let dir = snapshot_case(case);
    let expected = std::fs::read_to_string(dir.join("expected.txt")).expect("expected.txt");
    let build = build(&dir, case);
    let stderr = &build.stderr;
    assert!(!build.success, "the build succeeded:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("stack backtrace"), "{stderr}");
    let problems = expected
        .lines()
        .filter(|l| l.starts_with("error: "))
        .count()
        - 1;
    let summary = if problems == 1 {
        "the migration plan in migrations/ has 1 problem, shown below".to_owned()
    } else {
        format!("the migration plan in migrations/ has {problems} problems, shown below")
    };
    assert!(
        stderr.contains(&summary),
        "expected `{summary}` in:\n{stderr}"
    );
    let expected: String = expected
        .lines()
        .map(|l| format!("{}\n", l.trim_end()))
        .collect();
    assert_eq!(
        build_script_stderr(stderr),
        expected.trim_end(),
        "cargo's output:\n{stderr}"
    );
}

#[test]
fn check_1_file_name() {
    assert_reports_snapshot("bad_file_names");
}

#[test]
fn check_2_name_mismatch() {
    assert_reports_snapshot("name_mismatch");
}

#[test]
fn check_3_unknown_dependency_with_suggestion() {
    assert_reports_snapshot("dependency_unknown");
}

#[test]
fn check_4_dependency_not_earlier() {
    assert_reports_snapshot("dependency_not_earlier");
}

#[test]
fn check_5_cycle() {
    assert_reports_snapshot("cycle");
}

#[test]
fn check_6_duplicate_sequence_number() {
    assert_reports_snapshot("duplicate_sequence_number");
}

#[test]
fn check_7_two_heads() {
    assert_reports_snapshot("two_heads");
}

#[test]
fn check_8_functions() {
    assert_reports_snapshot("function_shape");
    assert_reports_snapshot("function_missing");
}

/// A transactional migration whose function still takes `&Database` is caught by the build
/// script at the parameter, before rustc would report a type error inside the generated shim.
#[test]
fn check_8_parameter_kind() {
    assert_reports_snapshot("parameter_kind");
}

#[test]
fn check_9_invalid_rust() {
    assert_reports_snapshot("invalid_rust_expected_token");
}

#[test]
fn transactional_must_be_a_bool_literal() {
    assert_reports_snapshot("transactional_malformed");
}

#[test]
fn many_problems_at_once() {
    assert_reports_snapshot("many_problems_at_once");
}

/// Check 11: destructive operations fail the build, each located with the way to allow it, and
/// an undeclared irreversible migration too.
#[test]
fn check_11_destructive_operations() {
    assert_reports_snapshot("destructive_several_at_once");
}

/// Check 12: an `ALLOW` entry that matches nothing fails the build, like `#[expect]`.
#[test]
fn check_12_unused_allow() {
    assert_reports_snapshot("allow_unused");
}

/// A migration still spelling the framework's pre-rename path gets our located diagnostic naming
/// the new path, and rustc's unresolved imports never show.
#[test]
fn the_old_import_path_is_named_before_rustc_fails() {
    assert_reports_snapshot("old_import_path");
}

/// An app that renames the dependency to the old name (`mongo_migrate = { package =
/// "mongodb-migrate", … }`) keeps its migrations as they are: it builds without a diagnostic,
/// the registry names `::mongo_migrate` (read from Cargo.toml, build.rs unchanged), and every
/// checksum is the one the new spelling gives.
#[test]
fn a_dependency_renamed_to_the_old_name_keeps_compiling() {
    let source = snapshot_case("old_import_path");
    let crates = root().join("crates");
    let fixture = FixtureCrate::new("old_name_kept");
    let cargo_toml = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [workspace]\n\n[dependencies]\n\
         mongo_migrate = {{ package = \"mongodb-migrate\", path = {runtime:?}, features = [\"cli\"] }}\n\n\
         [build-dependencies]\nmongodb-migrate-build = {{ path = {build:?} }}\n\n{profiles}",
        profiles = mongodb_migrate_test_support::workspace_profiles(),
        name = fixture.name(),
        runtime = crates.join("mongodb-migrate").display().to_string(),
        build = crates.join("mongodb-migrate-build").display().to_string(),
    );
    let old_spelling = std::fs::read_to_string(source.join("migrations/0002_index_tags.rs"))
        .expect("fixture")
        .replace("mongodb_migrate::", "mongo_migrate::");
    let build = fixture
        .copy_dir(&source)
        .file("migrations/0002_index_tags.rs", old_spelling)
        .file("Cargo.toml", cargo_toml)
        .file(
            "src/main.rs",
            "mod registry;\n\nfn main() -> std::process::ExitCode {\n    mongo_migrate::cli::App::new(registry::MIGRATIONS).run()\n}\n",
        )
        .build();
    assert!(build.success, "{}", build.stderr);
    assert!(!build.stderr.contains("warning"), "{}", build.stderr);
    let plan = std::process::Command::new(build.binary())
        .args(["plan", "--format", "json"])
        .output()
        .expect("plan");
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).expect("plan json");
    for m in plan["migrations"].as_array().expect("migrations") {
        let name = m["name"].as_str().expect("name");
        let text = std::fs::read_to_string(source.join(format!("migrations/{name}.rs")))
            .expect("migration")
            .replace("mongo_migrate::", "mongodb_migrate::");
        assert_eq!(
            m["checksum"].as_str(),
            mongodb_migrate_build::checksum_source(&text).as_deref(),
            "{name}"
        );
    }
}

#[test]
fn rustc_type_errors_point_at_the_migration_file() {
    let dir = root().join("tests/fixtures/compile_fail/type_error_in_body");
    let migration = "migrations/0001_create_users.rs";
    let text = std::fs::read_to_string(dir.join(migration)).expect("the fixture's migration");
    // The fixture's downgrade removes `flag` from every story, which the destructive-operation
    // lint rejects before rustc runs. Filter it, on the same line, so rustc gets to the body.
    let text = text.replace(
        ".update_many(doc! {}, doc! { \"$unset\"",
        ".update_many(doc! { \"flag\": true }, doc! { \"$unset\"",
    );
    let build = FixtureCrate::new("type_error_in_body")
        .copy_dir(&dir)
        .file(migration, text)
        .build();
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

/// `cargo mongodb-migrate new` and `new --merge` (the scaffold library) write files that compile, and the merge repairs a
/// two-heads build.
#[test]
fn scaffolded_migrations_build_and_merge_repairs_two_heads() {
    use mongodb_migrate_build::scaffold::{create, create_merge};
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = temp.path().join("migrations");
    create(&dir, "create_users").expect("new");
    let a = create(&dir, "add_flag").expect("new");
    let b = std::fs::read_to_string(a)
        .expect("read")
        .replace("0002_add_flag", "0003_add_index");
    std::fs::write(dir.join("0003_add_index.rs"), b).expect("write");

    let broken = build(temp.path(), "scaffold");
    assert!(!broken.success);
    assert!(
        broken
            .stderr
            .contains("error: the plan has 2 heads: `0002_add_flag`, `0003_add_index`"),
        "{}",
        broken.stderr
    );

    let merge = create_merge(&dir, None).expect("merge");
    let text = std::fs::read_to_string(&merge).expect("read");
    broken.write("migrations/0004_merge_0002_0003.rs", text);
    let fixed = broken.rebuild();
    assert!(fixed.success, "{}", fixed.stderr);
    assert!(!fixed.stderr.contains("warning"), "{}", fixed.stderr);
}

/// A runtime that reads another registry format than the build crate writes: the build fails
/// with one message naming the skew, not with rustc errors inside the generated code. (The
/// `mongodb-migrate` crate also tells the build script its format, which is compared before
/// anything is generated; here the runtime is a module of the app, as with a renamed
/// dependency, so the generated code's own assertion is what stops the build.)
#[test]
fn a_runtime_of_another_registry_format_fails_with_one_message() {
    let build = FixtureCrate::new("registry_skew")
        .copy_dir(root().join("tests/fixtures/apps/counter"))
        .file(
            "build.rs",
            "fn main() {\n    mongodb_migrate_build::Builder::new().runtime_crate(\"crate::skewed\").emit();\n}\n",
        )
        .file(
            "src/main.rs",
            "mod skewed {\n    pub use mongodb_migrate::*;\n    /// A runtime of a later registry format.\n    pub const REGISTRY_FORMAT: u32 = 3;\n}\ninclude!(concat!(env!(\"OUT_DIR\"), \"/registry.rs\"));\nfn main() {\n    let _ = MIGRATIONS;\n}\n",
        )
        .build();
    assert!(!build.success, "{}", build.stderr);
    let errors: Vec<&str> = build
        .stderr
        .lines()
        .filter(|l| l.starts_with("error"))
        .filter(|l| !l.starts_with("error: could not compile"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", build.stderr);
    assert!(
        build.stderr.contains(
            "which this version of the runtime does not read: use the same version of mongodb-migrate and mongodb-migrate-build"
        ),
        "{}",
        build.stderr
    );
}
