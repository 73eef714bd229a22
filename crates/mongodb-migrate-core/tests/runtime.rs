//! The runtime's integration tests, one binary (each `tests/*.rs` a module): every extra test
//! binary would link the whole dependency graph again. Declared in `Cargo.toml` (`autotests =
//! false`); a new test file is added here.

#[macro_use]
mod common;

mod batch;
mod command_counts;
mod interop;
mod lock;
mod lock_round_trips;
mod out_of_order;
mod rehearse;
mod roundtrip_harness;
mod runner;
mod status_queries;
mod transaction;
