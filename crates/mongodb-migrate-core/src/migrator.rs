//! The runner: applies and reverts the plan under the lease lock, recording every outcome.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use mongodb::Database;
use serde::Serialize;
use tracing::Instrument as _;

use crate::cancel::CancelHandle;
use crate::error::{ConfigError, Error, LockError, Refusal};
use crate::lock::{self, LeaseLock, MIN_LEASE_TTL};
use crate::model::Direction;
use crate::observer::{Event, Observer, Silent};
use crate::plan::{self, DownTarget};
use crate::redact::Secrets;
use crate::server::ServerInfo;
use crate::status::{interrupted_message, Failure, Status};
use crate::store::{Change, Store};
use crate::transaction;
use crate::verdict::FindingKind;
use crate::Migration;

/// The `tracing` target of the run's spans and events: `mongodb_migrate`, whichever crate of
/// the framework emits them, so `MONGO_MIGRATE_LOG=mongodb_migrate=debug` selects them.
pub const TRACE_TARGET: &str = "mongodb_migrate";

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
    /// Run the downgrades of migrations that changed since they were applied.
    pub allow_changed: bool,
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
    /// Applied migrations newer than this binary, which extend its plan: the database is ahead
    /// of it (a rolling deploy or a rollback). They are left as they are.
    pub ahead: Vec<String>,
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
/// use mongodb_migrate_core::{Migration, Migrator};
///
/// # static MIGRATIONS: &[Migration] = &[];
/// # async fn start() -> Result<(), Box<dyn std::error::Error>> {
/// let client = mongodb_migrate_core::mongodb::Client::with_uri_str("mongodb://localhost/app").await?;
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
    cancel: CancelHandle,
    ctrl_c: bool,
    secrets: Secrets,
    /// What the run's stores learnt about the server's `$unionWith`.
    reads: crate::store::Reads,
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
            .field("secrets", &self.secrets)
            .finish_non_exhaustive()
    }
}

impl Migrator {
    /// A migrator of `migrations` (the generated, checked plan) over `db`.
    ///
    /// The client behind `db` must keep retryable writes on (the driver's default): state
    /// writes rely on them.
    pub fn new(db: Database, migrations: &'static [Migration]) -> Self {
        Migrator {
            db,
            migrations,
            collection: DEFAULT_COLLECTION.to_owned(),
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            lease_ttl: DEFAULT_LEASE_TTL,
            observer: Arc::new(Silent),
            cancel: CancelHandle::new(),
            ctrl_c: false,
            secrets: Secrets::new(),
            reads: crate::store::Reads::default(),
        }
    }

    /// Secrets to hide from every error text a migration produces: they are replaced by `***`
    /// before the text is printed, reported or stored in the details record. The runner only
    /// sees a [`Database`], so an application that connected itself hands over its connection
    /// string this way (`Secrets::from_uri(uri)`), plus any other secret its migrations handle.
    ///
    /// # Examples
    /// ```no_run
    /// # use mongodb_migrate_core::{Migration, Migrator, Secrets};
    /// # static MIGRATIONS: &[Migration] = &[];
    /// # async fn run(db: mongodb_migrate_core::mongodb::Database, uri: &str, api_key: &str) {
    /// let mut secrets = Secrets::from_uri(uri);
    /// secrets.add(api_key);
    /// let report = Migrator::new(db, MIGRATIONS).secrets(secrets).up().await;
    /// # }
    /// ```
    pub fn secrets(mut self, secrets: Secrets) -> Self {
        self.secrets = secrets;
        self
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

    /// The lease duration (default 30 s, at least [`MIN_LEASE_TTL`]; 10 s or more is
    /// recommended), renewed every third of it while migrations run. A runner that dies holds
    /// the lock at most this long; a runner paused longer than about four fifths of it stops
    /// before its next write.
    pub fn lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }

    /// Receives progress events.
    pub fn observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = observer;
        self
    }

    /// Runs under `cancel`: cancelling it stops the running migration at once, records it as
    /// cancelled, releases the lease and fails the run with [`Error::Cancelled`].
    pub fn cancel_handle(mut self, cancel: CancelHandle) -> Self {
        self.cancel = cancel;
        self
    }

    /// Cancel on Ctrl-C (as a [`CancelHandle`] cancelled with `SIGINT`). Off by default, since
    /// an application usually has its own signal handling: give it a
    /// [`cancel_handle`](Self::cancel_handle) instead.
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

    /// Whether this migrator reads the state in one aggregation (`$unionWith`); false once
    /// the server refused the stage, or a run judged that it lacks it (three queries then).
    pub fn reads_state_in_one_query(&self) -> bool {
        self.store().reads_with_union()
    }

    fn store(&self) -> Store {
        Store::new(&self.db, &self.collection).sharing(&self.reads)
    }

    /// Asks the server what it is (`hello`, `listCommands`) and, when migration `bodies` are to
    /// run, judges the client's options against it: an option with which no migration can run
    /// is refused here, before anything is written ([`ConfigError::UnusableOption`]). Fake runs
    /// and `accept-changes` write only the runner's own state, with its own concerns.
    async fn judge_server(&self, bodies: bool) -> Result<ServerInfo, Error> {
        let server = ServerInfo::probe(&self.db).await.map_err(|source| {
            crate::store::StoreError::Server {
                operation: "asking the server what it supports (hello)",
                source,
            }
        })?;
        let judged = crate::server::judge_options(&self.db, &server);
        if let Some(refusal) = judged.refusals.into_iter().next().filter(|_| bodies) {
            return Err(ConfigError::UnusableOption {
                option: refusal.option,
                reason: refusal.message,
            }
            .into());
        }
        Ok(server)
    }

    /// Checks the configuration before anything is sent.
    fn validate(&self, with_lease: bool) -> Result<(), ConfigError> {
        validate_collection(&self.collection)?;
        if with_lease && self.lease_ttl < MIN_LEASE_TTL {
            return Err(ConfigError::LeaseTooShort {
                ttl: self.lease_ttl,
            });
        }
        Ok(())
    }

    /// The records and the lock document as stored, read as [`status`](Self::status) reads
    /// them (the rehearsal judges in-progress markers and a live lock from them).
    pub(crate) async fn load_state(&self) -> Result<crate::store::Loaded, Error> {
        self.validate(false)?;
        Ok(self.store().load(true).await?)
    }

    /// The state of every migration and the lock's holder: one query, whatever the plan's size.
    pub async fn status(&self) -> Result<Status, Error> {
        self.validate(false)?;
        let loaded = self.store().load(true).await?;
        let holder = loaded.lock.as_ref().and_then(|l| l.holder());
        let now = chrono::Utc::now();
        let live = holder
            .as_ref()
            .filter(|h| h.expires_at.is_some_and(|e| e > now))
            .map(|h| h.owner.token.clone());
        Ok(Status::build(
            self.migrations,
            &loaded.records,
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
    /// Refuses, before anything runs, over the first finding of the [verdict](crate::Verdict)
    /// that `options` do not allow, in its precedence order: failed (`retry`), changed
    /// (`allow_changed`), unknown (`allow_unknown`), out of order (`allow_out_of_order`).
    ///
    /// If a migration about to run is transactional, the server is asked first whether it runs
    /// transactions ([`transaction::support`]); if not, the run fails with
    /// [`ConfigError::TransactionsUnsupported`] before any migration runs. Dry runs and fake
    /// runs run nothing and skip the check.
    pub async fn up_with(&self, options: &UpOptions) -> Result<Report, Error> {
        self.validate(!options.dry_run)?;
        let to = match &options.to {
            Some(name) => Some(plan::position(self.migrations, name)?),
            None => None,
        };
        if options.dry_run {
            let status = self.status().await?;
            refuse_up(&status, options)?;
            let steps = plan::up_steps(self.migrations, &status, to, options.retry);
            return Ok(self.dry_report(Direction::Up, options.fake, &steps));
        }
        self.run_planned(Direction::Up, options.fake, |status| {
            refuse_up(status, options)?;
            Ok(plan::up_steps(self.migrations, status, to, options.retry))
        })
        .await
    }

    /// Rolls back the last applied migration.
    pub async fn down(&self) -> Result<Report, Error> {
        self.down_with(&DownOptions::default()).await
    }

    /// Rolls back as `options` say.
    ///
    /// Refuses when the database records unknown migrations (unless `allow_unknown`), when a
    /// migration outside the set still depends on one inside it, and when a migration to roll
    /// back changed since it was applied (unless `allow_changed`): the downgrade that would run
    /// is not the one reviewed with the upgrade. Transactional downgrades get the same
    /// pre-flight as [`up_with`](Self::up_with).
    pub async fn down_with(&self, options: &DownOptions) -> Result<Report, Error> {
        self.validate(!options.dry_run)?;
        if let DownTarget::To(name) = &options.target {
            plan::position(self.migrations, name)?;
        }
        if options.dry_run {
            let status = self.status().await?;
            let steps = self.down_plan(&status, options)?;
            return Ok(self.dry_report(Direction::Down, options.fake, &steps));
        }
        self.run_planned(Direction::Down, options.fake, |status| {
            self.down_plan(status, options)
        })
        .await
    }

    /// The run of `up` and `down`: takes the lease, loads the state under it, asks `plan` for
    /// the steps, checks what transactional steps need, and runs them. A refusal from `plan`
    /// is returned after writing the repairs that loading found (interrupted markers turned
    /// into records, surplus shared documents removed).
    async fn run_planned<P>(
        &self,
        direction: Direction,
        fake: bool,
        plan: P,
    ) -> Result<Report, Error>
    where
        P: FnOnce(&Status) -> Result<Vec<usize>, Error>,
    {
        self.with_lock(!fake, |lease| async move {
            let (status, carry, interrupted) = self.load_locked(&lease).await?;
            let steps = match plan(&status) {
                Ok(steps) => steps,
                Err(refusal) => {
                    self.flush(&lease, carry).await?;
                    return Err(refusal);
                }
            };
            if !fake {
                self.preflight(&steps).await?;
            }
            let mut report = self.report(direction, fake, interrupted);
            report.ahead = self.note_ahead(&status);
            self.run_steps(&lease, direction, &steps, &status, fake, carry, &mut report)
                .await?;
            Ok(report)
        })
        .await
    }

    /// Reports the migrations newer than this binary, which a run leaves as they are.
    fn note_ahead(&self, status: &Status) -> Vec<String> {
        let ahead: Vec<String> = status.verdict().names(FindingKind::Future).to_vec();
        if !ahead.is_empty() {
            self.observer.on_event(&Event::Ahead { names: &ahead });
        }
        ahead
    }

    fn down_plan(&self, status: &Status, options: &DownOptions) -> Result<Vec<usize>, Error> {
        let verdict = status.verdict();
        if !options.allow_unknown {
            let unknown = verdict.names(FindingKind::Unknown);
            if !unknown.is_empty() {
                return Err(Refusal::Unknown {
                    unknown: unknown.to_vec(),
                }
                .into());
            }
        }
        let steps = plan::down_steps(self.migrations, status, &options.target, options.retry)?;
        if !options.fake {
            // Before anything runs: `down --to zero` over a plan holding one reverts nothing.
            if let Some(m) = steps
                .iter()
                .map(|&i| &self.migrations[i])
                .find(|m| m.irreversible.is_some())
            {
                return Err(Refusal::Irreversible {
                    name: m.name.to_owned(),
                    reason: m.irreversible.unwrap_or_default().to_owned(),
                }
                .into());
            }
        }
        refuse_unknown_dependents(self.migrations, status, &steps)?;
        if !options.allow_changed {
            let changed = verdict.names(FindingKind::Changed);
            let changed: Vec<String> = steps
                .iter()
                .map(|&i| self.migrations[i].name)
                .filter(|n| changed.iter().any(|c| c == n))
                .map(str::to_owned)
                .collect();
            if !changed.is_empty() {
                return Err(Refusal::ChangedDowngrade { changed }.into());
            }
        }
        Ok(steps)
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
        self.validate(true)?;
        for name in names {
            plan::position(self.migrations, name)?;
        }
        self.with_lock(false, |lease| async move {
            let (status, mut carry, _interrupted) = self.load_locked(&lease).await?;
            let changed: Vec<&crate::status::MigrationStatus> = status.changed().collect();
            for name in names {
                if !changed.iter().any(|m| m.name == name.as_str()) {
                    self.flush(&lease, carry).await?;
                    return Err(ConfigError::NotChanged { name: name.clone() }.into());
                }
            }
            let mut accepted = Vec::new();
            for m in changed {
                if !names.is_empty() && !names.iter().any(|n| n.as_str() == m.name) {
                    continue;
                }
                carry.push(Change::AcceptChecksum {
                    name: m.name.to_owned(),
                    previous: m.recorded_checksum.clone(),
                    checksum: m.checksum.to_owned(),
                    runner: lease.runner().clone(),
                });
                accepted.push(AcceptedChange {
                    name: m.name,
                    previous: m.recorded_checksum.clone(),
                    checksum: m.checksum,
                });
            }
            self.flush(&lease, carry).await?;
            Ok(accepted)
        })
        .await
    }

    /// Runs `name`'s upgrade once more under the lease and records nothing: the rehearsal's
    /// idempotence run, on data the runner has just migrated, whose record must stay as the
    /// runner wrote it.
    ///
    /// The body runs as in [`up`](Self::up) (fenced by the lease, cancellable, with progress
    /// and notes), without its stored checkpoints and without a checkpoint scope: a resumed or
    /// checkpointed backfill would skip, or record, what the check must see done again. The
    /// outer `Result` is the run's (lock, cancellation); the inner one the body's, with its
    /// notes, beside how long the body ran.
    pub(crate) async fn run_unrecorded(
        &self,
        name: &str,
    ) -> Result<(Result<Vec<String>, crate::migration::Caught>, Duration), Error> {
        self.validate(true)?;
        let m = &self.migrations[plan::position(self.migrations, name)?];
        self.with_lock(true, |lease| async move {
            let notes = crate::progress::Notes::default();
            let body = crate::progress::scope(
                m.name,
                Arc::clone(&self.observer),
                Arc::clone(&notes),
                Default::default(),
                (m.upgrade)(&self.db),
            );
            let fenced = Fenced {
                inner: Box::pin(body),
                lease: lease.clone(),
            };
            let started = Instant::now();
            let result = tokio::select! {
                biased;
                () = self.cancel.cancelled() => return Err(self.cancelled(None)),
                () = lease.lost_signal() => return Err(lease.lost_error().await.into()),
                r = crate::migration::run_caught(fenced) => r,
            };
            let elapsed = started.elapsed();
            if lease.is_lost() {
                return Err(lease.lost_error().await.into());
            }
            let result = result
                .map(|()| {
                    notes
                        .lock()
                        .map(|n| n.iter().map(|t| self.secrets.redact(t)).collect())
                        .unwrap_or_default()
                })
                .map_err(|mut caught| {
                    caught.message = self.secrets.redact(&caught.message);
                    caught
                });
            Ok((result, elapsed))
        })
        .await
    }

    /// Force-releases the lock whoever holds it, returning the holder it had. The lock document
    /// stays, with no owner: a runner that still believes it holds the lease finds it gone at
    /// its next renewal or state write, and stops.
    pub async fn unlock(&self) -> Result<Option<lock::LockHolder>, Error> {
        self.validate(false)?;
        Ok(lock::force_release(&self.db, &self.collection).await?)
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
            Err(e) => Err(Error::Preflight(e)),
        }
    }

    fn report(&self, direction: Direction, fake: bool, interrupted: Vec<String>) -> Report {
        Report {
            direction,
            dry_run: false,
            fake,
            steps: Vec::new(),
            interrupted,
            ahead: Vec::new(),
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
            ahead: Vec::new(),
        }
    }

    /// Acquires the lease, runs `work` with the heartbeat going, and releases the lease
    /// whatever happened (error, panic-turned-error, cancellation, lost lease). `bodies`: whether
    /// migration bodies may run (connection options are judged for them, see `judge_server`).
    async fn with_lock<'s, F, Fut, T>(&'s self, bodies: bool, work: F) -> Result<T, Error>
    where
        F: FnOnce(LeaseLock) -> Fut,
        Fut: Future<Output = Result<T, Error>> + 's,
    {
        let _ctrl_c = self.ctrl_c.then(|| {
            let cancel = self.cancel.clone();
            AbortOnDrop(tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    cancel.cancel("SIGINT");
                }
            }))
        });
        // Before the lock document is written: an unusable option or a wrong `--collection`
        // must write nothing.
        let server = self.judge_server(bodies).await?;
        self.store()
            .for_server(&server, &self.reads)
            .probe()
            .await?;
        let lease = LeaseLock::new(&self.db, &self.collection, self.lease_ttl)
            .for_server(&server, &self.reads);
        let span = tracing::info_span!(
            target: TRACE_TARGET,
            "migrate.run",
            database = %self.db.name(),
            collection = %self.collection,
            runner = %lease.runner().token,
            host = %lease.runner().host,
            pid = lease.runner().pid,
        );
        self.with_lease(lease, work).instrument(span).await
    }

    async fn with_lease<'s, F, Fut, T>(&'s self, lease: LeaseLock, work: F) -> Result<T, Error>
    where
        F: FnOnce(LeaseLock) -> Fut,
        Fut: Future<Output = Result<T, Error>> + 's,
    {
        let timeout = self.lock_timeout;
        let acquired = tokio::select! {
            r = lease.acquire(timeout, |holder| {
                self.observer.on_event(&Event::LockWait { holder, timeout })
            }) => r,
            () = self.cancel.cancelled() => return Err(self.cancelled(None)),
        };
        acquired?;
        tracing::info!(target: TRACE_TARGET, "lock acquired");
        self.observer.on_event(&Event::LockAcquired);
        let heartbeat = lease.heartbeat();
        let result = work(lease.clone()).await;
        heartbeat.stop();
        let released = lease.release().await;
        let value = result?;
        released?;
        Ok(value)
    }

    fn cancelled(&self, migration: Option<&str>) -> Error {
        Error::Cancelled {
            reason: self.cancel.reason().unwrap_or_else(|| "request".to_owned()),
            migration: migration.map(str::to_owned),
        }
    }

    /// Loads the state under the lock (one query). What it finds to repair is returned as
    /// changes to write with the first fenced write of the run, not written apart:
    /// - in-progress markers left by a runner that is gone (we hold the lock) become failure
    ///   records, reported as interrupted;
    /// - surplus shared documents of a name are removed, keeping one (the applied one).
    async fn load_locked(
        &self,
        lease: &LeaseLock,
    ) -> Result<(Status, Vec<Change>, Vec<String>), Error> {
        let loaded = lease.store().load(false).await?;
        let mut carry = Vec::new();
        for (name, ids) in &loaded.duplicates {
            self.observer.on_event(&Event::Deduplicated {
                name,
                removed: ids.len(),
            });
            carry.extend(
                ids.iter()
                    .map(|id| Change::RemoveDuplicate { id: id.clone() }),
            );
        }
        let mut interrupted = Vec::new();
        let mut names: Vec<&String> = loaded
            .records
            .iter()
            .filter(|(_, r)| r.in_progress.is_some())
            .map(|(n, _)| n)
            .collect();
        names.sort();
        for name in names {
            if let Some(p) = &loaded.records[name].in_progress {
                let failure = Failure {
                    failed_at: p.started_at,
                    direction: p.direction,
                    error: interrupted_message(p.started_at, p.direction, &p.by),
                };
                carry.push(Change::Failed {
                    name: name.clone(),
                    direction: p.direction,
                    error: failure.error.clone(),
                    duration_ms: None,
                    runner: None,
                });
                self.observer.on_event(&Event::Interrupted {
                    name,
                    failure: &failure,
                });
                interrupted.push(name.clone());
            }
        }
        Ok((
            Status::build(self.migrations, &loaded.records, None, None),
            carry,
            interrupted,
        ))
    }

    /// Writes `changes` now, fenced, when there are any.
    async fn flush(&self, lease: &LeaseLock, changes: Vec<Change>) -> Result<(), Error> {
        if changes.is_empty() {
            return Ok(());
        }
        lease.commit(&changes).await
    }

    /// Runs `steps`, recording each outcome with as few fenced writes as the order allows: a
    /// migration's outcome is written together with the next one's start (one command between
    /// two migrations), and fake steps are all written at once.
    // The run's parts travel together through these two; a struct for them would only be
    // unpacked again at once.
    #[allow(clippy::too_many_arguments)]
    async fn run_steps(
        &self,
        lease: &LeaseLock,
        direction: Direction,
        steps: &[usize],
        status: &Status,
        fake: bool,
        mut carry: Vec<Change>,
        report: &mut Report,
    ) -> Result<(), Error> {
        let runner = lease.runner().clone();
        // Outcomes written with `carry`, announced once it is written.
        let mut done: Vec<(&'static str, Duration)> = Vec::new();
        for (n, &i) in steps.iter().enumerate() {
            let m = &self.migrations[i];
            if self.cancel.is_cancelled() {
                self.flush_done(lease, direction, fake, &mut carry, &mut done, report)
                    .await?;
                return Err(self.cancelled(None));
            }
            let start = Event::Start {
                name: m.name,
                direction,
                index: n + 1,
                total: steps.len(),
                fake,
            };
            if fake {
                self.observer.on_event(&start);
                carry.push(outcome_change(m, direction, 0, &runner, true, Vec::new()));
                done.push((m.name, Duration::ZERO));
                continue;
            }
            if !m.transactional {
                carry.push(Change::Begin {
                    name: m.name.to_owned(),
                    direction,
                    runner: runner.clone(),
                });
            }
            self.flush_done(lease, direction, fake, &mut carry, &mut done, report)
                .await?;
            if direction == Direction::Up && !m.allowed.is_empty() {
                self.observer.on_event(&Event::Destructive {
                    name: m.name,
                    allowed: m.allowed,
                });
            }
            self.observer.on_event(&start);
            let started = Instant::now();
            let notes = crate::progress::Notes::default();
            // A downgrade starts from scratch: checkpoints are the upgrade's.
            let checkpoints = match direction {
                Direction::Up => status.migrations[i].checkpoints.clone(),
                Direction::Down => Default::default(),
            };
            let changed = crate::progress::Changed::default();
            let span = tracing::info_span!(
            target: TRACE_TARGET,
                "migrate.migration",
                name = m.name,
                direction = direction.as_str(),
                duration_ms = tracing::field::Empty,
                outcome = tracing::field::Empty,
                documents_changed = tracing::field::Empty,
            );
            let outcome = self
                .run_body(
                    lease,
                    m,
                    direction,
                    &runner,
                    Arc::clone(&notes),
                    Arc::clone(&changed),
                    checkpoints,
                )
                .instrument(span.clone())
                .await;
            span.record(
                "duration_ms",
                u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            );
            span.record("outcome", outcome.as_str());
            span.record(
                "documents_changed",
                changed.load(std::sync::atomic::Ordering::Relaxed),
            );
            span.in_scope(|| tracing::info!(target: TRACE_TARGET, outcome = outcome.as_str(), "migration ended"));
            // Notes are stored: hide the secrets first, as for errors.
            let notes: Vec<String> = notes
                .lock()
                .map(|n| n.iter().map(|t| self.secrets.redact(t)).collect())
                .unwrap_or_default();
            let elapsed = started.elapsed();
            let ms = i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX);
            match outcome {
                Outcome::Done if m.transactional => {
                    // Recorded inside its transaction: committed means applied.
                    self.finished(m.name, direction, elapsed, fake, report);
                }
                Outcome::Done => {
                    carry.push(outcome_change(m, direction, ms, &runner, false, notes));
                    done.push((m.name, elapsed));
                }
                Outcome::Failed(crate::migration::Caught {
                    message: error,
                    document,
                    ..
                }) => {
                    lease
                        .commit(&[Change::Failed {
                            name: m.name.to_owned(),
                            direction,
                            error: error.clone(),
                            duration_ms: Some(ms),
                            runner: Some(runner.clone()),
                        }])
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
                        document,
                    });
                }
                Outcome::Cancelled => {
                    let reason = self.cancel.reason().unwrap_or_else(|| "request".to_owned());
                    let error = format!(
                        "cancelled by {reason} at {} after {:.1} s; its effects may be partial",
                        chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC"),
                        elapsed.as_secs_f64()
                    );
                    lease
                        .commit(&[Change::Failed {
                            name: m.name.to_owned(),
                            direction,
                            error: error.clone(),
                            duration_ms: Some(ms),
                            runner: Some(runner.clone()),
                        }])
                        .await?;
                    self.observer.on_event(&Event::Failed {
                        name: m.name,
                        direction,
                        elapsed,
                        error: &error,
                    });
                    return Err(self.cancelled(Some(m.name)));
                }
                // Nothing more is written: the new holder finds our in-progress marker and
                // reports the migration as interrupted.
                Outcome::Lost => return Err(lease.lost_error().await.into()),
            }
        }
        self.flush_done(lease, direction, fake, &mut carry, &mut done, report)
            .await
    }

    /// Writes `carry` (when not empty) and announces the outcomes it recorded.
    async fn flush_done(
        &self,
        lease: &LeaseLock,
        direction: Direction,
        fake: bool,
        carry: &mut Vec<Change>,
        done: &mut Vec<(&'static str, Duration)>,
        report: &mut Report,
    ) -> Result<(), Error> {
        if carry.is_empty() {
            return Ok(());
        }
        lease.commit(carry).await?;
        carry.clear();
        for (name, elapsed) in done.drain(..) {
            self.finished(name, direction, elapsed, fake, report);
        }
        Ok(())
    }

    fn finished(
        &self,
        name: &'static str,
        direction: Direction,
        elapsed: Duration,
        fake: bool,
        report: &mut Report,
    ) {
        self.observer.on_event(&Event::Finish {
            name,
            direction,
            elapsed,
            fake,
        });
        report.steps.push(Step {
            name,
            duration_ms: Some(i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)),
        });
    }

    /// Runs one migration's body while the lease holds and the run is not cancelled.
    ///
    /// The body's future is polled only while the lease is live (see [`Fenced`]), and dropped
    /// at once when the lease is lost or the run is cancelled, so no further command of it is
    /// sent. A transactional body records its outcome inside its transaction, after reading
    /// the lock document there to check the lease.
    #[allow(clippy::too_many_arguments)]
    async fn run_body(
        &self,
        lease: &LeaseLock,
        m: &'static Migration,
        direction: Direction,
        runner: &crate::model::Runner,
        notes: crate::progress::Notes,
        changed: crate::progress::Changed,
        checkpoints: std::collections::BTreeMap<String, crate::store::CheckpointRecord>,
    ) -> Outcome {
        let f = match direction {
            Direction::Up => m.upgrade,
            Direction::Down => m.downgrade,
        };
        let body = crate::progress::scope(
            m.name,
            Arc::clone(&self.observer),
            Arc::clone(&notes),
            changed,
            crate::checkpoint::scope(m.name, lease.clone(), checkpoints, f(&self.db)),
        );
        let fenced = Fenced {
            inner: Box::pin(body),
            lease: lease.clone(),
        };
        let caught = async {
            if m.transactional {
                let hook = self.commit_hook(lease, m, direction, runner, notes);
                transaction::with_commit_hook(hook, crate::migration::run_caught(fenced)).await
            } else {
                crate::migration::run_caught(fenced).await
            }
        };
        let result = tokio::select! {
            biased;
            () = self.cancel.cancelled() => return Outcome::Cancelled,
            () = lease.lost_signal() => return Outcome::Lost,
            r = caught => r,
        };
        if lease.is_lost() {
            return Outcome::Lost;
        }
        let result = result.map_err(|mut caught| {
            caught.message = self.secrets.redact(&caught.message);
            if let Some(d) = caught.document.as_mut() {
                d.key = d.key.as_deref().map(|k| self.secrets.redact(k));
            }
            caught
        });
        match result {
            Ok(()) => Outcome::Done,
            Err(caught) if m.transactional && caught.commit_unknown => {
                // The commit's outcome stayed unknown after every retry: the state says
                // whether it happened, since the record was written inside the transaction.
                match self.store().load(false).await {
                    Ok(loaded) => {
                        let applied = loaded
                            .records
                            .get(m.name)
                            .is_some_and(|r| r.applied.is_some());
                        if applied == (direction == Direction::Up) {
                            Outcome::Done
                        } else {
                            Outcome::Failed(caught)
                        }
                    }
                    Err(_) => Outcome::Failed(caught),
                }
            }
            Err(caught) => Outcome::Failed(caught),
        }
    }

    /// What a transactional migration does just before its commit: check the lease by reading
    /// the lock document in the transaction, and record the outcome in it.
    fn commit_hook(
        &self,
        lease: &LeaseLock,
        m: &'static Migration,
        direction: Direction,
        runner: &crate::model::Runner,
        notes: crate::progress::Notes,
    ) -> transaction::CommitHook {
        let lease = lease.clone();
        let runner = runner.clone();
        let started = Instant::now();
        Arc::new(move |session| {
            let lease = lease.clone();
            let runner = runner.clone();
            let notes = notes.lock().map(|n| n.clone()).unwrap_or_default();
            Box::pin(async move {
                let Ok((fence, _)) = lease.fence() else {
                    return Err(anyhow::Error::new(LockError::Lost { holder: None }));
                };
                let ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
                let change = outcome_change(m, direction, ms, &runner, false, notes);
                match lease
                    .store()
                    .commit_in_transaction(session, &fence.token, fence.now, &[change])
                    .await
                {
                    Ok(()) => Ok(()),
                    Err(crate::store::StoreError::Lost) => {
                        lease.mark_lost(None);
                        Err(anyhow::Error::new(LockError::Lost { holder: None }))
                    }
                    Err(e) => Err(anyhow::Error::new(e)),
                }
            })
        })
    }
}

/// How a migration's body ended.
enum Outcome {
    Done,
    Failed(crate::migration::Caught),
    Cancelled,
    Lost,
}

impl Outcome {
    /// As recorded on the migration's tracing span.
    fn as_str(&self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::Failed(_) => "failed",
            Outcome::Cancelled => "cancelled",
            Outcome::Lost => "lease_lost",
        }
    }
}

/// The change recording a successful upgrade or downgrade of `m`, with the notes it left.
fn outcome_change(
    m: &Migration,
    direction: Direction,
    duration_ms: i64,
    runner: &crate::model::Runner,
    fake: bool,
    notes: Vec<String>,
) -> Change {
    match direction {
        Direction::Up => Change::Applied {
            name: m.name.to_owned(),
            checksum: m.checksum.to_owned(),
            dependencies: m.dependencies.iter().map(|d| (*d).to_owned()).collect(),
            description: m.description.to_owned(),
            duration_ms,
            runner: runner.clone(),
            fake,
            notes,
        },
        Direction::Down => Change::Reverted {
            name: m.name.to_owned(),
            duration_ms,
            runner: runner.clone(),
            fake,
            notes,
        },
    }
}

/// A migration's future, polled only while the lease is live.
///
/// Every poll first checks the lease's local deadline and lost flag, so a runner that wakes
/// from a pause (SIGSTOP, a stalled VM) past its lease does not poll the migration again: the
/// migration sends no further command. Only a write already on the wire before the pause can
/// still land.
struct Fenced<F> {
    inner: Pin<Box<F>>,
    lease: LeaseLock,
}

impl<F> Future for Fenced<F>
where
    F: Future<Output = crate::MigrationResult<()>>,
{
    type Output = crate::MigrationResult<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.lease.is_lost() {
            return Poll::Ready(Err(anyhow::Error::new(LockError::Lost { holder: None })));
        }
        self.inner.as_mut().poll(cx)
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The refusal of `up` over `status`: the first finding, in precedence order, that `options`
/// do not allow.
pub(crate) fn refuse_up(status: &Status, options: &UpOptions) -> Result<(), Error> {
    for finding in status.verdict().findings {
        let names = finding.names;
        let refusal = match finding.kind {
            FindingKind::Failed if !options.retry => Refusal::FailedRecord { failed: names },
            FindingKind::Changed if !options.allow_changed => Refusal::Changed { changed: names },
            FindingKind::Unknown if !options.allow_unknown => Refusal::Unknown { unknown: names },
            FindingKind::OutOfOrder if !options.allow_out_of_order => Refusal::OutOfOrder {
                applied_before: status
                    .out_of_order()
                    .map(|m| {
                        format!(
                            "{} (applied, but not its dependency {})",
                            m.name,
                            m.unapplied_dependencies.join(", ")
                        )
                    })
                    .collect(),
            },
            _ => continue,
        };
        return Err(refusal.into());
    }
    Ok(())
}

/// Refuses to roll back a migration that an applied migration unknown to this binary depends
/// on, through the dependencies stored when it was applied (transitively, also through other
/// unknown ones): a newer binary's migration must keep what it was built on. Unknown
/// migrations without stored dependencies (pymongo-migrate's, an older version's) cannot be
/// judged; `down` refuses those unless `--allow-unknown`.
fn refuse_unknown_dependents(
    migrations: &[Migration],
    status: &Status,
    steps: &[usize],
) -> Result<(), Error> {
    for &c in steps {
        let mut needs: std::collections::HashSet<&str> = [migrations[c].name].into();
        let mut dependents: Vec<String> = Vec::new();
        loop {
            let found: Vec<&crate::UnknownMigration> = status
                .unknown
                .iter()
                .filter(|u| u.applied_at.is_some() && !needs.contains(u.name.as_str()))
                .filter(|u| {
                    u.dependencies
                        .as_ref()
                        .is_some_and(|d| d.iter().any(|d| needs.contains(d.as_str())))
                })
                .collect();
            if found.is_empty() {
                break;
            }
            for u in found {
                needs.insert(&u.name);
                dependents.push(u.name.clone());
            }
        }
        if !dependents.is_empty() {
            dependents.sort();
            return Err(Refusal::HasDependents {
                name: migrations[c].name.to_owned(),
                dependents,
                failed_dependent: false,
            }
            .into());
        }
    }
    Ok(())
}

/// Checks `name` as a state collection: a name MongoDB accepts, outside `system.`.
///
/// ```
/// assert!(mongodb_migrate_core::validate_collection("pymongo_migrate").is_ok());
/// assert!(mongodb_migrate_core::validate_collection("system.users").is_err());
/// ```
pub fn validate_collection(name: &str) -> Result<(), ConfigError> {
    let bad = |reason| ConfigError::BadCollection {
        name: name.to_owned(),
        reason,
    };
    if name.is_empty() {
        return Err(bad("the name is empty"));
    }
    if name.starts_with("system.") {
        return Err(bad("`system.` collections belong to the server"));
    }
    if name.contains('$') {
        return Err(bad("MongoDB collection names cannot contain `$`"));
    }
    if name.contains('\0') {
        return Err(bad(
            "MongoDB collection names cannot contain a NUL character",
        ));
    }
    if name.starts_with('.') || name.ends_with('.') {
        return Err(bad("a collection name cannot start or end with `.`"));
    }
    if name.len() > 200 {
        return Err(bad(
            "the name is too long: with `_details` and the database name it would pass MongoDB's 255-byte namespace limit",
        ));
    }
    Ok(())
}
