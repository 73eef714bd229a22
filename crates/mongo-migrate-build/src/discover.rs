//! Finding the migration files: `.rs` files directly in the migrations directory.

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

/// Why the directory or one of its files could not be read.
#[derive(Debug)]
pub(crate) struct Unreadable {
    pub(crate) path: PathBuf,
    pub(crate) error: String,
}

/// Lists `dir/*.rs` in file name order. Subdirectories (`migrations/common/`) hold helpers,
/// not migrations, and other extensions (`README.md`, `.gitkeep`) are not ours.
pub(crate) fn discover(dir: &Path) -> Result<(Vec<Found>, Vec<Unreadable>), Unreadable> {
    if !dir.is_dir() {
        return Err(Unreadable {
            path: dir.to_path_buf(),
            error: "no such directory".to_owned(),
        });
    }
    let mut found = Vec::new();
    let mut unreadable = Vec::new();
    let walker = WalkDir::new(dir)
        .min_depth(1)
        .max_depth(1)
        .follow_links(true)
        .sort_by_file_name();
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                unreadable.push(Unreadable {
                    path: error.path().unwrap_or(dir).to_path_buf(),
                    error: error.to_string(),
                });
                continue;
            }
        };
        let is_rs = entry.path().extension().is_some_and(|ext| ext == "rs");
        if !entry.file_type().is_file() || !is_rs {
            continue;
        }
        let file_name = entry.file_name().to_string_lossy().into_owned();
        match std::fs::read_to_string(entry.path()) {
            Ok(text) => found.push(Found {
                file_name,
                path: entry.path().to_path_buf(),
                text,
            }),
            Err(error) => unreadable.push(Unreadable {
                path: entry.path().to_path_buf(),
                error: error.to_string(),
            }),
        }
    }
    Ok((found, unreadable))
}
