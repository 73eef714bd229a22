//! What an app's `Cargo.toml` tells the build pass in `[package.metadata.mongodb-migrate]`:
//! where its archive crate is, or, in an archive crate, where the helper modules its migrations
//! use live.
//!
//! ```toml
//! [package.metadata.mongodb-migrate]
//! archive = "archive"           # the app: long-applied migrations in archive/migrations/
//! helpers = "../migrations"     # the archive crate: the app's migrations/common/ and the like
//! ```
//!
//! `Builder::run` and `Builder::lint` read it alike, so `build.rs` needs no setting of its own.

use std::path::{Component, Path, PathBuf};

/// The `[package.metadata.mongodb-migrate]` table's key naming the archive crate's directory.
pub(crate) const ARCHIVE_KEY: &str = "archive";
/// The key naming the directory whose helper modules an archive's migrations use.
pub(crate) const HELPERS_KEY: &str = "helpers";

/// A parsed `Cargo.toml` and the directory it is in.
#[derive(Debug)]
pub(crate) struct Manifest {
    dir: PathBuf,
    table: toml::Table,
}

impl Manifest {
    /// `manifest_dir/Cargo.toml`, or `None` when it cannot be read or parsed (the build itself
    /// then reports the manifest).
    pub(crate) fn read(manifest_dir: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(manifest_dir.join("Cargo.toml")).ok()?;
        Some(Manifest {
            dir: manifest_dir.to_path_buf(),
            table: text.parse().ok()?,
        })
    }

    /// A directory named in `[package.metadata.mongodb-migrate]`, relative to the manifest as
    /// written (`archive`), or `None` when the key is absent or not a string.
    pub(crate) fn metadata_dir(&self, key: &str) -> Option<PathBuf> {
        let value = self
            .table
            .get("package")?
            .get("metadata")?
            .get("mongodb-migrate")?
            .get(key)?
            .as_str()?;
        Some(PathBuf::from(value))
    }

    /// `[package] name`.
    pub(crate) fn package_name(&self) -> Option<&str> {
        self.table.get("package")?.get("name")?.as_str()
    }

    /// A value of `[package]`, as TOML (`"2021"`, `{ workspace = true }`).
    pub(crate) fn package_value(&self, key: &str) -> Option<String> {
        let value = self.table.get("package")?.get(key)?;
        Some(inline(value))
    }

    /// The entry of `table` (`dependencies`, `build-dependencies`) on `package`, as a line for
    /// another manifest whose directory is `up` (`../`) below this one's: `key = spec`, a
    /// relative `path` rebased.
    pub(crate) fn dependency_spec(&self, table: &str, package: &str, up: &str) -> Option<String> {
        let deps = self.table.get(table)?.as_table()?;
        let (key, value) = deps.iter().find(|(key, value)| {
            value
                .get("package")
                .and_then(toml::Value::as_str)
                .unwrap_or(key)
                == package
        })?;
        let mut value = value.clone();
        if let Some(path) = value.get_mut("path") {
            if let Some(p) = path.as_str().filter(|p| Path::new(p).is_relative()) {
                *path = toml::Value::String(format!("{up}{p}"));
            }
        }
        Some(format!("{key} = {}", inline(&value)))
    }

    /// The crate name (`-` as `_`) under which the manifest depends on the package at `dir`
    /// (relative to the manifest), through `path = …` in `[dependencies]`.
    pub(crate) fn path_dependency(&self, dir: &Path) -> Option<String> {
        let wanted = normalize(&self.dir.join(dir));
        let deps = self.table.get("dependencies")?.as_table()?;
        deps.iter().find_map(|(key, value)| {
            let path = value.get("path")?.as_str()?;
            (normalize(&self.dir.join(path)) == wanted).then(|| key.replace('-', "_"))
        })
    }
}

/// A TOML value on one line: tables inline.
fn inline(value: &toml::Value) -> String {
    match value {
        toml::Value::Table(table) => {
            let entries: Vec<String> = table
                .iter()
                .map(|(k, v)| {
                    let bare = k
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                    let key = if bare {
                        k.clone()
                    } else {
                        toml::Value::String(k.clone()).to_string()
                    };
                    format!("{key} = {}", inline(v))
                })
                .collect();
            format!("{{ {} }}", entries.join(", "))
        }
        toml::Value::Array(items) => {
            let items: Vec<String> = items.iter().map(inline).collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    }
}

/// `a/./b/../c` as `a/c`, without touching the file system (the directory may not exist).
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_and_the_archive_dependency() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[package]\nname = \"app\"\n[package.metadata.mongodb-migrate]\narchive = \"archive\"\n\
             [dependencies]\nmongodb-migrate = \"0.1\"\napp-archive = { path = \"./archive/\" }\n",
        )
        .expect("write");
        let manifest = Manifest::read(dir.path()).expect("a manifest");
        assert_eq!(
            manifest.metadata_dir(ARCHIVE_KEY),
            Some(PathBuf::from("archive"))
        );
        assert_eq!(manifest.metadata_dir(HELPERS_KEY), None);
        assert_eq!(
            manifest.path_dependency(Path::new("archive")).as_deref(),
            Some("app_archive")
        );
        assert_eq!(manifest.path_dependency(Path::new("other")), None);
        assert_eq!(
            normalize(Path::new("/a/b/../c/./d")),
            PathBuf::from("/a/c/d")
        );
        assert!(Manifest::read(&dir.path().join("none")).is_none());
        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[package]\nname = \"app\"\nedition.workspace = true\n[dependencies]\n\
             mm = { package = \"mongodb-migrate\", path = \"crates/mongodb-migrate\", features = [\"cli\"] }\n\
             [build-dependencies]\nmongodb-migrate-build = \"0.1\"\n",
        )
        .expect("write");
        let manifest = Manifest::read(dir.path()).expect("a manifest");
        assert_eq!(
            manifest.dependency_spec("dependencies", "mongodb-migrate", "../").as_deref(),
            Some("mm = { features = [\"cli\"], package = \"mongodb-migrate\", path = \"../crates/mongodb-migrate\" }")
        );
        assert_eq!(
            manifest
                .dependency_spec("build-dependencies", "mongodb-migrate-build", "../")
                .as_deref(),
            Some("mongodb-migrate-build = \"0.1\"")
        );
        assert_eq!(
            manifest.package_value("edition").as_deref(),
            Some("{ workspace = true }")
        );
    }
}
