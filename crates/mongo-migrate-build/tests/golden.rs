//! The generated registry for a small valid plan, pinned in
//! `tests/fixtures/_valid_plan/expected_registry.rs` (absolute paths shown as `$DIR`).
//!
//! `BLESS=1 cargo test -p mongo-migrate-build --test golden` rewrites it.

use std::path::Path;

#[test]
fn generated_registry_matches_the_golden_file() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/_valid_plan");
    let dir = fixture.join("migrations");
    let plan = mongo_migrate_build::resolve(&dir).unwrap_or_else(|r| panic!("{r}"));
    let names: Vec<&str> = plan.migrations.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "0001_create_stories",
            "0002_add_featured_flag",
            "0003_index_sections",
            "0004_merge_0002_0003"
        ]
    );
    let source =
        mongo_migrate_build::generate(&plan, "::mongo_migrate", "migrations/").expect("generates");
    let absolute = std::path::absolute(&dir).expect("absolute");
    let normalized = source.replace(&absolute.to_string_lossy().into_owned(), "$DIR");
    let golden = fixture.join("expected_registry.rs");
    if std::env::var_os("BLESS").is_some_and(|v| v != "0") {
        std::fs::write(&golden, &normalized).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&golden).unwrap_or_default();
    assert_eq!(normalized, expected, "BLESS=1 to update");
}

#[test]
fn runtime_crate_path_is_configurable() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/_valid_plan/migrations");
    let plan = mongo_migrate_build::resolve(&dir).unwrap_or_else(|r| panic!("{r}"));
    let source =
        mongo_migrate_build::generate(&plan, "::my_runtime", "migrations/").expect("generates");
    assert!(source.contains("pub static MIGRATIONS: &[::my_runtime::Migration]"));
    assert!(!source.contains("mongo_migrate::"));
    let err =
        mongo_migrate_build::generate(&plan, "not a path", "migrations/").expect_err("rejects");
    assert!(err.to_string().contains("not a Rust path"), "{err}");
}
