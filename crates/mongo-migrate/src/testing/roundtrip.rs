//! The up → down → up harness: every migration of a plan, checked for success, idempotence and
//! an exact downgrade, on a real database.

use std::fmt;

use mongodb::Database;

use super::snapshot::{DbSnapshot, Difference};
use crate::Migration;

/// The collections a runner whose state collection is `collection` writes (state, details,
/// lock): never part of a snapshot.
pub fn state_collections(collection: &str) -> Vec<String> {
    vec![
        collection.to_owned(),
        crate::state::details_collection(collection),
        crate::state::lock_collection(collection),
    ]
}

/// Which property a migration broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Broken {
    /// `upgrade` returned an error or panicked (the error chain is in the message).
    UpgradeFailed {
        /// Which run: 1 the first, 2 the idempotence run, 3 the re-run after the downgrade.
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
                    _ => "upgrade after the downgrade",
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
        }
    }
}

impl std::error::Error for RoundTripFailure {}

/// Runs the round trip over a plan, in plan order.
///
/// For each migration: snapshot; `upgrade` succeeds; a second `upgrade` leaves the snapshot
/// unchanged; `downgrade` restores the first snapshot exactly; `upgrade` again, so the next
/// migration starts from the upgraded state. Snapshots cover every collection's documents,
/// indexes and options, except the state collections of the default `pymongo_migrate` ([`state_collections`]; more
/// with [`RoundTrip::exclude`]).
///
/// # Examples
/// ```no_run
/// # async fn example(db: mongo_migrate::mongodb::Database, migrations: &'static [mongo_migrate::Migration]) {
/// use mongo_migrate::testing::RoundTrip;
/// if let Err(failure) = RoundTrip::new(&db, migrations).run().await {
///     panic!("{failure}");
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct RoundTrip<'a> {
    db: &'a Database,
    migrations: &'static [Migration],
    exclude: Vec<String>,
}

impl<'a> RoundTrip<'a> {
    /// The harness for `migrations` (a generated registry) on `db`.
    pub fn new(db: &'a Database, migrations: &'static [Migration]) -> Self {
        RoundTrip {
            db,
            migrations,
            exclude: state_collections(crate::DEFAULT_COLLECTION),
        }
    }

    /// Leaves these collections out of the snapshots too (state collections of a runner
    /// configured with another `--collection`, caches, …).
    pub fn exclude(mut self, collections: &[&str]) -> Self {
        self.exclude
            .extend(collections.iter().map(|s| (*s).to_owned()));
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
        }
        Ok(())
    }

    async fn call(&self, f: crate::MigrationFn, _name: &str) -> Result<(), String> {
        crate::migration::run_caught(f(self.db))
            .await
            .map_err(|c| c.message)
    }
}

/// A step that prepares the test database (or the process) before a round trip.
pub type Prepare = for<'a> fn(&'a Database) -> crate::BoxFuture<'a, ()>;

/// Runs the round trip over `migrations` on a fresh test database, after `prepare` (each in
/// order: configuration such as environment variables, then seed data), in a runtime of its
/// own; panics with the [`RoundTripFailure`] when a property breaks.
/// [`round_trip_tests!`](crate::round_trip_tests) generates the `#[test]`s that call it.
///
/// # Panics
/// When a migration breaks a round-trip property, or the test database is unreachable.
pub fn round_trip_test(label: &str, migrations: &'static [Migration], prepare: &[Prepare]) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime for the round-trip test");
    runtime.block_on(async {
        let test = super::test_database(label).await;
        for step in prepare {
            step(&test.db).await;
        }
        if let Err(failure) = RoundTrip::new(&test.db, migrations).run().await {
            panic!("{failure}");
        }
    });
}

/// Generates the round-trip tests of a plan: every migration goes up → up → down → up on an
/// empty database and, with `seed = path`, on a database `path` seeded first. `setup = path`
/// runs before both (configuration the migrations read, such as environment variables). Each
/// path is an `async fn(&Database) -> T`. A new migration is covered as soon as it builds.
///
/// # Examples
/// ```no_run
/// # mod my_app { pub static MIGRATIONS: &[mongo_migrate::Migration] = &[]; }
/// # mod fixtures {
/// #     pub async fn config(_: &mongo_migrate::mongodb::Database) {}
/// #     pub async fn seed(_: &mongo_migrate::mongodb::Database) {}
/// # }
/// // tests/roundtrip.rs
/// mongo_migrate::round_trip_tests!(my_app::MIGRATIONS, setup = fixtures::config, seed = fixtures::seed);
/// ```
#[macro_export]
macro_rules! round_trip_tests {
    ($migrations:expr) => {
        #[test]
        fn every_migration_round_trips_on_an_empty_database() {
            $crate::testing::round_trip_test("roundtrip_empty", $migrations, &[]);
        }
    };
    ($migrations:expr, setup = $setup:path) => {
        #[test]
        fn every_migration_round_trips_on_an_empty_database() {
            $crate::__round_trip_prepare!(__round_trip_setup, $setup);
            $crate::testing::round_trip_test("roundtrip_empty", $migrations, &[__round_trip_setup]);
        }
    };
    ($migrations:expr, seed = $seed:path) => {
        $crate::round_trip_tests!($migrations);

        #[test]
        fn every_migration_round_trips_on_seeded_data() {
            $crate::__round_trip_prepare!(__round_trip_seed, $seed);
            $crate::testing::round_trip_test("roundtrip_seeded", $migrations, &[__round_trip_seed]);
        }
    };
    ($migrations:expr, setup = $setup:path, seed = $seed:path) => {
        $crate::round_trip_tests!($migrations, setup = $setup);

        #[test]
        fn every_migration_round_trips_on_seeded_data() {
            $crate::__round_trip_prepare!(__round_trip_setup, $setup);
            $crate::__round_trip_prepare!(__round_trip_seed, $seed);
            $crate::testing::round_trip_test(
                "roundtrip_seeded",
                $migrations,
                &[__round_trip_setup, __round_trip_seed],
            );
        }
    };
}

/// Wraps `async fn(&Database) -> T` as a [`Prepare`](crate::testing::Prepare) named `$name`.
#[doc(hidden)]
#[macro_export]
macro_rules! __round_trip_prepare {
    ($name:ident, $path:path) => {
        fn $name(db: &$crate::mongodb::Database) -> $crate::BoxFuture<'_, ()> {
            ::std::boxed::Box::pin(async move {
                let _ = $path(db).await;
            })
        }
    };
}
