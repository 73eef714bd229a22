//! Test support: a real database for every test, and the up → down → up
//! round-trip harness that checks every migration of a plan, with the application's writes
//! interleaved when given.
//!
//! Enabled by the `testing` feature; meant for `[dev-dependencies]`.

mod roundtrip;
mod server;
mod snapshot;

pub use crate::state::state_collections;
pub use roundtrip::{round_trip_test, AppWrites, Broken, Prepare, RoundTrip, RoundTripFailure};
pub use server::{
    test_database, test_server_uri, use_server_command, TestDatabase, TEST_SERVER_VAR, TEST_URI_VAR,
};
pub use snapshot::{id_key, CollectionSnapshot, DbSnapshot, Difference};
