//! End to end: an app whose long-applied migrations moved into its archive crate builds, its
//! binary carries the same plan (names, order, checksums), and a change to a recent migration
//! recompiles the app alone, not the archive.
use std::path::Path;

use mongodb_migrate_test_support::FixtureCrate;

fn plan(binary: &Path) -> Vec<(String, String)> {
    let out = std::process::Command::new(binary)
        .args(["plan", "--format", "json"])
        .output()
        .expect("plan");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("plan json");
    plan["migrations"]
        .as_array()
        .expect("migrations")
        .iter()
        .map(|m| {
            (
                m["name"].as_str().expect("name").to_owned(),
                m["checksum"].as_str().expect("checksum").to_owned(),
            )
        })
        .collect()
}

#[test]
fn an_archived_plan_builds_the_same_and_a_recent_change_recompiles_the_app_alone() {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("crates/mongodb-migrate-build/tests/fixtures/_valid_plan/migrations");
    // The plan as one crate would carry it: the resolver's, which the registry equals
    // (`same_output`).
    let before: Vec<(String, String)> = mongodb_migrate_build::resolve(&source)
        .expect("a valid plan")
        .migrations
        .into_iter()
        .map(|m| (m.name, m.checksum))
        .collect();
    let fixture = FixtureCrate::new("archived");
    let name = fixture.name().to_owned();
    // Written, archived, then built: the first build is already the archived one.
    let built = fixture.copy_dir_into(&source, "migrations").written();
    let done = mongodb_migrate_build::archive::archive(
        &built.dir,
        Path::new("migrations"),
        "0002_add_featured_flag",
    )
    .expect("archives");
    assert_eq!(done.moved.len(), 2);
    let archived = built.rebuild();
    assert!(archived.success, "{}", archived.stderr);
    assert!(
        archived
            .stderr
            .contains(&format!("Compiling {name}-archive")),
        "{}",
        archived.stderr
    );
    // A helper only the archive uses is not dead code in the app, nor the reverse.
    assert!(
        !archived.stderr.contains("never used"),
        "{}",
        archived.stderr
    );
    assert_eq!(
        plan(archived.binary()),
        before,
        "same names, order and checksums"
    );

    // A recent migration's body changes: the app recompiles, the archive does not.
    let recent = built.dir.join("migrations/0005_replace_title_index.rs");
    let text = std::fs::read_to_string(&recent).expect("read");
    let edited = text.replacen("Ok(())", "let _recent = 1;\n    Ok(())", 1);
    assert_ne!(edited, text);
    built.write("migrations/0005_replace_title_index.rs", &edited);
    let rebuilt = built.rebuild();
    assert!(rebuilt.success, "{}", rebuilt.stderr);
    assert!(
        rebuilt.stderr.contains(&format!("Compiling {name} ")),
        "{}",
        rebuilt.stderr
    );
    assert!(
        !rebuilt
            .stderr
            .contains(&format!("Compiling {name}-archive")),
        "{}",
        rebuilt.stderr
    );
    let after = plan(rebuilt.binary());
    assert_eq!(after[..4], before[..4]);
    assert_ne!(after[4].1, before[4].1, "the edited migration's checksum");
}
