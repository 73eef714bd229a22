//! Test support: a real database for every test, and the up → down → up round-trip harness.
//!
//! Enabled by the `testing` feature; meant for `[dev-dependencies]`.

mod server;

pub use server::{test_database, test_server_uri, TestDatabase};
