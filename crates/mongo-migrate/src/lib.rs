//! Runtime of a MongoDB migration framework whose plan is checked at compile time.
//!
//! `mongo-migrate-build` turns `migrations/*.rs` into a checked, ordered registry of
//! [`Migration`]s at `cargo build`; this crate applies that plan to a database.
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod markers;
mod migration;
pub mod prelude;
#[cfg(feature = "testing")]
pub mod testing;

pub use migration::{BoxFuture, Migration, MigrationError, MigrationFn, MigrationResult};

// Re-exported so generated code and migrations name one driver version: `::mongo_migrate::mongodb`.
pub use bson;
pub use mongodb;
