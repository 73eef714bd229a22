//! Runtime of a MongoDB migration framework whose plan is checked at compile time.
//!
//! `mongo-migrate-build` turns `migrations/*.rs` into a checked, ordered registry of
//! [`Migration`]s at `cargo build`; this crate applies that plan to a database:
//!
//! - [`Migrator`] runs it (`up`, `down`, `status`) under a [lease lock](lock), recording state
//!   in a pymongo-migrate-compatible collection plus a details sidecar ([`state`]);
//! - [`cli`] (feature `cli`) is the `migrate` command built on it.
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod batch;
mod cancel;
mod checkpoint;
#[cfg(feature = "cli")]
pub mod cli;
mod connect;
mod error;
pub mod exit_code;
pub mod lock;
pub mod markers;
mod migration;
mod migrator;
mod model;
mod observer;
mod plan;
pub mod prelude;
pub mod progress;
mod redact;
pub mod sanitize;
pub mod state;
mod status;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod transaction;
mod verdict;

pub use cancel::CancelHandle;
pub use connect::{connect, Connection};
pub use error::{ConfigError, ConnectionError, Error, LockError, Refusal};
pub use migration::{Allowed, BoxFuture, Migration, MigrationError, MigrationFn, MigrationResult};
pub use migrator::{
    AcceptedChange, DownOptions, Migrator, Report, Step, UpOptions, DEFAULT_COLLECTION,
    DEFAULT_LEASE_TTL, DEFAULT_LOCK_TIMEOUT,
};
pub use model::{LockHolder, Runner};
pub use observer::{Event, Observer, Silent};
pub use plan::DownTarget;
pub use redact::{dotenv_location_message, redact_text, redact_uri, Secrets};
pub use status::{
    ChecksumState, Direction, Failure, MigrationStatus, State, Status, UnknownKind,
    UnknownMigration,
};
pub use store::{StoreError, WritePath};
pub use transaction::Transaction;
pub use verdict::{Finding, FindingKind, Verdict, PRECEDENCE};

// Re-exported so generated code and migrations name one driver version: `::mongo_migrate::mongodb`.
pub use bson;
pub use mongodb;
