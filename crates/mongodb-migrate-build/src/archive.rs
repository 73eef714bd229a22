//! Moving long-applied migrations into the app's archive crate, for
//! `cargo mongodb-migrate archive --through NAME`.
//!
//! Every migration is a module of the app's crate, so a change to one recompiles all of them:
//! rustc parses and expands every body again (the `doc!` macros above all), and a plan of a
//! thousand migrations rebuilds in seconds. The archive is a second crate, `archive/` beside
//! `migrations/`, holding the migrations that have long been applied everywhere. It is compiled
//! once and reused: a change to a recent migration recompiles only those left in the app.
//!
//! Nothing about the plan changes. The archived files keep their names and tokens, hence their
//! checksums; the app's build still checks the whole plan (the archive's files included, shown
//! as `archive/migrations/…`); the app's registry lists the archive's entries first, then its
//! own. Fresh databases still run every migration, and `down` still reaches the archived ones.
//!
//! The app's `Cargo.toml` names the archive, which the build pass and `cargo mongodb-migrate
//! lint` read alike:
//!
//! ```toml
//! [package.metadata.mongodb-migrate]
//! archive = "archive"
//!
//! [dependencies]
//! field-notes-archive = { path = "archive" }
//! ```
//!
//! and the archive crate's `Cargo.toml` names where the helper modules its migrations use as
//! `super::common` are (`helpers = "../migrations"`). [`archive`] writes all of it.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::builder::Builder;
use crate::diagnostic::Report;
use crate::manifest::{Manifest, ARCHIVE_KEY};
use crate::plan::Plan;

/// Where [`archive`] creates the archive crate when the app has none, relative to the app.
pub const DEFAULT_DIR: &str = "archive";

/// Why migrations could not be archived.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The plan has problems: it is archived only once it builds.
    #[error(
        "the migration plan has problems; fix them first (`cargo mongodb-migrate lint`):\n{0}"
    )]
    Plan(Report),
    /// The app has no readable `Cargo.toml`.
    #[error("cannot read the app's manifest {}", .0.display())]
    Manifest(PathBuf),
    /// No migration of the plan has this name.
    #[error("no migration is named `{0}`")]
    Unknown(String),
    /// The archive would not be one line of history: `--through` must come after (depend on,
    /// directly or not) everything archived already.
    #[error("`{through}` does not depend on `{archived}`, which is archived already: archive through a migration that comes after every archived one")]
    NotAfterTheArchive {
        /// The migration asked for.
        through: String,
        /// An archived migration it does not reach.
        archived: String,
    },
    /// The app names no archive, but the directory to create it in is taken.
    #[error("{} exists already and is not the app's archive crate; move it away, or name it in Cargo.toml (`[package.metadata.mongodb-migrate] archive = …`)", .0.display())]
    Exists(PathBuf),
    /// The app's `Cargo.toml` does not depend on the framework's crates as the archive needs.
    #[error("the app's Cargo.toml has no `{0}` dependency to give the archive crate")]
    MissingDependency(&'static str),
    /// A file could not be written or moved.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file being written or moved.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// What [`archive`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archived {
    /// The migrations moved, in plan order (none when they were all archived already).
    pub moved: Vec<String>,
    /// The archive crate's directory.
    pub crate_dir: PathBuf,
    /// Whether the archive crate was created (and the app's `Cargo.toml` given its two
    /// entries).
    pub created: bool,
}

/// Moves `through` and every migration it depends on, directly or not, from the app's
/// `migrations_dir` into its archive crate's `migrations/`, creating the crate (and naming it
/// in the app's `Cargo.toml`) when the app has none.
///
/// `manifest_dir` is the app's directory; `migrations_dir` is relative to it, as in `build.rs`.
/// The plan must pass every check first; a `through` archived already moves nothing. Files are moved dependencies first, so an interrupted
/// run leaves an archive that is still a closed part of the plan.
pub fn archive(
    manifest_dir: &Path,
    migrations_dir: &Path,
    through: &str,
) -> Result<Archived, ArchiveError> {
    let plan = Builder::new()
        .migrations_dir(migrations_dir)
        .lint(manifest_dir)
        .map_err(ArchiveError::Plan)?;
    let manifest = Manifest::read(manifest_dir)
        .ok_or_else(|| ArchiveError::Manifest(manifest_dir.join("Cargo.toml")))?;
    let keep = closure(&plan, through)?;
    let already = plan
        .migrations
        .iter()
        .any(|m| m.archived && m.name == through);
    if let Some(archived) = plan
        .migrations
        .iter()
        .find(|m| !already && m.archived && !keep.contains(m.name.as_str()))
    {
        return Err(ArchiveError::NotAfterTheArchive {
            through: through.to_owned(),
            archived: archived.name.clone(),
        });
    }
    let (relative, created) = match manifest.metadata_dir(ARCHIVE_KEY) {
        Some(dir) => (dir, false),
        None => (PathBuf::from(DEFAULT_DIR), true),
    };
    let crate_dir = manifest_dir.join(&relative);
    if created {
        if crate_dir.exists() {
            return Err(ArchiveError::Exists(crate_dir));
        }
        create_crate(manifest_dir, &manifest, &relative, migrations_dir)?;
    }
    let target = crate_dir.join("migrations");
    std::fs::create_dir_all(&target).map_err(|source| ArchiveError::Io {
        path: target.clone(),
        source,
    })?;
    let mut moved = Vec::new();
    for migration in plan
        .migrations
        .iter()
        .filter(|m| !m.archived && keep.contains(m.name.as_str()))
    {
        let file = target.join(format!("{}.rs", migration.name));
        std::fs::rename(&migration.path, &file).map_err(|source| ArchiveError::Io {
            path: migration.path.clone(),
            source,
        })?;
        moved.push(migration.name.clone());
    }
    Ok(Archived {
        moved,
        crate_dir,
        created,
    })
}

/// `through` and everything it depends on, directly or not.
fn closure<'p>(plan: &'p Plan, through: &str) -> Result<HashSet<&'p str>, ArchiveError> {
    let by_name = |name: &str| plan.migrations.iter().find(|m| m.name == name);
    let start = by_name(through).ok_or_else(|| ArchiveError::Unknown(through.to_owned()))?;
    let mut seen = HashSet::from([start.name.as_str()]);
    let mut stack = vec![start];
    while let Some(migration) = stack.pop() {
        for dependency in &migration.dependencies {
            if let Some(d) = by_name(dependency) {
                if seen.insert(d.name.as_str()) {
                    stack.push(d);
                }
            }
        }
    }
    Ok(seen)
}

/// Writes the archive crate (`Cargo.toml`, `build.rs`, `src/lib.rs`) at `relative`, and names
/// it in the app's `Cargo.toml`.
fn create_crate(
    manifest_dir: &Path,
    manifest: &Manifest,
    relative: &Path,
    migrations_dir: &Path,
) -> Result<(), ArchiveError> {
    let app = manifest.package_name().unwrap_or("app").to_owned();
    let name = format!("{app}-archive");
    // The crate's own paths lead back up to the app's directory.
    let up = "../".repeat(relative.components().count());
    let runtime = manifest
        .dependency_spec("dependencies", crate::crate_path::PACKAGE, &up)
        .ok_or(ArchiveError::MissingDependency(crate::crate_path::PACKAGE))?;
    let build = manifest
        .dependency_spec("build-dependencies", "mongodb-migrate-build", &up)
        .ok_or(ArchiveError::MissingDependency("mongodb-migrate-build"))?;
    let edition = manifest
        .package_value("edition")
        .unwrap_or_else(|| "\"2021\"".to_owned());
    let helpers = format!("{up}{}", migrations_dir.display()).replace('\\', "/");
    let crate_dir = manifest_dir.join(relative);
    let files = [
        (
            "Cargo.toml",
            format!(
                "[package]\n\
                 name = \"{name}\"\n\
                 description = \"{app}'s archived migrations: long applied, compiled apart from the recent ones (cargo mongodb-migrate archive).\"\n\
                 version = \"0.0.0\"\n\
                 edition = {edition}\n\
                 publish = false\n\n\
                 [package.metadata.mongodb-migrate]\n\
                 # The helper modules (`super::common`) the archived migrations use.\n\
                 helpers = \"{helpers}\"\n\n\
                 [dependencies]\n{runtime}\n\n\
                 [build-dependencies]\n{build}\n"
            ),
        ),
        (
            "build.rs",
            "//! Checks the archived migrations and generates their registry, which the app's lists.\n\
             fn main() {\n    mongodb_migrate_build::Builder::new().emit();\n}\n"
                .to_owned(),
        ),
        (
            "src/lib.rs",
            format!(
                "//! {app}'s archived migrations, compiled apart from the recent ones so that a change to\n\
                 //! one of those does not recompile these (`cargo mongodb-migrate archive`). The app's\n\
                 //! registry lists `MIGRATIONS` first.\n\
                 #![allow(missing_docs)]\n\
                 include!(concat!(env!(\"OUT_DIR\"), \"/registry.rs\"));\n"
            ),
        ),
    ];
    for (path, text) in files {
        write_new(&crate_dir.join(path), &text)?;
    }
    let shown = relative.display().to_string().replace('\\', "/");
    let app_manifest = manifest_dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&app_manifest).map_err(|source| ArchiveError::Io {
        path: app_manifest.clone(),
        source,
    })?;
    let text = add_dependency(&text, &format!("{name} = {{ path = \"{shown}\" }}"));
    let text = format!(
        "{}\n[package.metadata.mongodb-migrate]\n# Long-applied migrations, compiled apart (cargo mongodb-migrate archive).\n{ARCHIVE_KEY} = \"{shown}\"\n",
        text.trim_end()
    );
    std::fs::write(&app_manifest, text).map_err(|source| ArchiveError::Io {
        path: app_manifest,
        source,
    })
}

/// `text` with `line` as the first entry of its `[dependencies]` table (a new table at the end
/// when it has none).
fn add_dependency(text: &str, line: &str) -> String {
    let mut out = String::with_capacity(text.len() + line.len() + 16);
    let mut added = false;
    for l in text.lines() {
        out.push_str(l);
        out.push('\n');
        if !added && l.trim() == "[dependencies]" {
            out.push_str(line);
            out.push('\n');
            added = true;
        }
    }
    if !added {
        out = format!("{}\n\n[dependencies]\n{line}\n", out.trim_end());
    }
    out
}

fn write_new(path: &Path, text: &str) -> Result<(), ArchiveError> {
    let io = |source| ArchiveError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    std::fs::write(path, text).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::add_dependency;

    #[test]
    fn the_dependency_goes_into_the_table() {
        assert_eq!(
            add_dependency(
                "[package]\nname = \"a\"\n\n[dependencies]\nx = \"1\"\n",
                "y = 2"
            ),
            "[package]\nname = \"a\"\n\n[dependencies]\ny = 2\nx = \"1\"\n"
        );
        assert_eq!(
            add_dependency("[package]\nname = \"a\"\n", "y = 2"),
            "[package]\nname = \"a\"\n\n[dependencies]\ny = 2\n"
        );
    }
}
