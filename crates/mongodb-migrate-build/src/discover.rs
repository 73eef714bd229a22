//! Finding the migration files (`.rs` files directly in the migrations directory) and the
//! helper modules beside them (subdirectories with a `mod.rs`).

use std::path::{Path, PathBuf};

use walkdir::WalkDir;

/// A `.rs` file found directly in the migrations directory, read into memory.
#[derive(Debug)]
pub(crate) struct Found {
    /// `0001_x.rs`.
    pub(crate) file_name: String,
    pub(crate) path: PathBuf,
    pub(crate) text: String,
}

/// A subdirectory with a `mod.rs` and a name that is a Rust identifier (`migrations/common/`):
/// the registry includes it once, as a module the migrations reach with `super::common`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelperModule {
    /// The directory's name, which is the module's name.
    pub name: String,
    /// The absolute path of its `mod.rs`.
    pub path: PathBuf,
}

/// What the migrations directory holds.
#[derive(Debug, Default)]
pub(crate) struct Discovered {
    pub(crate) files: Vec<Found>,
    pub(crate) helpers: Vec<HelperModule>,
    pub(crate) unreadable: Vec<Unreadable>,
}

/// Why the directory or one of its files could not be read.
#[derive(Debug)]
pub(crate) struct Unreadable {
    pub(crate) path: PathBuf,
    pub(crate) error: String,
}

/// Lists `dir/*.rs` and the helper modules `dir/<ident>/mod.rs`, in name order. Other
/// extensions (`README.md`, `.gitkeep`) and other subdirectories are not ours.
pub(crate) fn discover(dir: &Path) -> Result<Discovered, Unreadable> {
    if !dir.is_dir() {
        return Err(Unreadable {
            path: dir.to_path_buf(),
            error: "no such directory".to_owned(),
        });
    }
    let mut found = Discovered::default();
    let walker = WalkDir::new(dir)
        .min_depth(1)
        .max_depth(1)
        .follow_links(true)
        .sort_by_file_name();
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                found.unreadable.push(Unreadable {
                    path: error.path().unwrap_or(dir).to_path_buf(),
                    error: error.to_string(),
                });
                continue;
            }
        };
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type().is_dir() {
            found.helpers.extend(helper_module(entry.path(), name));
            continue;
        }
        let is_rs = entry.path().extension().is_some_and(|ext| ext == "rs");
        if !entry.file_type().is_file() || !is_rs {
            continue;
        }
        match std::fs::read_to_string(entry.path()) {
            Ok(text) => found.files.push(Found {
                file_name: name,
                path: entry.path().to_path_buf(),
                text,
            }),
            Err(error) => found.unreadable.push(Unreadable {
                path: entry.path().to_path_buf(),
                error: error.to_string(),
            }),
        }
    }
    Ok(found)
}

/// The directory at `path`, named `name`, as a helper module: when it has a `mod.rs` and its
/// name is a Rust identifier.
fn helper_module(path: &Path, name: String) -> Option<HelperModule> {
    let module = path.join("mod.rs");
    (module.is_file() && syn::parse_str::<syn::Ident>(&name).is_ok())
        .then_some(HelperModule { name, path: module })
}

/// The helper modules of `dir` alone, in name order: what an archive crate includes from the
/// app's migrations directory (its files are not the archive's migrations).
pub(crate) fn helpers_in(dir: &Path) -> Vec<HelperModule> {
    WalkDir::new(dir)
        .min_depth(1)
        .max_depth(1)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_dir())
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            helper_module(entry.path(), name)
        })
        .collect()
}
