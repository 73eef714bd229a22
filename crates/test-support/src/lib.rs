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
