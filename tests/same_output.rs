//! The plan compiled into the binary is the plan the build-time resolver reads from disk: one
//! resolver serves both.
use std::path::Path;

#[test]
fn the_compiled_registry_equals_the_plan_resolved_from_disk() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let plan = mongodb_migrate_build::resolve(&dir)
        .unwrap_or_else(|report| panic!("{}", report.render(false)));
    let compiled: Vec<_> = field_notes::MIGRATIONS
        .iter()
        .map(|m| {
            let deps: Vec<String> = m.dependencies.iter().map(|d| (*d).to_owned()).collect();
            (
                m.name.to_owned(),
                deps,
                m.description.to_owned(),
                m.checksum.to_owned(),
                m.transactional,
            )
        })
        .collect();
    let resolved: Vec<_> = plan
        .migrations
        .iter()
        .map(|m| {
            (
                m.name.clone(),
                m.dependencies.clone(),
                m.description.clone(),
                m.checksum.clone(),
                m.transactional,
            )
        })
        .collect();
    assert_eq!(compiled, resolved);
    assert!(compiled.len() >= 4);
}
