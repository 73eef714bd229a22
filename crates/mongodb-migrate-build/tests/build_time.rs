//! The build crate's integration tests, one binary (each `tests/*.rs` a module). Declared in
//! `Cargo.toml` (`autotests = false`); a new test file is added here.

mod archive;
mod gallery;
mod golden;
mod lint;
mod scaffold;
mod snapshots;
