//! MongoDB migrations written in Rust, with the whole plan checked at `cargo build`.
//!
//! This is the crate an app depends on. It re-exports the runtime
//! ([`mongodb-migrate-core`](https://docs.rs/mongodb-migrate-core)) and, with the `cli` feature,
//! the `migrate` command line as [`cli`]. The build-time half is
//! [`mongodb-migrate-build`](https://docs.rs/mongodb-migrate-build), used from `build.rs`.
//!
//! ```toml
//! [dependencies]
//! mongodb-migrate = { version = "0.1", features = ["cli"] }
//! [build-dependencies]
//! mongodb-migrate-build = "0.1"
//! ```
//!
//! A migration, `migrations/0001_add_tags.rs`:
//!
//! ```
//! use mongodb_migrate::prelude::*;
//!
//! pub const NAME: &str = "0001_add_tags";
//! pub const DEPENDENCIES: &[&str] = &[];
//!
//! pub async fn upgrade(db: &Database) -> Result<()> {
//!     db.collection::<Document>("notes")
//!         .update_many(doc! { "tags": { "$exists": false } }, doc! { "$set": { "tags": [] } })
//!         .await?;
//!     Ok(())
//! }
//!
//! pub async fn downgrade(db: &Database) -> Result<()> {
//!     db.collection::<Document>("notes")
//!         .update_many(doc! {}, doc! { "$unset": { "tags": "" } })
//!         .await?;
//!     Ok(())
//! }
//! ```
//!
//! The app's `main`, running the generated registry (feature `cli`):
//!
//! ```ignore
//! mod registry { include!(concat!(env!("OUT_DIR"), "/registry.rs")); }
//! fn main() -> std::process::ExitCode {
//!     mongodb_migrate::cli::App::new(registry::MIGRATIONS).run()
//! }
//! ```
#![warn(missing_docs)]

pub use mongodb_migrate_core::*;

#[cfg(feature = "cli")]
#[doc(inline)]
pub use mongodb_migrate_cli as cli;

#[cfg(test)]
mod tests {
    /// What `build.rs` tells the app's build script is what the runtime reads.
    #[test]
    fn the_published_registry_format_is_the_runtimes() {
        assert_eq!(
            env!("MONGO_MIGRATE_REGISTRY_FORMAT"),
            super::REGISTRY_FORMAT.to_string()
        );
    }
}
