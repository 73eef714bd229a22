//! What the app calls the framework's runtime crate, read from its `Cargo.toml` or told to the
//! [`Builder`](crate::Builder).
//!
//! The package is `mongodb-migrate` and its import path `mongodb_migrate`, unless the app
//! renamed the dependency (`mm = { package = "mongodb-migrate", … }`). Generated code names the
//! runtime by that name, the checksum counts every spelling of it as one, and a migration that
//! still spells the path as releases before the rename did (`mongo_migrate::`) gets a located
//! diagnostic, unless that name still resolves in this app.

use std::path::Path;

use crate::crate_path;

/// The framework's runtime crate as this app's code names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Framework {
    /// Its import path's crate name: `mongodb_migrate`, or the key of a renamed dependency.
    pub(crate) name: String,
    /// Whether `mongo_migrate::` resolves in this app: the dependency is renamed to it, or a
    /// crate of that name is a dependency of its own. Old-spelled paths are then left alone.
    pub(crate) old_name_resolves: bool,
}

impl Default for Framework {
    fn default() -> Self {
        Framework {
            name: crate_path::NAME.to_owned(),
            old_name_resolves: false,
        }
    }
}

impl Framework {
    /// The framework named by the path generated code uses (`::mm`), in an app whose
    /// `Cargo.toml` is in `manifest_dir` (when known).
    pub(crate) fn named(path: &str, manifest_dir: Option<&Path>) -> Self {
        let name = path
            .trim()
            .trim_start_matches("::")
            .split("::")
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned();
        let old_name_resolves = name == crate_path::OLD_NAME
            || manifest_dir
                .and_then(Dependencies::read)
                .is_some_and(|d| d.names.iter().any(|n| n == crate_path::OLD_NAME));
        Framework {
            name,
            old_name_resolves,
        }
    }

    /// The framework as the `Cargo.toml` in `manifest_dir` names it: the key of its dependency
    /// on the `mongodb-migrate` package, or `mongodb_migrate` when there is none to read.
    pub(crate) fn from_manifest(manifest_dir: &Path) -> Self {
        let Some(deps) = Dependencies::read(manifest_dir) else {
            return Framework::default();
        };
        let name = deps
            .runtime
            .clone()
            .unwrap_or_else(|| crate_path::NAME.to_owned());
        Framework {
            old_name_resolves: name == crate_path::OLD_NAME
                || deps.names.iter().any(|n| n == crate_path::OLD_NAME),
            name,
        }
    }

    /// The path generated code uses for the runtime.
    pub(crate) fn path(&self) -> String {
        format!("::{}", self.name)
    }

    /// The names the checksum counts as the framework besides `mongodb_migrate` and
    /// `mongo_migrate`: a crate's name, never a module path of the app's own
    /// (`Builder::runtime_crate("crate::rt")`), whose first segment is `crate`.
    pub(crate) fn aliases(&self) -> Vec<&str> {
        const NOT_A_CRATE: [&str; 4] = ["crate", "self", "super", "Self"];
        if self.name == crate_path::NAME
            || self.name == crate_path::OLD_NAME
            || NOT_A_CRATE.contains(&self.name.as_str())
        {
            Vec::new()
        } else {
            vec![self.name.as_str()]
        }
    }
}

/// The normal dependencies of a package, as crate names.
#[derive(Debug, Default)]
struct Dependencies {
    /// Every dependency's crate name (its key, `-` as `_`).
    names: Vec<String>,
    /// The crate name of the dependency on the `mongodb-migrate` package.
    runtime: Option<String>,
}

impl Dependencies {
    /// Reads `manifest_dir/Cargo.toml`; `None` when it cannot be read or parsed (the build
    /// itself then reports the manifest, so nothing is guessed here).
    fn read(manifest_dir: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(manifest_dir.join("Cargo.toml")).ok()?;
        let manifest: toml::Table = text.parse().ok()?;
        let mut tables: Vec<&toml::Table> = Vec::new();
        if let Some(t) = manifest.get("dependencies").and_then(toml::Value::as_table) {
            tables.push(t);
        }
        if let Some(targets) = manifest.get("target").and_then(toml::Value::as_table) {
            for target in targets.values().filter_map(toml::Value::as_table) {
                if let Some(t) = target.get("dependencies").and_then(toml::Value::as_table) {
                    tables.push(t);
                }
            }
        }
        let mut workspace: Option<Option<toml::Table>> = None;
        let mut deps = Dependencies::default();
        for table in tables {
            for (key, value) in table {
                let name = key.replace('-', "_");
                let mut package = value
                    .get("package")
                    .and_then(toml::Value::as_str)
                    .map(str::to_owned);
                if value.get("workspace").and_then(toml::Value::as_bool) == Some(true) {
                    // `package` of an inherited dependency is in the workspace's table.
                    let root = workspace.get_or_insert_with(|| workspace_manifest(manifest_dir));
                    package = package.or_else(|| {
                        root.as_ref()?
                            .get("workspace")?
                            .get("dependencies")?
                            .get(key)?
                            .get("package")?
                            .as_str()
                            .map(str::to_owned)
                    });
                }
                if package.as_deref().unwrap_or(key) == crate_path::PACKAGE {
                    deps.runtime = Some(name.clone());
                }
                deps.names.push(name);
            }
        }
        Some(deps)
    }
}

/// The manifest of the workspace `manifest_dir` belongs to: the nearest `Cargo.toml` above it
/// (or its own) with a `[workspace]` table.
fn workspace_manifest(manifest_dir: &Path) -> Option<toml::Table> {
    manifest_dir.ancestors().find_map(|dir| {
        let text = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
        let manifest: toml::Table = text.parse().ok()?;
        manifest.contains_key("workspace").then_some(manifest)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(manifest: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("Cargo.toml"), manifest).expect("write");
        dir
    }

    #[test]
    fn the_dependency_names_the_runtime() {
        let plain = app("[package]\nname = \"a\"\n[dependencies]\nmongodb-migrate = \"0.1\"\n");
        assert_eq!(Framework::from_manifest(plain.path()), Framework::default());
        let renamed =
            app("[dependencies]\nmm = { package = \"mongodb-migrate\", version = \"0.1\" }\n");
        let f = Framework::from_manifest(renamed.path());
        assert_eq!((f.name.as_str(), f.path()), ("mm", "::mm".to_owned()));
        assert_eq!(f.aliases(), ["mm"]);
        assert!(!f.old_name_resolves);
        let kept = app("[dependencies]\nmongo_migrate = { package = \"mongodb-migrate\", version = \"0.1\" }\n");
        let f = Framework::from_manifest(kept.path());
        assert_eq!(f.name, "mongo_migrate");
        assert!(f.old_name_resolves);
        assert!(f.aliases().is_empty());
        let target = app(
            "[target.'cfg(unix)'.dependencies]\nrt = { package = \"mongodb-migrate\", version = \"0.1\" }\n",
        );
        assert_eq!(Framework::from_manifest(target.path()).name, "rt");
        // Another crate that happens to be called `mongo-migrate` (crates.io has one).
        let other = app("[dependencies]\nmongodb-migrate = \"0.1\"\nmongo-migrate = \"0.3\"\n");
        let f = Framework::from_manifest(other.path());
        assert_eq!(f.name, "mongodb_migrate");
        assert!(f.old_name_resolves);
        let none = tempfile::tempdir().expect("temp dir");
        assert_eq!(Framework::from_manifest(none.path()), Framework::default());
    }

    #[test]
    fn an_inherited_dependency_is_renamed_in_the_workspace() {
        let root = app(
            "[workspace]\nmembers = [\"app\"]\n[workspace.dependencies]\nmm = { package = \"mongodb-migrate\", version = \"0.1\" }\n",
        );
        let member = root.path().join("app");
        std::fs::create_dir(&member).expect("mkdir");
        std::fs::write(
            member.join("Cargo.toml"),
            "[package]\nname = \"app\"\n[dependencies]\nmm.workspace = true\n",
        )
        .expect("write");
        assert_eq!(Framework::from_manifest(&member).name, "mm");
    }

    #[test]
    fn a_builder_path_names_the_crate() {
        assert_eq!(Framework::named("::mm", None).name, "mm");
        assert_eq!(Framework::named("mm", None).name, "mm");
        assert!(Framework::named("::mongo_migrate", None).old_name_resolves);
        assert!(!Framework::named("::mongodb_migrate", None).old_name_resolves);
        assert!(Framework::named("crate::rt", None).aliases().is_empty());
    }
}
