//! The generated registry for a small valid plan, pinned in
//! `tests/fixtures/_valid_plan/expected_registry.rs` (absolute paths shown as `$DIR`).
//!
//! `BLESS=1 cargo test -p mongodb-migrate-build --test golden` rewrites it.

use std::path::Path;

#[test]
fn generated_registry_matches_the_golden_file() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/_valid_plan");
    let dir = fixture.join("migrations");
    let plan = mongodb_migrate_build::resolve(&dir).unwrap_or_else(|r| panic!("{r}"));
    let names: Vec<&str> = plan.migrations.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "0001_create_stories",
            "0002_add_featured_flag",
            "0003_index_sections",
            "0004_merge_0002_0003",
            "0005_replace_title_index"
        ]
    );
    // 0001–0004 gained `IRREVERSIBLE` after these checksums were recorded: the opt-outs of the
    // destructive-operation lint are not part of a checksum.
    let checksums: Vec<&str> = plan.migrations[..4]
        .iter()
        .map(|m| m.checksum.as_str())
        .collect();
    assert_eq!(
        checksums,
        [
            "c4bfa1740d6146b28c4f5556894aaa1e6dd61b1525c82101953bbbb2d6e8727c",
            "1f906d1c97ca59bf6d3f6eecfae0d863c7718878d79fc5d2daf485e7b3e75906",
            "17b0556f0da3402962601c830c1d4f8a2e0b81dfb0b96257711958e8c9cdb279",
            "a06e72bfdfed013d966bacabfb2cc4900be8a87e69ec91d505d3c7ee87703371",
        ]
    );
    assert!(plan.migrations[..4]
        .iter()
        .all(|m| m.irreversible.is_some()));
    let allowed = &plan.migrations[4].allowed;
    assert_eq!(allowed.len(), 1, "{allowed:?}");
    assert_eq!(allowed[0].finding, "drop_index");
    assert_eq!(allowed[0].line, 23);
    let source = mongodb_migrate_build::generate(&plan, "::mongodb_migrate", "migrations/")
        .expect("generates");
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
    let plan = mongodb_migrate_build::resolve(&dir).unwrap_or_else(|r| panic!("{r}"));
    let source =
        mongodb_migrate_build::generate(&plan, "::my_runtime", "migrations/").expect("generates");
    assert!(source.contains("pub static MIGRATIONS: &[::my_runtime::Migration]"));
    assert!(!source.contains("mongodb_migrate::"));
    let err =
        mongodb_migrate_build::generate(&plan, "not a path", "migrations/").expect_err("rejects");
    assert!(err.to_string().contains("not a Rust path"), "{err}");
}
