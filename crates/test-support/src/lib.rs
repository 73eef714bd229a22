//! What only this repository's tests need: fixture crates built against the workspace's own
//! framework crates. Not published; apps use `mongodb_migrate::testing`.

#![warn(missing_docs)]

mod fixture;

pub use fixture::{target_dir, workspace_profiles, FixtureBuild, FixtureCrate};

/// `cargo mongodb-migrate ARGS…` as a developer runs it: the workspace's scaffolding tool,
/// built on first use into the workspace's target directory, run in `dir`.
pub fn scaffold_command(dir: &std::path::Path) -> std::process::Command {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root");
    let mut command =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    command
        .current_dir(dir)
        .args(["run", "--quiet", "--locked", "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .args(["-p", "cargo-mongodb-migrate", "--", "mongodb-migrate"]);
    command
}

/// Copies the directory `from` into `to` (created), files and subdirectories.
///
/// # Panics
/// When a file cannot be read or written.
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("create the copy's directory");
    for entry in std::fs::read_dir(from).expect("read the directory to copy") {
        let path = entry.expect("directory entry").path();
        let dest = to.join(path.file_name().expect("a file name"));
        if path.is_dir() {
            copy_dir(&path, &dest);
        } else {
            std::fs::copy(&path, dest).expect("copy a file");
        }
    }
}
