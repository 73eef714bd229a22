//! The runner: applies and reverts the plan under the lease lock, recording every outcome.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mongodb::Database;
use serde::Serialize;

use crate::error::{ConfigError, Error, Refusal};
use crate::lock::{self, LeaseLock};
use crate::observer::{Event, Observer, Silent};
use crate::plan::{self, DownTarget};
use crate::state::{lock_collection, StateStore};
use crate::status::{interrupted_message, Direction, Failure, State, Status};
use crate::transaction;
use crate::Migration;

/// The state collection pymongo-migrate uses, and our default.
pub const DEFAULT_COLLECTION: &str = "pymongo_migrate";
/// How long a runner waits for the lock by default.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a lease lasts without renewal by default; it is renewed every third of that.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(30);

/// Options of [`Migrator::up_with`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpOptions {
    /// Apply only this migration and what it depends on.
    pub to: Option<String>,
    /// Print what would run; write nothing (no state, no lock).
    pub dry_run: bool,
    /// Record the migrations as applied without running them.
    pub fake: bool,
    /// Run failed (or interrupted) migrations again.
    pub retry: bool,
    /// Go on although applied migrations changed since they were applied.
    pub allow_changed: bool,
    /// Go on although the database records migrations this binary lacks.
    pub allow_unknown: bool,
    /// Go on although applied migrations have unapplied dependencies (apply those late).
    pub allow_out_of_order: bool,
}

/// Options of [`Migrator::down_with`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DownOptions {
    /// What to roll back (default: the last applied migration).
    pub target: DownTarget,
    /// Print what would run; write nothing (no state, no lock).
    pub dry_run: bool,
    /// Record the migrations as not applied without running their downgrades.
    pub fake: bool,
    /// Treat failed migrations as applied: run their downgrades to undo partial work.
    pub retry: bool,
    /// Go on although the database records migrations this binary lacks.
    pub allow_unknown: bool,
}

/// One migration a run applied or reverted (or would have, in a dry run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// The migration.
    pub name: &'static str,
    /// How long it took; `None` in a dry run.
    pub duration_ms: Option<i64>,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Up or down.
    pub direction: Direction,
    /// Nothing was written: `steps` is what would have run.
    pub dry_run: bool,
    /// The steps were recorded without running.
    pub fake: bool,
    /// The steps, in the order they ran.
    pub steps: Vec<Step>,
    /// Migrations found interrupted (their runner died) and recorded as failed during this run.
    pub interrupted: Vec<String>,
}

/// A changed migration whose new checksum [`Migrator::accept_changes`] recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AcceptedChange {
    /// The migration.
    pub name: &'static str,
    /// The checksum recorded before.
    pub previous: Option<String>,
    /// The checksum recorded now (the binary's).
    pub checksum: &'static str,
}

/// Applies a checked plan to a database, under the lease lock.
///
/// # Examples
///
/// Run the pending migrations at application startup, with the same lock and state as the
/// `migrate` command:
///
/// ```no_run
/// use mongo_migrate::{Migration, Migrator};
///
/// # static MIGRATIONS: &[Migration] = &[];
/// # async fn start() -> Result<(), Box<dyn std::error::Error>> {
/// let client = mongo_migrate::mongodb::Client::with_uri_str("mongodb://localhost/app").await?;
/// let db = client.database("app");
/// let report = Migrator::new(db, MIGRATIONS)
///     .lock_timeout(std::time::Duration::from_secs(120))
///     .up()
///     .await?;
/// println!("applied {} migrations", report.steps.len());
/// # Ok(())
/// # }
/// ```
///
/// `MIGRATIONS` is the array the build script generates (`include!(concat!(env!("OUT_DIR"),
/// "/registry.rs"))`).
#[derive(Clone)]
pub struct Migrator {
    db: Database,
    migrations: &'static [Migration],
    collection: String,
    lock_timeout: Duration,
    lease_ttl: Duration,
    observer: Arc<dyn Observer>,
    ctrl_c: bool,
}

impl std::fmt::Debug for Migrator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Migrator")
            .field("db", &self.db.name())
            .field("migrations", &self.migrations.len())
            .field("collection", &self.collection)
            .field("lock_timeout", &self.lock_timeout)
            .field("lease_ttl", &self.lease_ttl)
            .field("ctrl_c", &self.ctrl_c)
            .finish_non_exhaustive()
    }
}

impl Migrator {
    /// A migrator of `migrations` (the generated, checked plan) over `db`.
    pub fn new(db: Database, migrations: &'static [Migration]) -> Self {
        Migrator {
            db,
            migrations,
            collection: DEFAULT_COLLECTION.to_owned(),
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            lease_ttl: DEFAULT_LEASE_TTL,
            observer: Arc::new(Silent),
            ctrl_c: false,
        }
    }

    /// The state collection (default `pymongo_migrate`); details and lock live in
    /// `<collection>_details` and `<collection>_lock`.
    pub fn collection(mut self, name: impl Into<String>) -> Self {
        self.collection = name.into();
        self
    }

    /// How long to wait for another runner's lock (default 60 s); zero tries once.
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// The lease duration (default 30 s), renewed every third of it while migrations run. A
    /// runner that dies holds the lock at most this long.
    pub fn lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }

    /// Receives progress events.
    pub fn observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = observer;
        self
    }

    /// Stop on Ctrl-C: release the lock and fail with [`Error::Interrupted`] (off by default,
    /// since an application usually has its own signal handling).
    pub fn handle_ctrl_c(mut self, on: bool) -> Self {
        self.ctrl_c = on;
        self
    }

    /// The plan this migrator runs.
    pub fn migrations(&self) -> &'static [Migration] {
        self.migrations
    }

    /// The database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The state collection's name.
    pub fn collection_name(&self) -> &str {
        &self.collection
    }

    fn store(&self) -> StateStore {
        StateStore::new(&self.db, &self.collection)
    }

    /// The state of every migration and the lock's holder: one query, whatever the plan's size.
    pub async fn status(&self) -> Result<Status, Error> {
        let (records, lock_document) = self
            .store()
            .load_with(Some(&lock_collection(&self.collection)))
            .await?;
        let holder = lock_document
            .as_ref()
            .and_then(lock::LockHolder::from_document);
        let now = chrono::Utc::now();
        let live = holder
            .as_ref()
            .filter(|h| h.expires_at.is_some_and(|e| e > now))
            .map(|h| h.owner.token.clone());
        Ok(Status::build(
            self.migrations,
            &records,
            holder,
            live.as_deref(),
        ))
    }

    /// Applies every pending migration in plan order.
    pub async fn up(&self) -> Result<Report, Error> {
        self.up_with(&UpOptions::default()).await
    }

    /// Applies pending migrations as `options` say.
    ///
    /// If a migration about to run is transactional, the server is asked first whether it runs
    /// transactions ([`transaction::support`]); if not, the run fails with
    /// [`ConfigError::TransactionsUnsupported`] before any migration runs. Dry runs and fake
    /// runs run nothing and skip the check.
    pub async fn up_with(&self, options: &UpOptions) -> Result<Report, Error> {
        let to = match &options.to {
            Some(name) => Some(plan::position(self.migrations, name)?),
            None => None,
        };
        let refuse = |status: &Status| -> Result<(), Error> {
            if !options.allow_unknown {
                refuse_unknown(status)?;
            }
            if !options.allow_out_of_order {
                let applied_before: Vec<String> = status
                    .out_of_order()
                    .map(|m| {
                        format!(
                            "{} (applied, but not its dependency {})",
                            m.name,
                            m.unapplied_dependencies.join(", ")
                        )
                    })
                    .collect();
                if !applied_before.is_empty() {
                    return Err(Refusal::OutOfOrder { applied_before }.into());
                }
            }
            if !options.allow_changed {
                let changed: Vec<String> = status.changed().map(|m| m.name.to_owned()).collect();
                if !changed.is_empty() {
                    return Err(Refusal::Changed { changed }.into());
                }
            }
            if !options.retry {
                let failed: Vec<String> = status
                    .in_state(State::Failed)
                    .map(|m| m.name.to_owned())
                    .chain(
                        status
                            .unknown
                            .iter()
                            .filter(|u| u.failure.is_some())
                            .map(|u| u.name.clone()),
                    )
                    .collect();
                if !failed.is_empty() {
                    return Err(Refusal::FailedRecord { failed }.into());
                }
            }
            Ok(())
        };
        if options.dry_run {
            let status = self.status().await?;
            refuse(&status)?;
            let steps = plan::up_steps(self.migrations, &status, to, options.retry);
            return Ok(self.dry_report(Direction::Up, options.fake, &steps));
        }
        self.with_lock(|lock| async move {
            let (status, interrupted) = self.load_locked(&lock).await?;
            refuse(&status)?;
            let steps = plan::up_steps(self.migrations, &status, to, options.retry);
            if !options.fake {
                self.preflight(&steps).await?;
            }
            let mut report = self.report(Direction::Up, options.fake, interrupted);
            self.run_steps(&lock, Direction::Up, &steps, options.fake, &mut report)
                .await?;
            Ok(report)
        })
        .await
    }

    /// Rolls back the last applied migration.
    pub async fn down(&self) -> Result<Report, Error> {
        self.down_with(&DownOptions::default()).await
    }

    /// Rolls back as `options` say.
    ///
    /// Transactional downgrades get the same pre-flight as [`up_with`](Self::up_with).
    pub async fn down_with(&self, options: &DownOptions) -> Result<Report, Error> {
        if let DownTarget::To(name) = &options.target {
            plan::position(self.migrations, name)?;
        }
        if options.dry_run {
            let status = self.status().await?;
            if !options.allow_unknown {
                refuse_unknown(&status)?;
            }
            let steps = plan::down_steps(self.migrations, &status, &options.target, options.retry)?;
            return Ok(self.dry_report(Direction::Down, options.fake, &steps));
        }
        self.with_lock(|lock| async move {
            let (status, interrupted) = self.load_locked(&lock).await?;
            if !options.allow_unknown {
                refuse_unknown(&status)?;
            }
            let steps = plan::down_steps(self.migrations, &status, &options.target, options.retry)?;
            if !options.fake {
                self.preflight(&steps).await?;
            }
            let mut report = self.report(Direction::Down, options.fake, interrupted);
            self.run_steps(&lock, Direction::Down, &steps, options.fake, &mut report)
                .await?;
            Ok(report)
        })
        .await
    }

    /// Accepts edits to applied migrations: records the binary's checksum for those marked
    /// "changed since applied" (all of them, or only `names`), so `up` and `check` stop refusing.
    ///
    /// Use it after reviewing that an edit does not need re-running (a log message, a
    /// refactor). It runs no migration. The previous checksum is kept in the details document.
    ///
    /// # Errors
    /// A name that is not in the plan, or not changed, is a usage error; lock and database
    /// errors as for [`up`](Self::up).
    pub async fn accept_changes(&self, names: &[String]) -> Result<Vec<AcceptedChange>, Error> {
        for name in names {
            plan::position(self.migrations, name)?;
        }
        self.with_lock(|lock| async move {
            let (status, _interrupted) = self.load_locked(&lock).await?;
            let changed: Vec<&crate::status::MigrationStatus> = status.changed().collect();
            for name in names {
                if !changed.iter().any(|m| m.name == name.as_str()) {
                    return Err(ConfigError::NotChanged { name: name.clone() }.into());
                }
            }
            let store = self.store();
            let mut accepted = Vec::new();
            for m in changed {
                if !names.is_empty() && !names.iter().any(|n| n.as_str() == m.name) {
                    continue;
                }
                lock.ensure_owned().await?;
                store
                    .accept_checksum(
                        m.name,
                        m.recorded_checksum.as_deref(),
                        m.checksum,
                        lock.runner(),
                    )
                    .await?;
                accepted.push(AcceptedChange {
                    name: m.name,
                    previous: m.recorded_checksum.clone(),
                    checksum: m.checksum,
                });
            }
            Ok(accepted)
        })
        .await
    }

    /// Force-releases the lock whoever holds it, returning the holder it had.
    pub async fn unlock(&self) -> Result<Option<lock::LockHolder>, Error> {
        Ok(lock::force_release(&self.db, &lock_collection(&self.collection)).await?)
    }

    /// The pre-flight of transactional migrations: when any of `steps` is transactional, asks
    /// the server (`hello`) whether it runs transactions, and refuses the whole run with
    /// [`ConfigError::TransactionsUnsupported`] before the first migration if it does not.
    /// Runs with no transactional step do not ask. `--dry-run` and `--fake` run nothing, so
    /// their callers skip it.
    async fn preflight(&self, steps: &[usize]) -> Result<(), Error> {
        let transactional: Vec<String> = steps
            .iter()
            .map(|&i| &self.migrations[i])
            .filter(|m| m.transactional)
            .map(|m| m.name.to_owned())
            .collect();
        if transactional.is_empty() {
            return Ok(());
        }
        match transaction::check_server(&self.db).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(reason)) => Err(ConfigError::TransactionsUnsupported {
                migrations: transactional,
                reason,
            }
            .into()),
            Err(e) => Err(Error::Preflight(e.to_string())),
        }
    }

    fn report(&self, direction: Direction, fake: bool, interrupted: Vec<String>) -> Report {
        Report {
            direction,
            dry_run: false,
            fake,
            steps: Vec::new(),
            interrupted,
        }
    }

    fn dry_report(&self, direction: Direction, fake: bool, steps: &[usize]) -> Report {
        Report {
            direction,
            dry_run: true,
            fake,
            steps: steps
                .iter()
                .map(|&i| Step {
                    name: self.migrations[i].name,
                    duration_ms: None,
                })
                .collect(),
            interrupted: Vec::new(),
        }
    }

    /// Acquires the lock, runs `work` with the heartbeat going, and releases the lock whatever
    /// happened (error, panic-turned-error, Ctrl-C).
    async fn with_lock<'s, F, Fut, T>(&'s self, work: F) -> Result<T, Error>
    where
        F: FnOnce(LeaseLock) -> Fut,
        Fut: Future<Output = Result<T, Error>> + 's,
    {
        let lock = LeaseLock::new(&self.db, &lock_collection(&self.collection), self.lease_ttl);
        let timeout = self.lock_timeout;
        lock.acquire(timeout, |holder| {
            self.observer.on_event(&Event::LockWait { holder, timeout })
        })
        .await?;
        self.observer.on_event(&Event::LockAcquired);
        let heartbeat = lock.heartbeat();
        let job = work(lock.clone());
        let result = if self.ctrl_c {
            tokio::select! {
                r = job => r,
                () = ctrl_c() => Err(Error::Interrupted),
            }
        } else {
            job.await
        };
        heartbeat.stop();
        let released = lock.release().await;
        let value = result?;
        released?;
        Ok(value)
    }

    /// Loads the state under the lock. Any in-progress marker was left by a runner that is gone
    /// (we hold the lock): it becomes a failure record, reported as interrupted.
    async fn load_locked(&self, lock: &LeaseLock) -> Result<(Status, Vec<String>), Error> {
        let store = self.store();
        let records = store.load().await?;
        let mut interrupted = Vec::new();
        let mut names: Vec<&String> = records
            .iter()
            .filter(|(_, r)| r.in_progress.is_some())
            .map(|(n, _)| n)
            .collect();
        names.sort();
        for name in names {
            if let Some((at, dir, by)) = &records[name].in_progress {
                let failure = Failure {
                    failed_at: *at,
                    direction: *dir,
                    error: interrupted_message(*at, *dir, by),
                };
                lock.ensure_owned().await?;
                store.record_interrupted(name, *dir, &failure.error).await?;
                self.observer.on_event(&Event::Interrupted {
                    name,
                    failure: &failure,
                });
                interrupted.push(name.clone());
            }
        }
        Ok((
            Status::build(self.migrations, &records, None, None),
            interrupted,
        ))
    }

    async fn run_steps(
        &self,
        lock: &LeaseLock,
        direction: Direction,
        steps: &[usize],
        fake: bool,
        report: &mut Report,
    ) -> Result<(), Error> {
        let store = self.store();
        let runner = lock.runner();
        for (n, &i) in steps.iter().enumerate() {
            let m = &self.migrations[i];
            lock.ensure_owned().await?;
            if !fake {
                store.begin(m.name, direction, runner).await?;
            }
            self.observer.on_event(&Event::Start {
                name: m.name,
                direction,
                index: n + 1,
                total: steps.len(),
                fake,
            });
            let started = Instant::now();
            let outcome = if fake {
                Ok(())
            } else {
                let f = match direction {
                    Direction::Up => m.upgrade,
                    Direction::Down => m.downgrade,
                };
                let body = crate::progress::scope(m.name, Arc::clone(&self.observer), f(&self.db));
                crate::migration::run_caught(body).await
            };
            let elapsed = started.elapsed();
            let ms = i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX);
            // A runner whose lease was taken over must not write: the new holder will find
            // our in-progress marker and report the migration as interrupted.
            lock.ensure_owned().await?;
            match outcome {
                Ok(()) => {
                    match direction {
                        Direction::Up => {
                            store
                                .record_applied(m.name, m.checksum, ms, runner, fake)
                                .await?
                        }
                        Direction::Down => store.record_reverted(m.name, ms, runner, fake).await?,
                    }
                    self.observer.on_event(&Event::Finish {
                        name: m.name,
                        direction,
                        elapsed,
                        fake,
                    });
                    report.steps.push(Step {
                        name: m.name,
                        duration_ms: Some(ms),
                    });
                }
                Err(error) => {
                    store
                        .record_failed(m.name, direction, &error, ms, runner)
                        .await?;
                    self.observer.on_event(&Event::Failed {
                        name: m.name,
                        direction,
                        elapsed,
                        error: &error,
                    });
                    return Err(Error::MigrationFailed {
                        name: m.name.to_owned(),
                        direction,
                        error,
                    });
                }
            }
        }
        Ok(())
    }
}

fn refuse_unknown(status: &Status) -> Result<(), Error> {
    if status.unknown.is_empty() {
        return Ok(());
    }
    Err(Refusal::Unknown {
        unknown: status.unknown.iter().map(|u| u.name.clone()).collect(),
    }
    .into())
}

async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        // No signal handler could be installed: never resolve, the run goes on.
        std::future::pending::<()>().await;
    }
}
