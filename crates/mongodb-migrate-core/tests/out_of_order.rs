//! An applied migration whose dependency is not applied (state written by another tool, or by
//! hand) is an out-of-order history: shown by `status`, refused by `up` unless allowed, failed
//! by `check` (Django's InconsistentMigrationHistory).

use crate::common;

use common::runs;
use mongodb_migrate_core::bson::{doc, DateTime, Document};
use mongodb_migrate_core::testing::test_database;
use mongodb_migrate_core::{Error, Migration, Migrator, Refusal, UpOptions};

logging_migration!(up_a, down_a, "0001_a");
logging_migration!(up_b, down_b, "0002_b");
logging_migration!(up_c, down_c, "0003_c");

static LINEAR: &[Migration] = &[
    migration!("0001_a", [], up_a, down_a),
    migration!("0002_b", ["0001_a"], up_b, down_b),
    migration!("0003_c", ["0002_b"], up_c, down_c),
];

#[tokio::test(flavor = "multi_thread")]
async fn a_migration_applied_before_its_dependency_is_reported_and_refused() {
    let t = test_database("out_of_order").await;
    // pymongo-migrate's shape: 0002_b recorded as applied, 0001_a never.
    t.db.collection::<Document>("pymongo_migrate")
        .insert_one(doc! { "name": "0002_b", "applied": DateTime::now() })
        .await
        .unwrap();
    let migrator = Migrator::new(t.db.clone(), LINEAR);
    let status = migrator.status().await.unwrap();
    let flagged: Vec<(&str, Vec<&str>)> = status
        .out_of_order()
        .map(|m| (m.name, m.unapplied_dependencies.clone()))
        .collect();
    assert_eq!(flagged, [("0002_b", vec!["0001_a"])]);

    let err = migrator.up().await.unwrap_err();
    assert!(
        matches!(&err, Error::Refused(Refusal::OutOfOrder { applied_before }) if applied_before == &["0002_b (applied, but not its dependency 0001_a)".to_owned()]),
        "{err:?}"
    );
    assert_eq!(common::kind(&err), "out of order");
    // The library says what happened; the flag to pass is the CLI's to add.
    assert!(!err.to_string().contains("--allow"), "{err}");
    assert!(runs(&t.db).await.is_empty(), "nothing ran");

    let report = migrator
        .up_with(&UpOptions {
            allow_out_of_order: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let names: Vec<&str> = report.steps.iter().map(|s| s.name).collect();
    assert_eq!(names, ["0001_a", "0003_c"]);
    assert_eq!(migrator.status().await.unwrap().out_of_order().count(), 0);
}
