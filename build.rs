//! Checks `migrations/` and generates the registry the binary carries.
//!
//! A mistake in a migration fails `cargo build` here with located diagnostics: `cargo build` is
//! the migration lint.
fn main() {
    mongodb_migrate_build::Builder::new()
        .migrations_dir("migrations")
        .emit();
}
