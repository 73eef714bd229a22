//! The app's integration tests, one binary (each `tests/*.rs` a module): every extra test
//! binary would link the whole dependency graph again. Declared in `Cargo.toml` (`autotests =
//! false`); a new test file is added here.

mod cli_common;
mod support;

mod app_cli;
mod app_writes;
mod archive_build;
mod bench_provenance;
mod checksum_continuity;
mod checksum_formatting;
mod cli_backfill;
mod cli_basics;
mod cli_destructive;
mod cli_events;
mod cli_evolve;
mod cli_fencing;
mod cli_fleet;
mod cli_rehearse;
mod cli_runner;
mod cli_sanitize;
mod cli_secrets;
mod cli_topologies;
mod cli_transactions;
mod cli_version_skew;
mod cli_wait;
mod compile_fail;
mod db_smoke;
mod field_notes_migrations;
mod pre_commit_hook;
mod release_paths;
mod roundtrip;
mod same_output;
mod scripts;
mod tutorial;
