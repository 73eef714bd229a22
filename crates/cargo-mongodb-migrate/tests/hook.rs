//! The pre-commit hooks: `.githooks/pre-commit` runs the lint first and the compile after it,
//! and `pre-commit-hook.sh` (the pre-commit framework's entry) builds the tool once and lints.
//!
//! `cargo` is a stub on `PATH` that records its arguments (and fails when told to), so these
//! tests see which step ran without compiling anything; the app's `pre_commit_hook` test runs
//! the hook with a real `cargo build`.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::text;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A stub `cargo`: appends its arguments to `$STUB_LOG`; fails, printing a rustc-like error,
/// when `$STUB_FAIL` names an existing file. `cargo install … --root DIR` links the real tool
/// into `DIR/bin`, as a real install would put it there.
const STUB_CARGO: &str = r#"#!/usr/bin/env bash
echo "$*" >> "$STUB_LOG"
if [[ -e "${STUB_FAIL:-/nonexistent}" ]]; then
  echo "error[E0308]: mismatched types (stub)" >&2
  exit 101
fi
if [[ "$1" == install ]]; then
  while [[ $# -gt 0 && "$1" != --root ]]; do shift; done
  mkdir -p "$2/bin" && ln -s "$STUB_TOOL" "$2/bin/cargo-mongodb-migrate"
fi
"#;

/// A temp dir with a stub `cargo` (and, with `with_tool`, the tool) on a `PATH` of its own.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new(with_tool: bool) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).expect("mkdir");
        write_executable(&bin.join("cargo"), STUB_CARGO);
        if with_tool {
            std::os::unix::fs::symlink(
                env!("CARGO_BIN_EXE_cargo-mongodb-migrate"),
                bin.join("cargo-mongodb-migrate"),
            )
            .expect("symlink");
        }
        Sandbox { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        let path = std::env::var("PATH").unwrap_or_default();
        c.env(
            "PATH",
            format!("{}:{path}", self.path().join("bin").display()),
        )
        .env("STUB_LOG", self.path().join("cargo.log"))
        .env("STUB_FAIL", self.path().join("fail"))
        .env("STUB_TOOL", env!("CARGO_BIN_EXE_cargo-mongodb-migrate"))
        .env("CARGO_TERM_COLOR", "never")
        .env_remove("MONGO_MIGRATE_DIR")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.test")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.test");
        c
    }

    /// What the stub `cargo` was called with, one call a line.
    fn cargo_calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.path().join("cargo.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn clear_calls(&self) {
        let _ = std::fs::remove_file(self.path().join("cargo.log"));
    }
}

fn write_executable(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// A git repository of an app with the hook installed, in `sandbox/app`.
fn app_repo(sandbox: &Sandbox) -> PathBuf {
    let app = sandbox.path().join("app");
    std::fs::create_dir_all(app.join("migrations")).expect("mkdir");
    std::fs::write(
        app.join("Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.0.0\"\n\n[dependencies]\nmongodb-migrate = \"0.1\"\n",
    )
    .expect("Cargo.toml");
    let new = sandbox
        .command(env!("CARGO_BIN_EXE_cargo-mongodb-migrate"))
        .args(["new", "first"])
        .current_dir(&app)
        .output()
        .expect("new");
    assert!(new.status.success(), "{}", text(&new.stderr));
    let hook = std::fs::read_to_string(repo_root().join(".githooks/pre-commit")).expect("hook");
    write_executable(&app.join(".githooks/pre-commit"), &hook);
    let git = |args: &[&str]| sandbox.command("git").args(args).current_dir(&app).output();
    assert!(git(&["init", "-q"]).expect("git").status.success());
    assert!(git(&["config", "core.hooksPath", ".githooks"])
        .expect("git")
        .status
        .success());
    app
}

fn commit(sandbox: &Sandbox, app: &Path, message: &str) -> Output {
    let git = |args: &[&str]| {
        sandbox
            .command("git")
            .args(args)
            .current_dir(app)
            .output()
            .expect("git")
    };
    git(&["add", "-A"]);
    git(&["commit", "-qm", message])
}

#[test]
fn the_lint_blocks_a_broken_plan_before_anything_compiles() {
    let sandbox = Sandbox::new(true);
    let app = app_repo(&sandbox);
    let ok = commit(&sandbox, &app, "good");
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    // The lint passed, then the compile ran.
    assert_eq!(sandbox.cargo_calls(), ["build --quiet --color never"]);

    sandbox.clear_calls();
    let first = std::fs::read_to_string(app.join("migrations/0001_first.rs")).expect("read");
    std::fs::write(
        app.join("migrations/0002_second.rs"),
        first.replace("\"0001_first\";", "\"0002_secnd\";"),
    )
    .expect("write");
    let blocked = commit(&sandbox, &app, "broken");
    let stderr = text(&blocked.stderr);
    assert!(!blocked.status.success(), "{stderr}");
    // Exactly the lint's report, as the build words it, and no cargo preamble.
    let lint = sandbox
        .command(env!("CARGO_BIN_EXE_cargo-mongodb-migrate"))
        .arg("lint")
        .current_dir(&app)
        .output()
        .expect("lint");
    assert!(stderr.starts_with(&text(&lint.stderr)), "{stderr}");
    assert!(
        stderr.contains(
            "error: `NAME` does not match the file name\n  --> migrations/0002_second.rs"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("pre-commit: the migration lint (cargo mongodb-migrate lint) failed"),
        "{stderr}"
    );
    assert!(!stderr.contains("custom build command"), "{stderr}");
    assert!(sandbox.cargo_calls().is_empty(), "nothing compiled");
}

#[test]
fn the_compile_after_the_lint_blocks_what_only_rustc_finds() {
    let sandbox = Sandbox::new(true);
    let app = app_repo(&sandbox);
    std::fs::write(sandbox.path().join("fail"), "").expect("write");
    let blocked = commit(&sandbox, &app, "type error");
    let stderr = text(&blocked.stderr);
    assert!(!blocked.status.success(), "{stderr}");
    assert!(stderr.contains("mismatched types (stub)"), "{stderr}");
    assert!(
        stderr.contains("pre-commit: the migration lint (cargo build) failed"),
        "{stderr}"
    );
}

#[test]
fn without_the_tool_the_hook_says_so_and_compiles() {
    let sandbox = Sandbox::new(false);
    let app = app_repo(&sandbox);
    let mut c = sandbox.command("git");
    // Only the stub directory and the system's: no installed tool anywhere.
    c.env(
        "PATH",
        format!("{}:/usr/bin:/bin", sandbox.path().join("bin").display()),
    );
    let out = c
        .args(["commit", "-qm", "x", "--allow-empty"])
        .current_dir(&app)
        .output()
        .expect("git");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("cargo-mongodb-migrate is not installed"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(sandbox.cargo_calls(), ["build --quiet --color never"]);
}

/// The pre-commit framework's entry builds the tool once (a stub install here), then lints
/// with the arguments the hook configuration gives.
#[test]
fn the_framework_entry_builds_the_tool_once_then_lints() {
    let sandbox = Sandbox::new(false);
    let app = app_repo(&sandbox);
    // A copy of the script, as the framework's clone holds it beside the tool's sources.
    let clone = sandbox.path().join("clone/crates/cargo-mongodb-migrate");
    let script = std::fs::read_to_string(
        repo_root().join("crates/cargo-mongodb-migrate/pre-commit-hook.sh"),
    )
    .expect("script");
    write_executable(&clone.join("pre-commit-hook.sh"), &script);
    let run = || {
        sandbox
            .command(clone.join("pre-commit-hook.sh"))
            .arg("--quiet")
            .current_dir(&app)
            .output()
            .expect("run")
    };
    let first = run();
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(text(&first.stderr).contains("building cargo-mongodb-migrate once"));
    let calls = sandbox.cargo_calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(
        calls[0].starts_with(&format!(
            "install --quiet --locked --path {}",
            clone.display()
        )),
        "{calls:?}"
    );
    assert_eq!(text(&first.stdout), "");
    // Installed: the next run only lints, and a broken plan fails with the lint's report.
    std::fs::write(app.join("migrations/1_bad.rs"), "").expect("write");
    let second = run();
    assert_eq!(second.status.code(), Some(1));
    assert!(text(&second.stderr).starts_with("error: `1_bad.rs` is not a migration file name"));
    assert_eq!(sandbox.cargo_calls().len(), 1, "built once");
    assert!(!clone.read_dir().expect("dir").any(|e| e
        .expect("entry")
        .file_name()
        .to_string_lossy()
        .starts_with(".pre-commit-tool.")));
}

/// `.pre-commit-hooks.yaml` names entries that exist, and the three adoption lines it shows
/// name its hooks.
#[test]
fn the_hook_manifest_names_what_exists() {
    let manifest =
        std::fs::read_to_string(repo_root().join(".pre-commit-hooks.yaml")).expect("manifest");
    let ids: Vec<&str> = manifest
        .lines()
        .filter_map(|l| l.strip_prefix("- id: "))
        .collect();
    assert_eq!(ids, ["mongodb-migrate-lint", "mongodb-migrate-build"]);
    assert!(manifest.contains(&format!("hooks: [{{id: {}}}, {{id: {}}}]", ids[0], ids[1])));
    let script = manifest
        .lines()
        .find_map(|l| l.trim().strip_prefix("entry: crates/"))
        .and_then(|e| e.split_whitespace().next())
        .expect("the lint's entry");
    let script = repo_root().join("crates").join(script);
    let mode = std::fs::metadata(&script)
        .expect("entry exists")
        .permissions()
        .mode();
    assert!(mode & 0o111 != 0, "{} is executable", script.display());
}
