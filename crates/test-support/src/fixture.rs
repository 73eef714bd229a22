//! Fixture crates: a tiny app with its own `migrations/`, built with a real `cargo build`.
//!
//! Used by end-to-end tests of what a user sees: build diagnostics, the CLI, drift after an edit.
//! Every fixture builds into the workspace's own target directory ([`target_dir`]) with the
//! workspace's profiles ([`workspace_profiles`]) and its lock file, so the dependencies the test
//! build already compiled are reused, not compiled a second time for the fixtures. (`cargo test`
//! releases the target directory's lock before it runs the tests.)

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// The workspace this crate was compiled in: fixtures depend on its crates by path.
fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest.to_path_buf())
}

/// The workspace's target directory: `CARGO_TARGET_DIR` when set (relative to the workspace
/// root), else `<workspace>/target`. Fixtures build there, beside the test build.
pub fn target_dir() -> PathBuf {
    let root = workspace_root();
    match std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// The `[profile.*]` tables of the workspace's `Cargo.toml`, verbatim: a fixture built with
/// other settings could not reuse a single compiled dependency.
pub fn workspace_profiles() -> String {
    let manifest = std::fs::read_to_string(workspace_root().join("Cargo.toml"))
        .expect("the workspace's Cargo.toml");
    let mut out = String::new();
    let mut in_profile = false;
    for line in manifest.lines() {
        if line.starts_with('[') {
            in_profile = line.starts_with("[profile.");
        }
        if in_profile {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// A fixture app to write and build.
///
/// Unless overridden with [`FixtureCrate::file`], it gets a `Cargo.toml` depending on the
/// workspace's `mongodb-migrate` (with `cli`) and `mongodb-migrate-build`, a `build.rs` calling the `Builder`, and
/// a `src/main.rs` running the `migrate` CLI over the generated registry: the same shape as an
/// app adopting the framework.
#[derive(Debug, Clone)]
pub struct FixtureCrate {
    name: String,
    files: Vec<(PathBuf, String)>,
}

/// The outcome of building a fixture crate.
#[derive(Debug, Clone)]
pub struct FixtureBuild {
    /// Whether `cargo build` succeeded.
    pub success: bool,
    /// What `cargo build` printed on stderr (colourless): the diagnostics a user sees.
    pub stderr: String,
    /// The built binary, when the build succeeded.
    pub binary: Option<PathBuf>,
    /// The fixture's directory; edit files there and call [`FixtureBuild::rebuild`].
    pub dir: PathBuf,
    name: String,
}

impl FixtureCrate {
    /// A fixture named after `label` (made unique per process and call).
    pub fn new(label: &str) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let label: String = label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        let name = format!(
            "fx_{label}_p{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        FixtureCrate {
            name,
            files: Vec::new(),
        }
    }

    /// Adds or replaces a file, at a path relative to the crate root (`migrations/0001_a.rs`).
    pub fn file(mut self, path: impl AsRef<Path>, contents: impl Into<String>) -> Self {
        let path = path.as_ref().to_path_buf();
        self.files.retain(|(p, _)| *p != path);
        self.files.push((path, contents.into()));
        self
    }

    /// Adds every file below `src_dir`, keeping their relative paths (`migrations/…`).
    ///
    /// # Panics
    /// When `src_dir` cannot be read.
    pub fn copy_dir(self, src_dir: impl AsRef<Path>) -> Self {
        self.copy_dir_into(src_dir, "")
    }

    /// Adds every file below `src_dir` under `dest` (`copy_dir_into("../migrations", "migrations")`).
    ///
    /// # Panics
    /// When `src_dir` cannot be read.
    pub fn copy_dir_into(mut self, src_dir: impl AsRef<Path>, dest: impl AsRef<Path>) -> Self {
        let src_dir = src_dir.as_ref();
        let mut stack = vec![src_dir.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let entries = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("cannot read fixture dir {}: {e}", dir.display()));
            for entry in entries {
                let path = entry.expect("readable dir entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let rel = path.strip_prefix(src_dir).expect("below src_dir");
                    let text = std::fs::read_to_string(&path)
                        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
                    self = self.file(dest.as_ref().join(rel), text);
                }
            }
        }
        self
    }

    /// The crate's (and binary's) name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn default_files(&self, root: &Path) -> Vec<(PathBuf, String)> {
        let runtime = root.join("crates/mongodb-migrate");
        let build = root.join("crates/mongodb-migrate-build");
        let cargo_toml = format!(
            r#"[package]
name = "{name}"
version = "0.0.0"
edition = "2021"
publish = false

[[bin]]
name = "{name}"
path = "src/main.rs"

# Not a member of the framework's workspace.
[workspace]

[dependencies]
mongodb-migrate = {{ path = {runtime:?}, features = ["cli"] }}

[build-dependencies]
mongodb-migrate-build = {{ path = {build:?} }}

{profiles}"#,
            name = self.name,
            runtime = runtime.display().to_string(),
            build = build.display().to_string(),
            profiles = workspace_profiles(),
        );
        vec![
            (PathBuf::from("Cargo.toml"), cargo_toml),
            (
                PathBuf::from("build.rs"),
                "fn main() {\n    mongodb_migrate_build::Builder::new().migrations_dir(\"migrations\").emit();\n}\n"
                    .to_owned(),
            ),
            (
                PathBuf::from("src/registry.rs"),
                "include!(concat!(env!(\"OUT_DIR\"), \"/registry.rs\"));\n".to_owned(),
            ),
            (
                PathBuf::from("src/main.rs"),
                "mod registry;\n\nfn main() -> std::process::ExitCode {\n    mongodb_migrate::cli::App::new(registry::MIGRATIONS).run()\n}\n"
                    .to_owned(),
            ),
        ]
    }

    /// Writes the crate under `<workspace>/target/fixture-crates/<name>` and builds it.
    ///
    /// # Panics
    /// When files cannot be written or cargo cannot be started (not when the build fails: that
    /// is reported in [`FixtureBuild::success`]).
    pub fn build(self) -> FixtureBuild {
        self.written().rebuild()
    }

    /// Writes the crate under `<workspace>/target/fixture-crates/<name>` without building it,
    /// to change it before the first [`FixtureBuild::rebuild`].
    ///
    /// # Panics
    /// When files cannot be written.
    pub fn written(self) -> FixtureBuild {
        let root = workspace_root();
        let dir = root.join("target").join("fixture-crates").join(&self.name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).expect("remove stale fixture dir");
        }
        std::fs::create_dir_all(dir.join("migrations")).expect("create fixture dir");
        let mut files = self.default_files(&root);
        for (path, text) in self.files {
            files.retain(|(p, _)| *p != path);
            files.push((path, text));
        }
        for (path, text) in &files {
            let full = dir.join(path);
            if let Some(parent) = full.parent() {
                std::fs::create_dir_all(parent).expect("create fixture subdir");
            }
            std::fs::write(&full, text).expect("write fixture file");
        }
        // The workspace's lock file pins every dependency to the versions already compiled.
        let lock = root.join("Cargo.lock");
        if lock.is_file() {
            std::fs::copy(&lock, dir.join("Cargo.lock")).expect("copy Cargo.lock");
        }
        FixtureBuild {
            success: false,
            stderr: String::new(),
            binary: None,
            dir,
            name: self.name,
        }
    }
}

impl FixtureBuild {
    /// Runs `cargo build` again, after editing files in [`FixtureBuild::dir`].
    ///
    /// # Panics
    /// When cargo cannot be started.
    pub fn rebuild(&self) -> FixtureBuild {
        let target = target_dir();
        prune_stale_fixtures(&target);
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let output = Command::new(cargo)
            .args(["build", "--offline", "--color", "never", "--manifest-path"])
            .arg(self.dir.join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("RUSTC_WRAPPER")
            .env("CARGO_TERM_COLOR", "never")
            .env("NO_COLOR", "1")
            .output()
            .expect("run cargo build on a fixture crate");
        let success = output.status.success();
        let binary = target.join("debug").join(&self.name);
        FixtureBuild {
            success,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            binary: (success && binary.is_file()).then_some(binary),
            dir: self.dir.clone(),
            name: self.name.clone(),
        }
    }

    /// The built binary.
    ///
    /// # Panics
    /// When the build failed; the panic message carries cargo's output.
    pub fn binary(&self) -> &Path {
        match &self.binary {
            Some(b) => b,
            None => panic!(
                "fixture crate {} did not build:\n{}",
                self.name, self.stderr
            ),
        }
    }

    /// Overwrites a file of the fixture (relative path), for a later [`FixtureBuild::rebuild`].
    ///
    /// # Panics
    /// When the file cannot be written.
    pub fn write(&self, path: impl AsRef<Path>, contents: impl AsRef<str>) {
        let full = self.dir.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("create fixture subdir");
        }
        std::fs::write(full, contents.as_ref()).expect("write fixture file");
    }

    /// Removes a file of the fixture (relative path), for a later [`FixtureBuild::rebuild`].
    ///
    /// # Panics
    /// When the file cannot be removed.
    pub fn remove(&self, path: impl AsRef<Path>) {
        std::fs::remove_file(self.dir.join(path)).expect("remove fixture file");
    }
}

/// The id of the process that built the fixture artifact or directory `name`
/// (`fx_<label>_p<pid>_<n>…`).
fn fixture_pid(name: &str) -> Option<u32> {
    let rest = name
        .strip_prefix("lib")
        .unwrap_or(name)
        .strip_prefix("fx_")?;
    let mut parts = rest.split('_');
    let mut previous: Option<&str> = None;
    // `p<pid>` followed by the counter: the last such pair (a label cannot end the name).
    let mut found = None;
    for part in parts.by_ref() {
        let counter = part.split(['-', '.']).next().unwrap_or_default();
        if let Some(pid) = previous.and_then(|p| p.strip_prefix('p')) {
            if !counter.is_empty() && counter.bytes().all(|b| b.is_ascii_digit()) {
                if let Ok(pid) = pid.parse() {
                    found = Some(pid);
                }
            }
        }
        previous = Some(part);
    }
    found
}

/// Removes the fixture crates and build artifacts of test processes that have exited, once per
/// process: fixture names carry the building process's id, so every run of the suite would
/// otherwise add its fixtures' binaries to the target directory for good. Only where `/proc`
/// tells which processes live (Linux); elsewhere nothing is removed.
fn prune_stale_fixtures(target: &Path) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if !Path::new("/proc/self").exists() {
            return;
        }
        let me = std::process::id();
        let debug = target.join("debug");
        let dirs = [
            target.join("fixture-crates"),
            debug.clone(),
            debug.join("deps"),
            debug.join("build"),
            debug.join(".fingerprint"),
            debug.join("incremental"),
        ];
        for dir in dirs {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let Some(pid) = fixture_pid(&name.to_string_lossy()) else {
                    continue;
                };
                if pid == me || Path::new("/proc").join(pid.to_string()).exists() {
                    continue;
                }
                let path = entry.path();
                let _ = if path.is_dir() {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_file(&path)
                };
            }
        }
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn fixture_artifacts_name_their_process() {
        use super::fixture_pid;
        assert_eq!(fixture_pid("fx_counter_p4242_0"), Some(4242));
        assert_eq!(fixture_pid("fx_check_1_file_name_p17_3-0123abcd"), Some(17));
        assert_eq!(fixture_pid("libfx_a_p9_12-ff.rlib"), Some(9));
        assert_eq!(fixture_pid("fx_tutorial_p5_0_round_trip"), Some(5));
        assert_eq!(fixture_pid("fx_tutorial_p5_0_round_trip-77.d"), Some(5));
        assert_eq!(fixture_pid("mongodb-migrate-core-0123"), None);
        assert_eq!(fixture_pid("fx_label_without_pid_3"), None);
    }
}
