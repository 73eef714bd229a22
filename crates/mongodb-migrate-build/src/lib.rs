//! Build-time half of mongodb-migrate: reads `migrations/`, checks the plan, lints what each
//! migration destroys (a drop, an unfiltered delete, an irreversible downgrade, … unless the
//! migration allows it with a reason; see [`FindingKind`]), reports every problem like rustc
//! does, and generates the registry the binary carries.
//!
//! Use it from `build.rs` through [`Builder`]; tests and tools use [`resolve`], the same
//! resolver, to read the plan from disk; `cargo mongodb-migrate new` uses [`scaffold`].
//!
//! # Examples
//!
//! ```no_run
//! // build.rs
//! fn main() {
//!     mongodb_migrate_build::Builder::new().migrations_dir("migrations").emit();
//! }
//! ```
#![warn(missing_docs)]
// Library code reports problems; it never unwraps user input.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]
// The examples show a whole `build.rs`, `fn main` included.
#![allow(clippy::needless_doctest_main)]

mod allow;
mod analyze;
pub mod archive;
mod builder;
mod checksum;
mod codegen;
mod crate_path;
mod diagnostic;
mod discover;
mod doc_literal;
mod file_name;
mod file_pass;
mod finding;
mod framework;
mod graph;
mod manifest;
mod old_path;
mod parse;
mod plan;
mod resolve;
pub mod scaffold;
mod syntax;

#[doc(hidden)]
pub use analyze::count_findings;
pub use builder::{BuildError, Builder};
pub use checksum::{canonical_text, checksum_source};
pub use codegen::{generate, GenerateError, REGISTRY_FORMAT};
pub use diagnostic::{Diagnostic, Location, Report};
pub use file_name::FILE_NAME_PATTERN;
pub use finding::FindingKind;
pub use plan::{AllowedFinding, HelperModule, Plan, PlannedMigration};
pub use resolve::resolve;
