//! Test support: a real database for every test, fixture crates, and the up → down → up
//! round-trip harness that checks every migration of a plan, with the application's writes
//! interleaved when given.
//!
//! Enabled by the `testing` feature; meant for `[dev-dependencies]`.

mod fixture;
mod roundtrip;
mod server;
mod snapshot;

pub use fixture::{FixtureBuild, FixtureCrate};
pub use roundtrip::{
    round_trip_test, state_collections, AppWrites, Broken, Prepare, RoundTrip, RoundTripFailure,
};
pub use server::{test_database, test_server_uri, TestDatabase, TEST_URI_VAR};
pub use snapshot::{id_key, CollectionSnapshot, DbSnapshot, Difference};
