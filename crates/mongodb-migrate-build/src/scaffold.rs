//! Writing new migration files, for `cargo mongodb-migrate new` and `new --merge`.
//!
//! The files read `migrations/` with the same loader as the build, so they work while the
//! build is broken (for instance by two heads, which is what `--merge` repairs).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::diagnostic::Report;
use crate::file_name::is_snake_case;
use crate::framework::Framework;
use crate::graph::Graph;
use crate::manifest::{Manifest, ARCHIVE_KEY};
use crate::resolve::{display_prefix, load, load_archive};

/// Why a migration file could not be created.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    /// The name is not lowercase snake_case.
    #[error("`{0}` is not a lowercase snake_case name (like `add_featured_flag`)")]
    InvalidName(String),
    /// Some migration files cannot be parsed, so the current heads are unknown.
    #[error("cannot tell the current head, because some migrations cannot be read:\n{0}")]
    Unreadable(Report),
    /// `create` found several heads; a merge migration must come first.
    #[error("the plan has {} heads ({}); run `cargo mongodb-migrate new --merge` first", .0.len(), .0.join(", "))]
    SeveralHeads(Vec<String>),
    /// `create_merge` found fewer than two heads: there is nothing to merge.
    #[error("nothing to merge: the plan has {0} head(s), a merge needs at least two")]
    NothingToMerge(usize),
    /// The file exists already.
    #[error("{} exists already", .0.display())]
    Exists(PathBuf),
    /// The file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file being written.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The migrations read from a directory: what a new file needs to know.
struct Current {
    next_sequence: u64,
    width: usize,
    heads: Vec<String>,
    /// What the app calls the framework's crate (from the `Cargo.toml` beside `dir`).
    framework: Framework,
}

fn current(dir: &Path) -> Result<Current, ScaffoldError> {
    std::fs::create_dir_all(dir).map_err(|source| ScaffoldError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    // `migrations/` sits beside the app's Cargo.toml, which names the framework's crate.
    let app = std::path::absolute(dir)
        .ok()
        .and_then(|d| d.parent().map(Path::to_path_buf));
    let framework = app
        .as_deref()
        .map(Framework::from_manifest)
        .unwrap_or_default();
    let mut loaded = load(dir, &display_prefix(dir), &framework);
    // Archived migrations count too: the next number follows theirs, and when every migration
    // is archived the head is in the archive.
    let archive = app
        .as_deref()
        .and_then(|app| Some((app, Manifest::read(app)?.metadata_dir(ARCHIVE_KEY)?)));
    if let Some((app, archive)) = archive {
        let shown = format!("{}/migrations", display_prefix(&archive));
        load_archive(
            &mut loaded,
            &app.join(archive).join("migrations"),
            &shown,
            &framework,
        );
    }
    // Only problems that hide the graph stop us; a wrong NAME or two heads do not.
    let blocking: Vec<_> = loaded
        .candidates
        .iter()
        .filter(|c| !c.checked.parsed.syntax_ok)
        .flat_map(|c| c.checked.parsed.diagnostics.iter().cloned())
        .chain(
            loaded
                .report
                .iter()
                .filter(|d| d.primary.is_none())
                .cloned(),
        )
        .collect();
    if !blocking.is_empty() {
        let mut report = loaded.report.clone();
        report.retain(|d| blocking.contains(d));
        report.sort();
        return Err(ScaffoldError::Unreadable(report));
    }
    let candidates = &loaded.candidates;
    let mut graph = Graph::new(
        candidates
            .iter()
            .map(|c| (c.sequence, c.stem.clone()))
            .collect(),
    );
    for (i, candidate) in candidates.iter().enumerate() {
        for dependency in &candidate.checked.parsed.dependencies {
            if let Some(target) = candidates.iter().position(|c| c.stem == dependency.value) {
                graph.add_dependency(i, target);
            }
        }
    }
    let heads = graph
        .heads()
        .into_iter()
        .map(|i| candidates[i].stem.clone())
        .collect();
    let next_sequence = candidates
        .iter()
        .map(|c| c.sequence)
        .max()
        .map_or(1, |max| max + 1);
    let width = candidates
        .iter()
        .map(|c| c.stem.bytes().take_while(u8::is_ascii_digit).count())
        .max()
        .unwrap_or(4)
        .max(4);
    Ok(Current {
        next_sequence,
        width,
        heads,
        framework,
    })
}

/// Writes `NNNN_<name>.rs` in `dir`, numbered after the highest existing number (four digits
/// at least) and depending on the current head (on nothing if `dir` has no migration).
///
/// Refuses a name that is not lowercase snake_case, and a directory whose plan has several
/// heads (merge them first with [`create_merge`]). Returns the path written.
///
/// # Examples
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let first = mongodb_migrate_build::scaffold::create(dir.path(), "create_users")?;
/// assert!(first.ends_with("0001_create_users.rs"));
/// let second = mongodb_migrate_build::scaffold::create(dir.path(), "add_flag")?;
/// let plan = mongodb_migrate_build::resolve(dir.path()).expect("passes every check");
/// assert_eq!(plan.migrations[1].dependencies, ["0001_create_users"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn create(dir: impl AsRef<Path>, name: &str) -> Result<PathBuf, ScaffoldError> {
    let dir = dir.as_ref();
    if !is_snake_case(name) {
        return Err(ScaffoldError::InvalidName(name.to_owned()));
    }
    let current = current(dir)?;
    if current.heads.len() > 1 {
        return Err(ScaffoldError::SeveralHeads(current.heads));
    }
    let stem = format!(
        "{:0width$}_{name}",
        current.next_sequence,
        width = current.width
    );
    let source = template(
        &current.framework,
        &stem,
        "Describe what this migration does, in one line.",
        &current.heads,
        "// Change the database here, e.g. `db.collection::<Document>(\"stories\").update_many(…).await?;`.",
        "// Undo exactly what `upgrade` did, so `migrate down` can roll it back. If it cannot be\n    \
         // undone, say why instead: `pub const IRREVERSIBLE: &str = \"…\";` beside `NAME`.",
    );
    write_new(dir, &stem, &source)
}

/// Writes a merge migration depending on every current head, so the plan has one head again.
///
/// The name defaults to `merge_<numbers of the heads>`. Works while the build fails because
/// of the heads it merges; refuses if there are fewer than two heads or if a file cannot be
/// parsed. Returns the path written.
///
/// # Examples
///
/// ```
/// use mongodb_migrate_build::scaffold::{create, create_merge};
/// let dir = tempfile::tempdir()?;
/// create(dir.path(), "root")?;
/// // Two branches each added a migration after 0001_root.
/// let a = create(dir.path(), "branch_a")?;
/// std::fs::write(dir.path().join("0003_branch_b.rs"), std::fs::read_to_string(&a)?.replace("0002_branch_a", "0003_branch_b"))?;
/// assert!(mongodb_migrate_build::resolve(dir.path()).is_err());
/// let merge = create_merge(dir.path(), None)?;
/// assert!(merge.ends_with("0004_merge_0002_0003.rs"));
/// assert!(mongodb_migrate_build::resolve(dir.path()).is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn create_merge(dir: impl AsRef<Path>, name: Option<&str>) -> Result<PathBuf, ScaffoldError> {
    let dir = dir.as_ref();
    if let Some(name) = name {
        if !is_snake_case(name) {
            return Err(ScaffoldError::InvalidName(name.to_owned()));
        }
    }
    let current = current(dir)?;
    if current.heads.len() < 2 {
        return Err(ScaffoldError::NothingToMerge(current.heads.len()));
    }
    let name = match name {
        Some(name) => name.to_owned(),
        None => {
            let numbers: Vec<&str> = current
                .heads
                .iter()
                .map(|h| h.split('_').next().unwrap_or(h))
                .collect();
            format!("merge_{}", numbers.join("_"))
        }
    };
    let stem = format!(
        "{:0width$}_{name}",
        current.next_sequence,
        width = current.width
    );
    let description = format!("Merge the heads {}.", current.heads.join(", "));
    let source = template(
        &current.framework,
        &stem,
        &description,
        &current.heads,
        "// A merge migration usually has nothing to change: it only orders the branches.",
        "// Nothing to undo unless `upgrade` does something.",
    );
    write_new(dir, &stem, &source)
}

fn template(
    framework: &Framework,
    stem: &str,
    description: &str,
    dependencies: &[String],
    upgrade: &str,
    downgrade: &str,
) -> String {
    let dependencies: Vec<String> = dependencies.iter().map(|d| format!("{d:?}")).collect();
    format!(
        r#"//! {description}
use {krate}::prelude::*;

pub const NAME: &str = "{stem}";
pub const DEPENDENCIES: &[&str] = &[{dependencies}];

pub async fn upgrade(db: &Database) -> Result<()> {{
    {upgrade}
    let _ = db;
    Ok(())
}}

pub async fn downgrade(db: &Database) -> Result<()> {{
    {downgrade}
    let _ = db;
    Ok(())
}}
"#,
        dependencies = dependencies.join(", "),
        krate = framework.name,
    )
}

fn write_new(dir: &Path, stem: &str, source: &str) -> Result<PathBuf, ScaffoldError> {
    let path = dir.join(format!("{stem}.rs"));
    let io = |source| ScaffoldError::Io {
        path: path.clone(),
        source,
    };
    let mut file = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
    {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(ScaffoldError::Exists(path))
        }
        Err(error) => return Err(io(error)),
    };
    file.write_all(source.as_bytes()).map_err(io)?;
    Ok(path)
}
