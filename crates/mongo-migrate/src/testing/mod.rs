//! Test support: a real database for every test, and the up → down → up round-trip harness.
//!
//! Enabled by the `testing` feature; meant for `[dev-dependencies]`.

mod fixture;
mod server;

pub use fixture::{FixtureBuild, FixtureCrate};
pub use server::{test_database, test_server_uri, TestDatabase, TEST_URI_VAR};
