//! Every migration in the plan goes up → up → down → up on a real database, empty and seeded,
//! then up → Field Notes' own writes → down → up, with no test to write per migration: a new
//! file in migrations/ is covered as soon as it builds. The downgrade after the app's writes
//! must keep every one of them, undo the rest exactly and note what it left.
use crate::support;

/// 0001 reads ADMIN_EMAIL.
async fn setup(_db: &mongodb_migrate::mongodb::Database) {
    support::admin_env();
}

mongodb_migrate::round_trip_tests!(
    field_notes::MIGRATIONS,
    setup = setup,
    seed = support::seed,
    app_writes = support::app_writes,
);

#[test]
fn the_plan_is_not_empty() {
    // Guards the generated tests against passing vacuously on an empty registry.
    assert!(field_notes::MIGRATIONS.len() >= 4);
}
