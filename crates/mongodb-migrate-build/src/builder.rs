//! The build-script entry point.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::codegen::{generate, GenerateError};
use crate::diagnostic::Report;
use crate::discover::helpers_in;
use crate::framework::Framework;
use crate::manifest::{Manifest, ARCHIVE_KEY, HELPERS_KEY};
use crate::plan::Plan;
use crate::resolve::{check, display_prefix, load, load_archive};

/// Why the build-time pass failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A variable cargo sets for build scripts is missing: not running under cargo.
    #[error("environment variable `{0}` is not set; `Builder::emit` runs from a build script")]
    Env(&'static str),
    /// The migrations have problems; the report holds every one.
    #[error("{0}")]
    Plan(Report),
    /// The registry could not be generated.
    #[error(transparent)]
    Generate(#[from] GenerateError),
    /// The runtime (`mongodb-migrate`) reads another registry format than this crate writes.
    #[error(
        "version skew: mongodb-migrate {} reads registry format {runtime_format}, but mongodb-migrate-build {} writes format {}; use the same version of both crates",
        runtime_version.as_deref().unwrap_or("(unknown version)"),
        env!("CARGO_PKG_VERSION"),
        crate::codegen::REGISTRY_FORMAT
    )]
    VersionSkew {
        /// The format the runtime reads.
        runtime_format: String,
        /// The runtime's version, when it says.
        runtime_version: Option<String>,
    },
    /// The registry could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file being written.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// What the `mongodb-migrate` crate (`links = "mongodb-migrate"`) tells its dependents' build
/// scripts: the registry format it reads, and its version.
const RUNTIME_FORMAT_VAR: &str = "DEP_MONGODB_MIGRATE_REGISTRY_FORMAT";
const RUNTIME_VERSION_VAR: &str = "DEP_MONGODB_MIGRATE_VERSION";

/// Fails on a runtime that reads another registry format than this crate writes, before
/// anything is generated: one message instead of rustc errors inside generated code. Absent
/// (an app depending on the runtime another way), the generated code's assertion still holds.
fn check_runtime_format(format: Option<&str>, version: Option<&str>) -> Result<(), BuildError> {
    match format {
        Some(f) if f.trim() != crate::codegen::REGISTRY_FORMAT.to_string() => {
            Err(BuildError::VersionSkew {
                runtime_format: f.trim().to_owned(),
                runtime_version: version.map(str::to_owned),
            })
        }
        _ => Ok(()),
    }
}

/// Checks `migrations/` and writes the registry, from `build.rs`.
///
/// # Examples
///
/// In `build.rs`:
///
/// ```no_run
/// fn main() {
///     mongodb_migrate_build::Builder::new()
///         .migrations_dir("migrations")
///         .emit();
/// }
/// ```
///
/// and in `src/registry.rs`: `include!(concat!(env!("OUT_DIR"), "/registry.rs"));`, which
/// defines `pub static MIGRATIONS: &[::mongodb_migrate::Migration]`.
#[derive(Debug, Clone)]
pub struct Builder {
    migrations_dir: PathBuf,
    /// `None`: read from the app's `Cargo.toml` (see [`Builder::runtime_crate`]).
    runtime_crate: Option<String>,
    out_file: Option<PathBuf>,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// A builder reading `migrations/` and naming the runtime crate as the app's `Cargo.toml`
    /// does (`::mongodb_migrate` unless the dependency is renamed).
    pub fn new() -> Self {
        Self {
            migrations_dir: PathBuf::from("migrations"),
            runtime_crate: None,
            out_file: None,
        }
    }

    /// The migrations directory, relative to the crate root (`CARGO_MANIFEST_DIR`) unless
    /// absolute. Default: `migrations`.
    pub fn migrations_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.migrations_dir = dir.into();
        self
    }

    /// The path generated code uses for the runtime crate.
    ///
    /// Default: the name the app's `Cargo.toml` gives its dependency on the `mongodb-migrate`
    /// package (`mm = { package = "mongodb-migrate", … }` gives `::mm`), else
    /// `::mongodb_migrate`. Set it when the runtime is reached some other way (a re-export of
    /// the app's own). A migration's checksum counts this name, `mongodb_migrate` and the
    /// `mongo_migrate` of releases before the rename as one crate.
    pub fn runtime_crate(mut self, path: impl Into<String>) -> Self {
        self.runtime_crate = Some(path.into());
        self
    }

    /// Where to write the registry. Default: `$OUT_DIR/registry.rs`.
    pub fn out_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.out_file = Some(path.into());
        self
    }

    /// Runs the pass and, on any problem, reports it and ends the build script with status 1.
    ///
    /// Prints `cargo::rerun-if-changed=<dir>`, so adding, removing or editing a migration
    /// reruns it. On problems, one `cargo::error=` line says how many there are (cargo shows
    /// it first), and the rendered report goes to standard error, which cargo shows under
    /// `--- stderr`; there is never a panic or a backtrace. Colour only with
    /// `CARGO_TERM_COLOR=always`, never with `NO_COLOR`.
    pub fn emit(self) {
        if let Err(error) = self.clone().run() {
            let text = match &error {
                BuildError::Plan(report) => {
                    // One line on top, before cargo's "failed to run custom build command"; the
                    // rendered report (snippets, underlines, hints) follows under `--- stderr`.
                    let problems = match report.len() {
                        1 => "1 problem".to_owned(),
                        n => format!("{n} problems"),
                    };
                    println!(
                        "cargo::error=the migration plan in {}/ has {problems}, shown below",
                        display_prefix(&self.migrations_dir)
                    );
                    report.render(use_color())
                }
                other => {
                    println!("cargo::error={other}");
                    format!("error: {other}\n")
                }
            };
            let mut stderr = std::io::stderr().lock();
            let _ = stderr.write_all(text.as_bytes());
            let _ = stderr.flush();
            std::process::exit(1);
        }
    }

    /// Runs the pass and returns the plan written, or what went wrong; prints only the
    /// `cargo::rerun-if-changed` line.
    pub fn run(self) -> Result<Plan, BuildError> {
        check_runtime_format(
            std::env::var(RUNTIME_FORMAT_VAR).ok().as_deref(),
            std::env::var(RUNTIME_VERSION_VAR).ok().as_deref(),
        )?;
        let manifest_dir =
            std::env::var_os("CARGO_MANIFEST_DIR").ok_or(BuildError::Env("CARGO_MANIFEST_DIR"))?;
        let out_file = match self.out_file.clone() {
            Some(path) => path,
            None => {
                let out_dir = std::env::var_os("OUT_DIR").ok_or(BuildError::Env("OUT_DIR"))?;
                Path::new(&out_dir).join("registry.rs")
            }
        };
        let manifest_dir = Path::new(&manifest_dir);
        println!(
            "cargo::rerun-if-changed={}",
            manifest_dir.join(&self.migrations_dir).display()
        );
        // The manifest names the runtime (a renamed dependency); it changes only with a
        // change cargo rebuilds for anyway, but the build script must read it again then.
        println!(
            "cargo::rerun-if-changed={}",
            manifest_dir.join("Cargo.toml").display()
        );
        let checked = self.check(manifest_dir);
        for dir in &checked.watched {
            println!("cargo::rerun-if-changed={}", dir.display());
        }
        let (plan, framework) = (checked.plan.map_err(BuildError::Plan)?, checked.framework);
        let runtime_crate = self
            .runtime_crate
            .clone()
            .unwrap_or_else(|| framework.path());
        let display = display_prefix(&self.migrations_dir);
        let source = generate(&plan, &runtime_crate, &format!("{display}/"))?;
        write_if_changed(&out_file, source.as_bytes())?;
        Ok(plan)
    }

    /// Runs the checks of [`Builder::run`] on the app whose `Cargo.toml` is in `manifest_dir`,
    /// outside a build script: it reads the same files, names the framework's crate the same
    /// way, and reports the same diagnostics, but generates, writes and prints nothing.
    /// `cargo mongodb-migrate lint` is this call.
    ///
    /// # Examples
    ///
    /// ```
    /// let app = tempfile::tempdir()?;
    /// std::fs::create_dir(app.path().join("migrations"))?;
    /// std::fs::write(app.path().join("migrations/1_bad.rs"), "")?;
    /// let report = mongodb_migrate_build::Builder::new()
    ///     .lint(app.path())
    ///     .expect_err("a file name without four digits");
    /// assert!(report.render(false).contains("--> migrations/1_bad.rs"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn lint(&self, manifest_dir: impl AsRef<Path>) -> Result<Plan, Report> {
        self.check(manifest_dir.as_ref()).plan
    }

    /// The plan checked as this builder is configured, the framework's crate as the app names
    /// it, and what else the pass read: the one decision [`Builder::run`] and
    /// [`Builder::lint`] share.
    ///
    /// The app's `Cargo.toml` may name an archive crate (`[package.metadata.mongodb-migrate]
    /// archive = "archive"`): its `migrations/` join the plan, checked with the app's, and come
    /// first. An archive crate's own `Cargo.toml` names where the helper modules its migrations
    /// use are (`helpers = "../migrations"`). See `manifest.rs`.
    fn check(&self, manifest_dir: &Path) -> Checked {
        let framework = match &self.runtime_crate {
            Some(path) => Framework::named(path, Some(manifest_dir)),
            None => Framework::from_manifest(manifest_dir),
        };
        let dir = manifest_dir.join(&self.migrations_dir);
        let display = display_prefix(&self.migrations_dir);
        let mut loaded = load(&dir, &display, &framework);
        let mut watched = Vec::new();
        let mut shared = false;
        let manifest = Manifest::read(manifest_dir);
        let metadata = |key| manifest.as_ref().and_then(|m| m.metadata_dir(key));
        if let Some(helpers) = metadata(HELPERS_KEY) {
            let helpers = manifest_dir.join(helpers);
            loaded.helpers = helpers_in(&helpers);
            shared = true;
            watched.extend(
                loaded
                    .helpers
                    .iter()
                    .filter_map(|h| h.path.parent().map(Path::to_path_buf)),
            );
        }
        let mut archive_crate = None;
        if let (Some(archive), Some(manifest)) = (metadata(ARCHIVE_KEY), &manifest) {
            let archive_dir = manifest_dir.join(&archive).join("migrations");
            let shown = format!("{}/migrations", display_prefix(&archive));
            load_archive(&mut loaded, &archive_dir, &shown, &framework);
            watched.push(archive_dir);
            archive_crate = manifest.path_dependency(&archive);
            shared = true;
            if archive_crate.is_none() {
                loaded
                    .report
                    .push(archive_not_a_dependency(manifest_dir, &archive));
            }
        }
        Checked {
            plan: check(loaded).map(|plan| Plan {
                archive: archive_crate,
                helpers_shared: shared,
                ..plan
            }),
            framework,
            watched,
        }
    }
}

/// What [`Builder::check`] found.
struct Checked {
    plan: Result<Plan, Report>,
    framework: Framework,
    /// Directories the pass read beyond the migrations directory and `Cargo.toml`.
    watched: Vec<PathBuf>,
}

/// The app names an archive crate its `Cargo.toml` does not depend on.
fn archive_not_a_dependency(manifest_dir: &Path, archive: &Path) -> crate::Diagnostic {
    let name = Manifest::read(&manifest_dir.join(archive))
        .and_then(|m| m.package_name().map(str::to_owned))
        .unwrap_or_else(|| "migrations-archive".to_owned());
    let shown = archive.display().to_string().replace('\\', "/");
    crate::Diagnostic::error(format!(
        "the archive crate `{shown}` is not a dependency of the app"
    ))
    .note("`[package.metadata.mongodb-migrate] archive` in Cargo.toml names it; the registry lists its migrations from it")
    .help(format!(
        "add `{name} = {{ path = \"{shown}\" }}` to `[dependencies]` in Cargo.toml"
    ))
}

/// Colour when cargo would use it: `CARGO_TERM_COLOR=always`, never with `NO_COLOR`.
///
/// Cargo captures a build script's output, so "auto" cannot see the terminal; plain text is
/// the safe default.
fn use_color() -> bool {
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        return false;
    }
    std::env::var("CARGO_TERM_COLOR").is_ok_and(|v| v == "always")
}

/// Writes `bytes` unless the file already holds exactly them, so an unchanged plan never
/// changes the file's mtime and never recompiles the crate.
pub(crate) fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<bool, BuildError> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(false);
    }
    std::fs::write(path, bytes).map_err(|source| BuildError::Write {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::write_if_changed;

    #[test]
    fn writes_only_when_bytes_change() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("registry.rs");
        assert!(write_if_changed(&path, b"one").expect("write"));
        let before = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .expect("mtime");
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(!write_if_changed(&path, b"one").expect("write"));
        let after = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .expect("mtime");
        assert_eq!(before, after);
        assert!(write_if_changed(&path, b"two").expect("write"));
        assert_eq!(std::fs::read(&path).expect("read"), b"two");
    }
}

#[cfg(test)]
mod skew_tests {
    use super::*;

    #[test]
    fn a_runtime_of_another_registry_format_is_one_clear_error() {
        assert!(check_runtime_format(None, None).is_ok());
        assert!(check_runtime_format(Some("2"), Some("0.2.0")).is_ok());
        // A runtime from before `collections` (format 1), and one from after this crate.
        let err = check_runtime_format(Some("1"), Some("0.1.0")).expect_err("skew");
        assert_eq!(
            err.to_string(),
            format!(
                "version skew: mongodb-migrate 0.1.0 reads registry format 1, but mongodb-migrate-build {} writes format 2; use the same version of both crates",
                env!("CARGO_PKG_VERSION")
            )
        );
        assert!(check_runtime_format(Some("3"), Some("0.3.0")).is_err());
    }
}
