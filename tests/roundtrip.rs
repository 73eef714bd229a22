//! Every migration in the plan goes up → up → down → up on a real database, with no test to
//! write per migration: a new file in migrations/ is covered as soon as it builds.
mod support;

use mongo_migrate::testing::{test_database, RoundTrip};

#[tokio::test]
async fn every_migration_round_trips_on_an_empty_database() {
    support::admin_env();
    let t = test_database("roundtrip_empty").await;
    if let Err(failure) = RoundTrip::new(&t.db, field_notes::MIGRATIONS).run().await {
        panic!("{failure}");
    }
}

#[tokio::test]
async fn every_migration_round_trips_on_seeded_data() {
    support::admin_env();
    let t = test_database("roundtrip_seeded").await;
    support::seed(&t.db).await;
    if let Err(failure) = RoundTrip::new(&t.db, field_notes::MIGRATIONS).run().await {
        panic!("{failure}");
    }
}

#[test]
fn the_plan_is_not_empty() {
    // Guards the two tests above against passing vacuously on an empty registry.
    assert!(field_notes::MIGRATIONS.len() >= 4);
}
