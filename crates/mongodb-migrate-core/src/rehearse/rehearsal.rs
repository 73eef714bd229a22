//! The rehearsal: judge the source, make and mark the scratch database, copy, rehearse each
//! migration, and drop the scratch database whatever happened.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mongodb::Database;

use super::copy;
use super::error::RehearsalError;
use super::events::{RehearsalEvent, RehearsalObserver};
use super::monitor::Monitor;
use super::report::{
    self, CopyReport, MigrationReport, RehearsalReport, ScopeKind, ScratchSummary, SourceSummary,
    Verdict,
};
use super::round_trip::{Context, Notes, Projection};
use super::sample::Sample;
use super::scope::{self, Planned, Scope};
use super::scratch::{self, Existing, MARKER_COLLECTION};
use super::snapshot::{self, Snapshot};
use crate::connect::{connect, connect_with, Connection};
use crate::model::Runner;
use crate::observer::{Observer, Silent};
use crate::state::state_collections;
use crate::{CancelHandle, Migration, Migrator, Secrets};

/// A rehearsal of a plan against a copy of a real database.
///
/// [`prepare`](Self::prepare) reads the source and decides what to copy (nothing is written);
/// [`run`](Self::run) copies it into the scratch database, runs every migration there through
/// the real [`Migrator`] (up, its body again, down, up again, each compared with a snapshot),
/// and drops the scratch database at the end, on failure and on cancellation too.
///
/// # Examples
/// ```no_run
/// # static MIGRATIONS: &[mongodb_migrate_core::Migration] = &[];
/// # async fn f() -> Result<(), mongodb_migrate_core::rehearse::RehearsalError> {
/// use mongodb_migrate_core::rehearse::{Rehearsal, Verdict};
///
/// let rehearsal = Rehearsal::new("mongodb://db.example.com/field-notes", MIGRATIONS);
/// let prepared = rehearsal.prepare().await?;
/// println!("copying about {} documents", prepared.documents());
/// let report = rehearsal.run(prepared).await?;
/// assert_eq!(report.verdict, Verdict::Exact);
/// # Ok(())
/// # }
/// ```
pub struct Rehearsal {
    migrations: &'static [Migration],
    uri: String,
    database: Option<String>,
    scratch_uri: Option<String>,
    scratch_database: Option<String>,
    collection: String,
    scope: Scope,
    collections: Option<Vec<String>>,
    sample: Option<Sample>,
    keep: bool,
    show_values: bool,
    server_timeout: Duration,
    lock_timeout: Duration,
    lease_ttl: Duration,
    observer: Arc<dyn RehearsalObserver>,
    runner_observer: Arc<dyn Observer>,
    cancel: CancelHandle,
}

impl std::fmt::Debug for Rehearsal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rehearsal")
            .field("migrations", &self.migrations.len())
            .field("database", &self.database)
            .field("scratch_database", &self.scratch_database)
            .field("scope", &self.scope)
            .field("collections", &self.collections)
            .field("sample", &self.sample)
            .field("keep", &self.keep)
            .finish_non_exhaustive()
    }
}

/// What [`Rehearsal::prepare`] found in the source: the migrations, the collections and their
/// size, and the scratch database's name.
#[derive(Debug)]
pub struct Prepared {
    source: Connection,
    steps: Vec<&'static Migration>,
    data: Vec<Planned>,
    state: Vec<Planned>,
    scratch: String,
    suggested: Vec<String>,
}

impl Prepared {
    /// The migrations to rehearse, in plan order.
    pub fn migrations(&self) -> Vec<&'static str> {
        self.steps.iter().map(|m| m.name).collect()
    }

    /// The data collections to copy (then the state collections).
    pub fn collections(&self) -> &[Planned] {
        &self.data
    }

    /// The state collections to copy (none with [`Scope::All`]).
    pub fn state_collections(&self) -> &[Planned] {
        &self.state
    }

    /// The collections the build's analyzer saw the migrations name (a suggestion).
    pub fn suggested(&self) -> &[String] {
        &self.suggested
    }

    /// The scratch database's name.
    pub fn scratch_database(&self) -> &str {
        &self.scratch
    }

    /// The source database's name.
    pub fn source_database(&self) -> &str {
        self.source.db.name()
    }

    /// Documents the copy will hold, about.
    pub fn documents(&self) -> u64 {
        self.data
            .iter()
            .chain(&self.state)
            .map(|p| p.expected)
            .sum()
    }

    /// Bytes the copy will hold, about; `None` when the server did not give a collection's size.
    pub fn bytes(&self) -> Option<u64> {
        self.data
            .iter()
            .chain(&self.state)
            .map(Planned::expected_bytes)
            .sum()
    }
}

impl Rehearsal {
    /// A rehearsal of `migrations` (the generated registry) against the database of `uri`.
    pub fn new(uri: impl Into<String>, migrations: &'static [Migration]) -> Self {
        Rehearsal {
            migrations,
            uri: uri.into(),
            database: None,
            scratch_uri: None,
            scratch_database: None,
            collection: crate::DEFAULT_COLLECTION.to_owned(),
            scope: Scope::Pending,
            collections: None,
            sample: None,
            keep: false,
            show_values: false,
            server_timeout: Duration::from_secs(5),
            lock_timeout: crate::DEFAULT_LOCK_TIMEOUT,
            lease_ttl: crate::DEFAULT_LEASE_TTL,
            observer: Arc::new(Silent),
            runner_observer: Arc::new(Silent),
            cancel: CancelHandle::new(),
        }
    }

    /// The source database, when not the one in the URI's path.
    pub fn database(mut self, name: Option<String>) -> Self {
        self.database = name;
        self
    }

    /// Another deployment for the scratch database (default: the source's).
    pub fn scratch_uri(mut self, uri: Option<String>) -> Self {
        self.scratch_uri = uri;
        self
    }

    /// The scratch database's name (default `<source>_rehearsal_<UTC timestamp>`).
    pub fn scratch_database(mut self, name: Option<String>) -> Self {
        self.scratch_database = name;
        self
    }

    /// The state collection (default `pymongo_migrate`).
    pub fn collection(mut self, name: impl Into<String>) -> Self {
        self.collection = name.into();
        self
    }

    /// Which migrations (default: the pending ones).
    pub fn scope(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self
    }

    /// Copy only these data collections (default: every collection of the source).
    pub fn collections(mut self, names: Option<Vec<String>>) -> Self {
        self.collections = names;
        self
    }

    /// Copy a sample of each data collection (default: every document).
    pub fn sample(mut self, sample: Option<Sample>) -> Self {
        self.sample = sample;
        self
    }

    /// Leave the scratch database for inspection.
    pub fn keep(mut self, keep: bool) -> Self {
        self.keep = keep;
        self
    }

    /// Show values in differences (default: their BSON types only).
    pub fn show_values(mut self, show: bool) -> Self {
        self.show_values = show;
        self
    }

    /// The server selection timeout (default 5 s).
    pub fn server_timeout(mut self, timeout: Duration) -> Self {
        self.server_timeout = timeout;
        self
    }

    /// The runner's lock timeout on the scratch database.
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// The runner's lease on the scratch database.
    pub fn lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }

    /// Receives the rehearsal's progress.
    pub fn observer(mut self, observer: Arc<dyn RehearsalObserver>) -> Self {
        self.observer = observer;
        self
    }

    /// Receives the runner's events while migrations run (progress, notes).
    pub fn runner_observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.runner_observer = observer;
        self
    }

    /// Cancels the rehearsal: the running migration stops, the scratch database is dropped.
    pub fn cancel_handle(mut self, cancel: CancelHandle) -> Self {
        self.cancel = cancel;
        self
    }

    /// Secrets of both connection strings.
    fn secrets(&self) -> Secrets {
        let mut secrets = Secrets::from_uri(&self.uri);
        if let Some(uri) = &self.scratch_uri {
            secrets.add_uri(uri);
        }
        secrets
    }

    /// Reads the source (its state, lock, plan and collections) and decides what to copy.
    /// Writes nothing.
    ///
    /// # Errors
    /// A source with a live lock or a migration in progress; a refusal `up` would give (failed
    /// record, drift, unknown migrations, an unknown `--to`); an unknown `--collections` name;
    /// a scratch name that is the source or not a valid name; a database error.
    pub async fn prepare(&self) -> Result<Prepared, RehearsalError> {
        crate::validate_collection(&self.collection).map_err(RehearsalError::source)?;
        let source = connect(&self.uri, self.database.as_deref(), self.server_timeout)
            .await
            .map_err(RehearsalError::source)?;
        let migrator = Migrator::new(source.db.clone(), self.migrations)
            .collection(self.collection.clone())
            .secrets(self.secrets());
        scope::check_source(&migrator).await?;
        let steps = scope::steps(&migrator, &self.scope).await?;
        let specs = scope::list(&source.db).await?;
        let with_state = self.scope != Scope::All;
        let (data, state) = scope::select(
            specs,
            self.collections.as_deref(),
            &self.collection,
            with_state,
            source.db.name(),
        )?;
        let data = self.planned(&source.db, data, false).await?;
        let state = self.planned(&source.db, state, true).await?;
        let scratch = match &self.scratch_database {
            Some(name) => name.clone(),
            None => scratch::default_name(source.db.name(), chrono::Utc::now()),
        };
        scratch::validate_name(&scratch)?;
        if self.scratch_uri.is_none() && scratch == source.db.name() {
            return Err(RehearsalError::ScratchIsSource { name: scratch });
        }
        let suggested = scope::suggested(&steps);
        Ok(Prepared {
            source,
            steps,
            data,
            state,
            scratch,
            suggested,
        })
    }

    async fn planned(
        &self,
        db: &Database,
        specs: Vec<crate::collection_spec::CollectionSpec>,
        state: bool,
    ) -> Result<Vec<Planned>, RehearsalError> {
        let mut out = Vec::with_capacity(specs.len());
        for spec in specs {
            let (documents, bytes) = scope::estimate(db, &spec).await?;
            out.push(scope::plan(spec, documents, bytes, self.sample, state));
        }
        Ok(out)
    }

    /// Copies, rehearses every migration of `prepared`, and drops the scratch database (unless
    /// [`keep`](Self::keep)) on success, failure and cancellation alike.
    ///
    /// A migration that fails is the report's finding ([`Verdict::Failed`]), not an error.
    ///
    /// # Errors
    /// The scratch database belongs to something else or to a running rehearsal; the copy, a
    /// snapshot or a comparison failed; the runner on the scratch database failed for a reason
    /// other than a migration's error; cancellation.
    pub async fn run(&self, prepared: Prepared) -> Result<RehearsalReport, RehearsalError> {
        let started = Instant::now();
        let scratch_uri = self.scratch_uri.as_deref().unwrap_or(&self.uri);
        let bulk = connect(scratch_uri, Some(&prepared.scratch), self.server_timeout)
            .await
            .map_err(RehearsalError::scratch)?;
        let mut report = RehearsalReport {
            source: SourceSummary {
                database: prepared.source.db.name().to_owned(),
                collections: prepared.data.iter().map(|p| p.name().to_owned()).collect(),
                all_collections: self.collections.is_none(),
                state_copied: !prepared.state.is_empty(),
                suggested: prepared.suggested.clone(),
            },
            scratch: ScratchSummary {
                database: prepared.scratch.clone(),
                hosts: bulk.hosts.clone(),
                same_deployment: self.scratch_uri.is_none(),
                kept: false,
                dropped: false,
                drop_error: None,
            },
            scope: match self.scope {
                Scope::Pending => ScopeKind::Pending,
                Scope::To(_) => ScopeKind::To,
                Scope::All => ScopeKind::All,
            },
            sample: self.sample,
            copy: CopyReport::default(),
            migrations: Vec::new(),
            verdict: Verdict::NothingToRehearse,
            duration_ms: 0,
        };
        if prepared.steps.is_empty() {
            return Ok(report);
        }
        let replaced = match scratch::inspect(&bulk.db).await? {
            Existing::Nothing => false,
            Existing::Foreign(collections) => {
                return Err(RehearsalError::ScratchNotOurs {
                    name: prepared.scratch.clone(),
                    collections,
                })
            }
            Existing::Scratch(s) if s.in_use => {
                return Err(RehearsalError::ScratchInUse {
                    name: prepared.scratch.clone(),
                    host: s.runner.host,
                    pid: s.runner.pid,
                    since: s.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                })
            }
            Existing::Scratch(_) => {
                bulk.db
                    .drop()
                    .await
                    .map_err(RehearsalError::database(format!(
                        "dropping the stale scratch database {}",
                        prepared.scratch
                    )))?;
                true
            }
        };
        let runner = Runner::current();
        scratch::mark(&bulk.db, prepared.source.db.name(), &runner).await?;
        self.observer.on_event(&RehearsalEvent::ScratchReady {
            database: &prepared.scratch,
            replaced,
        });
        let lease = scratch::renew(&bulk.db);
        let result = self.rehearse(&prepared, &bulk.db, scratch_uri).await;
        drop(lease);
        // Not raced against the cancellation: a cancelled rehearsal still drops its database.
        let dropped = if self.keep {
            scratch::keep(&bulk.db).await.map(|()| false)
        } else {
            bulk.db
                .drop()
                .await
                .map(|()| true)
                .map_err(RehearsalError::database(format!(
                    "dropping {}",
                    prepared.scratch
                )))
        };
        let drop_error = dropped.as_ref().err().map(chain);
        self.observer.on_event(&RehearsalEvent::ScratchDone {
            database: &prepared.scratch,
            kept: self.keep,
            error: drop_error.as_deref(),
        });
        let (copy, migrations) = result?;
        report.scratch.kept = self.keep;
        report.scratch.dropped = dropped.unwrap_or(false);
        report.scratch.drop_error = drop_error;
        report.copy = copy;
        report.verdict = report::verdict(&migrations);
        report.migrations = migrations;
        report.duration_ms = copy::millis(started);
        Ok(report)
    }

    /// The copy and the migrations' rehearsals.
    async fn rehearse(
        &self,
        prepared: &Prepared,
        scratch: &Database,
        scratch_uri: &str,
    ) -> Result<(CopyReport, Vec<MigrationReport>), RehearsalError> {
        let copied = self.copy(prepared, scratch).await?;
        let mut own: HashSet<String> = state_collections(&self.collection).into_iter().collect();
        own.insert(MARKER_COLLECTION.to_owned());
        let monitor = Monitor::new(scratch.name(), own.iter().cloned());
        let handler = monitor.handler();
        let runner_conn = connect_with(
            scratch_uri,
            Some(scratch.name()),
            self.server_timeout,
            |o| {
                o.command_event_handler = Some(handler);
            },
        )
        .await
        .map_err(RehearsalError::scratch)?;
        let notes = Arc::new(Notes::new(Arc::clone(&self.runner_observer)));
        let migrator = Migrator::new(runner_conn.db, self.migrations)
            .collection(self.collection.clone())
            .lock_timeout(self.lock_timeout)
            .lease_ttl(self.lease_ttl)
            .secrets(self.secrets())
            .observer(Arc::clone(&notes) as Arc<dyn Observer>)
            .cancel_handle(self.cancel.clone());
        let spill = tempfile::Builder::new()
            .prefix("mongodb-migrate-rehearsal-")
            .tempdir_in(snapshot::spill_dir())
            .map_err(|source| RehearsalError::Spill {
                dir: snapshot::spill_dir(),
                source,
            })?;
        let projection = Projection {
            sizes: match self.sample {
                Some(_) => copied
                    .collections
                    .iter()
                    .filter(|c| !c.state)
                    .map(|c| (c.name.clone(), (c.source_documents, c.documents)))
                    .collect(),
                None => Default::default(),
            },
        };
        let cx = Context {
            migrator: &migrator,
            db: scratch,
            monitor: &monitor,
            notes: &notes,
            exclude: &own,
            spill: spill.path(),
            cancel: &self.cancel,
            observer: &*self.observer,
            show_values: self.show_values,
            projection: &projection,
            collection: &self.collection,
            total: prepared.steps.len(),
        };
        let mut before = Snapshot::take(scratch, &own, spill.path(), &self.cancel).await?;
        let mut reports = Vec::new();
        for (i, m) in prepared.steps.iter().enumerate() {
            let (report, next) = cx.migration(m, i + 1, before).await?;
            reports.push(report);
            match next {
                Some(next) => before = next,
                None => break,
            }
        }
        Ok((copied, reports))
    }

    /// Copies the data collections, then the state ones.
    async fn copy(
        &self,
        prepared: &Prepared,
        scratch: &Database,
    ) -> Result<CopyReport, RehearsalError> {
        let started = Instant::now();
        let mut report = CopyReport::default();
        let all: Vec<&Planned> = prepared.data.iter().chain(&prepared.state).collect();
        let total = all.len();
        for (i, planned) in all.into_iter().enumerate() {
            if self.cancel.is_cancelled() {
                return Err(copy::cancelled(&self.cancel));
            }
            let job = copy::Job {
                spec: &planned.spec,
                sample: if planned.state { None } else { self.sample },
                expected: planned.expected,
                source_documents: planned.documents,
                state: planned.state,
                index: i + 1,
                total,
            };
            let copied = copy::collection(
                &prepared.source.db,
                scratch,
                job,
                &*self.observer,
                &self.cancel,
            )
            .await?;
            report.documents += copied.documents;
            report.bytes += copied.bytes;
            report.collections.push(copied);
        }
        report.duration_ms = copy::millis(started);
        report.documents_per_second = report::per_second(report.documents, report.duration_ms);
        Ok(report)
    }
}

/// An error and its causes, `what: cause: …`.
fn chain(e: &RehearsalError) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
