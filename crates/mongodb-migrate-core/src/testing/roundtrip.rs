//! The up → down → up harness: every migration of a plan, checked for success, idempotence and
//! an exact downgrade, on a real database; and, given the application's writes, that a
//! downgrade after them keeps every one and undoes the rest exactly.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use bson::Document;
use mongodb::Database;

use super::snapshot::{CollectionSnapshot, DbSnapshot, Difference};
use crate::state::state_collections;
use crate::{BoxFuture, Migration, MigrationFn};

/// Which property a migration broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Broken {
    /// `upgrade` returned an error or panicked (the error chain is in the message).
    UpgradeFailed {
        /// Which run: 1 the first, 2 the idempotence run, 3 the re-run after the downgrade, 4
        /// the re-run after the downgrade that followed the application's writes.
        run: u8,
        /// The error chain.
        error: String,
    },
    /// A second `upgrade` changed the database.
    NotIdempotent(Vec<Difference>),
    /// `downgrade` returned an error or panicked.
    DowngradeFailed(String),
    /// After `downgrade` the database differs from before `upgrade`.
    DowngradeNotExact(Vec<Difference>),
    /// The database could not be read.
    Snapshot(String),
    /// The application's writes ([`RoundTrip::app_writes`]) panicked.
    AppWritesFailed(String),
    /// `downgrade`, run after the application's writes, returned an error or panicked.
    DowngradeAfterAppWritesFailed(String),
    /// After up → the application's writes → down, the database differs from the one before
    /// `upgrade` with the application's writes applied: an application write was undone, or a
    /// write of the migration's was left.
    AppWritesNotKept {
        /// Expected (`before`) against found (`after`).
        differences: Vec<Difference>,
        /// The notes the downgrade left.
        notes: Vec<String>,
    },
    /// The downgrade left values or documents the migration wrote and the application changed
    /// since (as it must), but no note of the downgrade names their collection.
    SkipNotReported {
        /// The collections with an unreported skip.
        collections: Vec<String>,
        /// The notes the downgrade left.
        notes: Vec<String>,
    },
}

/// A migration that broke a round-trip property.
#[derive(Debug, Clone)]
pub struct RoundTripFailure {
    /// The migration's name.
    pub migration: &'static str,
    /// The database the harness ran on.
    pub database: String,
    /// What broke.
    pub broken: Broken,
}

impl fmt::Display for RoundTripFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, diffs: &[Difference]| -> fmt::Result {
            for d in diffs {
                write!(f, "\n  - {d}")?;
            }
            Ok(())
        };
        let notes = |f: &mut fmt::Formatter<'_>, notes: &[String]| -> fmt::Result {
            if notes.is_empty() {
                return write!(f, "\n  (the downgrade left no note)");
            }
            write!(f, "\n  the downgrade's notes:")?;
            for n in notes {
                write!(f, "\n  - {n}")?;
            }
            Ok(())
        };
        write!(
            f,
            "migration {} (database {}): ",
            self.migration, self.database
        )?;
        match &self.broken {
            Broken::UpgradeFailed { run, error } => {
                let which = match run {
                    1 => "upgrade",
                    2 => "second upgrade (idempotence run)",
                    3 => "upgrade after the downgrade",
                    _ => "upgrade after the downgrade that followed the application's writes",
                };
                write!(f, "{which} failed: {error}")
            }
            Broken::NotIdempotent(d) => {
                write!(f, "upgrade is not idempotent; a second run changed:")?;
                list(f, d)
            }
            Broken::DowngradeFailed(e) => write!(f, "downgrade failed: {e}"),
            Broken::DowngradeNotExact(d) => {
                write!(
                    f,
                    "downgrade did not restore the database as it was before upgrade:"
                )?;
                list(f, d)
            }
            Broken::Snapshot(e) => write!(f, "could not snapshot the database: {e}"),
            Broken::AppWritesFailed(e) => write!(f, "the application's writes failed: {e}"),
            Broken::DowngradeAfterAppWritesFailed(e) => {
                write!(f, "downgrade after the application's writes failed: {e}")
            }
            Broken::AppWritesNotKept {
                differences,
                notes: n,
            } => {
                write!(
                    f,
                    "after up → the application's writes → down, the database is not the one \
                     before the upgrade with the application's writes (before: expected, \
                     after: found):"
                )?;
                list(f, differences)?;
                notes(f, n)
            }
            Broken::SkipNotReported {
                collections,
                notes: n,
            } => {
                write!(
                    f,
                    "the downgrade left what the application changed in {} without a note \
                     naming the collection",
                    collections.join(", ")
                )?;
                notes(f, n)
            }
        }
    }
}

impl std::error::Error for RoundTripFailure {}

/// The application's writes between an upgrade and its downgrade ([`RoundTrip::app_writes`]).
pub type AppWrites = Arc<dyn for<'a> Fn(&'a Database) -> BoxFuture<'a, ()> + Send + Sync>;

/// Runs the round trip over a plan, in plan order.
///
/// For each migration: snapshot; `upgrade` succeeds; a second `upgrade` leaves the snapshot
/// unchanged; `downgrade` restores the first snapshot exactly; `upgrade` again, so the next
/// migration starts from the upgraded state. Snapshots cover every collection's documents,
/// indexes and options, except the state collections of the default `pymongo_migrate`
/// ([`state_collections`]; more with [`RoundTrip::exclude`]).
///
/// With [`RoundTrip::app_writes`], each migration then goes up → the application's writes →
/// down → up, and the downgrade must keep every document and field the application wrote,
/// undo everything else exactly, and report what it left ([`Broken::AppWritesNotKept`],
/// [`Broken::SkipNotReported`]).
///
/// Migrations run as under the runner: [`progress::note`](crate::progress::note)s are
/// collected, and shown in a failure.
///
/// # Examples
/// ```no_run
/// # async fn example(db: mongodb_migrate_core::mongodb::Database, migrations: &'static [mongodb_migrate_core::Migration]) {
/// use mongodb_migrate_core::testing::RoundTrip;
/// if let Err(failure) = RoundTrip::new(&db, migrations).run().await {
///     panic!("{failure}");
/// }
/// # }
/// ```
pub struct RoundTrip<'a> {
    db: &'a Database,
    migrations: &'static [Migration],
    exclude: Vec<String>,
    app_writes: Option<AppWrites>,
}

impl fmt::Debug for RoundTrip<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoundTrip")
            .field("db", &self.db.name())
            .field("migrations", &self.migrations.len())
            .field("exclude", &self.exclude)
            .field("app_writes", &self.app_writes.is_some())
            .finish()
    }
}

/// The snapshots of one migration's app-writes round: before `upgrade`, after it, after the
/// application's writes, after `downgrade`.
struct AppWritesRound<'s> {
    before: &'s DbSnapshot,
    upgraded: DbSnapshot,
    written: DbSnapshot,
    reverted: DbSnapshot,
    /// Stands for a collection one side does not have.
    nothing: CollectionSnapshot,
}

impl<'a> RoundTrip<'a> {
    /// The harness for `migrations` (a generated registry) on `db`.
    pub fn new(db: &'a Database, migrations: &'static [Migration]) -> Self {
        RoundTrip {
            db,
            migrations,
            exclude: state_collections(crate::DEFAULT_COLLECTION),
            app_writes: None,
        }
    }

    /// Leaves these collections out of the snapshots too (state collections of a runner
    /// configured with another `--collection`, caches, …).
    pub fn exclude(mut self, collections: &[&str]) -> Self {
        self.exclude
            .extend(collections.iter().map(|s| (*s).to_owned()));
        self
    }

    /// What the application writes while a migration is applied: run after each migration's
    /// upgrade, before its downgrade. It runs once per migration on a database that already
    /// holds its earlier writes, so it should be written against the data (update what exists,
    /// upsert what it creates) rather than assume a state.
    ///
    /// The harness then checks, for each migration, that after the downgrade:
    /// - every document and field the application wrote (inserted, changed, removed) is as the
    ///   application left it;
    /// - everything else is exactly as before the upgrade, the migration's markers included
    ///   (a document the migration created and the application changed stays, without the
    ///   migration's marker);
    /// - where the downgrade left a value or document the migration wrote and the application
    ///   changed, a note of the downgrade names the collection.
    ///
    /// Indexes and collection options are compared with the snapshot before the upgrade, so
    /// the application's writes are document writes.
    ///
    /// # Examples
    /// ```no_run
    /// # async fn example(db: mongodb_migrate_core::mongodb::Database, migrations: &'static [mongodb_migrate_core::Migration]) {
    /// use mongodb_migrate_core::prelude::*;
    /// use mongodb_migrate_core::testing::RoundTrip;
    /// RoundTrip::new(&db, migrations)
    ///     .app_writes(|db| {
    ///         Box::pin(async move {
    ///             // The app reassigns a story the migration attributed to the admin.
    ///             db.collection::<Document>("stories")
    ///                 .update_one(doc! { "_id": 1, "user_id": { "$ne": null } }, doc! { "$set": { "user_id": "editor" } })
    ///                 .await
    ///                 .expect("reassign story 1");
    ///         })
    ///     })
    ///     .run()
    ///     .await
    ///     .unwrap_or_else(|failure| panic!("{failure}"));
    /// # }
    /// ```
    pub fn app_writes<F>(mut self, writes: F) -> Self
    where
        F: for<'b> Fn(&'b Database) -> BoxFuture<'b, ()> + Send + Sync + 'static,
    {
        self.app_writes = Some(Arc::new(writes));
        self
    }

    async fn snapshot(&self, migration: &'static str) -> Result<DbSnapshot, RoundTripFailure> {
        DbSnapshot::take(self.db, &self.exclude)
            .await
            .map_err(|e| self.failure(migration, Broken::Snapshot(e.to_string())))
    }

    fn failure(&self, migration: &'static str, broken: Broken) -> RoundTripFailure {
        RoundTripFailure {
            migration,
            database: self.db.name().to_owned(),
            broken,
        }
    }

    /// Runs every migration through the round trip; stops at the first broken property.
    ///
    /// # Errors
    /// The first [`RoundTripFailure`]: which migration, which property, which documents.
    pub async fn run(&self) -> Result<(), RoundTripFailure> {
        for migration in self.migrations {
            let name = migration.name;
            let before = self.snapshot(name).await?;
            self.call(migration.upgrade, name)
                .await
                .map_err(|error| self.failure(name, Broken::UpgradeFailed { run: 1, error }))?;
            let upgraded = self.snapshot(name).await?;
            self.call(migration.upgrade, name)
                .await
                .map_err(|error| self.failure(name, Broken::UpgradeFailed { run: 2, error }))?;
            let again = self.snapshot(name).await?;
            let diff = upgraded.diff(&again);
            if !diff.is_empty() {
                return Err(self.failure(name, Broken::NotIdempotent(diff)));
            }
            if let Some(reason) = migration.irreversible {
                // Declared irreversible: up and up again are checked; there is no downgrade
                // to check, and the harness says so.
                eprintln!(
                    "round trip: {name} is irreversible ({reason}); its downgrade is skipped"
                );
                continue;
            }
            self.call(migration.downgrade, name)
                .await
                .map_err(|e| self.failure(name, Broken::DowngradeFailed(e)))?;
            let reverted = self.snapshot(name).await?;
            let diff = before.diff(&reverted);
            if !diff.is_empty() {
                return Err(self.failure(name, Broken::DowngradeNotExact(diff)));
            }
            self.call(migration.upgrade, name)
                .await
                .map_err(|error| self.failure(name, Broken::UpgradeFailed { run: 3, error }))?;
            if let Some(writes) = &self.app_writes {
                self.app_writes_round(migration, &before, writes).await?;
            }
        }
        Ok(())
    }

    /// Upgraded → the application's writes → `downgrade` → checks → `upgrade` again.
    async fn app_writes_round(
        &self,
        migration: &'static Migration,
        before: &DbSnapshot,
        writes: &AppWrites,
    ) -> Result<(), RoundTripFailure> {
        let name = migration.name;
        let upgraded = self.snapshot(name).await?;
        crate::migration::run_caught(async {
            writes(self.db).await;
            Ok(())
        })
        .await
        .map_err(|c| self.failure(name, Broken::AppWritesFailed(c.message)))?;
        let written = self.snapshot(name).await?;
        let notes = self
            .call(migration.downgrade, name)
            .await
            .map_err(|e| self.failure(name, Broken::DowngradeAfterAppWritesFailed(e)))?;
        let round = AppWritesRound {
            before,
            upgraded,
            written,
            reverted: self.snapshot(name).await?,
            nothing: CollectionSnapshot {
                options: Document::new(),
                indexes: BTreeMap::new(),
                documents: BTreeMap::new(),
            },
        };
        round
            .check(name, notes)
            .map_err(|broken| self.failure(name, broken))?;
        self.call(migration.upgrade, name)
            .await
            .map_err(|error| self.failure(name, Broken::UpgradeFailed { run: 4, error }))?;
        Ok(())
    }

    /// Runs a migration's body as the runner would (notes collected, errors and panics caught);
    /// returns its notes.
    async fn call(&self, f: MigrationFn, name: &'static str) -> Result<Vec<String>, String> {
        let notes = crate::progress::Notes::default();
        let body = crate::progress::scope(
            name,
            Arc::new(crate::Silent),
            Arc::clone(&notes),
            Default::default(),
            f(self.db),
        );
        crate::migration::run_caught(body)
            .await
            .map_err(|c| c.message)?;
        let notes = notes.lock().map(|n| n.clone()).unwrap_or_default();
        Ok(notes)
    }
}

impl AppWritesRound<'_> {
    /// The properties of [`RoundTrip::app_writes`], in order: the database is the expected
    /// one; every skip is reported.
    fn check(&self, migration: &str, notes: Vec<String>) -> Result<(), Broken> {
        let differences = self.expected(migration).diff(&self.reverted);
        if !differences.is_empty() {
            return Err(Broken::AppWritesNotKept { differences, notes });
        }
        let collections: Vec<String> = self
            .skipped()
            .into_iter()
            .filter(|c| !notes.iter().any(|n| n.contains(c.as_str())))
            .collect();
        if !collections.is_empty() {
            return Err(Broken::SkipNotReported { collections, notes });
        }
        Ok(())
    }

    /// The database a downgrade must leave: the one before the upgrade, with every document and
    /// field the application wrote (from `upgraded` to `written`) as it left them. A document
    /// the migration created and the application changed stays, without the migration's marker.
    fn expected(&self, migration: &str) -> DbSnapshot {
        let marker = crate::markers::marker_field(migration);
        let mut expected = self.before.clone();
        for (name, upgraded, written) in self.collections() {
            let target = expected
                .collections
                .entry(name.to_owned())
                .or_insert_with(|| CollectionSnapshot {
                    // A collection the application keeps alive: as the server creates it.
                    options: written.options.clone(),
                    indexes: written
                        .indexes
                        .iter()
                        .filter(|(index, _)| *index == "_id_")
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                    documents: BTreeMap::new(),
                });
            for (key, u, w) in documents(upgraded, written) {
                match (u, w) {
                    (u, w) if u == w => {}
                    (_, None) => {
                        target.documents.remove(key);
                    }
                    (None, Some(w)) => {
                        target.documents.insert(key.clone(), w.clone());
                    }
                    (Some(u), Some(w)) => {
                        let mut document =
                            target.documents.get(key).cloned().unwrap_or_else(|| {
                                let mut created = u.clone();
                                created.remove(&marker);
                                created
                            });
                        for field in changed_fields(u, w) {
                            match w.get(&field) {
                                Some(value) => document.insert(field, value.clone()),
                                None => document.remove(&field),
                            };
                        }
                        target.documents.insert(key.clone(), document);
                    }
                }
            }
        }
        // As in a snapshot, an empty collection with only `_id_` is no collection.
        expected.collections.retain(|_, c| {
            !crate::collection_spec::is_trivial(&c.options, &c.indexes, c.documents.len() as u64)
        });
        expected
    }

    /// The collections where the application changed what the migration wrote (a field it
    /// set, a document it created) and which the application kept: the downgrade must leave
    /// those, and say so.
    fn skipped(&self) -> BTreeSet<String> {
        let mut skipped = BTreeSet::new();
        for (name, upgraded, written) in self.collections() {
            let before = self.before.collections.get(name).map(|c| &c.documents);
            for (key, u, w) in documents(upgraded, written) {
                let (Some(u), Some(w)) = (u, w) else { continue };
                let overwritten = match before.and_then(|b| b.get(key)) {
                    None => u != w,
                    Some(b) => changed_fields(u, w).iter().any(|f| b.get(f) != u.get(f)),
                };
                if overwritten {
                    skipped.insert(name.to_owned());
                }
            }
        }
        skipped
    }

    /// Every collection of `upgraded` or `written`, with both sides (an empty one if absent).
    fn collections(&self) -> Vec<(&str, &CollectionSnapshot, &CollectionSnapshot)> {
        let names: BTreeSet<&String> = self
            .upgraded
            .collections
            .keys()
            .chain(self.written.collections.keys())
            .collect();
        names
            .into_iter()
            .map(|name| {
                (
                    name.as_str(),
                    self.upgraded.collections.get(name).unwrap_or(&self.nothing),
                    self.written.collections.get(name).unwrap_or(&self.nothing),
                )
            })
            .collect()
    }
}

/// Every document key of `a` or `b`, with each side's document.
fn documents<'c>(
    a: &'c CollectionSnapshot,
    b: &'c CollectionSnapshot,
) -> Vec<(&'c String, Option<&'c Document>, Option<&'c Document>)> {
    let keys: BTreeSet<&String> = a.documents.keys().chain(b.documents.keys()).collect();
    keys.into_iter()
        .map(|k| (k, a.documents.get(k), b.documents.get(k)))
        .collect()
}

/// The top-level fields whose values differ between `a` and `b` (present in one only, too).
fn changed_fields(a: &Document, b: &Document) -> Vec<String> {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(k.as_str()) != b.get(k.as_str()))
        .cloned()
        .collect()
}

/// A step that prepares the test database (or the process) before a round trip, or the
/// application's writes of [`round_trip_test`].
pub type Prepare = for<'a> fn(&'a Database) -> crate::BoxFuture<'a, ()>;

/// Runs the round trip over `migrations` on a fresh test database, after `prepare` (each in
/// order: configuration such as environment variables, then seed data), in a runtime of its
/// own, with the application's writes `app_writes` when given ([`RoundTrip::app_writes`]);
/// panics with the [`RoundTripFailure`] when a property breaks.
/// [`round_trip_tests!`](crate::round_trip_tests) generates the `#[test]`s that call it.
///
/// # Examples
/// ```no_run
/// # static MIGRATIONS: &[mongodb_migrate_core::Migration] = &[];
/// use mongodb_migrate_core::prelude::*;
/// use mongodb_migrate_core::BoxFuture;
///
/// fn seed(db: &Database) -> BoxFuture<'_, ()> {
///     Box::pin(async move {
///         db.collection::<Document>("stories").insert_one(doc! { "_id": 1 }).await.expect("seed");
///     })
/// }
///
/// mongodb_migrate_core::testing::round_trip_test("my_app", MIGRATIONS, &[seed], None);
/// ```
///
/// # Panics
/// When a migration breaks a round-trip property, or the test database is unreachable.
pub fn round_trip_test(
    label: &str,
    migrations: &'static [Migration],
    prepare: &[Prepare],
    app_writes: Option<Prepare>,
) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime for the round-trip test");
    runtime.block_on(async {
        let test = super::test_database(label).await;
        for step in prepare {
            step(&test.db).await;
        }
        let mut round_trip = RoundTrip::new(&test.db, migrations);
        if let Some(writes) = app_writes {
            round_trip = round_trip.app_writes(writes);
        }
        if let Err(failure) = round_trip.run().await {
            panic!("{failure}");
        }
    });
}

/// Generates the round-trip tests of a plan: every migration goes up → up → down → up on an
/// empty database and, with `seed = path`, on a database `path` seeded first. `setup = path`
/// runs before both (configuration the migrations read, such as environment variables). With
/// `app_writes = path`, each migration then also goes up → the application's writes → down →
/// up, and the downgrade must keep what the application wrote and undo the rest exactly
/// ([`RoundTrip::app_writes`](crate::testing::RoundTrip::app_writes)). Each path is an
/// `async fn(&Database) -> T`. A new migration is covered as soon as it builds.
///
/// # Examples
/// ```no_run
/// # mod my_app { pub static MIGRATIONS: &[mongodb_migrate_core::Migration] = &[]; }
/// # mod fixtures {
/// #     pub async fn config(_: &mongodb_migrate_core::mongodb::Database) {}
/// #     pub async fn seed(_: &mongodb_migrate_core::mongodb::Database) {}
/// #     pub async fn app_writes(_: &mongodb_migrate_core::mongodb::Database) {}
/// # }
/// // tests/roundtrip.rs
/// mongodb_migrate_core::round_trip_tests!(
///     my_app::MIGRATIONS,
///     setup = fixtures::config,
///     seed = fixtures::seed,
///     app_writes = fixtures::app_writes,
/// );
/// ```
#[macro_export]
macro_rules! round_trip_tests {
    (
        $migrations:expr
        $(, setup = $setup:path)?
        $(, seed = $seed:path)?
        $(, app_writes = $writes:path)?
        $(,)?
    ) => {
        fn __round_trip_setup() -> ::std::vec::Vec<$crate::testing::Prepare> {
            ::std::vec![$($crate::__round_trip_step!($setup),)?]
        }

        fn __round_trip_app_writes() -> ::std::option::Option<$crate::testing::Prepare> {
            let writes: &[$crate::testing::Prepare] = &[$($crate::__round_trip_step!($writes))?];
            writes.first().copied()
        }

        #[test]
        fn every_migration_round_trips_on_an_empty_database() {
            $crate::testing::round_trip_test(
                "roundtrip_empty",
                $migrations,
                &__round_trip_setup(),
                __round_trip_app_writes(),
            );
        }

        $(
            #[test]
            fn every_migration_round_trips_on_seeded_data() {
                let mut prepare = __round_trip_setup();
                prepare.push($crate::__round_trip_step!($seed));
                $crate::testing::round_trip_test(
                    "roundtrip_seeded",
                    $migrations,
                    &prepare,
                    __round_trip_app_writes(),
                );
            }
        )?
    };
}

/// Wraps `async fn(&Database) -> T` as a [`Prepare`](crate::testing::Prepare).
#[doc(hidden)]
#[macro_export]
macro_rules! __round_trip_step {
    ($path:path) => {{
        fn step(db: &$crate::mongodb::Database) -> $crate::BoxFuture<'_, ()> {
            ::std::boxed::Box::pin(async move {
                let _ = $path(db).await;
            })
        }
        step as $crate::testing::Prepare
    }};
}
