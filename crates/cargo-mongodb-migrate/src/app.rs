//! Which app a command works on: its directory (where its `Cargo.toml` is) and its
//! migrations directory relative to it, as its `build.rs` names it.

use std::path::{Path, PathBuf};

/// The app of a migrations directory.
#[derive(Debug)]
pub(crate) struct App {
    /// The directory of its `Cargo.toml`.
    pub(crate) dir: PathBuf,
    /// The migrations directory, relative to [`App::dir`] when inside it (`migrations`), so
    /// files are shown as the build shows them wherever the command runs from.
    pub(crate) migrations: PathBuf,
}

impl App {
    /// The app of `migrations` (relative to the current directory): the one whose manifest is
    /// `manifest_path`, else the nearest `Cargo.toml` above the migrations directory, else its
    /// parent (the framework's crate then has its default name, as in a build that cannot read
    /// its manifest).
    pub(crate) fn locate(migrations: &Path, manifest_path: Option<&Path>) -> Result<App, String> {
        let absolute = |p: &Path| {
            std::path::absolute(p).map_err(|e| format!("cannot resolve {}: {e}", p.display()))
        };
        let migrations = absolute(migrations)?;
        let dir = match manifest_path {
            Some(manifest) if manifest.is_file() => absolute(manifest)?
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
            Some(manifest) => {
                return Err(format!(
                    "the manifest {} does not exist",
                    manifest.display()
                ))
            }
            None => {
                let parent = migrations.parent().unwrap_or(&migrations);
                parent
                    .ancestors()
                    .find(|d| d.join("Cargo.toml").is_file())
                    .unwrap_or(parent)
                    .to_path_buf()
            }
        };
        let relative = migrations
            .strip_prefix(&dir)
            .map_or_else(|_| migrations.clone(), Path::to_path_buf);
        Ok(App {
            dir,
            migrations: relative,
        })
    }
}
