//! Tells the app's build script (through `DEP_MONGODB_MIGRATE_*`) which registry format this
//! runtime reads, so `mongodb-migrate-build` reports a version skew before generating code.

/// Must equal `mongodb_migrate_core::REGISTRY_FORMAT` (a test checks it): a build script cannot
/// link the runtime.
const REGISTRY_FORMAT: u32 = 2;

fn main() {
    println!("cargo::metadata=registry_format={REGISTRY_FORMAT}");
    println!("cargo::metadata=version={}", env!("CARGO_PKG_VERSION"));
    println!("cargo::rustc-env=MONGO_MIGRATE_REGISTRY_FORMAT={REGISTRY_FORMAT}");
    println!("cargo::rerun-if-changed=build.rs");
}
