//! The tool's integration tests, one binary (each `tests/*.rs` a module). Declared in
//! `Cargo.toml` (`autotests = false`); a new test file is added here.

mod archive;
mod hook;
mod lint;
mod new;

use assert_cmd::Command;

/// The tool, with no migrations directory from the environment.
pub(crate) fn tool() -> Command {
    let mut c = Command::cargo_bin("cargo-mongodb-migrate").expect("binary");
    c.env_remove("MONGO_MIGRATE_DIR")
        .env_remove("CARGO_TERM_COLOR");
    c
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
