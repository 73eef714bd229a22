//! Field Notes' migration plan, checked and generated at build time from `migrations/`.
//!
//! The `migrate` binary runs it; tests reach it through [`MIGRATIONS`].
#![warn(missing_docs)]

pub mod registry;

pub use registry::MIGRATIONS;
