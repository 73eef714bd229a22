//! Hand-written plans for the runner tests: every upgrade and downgrade logs its run in the
//! `runs` collection, so tests can count what ran.
#![allow(dead_code)]

use futures::TryStreamExt;
use mongodb_migrate_core::bson::{doc, Document};
use mongodb_migrate_core::mongodb::Database;
use mongodb_migrate_core::{BoxFuture, MigrationResult};

/// Logs one run of `name` in `direction`.
pub async fn log_run(db: &Database, name: &str, direction: &str) -> MigrationResult<()> {
    db.collection::<Document>("runs")
        .insert_one(doc! { "name": name, "direction": direction })
        .await?;
    Ok(())
}

/// The runs logged, as `name:direction`, in insertion order.
pub async fn runs(db: &Database) -> Vec<String> {
    let docs: Vec<Document> = db
        .collection::<Document>("runs")
        .find(doc! {})
        .sort(doc! { "$natural": 1 })
        .await
        .expect("find runs")
        .try_collect()
        .await
        .expect("read runs");
    docs.iter()
        .map(|d| {
            format!(
                "{}:{}",
                d.get_str("name").expect("name"),
                d.get_str("direction").expect("direction")
            )
        })
        .collect()
}

/// All documents of `collection`, sorted by `name` (or `_id`), without `_id` when `drop_id`.
pub async fn docs(db: &Database, collection: &str) -> Vec<Document> {
    db.collection::<Document>(collection)
        .find(doc! {})
        .await
        .expect("find")
        .try_collect()
        .await
        .expect("read")
}

/// Defines `up_<id>` / `down_<id>` shims that log their runs under `$name`.
#[macro_export]
macro_rules! logging_migration {
    ($up:ident, $down:ident, $name:expr) => {
        fn $up(
            db: &::mongodb_migrate_core::mongodb::Database,
        ) -> ::mongodb_migrate_core::BoxFuture<'_, ::mongodb_migrate_core::MigrationResult<()>> {
            Box::pin($crate::common::log_run(db, $name, "up"))
        }
        fn $down(
            db: &::mongodb_migrate_core::mongodb::Database,
        ) -> ::mongodb_migrate_core::BoxFuture<'_, ::mongodb_migrate_core::MigrationResult<()>> {
            Box::pin($crate::common::log_run(db, $name, "down"))
        }
    };
}

/// A `Migration` literal for a logging migration.
#[macro_export]
macro_rules! migration {
    ($name:expr, [$($dep:expr),*], $up:ident, $down:ident) => {
        ::mongodb_migrate_core::Migration {
            name: $name,
            dependencies: &[$($dep),*],
            description: concat!("Test migration ", $name, "."),
            checksum: concat!("sum-", $name),
            transactional: false,
            allowed: &[],
            irreversible: None,
            collections: &[],
            upgrade: $up,
            downgrade: $down,
        }
    };
}

/// Whether nobody holds the lock: its document is absent, or released (no owner).
pub async fn lock_free(db: &Database) -> bool {
    docs(db, "pymongo_migrate_lock").await.iter().all(|d| {
        matches!(
            d.get("owner"),
            None | Some(mongodb_migrate_core::bson::Bson::Null)
        )
    })
}

/// Ignores the database: for type-checking shims.
pub fn noop(_db: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    Box::pin(async { Ok(()) })
}

/// What an error is, by the variant a front end branches on (the exit codes are the CLI
/// crate's mapping of these).
#[allow(dead_code)]
pub fn kind(e: &mongodb_migrate_core::Error) -> &'static str {
    use mongodb_migrate_core::{Error, LockError, Refusal};
    match e {
        Error::Config(_) => "config",
        Error::Connection(_) => "unreachable",
        Error::Lock(LockError::Store(_) | LockError::NoServerTime)
        | Error::State(_)
        | Error::Preflight(_) => "database",
        Error::Lock(_) => "lock",
        Error::Refused(Refusal::FailedRecord { .. }) => "failed record",
        Error::Refused(Refusal::Changed { .. } | Refusal::ChangedDowngrade { .. }) => "changed",
        Error::Refused(Refusal::Unknown { .. }) => "unknown",
        Error::Refused(Refusal::OutOfOrder { .. }) => "out of order",
        Error::Refused(Refusal::HasDependents { .. }) => "has dependents",
        Error::Refused(Refusal::Irreversible { .. }) => "irreversible",
        Error::MigrationFailed { .. } => "migration failed",
        Error::Cancelled { .. } => "cancelled",
    }
}

/// A migration of no dependencies running `upgrade` and `downgrade`, every other field at its
/// plainest.
pub fn plain(
    name: &'static str,
    upgrade: mongodb_migrate_core::MigrationFn,
    downgrade: mongodb_migrate_core::MigrationFn,
) -> mongodb_migrate_core::Migration {
    mongodb_migrate_core::Migration {
        name,
        dependencies: &[],
        description: "",
        checksum: "c",
        transactional: false,
        allowed: &[],
        irreversible: None,
        collections: &[],
        upgrade,
        downgrade,
    }
}

/// A linear plan of `n` migrations, `0001_<suffix>` … , each depending on the one before and
/// running `step` both ways.
#[allow(dead_code)]
pub fn chain(
    n: usize,
    suffix: &str,
    step: mongodb_migrate_core::MigrationFn,
) -> &'static [mongodb_migrate_core::Migration] {
    let name =
        |i: usize| -> &'static str { Box::leak(format!("{i:04}_{suffix}").into_boxed_str()) };
    let migrations: Vec<mongodb_migrate_core::Migration> = (1..=n)
        .map(|i| mongodb_migrate_core::Migration {
            dependencies: if i == 1 {
                &[]
            } else {
                Box::leak(vec![name(i - 1)].into_boxed_slice())
            },
            ..plain(name(i), step, step)
        })
        .collect();
    Box::leak(migrations.into_boxed_slice())
}
