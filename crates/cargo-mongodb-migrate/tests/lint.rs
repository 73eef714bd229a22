//! `cargo mongodb-migrate lint`: the build script's checks and diagnostics, compiling nothing.
//!
//! Each diagnostic snapshot of the build crate (`tests/fixtures/<case>/expected.txt`) is what
//! `cargo build` shows for that case (the app's `compile_fail` tests hold the build to it);
//! here the lint must print exactly the same bytes.

use std::path::{Path, PathBuf};

use crate::{text, tool};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../mongodb-migrate-build/tests/fixtures")
}

/// An app in a temp dir: `Cargo.toml` with `dependencies` (TOML lines), and the files of
/// `migrations` (a fixture's `migrations/` directory) under `migrations/`.
pub(crate) fn app(dependencies: &str, migrations: &Path) -> tempfile::TempDir {
    let app = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        app.path().join("Cargo.toml"),
        format!("[package]\nname = \"app\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n[dependencies]\n{dependencies}\n"),
    )
    .expect("Cargo.toml");
    mongodb_migrate_test_support::copy_dir(migrations, &app.path().join("migrations"));
    app
}

const RUNTIME: &str = "mongodb-migrate = \"0.1\"";

#[test]
fn every_snapshot_case_is_reported_exactly_as_the_build_reports_it() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("expected.txt").is_file())
        .collect();
    cases.sort();
    assert!(cases.len() >= 30, "only {} cases", cases.len());
    for case in cases {
        let app = app(RUNTIME, &case.join("migrations"));
        let out = tool()
            .current_dir(app.path())
            .arg("lint")
            .output()
            .expect("run");
        let expected = std::fs::read_to_string(case.join("expected.txt")).expect("expected");
        assert_eq!(out.status.code(), Some(1), "{}", case.display());
        assert_eq!(text(&out.stderr), expected, "{}", case.display());
        assert_eq!(text(&out.stdout), "", "{}", case.display());
    }
}

#[test]
fn a_clean_plan_exits_0_and_says_so_unless_quiet() {
    let app = app(RUNTIME, &fixtures().join("_valid_plan/migrations"));
    let out = tool()
        .current_dir(app.path())
        .arg("lint")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "migrations/: no problems (5 migrations, head `0005_replace_title_index`)\n"
    );
    assert_eq!(text(&out.stderr), "");
    // As cargo runs it, quiet, from a subdirectory, with the directory given relative to it:
    // the files are still shown relative to the app.
    let sub = app.path().join("src");
    std::fs::create_dir(&sub).expect("mkdir");
    let quiet = tool()
        .current_dir(&sub)
        .args(["mongodb-migrate", "lint", "-q", "-d", "../migrations"])
        .output()
        .expect("run");
    assert_eq!(quiet.status.code(), Some(0), "{}", text(&quiet.stderr));
    assert_eq!(text(&quiet.stdout), "");
    std::fs::write(app.path().join("migrations/0006_x.rs"), "").expect("write");
    let broken = tool()
        .current_dir(&sub)
        .env("MONGO_MIGRATE_DIR", "../migrations")
        .args(["lint", "-q"])
        .output()
        .expect("run");
    assert_eq!(broken.status.code(), Some(1));
    assert!(
        text(&broken.stderr).contains("--> migrations/0006_x.rs"),
        "{}",
        text(&broken.stderr)
    );
}

/// The framework's crate is named as the build names it: from the app's `Cargo.toml`, or from
/// what `build.rs` gives `Builder::runtime_crate`.
#[test]
fn the_framework_is_named_from_the_manifest_as_in_the_build() {
    let case = fixtures().join("old_import_path/migrations");
    let renamed = app(
        "mm = { package = \"mongodb-migrate\", version = \"0.1\" }",
        &case,
    );
    let out = tool()
        .current_dir(renamed.path())
        .arg("lint")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("error: `mongo_migrate` is now `mm`"),
        "{}",
        text(&out.stderr)
    );
    // Renamed to the old name, the old spelling still resolves: nothing to report.
    let kept = app(
        "mongo_migrate = { package = \"mongodb-migrate\", version = \"0.1\" }",
        &case,
    );
    let out = tool()
        .current_dir(kept.path())
        .args(["lint", "-q"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // `--manifest-path` reads another app's manifest; `--runtime-crate` overrides it as
    // `Builder::runtime_crate` does.
    let out = tool()
        .current_dir(renamed.path())
        .arg("lint")
        .arg("--manifest-path")
        .arg(kept.path().join("Cargo.toml"))
        .arg("-d")
        .arg(renamed.path().join("migrations"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = tool()
        .current_dir(renamed.path())
        .args(["lint", "--runtime-crate", "::rt"])
        .output()
        .expect("run");
    assert!(
        text(&out.stderr).starts_with("error: `mongo_migrate` is now `rt`"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn it_compiles_nothing() {
    // No cargo, no rustc: nothing on PATH at all.
    let app = app(RUNTIME, &fixtures().join("two_heads/migrations"));
    let out = tool()
        .current_dir(app.path())
        .env("PATH", "")
        .env_remove("CARGO")
        .env_remove("RUSTC")
        .arg("lint")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("the plan has 2 heads"));
    assert!(!app.path().join("target").exists());
}

#[test]
fn colour_is_the_plain_report_plus_escapes() {
    let app = app(
        RUNTIME,
        &fixtures().join("many_problems_at_once/migrations"),
    );
    let run = |args: &[&str]| {
        let out = tool()
            .current_dir(app.path())
            .arg("lint")
            .args(args)
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(1));
        text(&out.stderr)
    };
    let plain = run(&[]);
    assert!(!plain.contains('\u{1b}'), "not a terminal: no colour");
    let colored = run(&["--color", "always"]);
    assert!(colored.contains("\u{1b}["));
    let stripped: String = {
        let mut out = String::new();
        let mut chars = colored.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                chars.by_ref().find(|&c| c == 'm');
            } else {
                out.push(c);
            }
        }
        out
    };
    assert_eq!(stripped, plain);
    assert_eq!(run(&["--color", "never"]), plain);
}

#[test]
fn bad_usage_exits_2() {
    let app = app(RUNTIME, &fixtures().join("_valid_plan/migrations"));
    for args in [
        &["lint", "--bogus"][..],
        &["lint", "--manifest-path", "nowhere/Cargo.toml"],
        &["lint", "--color", "sometimes"],
        &["lint", "extra"],
    ] {
        let out = tool()
            .current_dir(app.path())
            .args(args)
            .output()
            .expect("run");
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(text(&out.stderr).contains("error"), "{args:?}");
    }
}
