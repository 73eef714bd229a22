//! One migration's rehearsal on the scratch database: up through the real runner (recorded),
//! its upgrade body once more (unrecorded: the idempotence run), down through the runner, and
//! up again through the runner, each followed by a comparison with a snapshot.
//!
//! | run | compared with | must be |
//! |---|---|---|
//! | up | — (snapshot taken) | — |
//! | re-run | after up | equal, the state records unchanged |
//! | down | before up | equal |
//! | up again | after up | equal, but for what the migration's markers declare it generates |
//!
//! An irreversible migration (`IRREVERSIBLE`) stops after the re-run. A failed run ends the
//! rehearsal: later migrations would start from a half-migrated database.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use bson::{doc, Document};
use futures::TryStreamExt;
use mongodb::Database;

use super::compare;
use super::error::RehearsalError;
use super::events::{RehearsalEvent, RehearsalObserver};
use super::monitor::{Counters, Monitor};
use super::report::{CheckReport, FailureReport, MigrationReport, Phase, PhaseReport};
use super::snapshot::Snapshot;
use crate::observer::{Event, Observer};
use crate::{CancelHandle, DownOptions, DownTarget, Error, Migration, Migrator, UpOptions};

/// Forwards the runner's events to the front end, keeping the notes of the current run.
pub(crate) struct Notes {
    inner: Arc<dyn Observer>,
    notes: Mutex<Vec<String>>,
}

impl Notes {
    pub fn new(inner: Arc<dyn Observer>) -> Self {
        Notes {
            inner,
            notes: Mutex::new(Vec::new()),
        }
    }

    fn take(&self) -> Vec<String> {
        self.notes
            .lock()
            .map(|mut n| std::mem::take(&mut *n))
            .unwrap_or_default()
    }
}

impl Observer for Notes {
    fn on_event(&self, event: &Event<'_>) {
        if let Event::Note { message, .. } = event {
            if let Ok(mut n) = self.notes.lock() {
                n.push((*message).to_owned());
            }
        }
        self.inner.on_event(event);
    }
}

/// Projects a sampled run's duration to the full collections, from each collection's source
/// size and copied size.
#[derive(Debug, Default)]
pub(crate) struct Projection {
    /// By collection: (documents in the source, documents copied); empty when not sampled.
    pub sizes: HashMap<String, (u64, u64)>,
}

impl Projection {
    /// `ms` scaled by the documents of the collections `touched` in the source against those
    /// copied; `None` when not sampled or no copied collection was touched.
    fn project(&self, ms: u64, touched: &BTreeSet<String>) -> Option<u64> {
        let (full, copied) = touched
            .iter()
            .filter_map(|c| self.sizes.get(c))
            .fold((0_u64, 0_u64), |(f, c), (sf, sc)| (f + sf, c + sc));
        if copied == 0 {
            return None;
        }
        Some((ms as f64 * full.max(copied) as f64 / copied as f64).round() as u64)
    }
}

/// What every migration's rehearsal shares.
pub(crate) struct Context<'a> {
    /// The runner on the scratch database (its client is monitored).
    pub migrator: &'a Migrator,
    /// The scratch database through the unmonitored client, for snapshots and comparisons.
    pub db: &'a Database,
    pub monitor: &'a Monitor,
    pub notes: &'a Notes,
    pub exclude: &'a HashSet<String>,
    pub spill: &'a Path,
    pub cancel: &'a CancelHandle,
    pub observer: &'a dyn RehearsalObserver,
    pub show_values: bool,
    pub projection: &'a Projection,
    /// The state collection.
    pub collection: &'a str,
    pub total: usize,
}

/// A run's outcome: what it did, or the failure that ends the rehearsal.
type RunResult = Result<Result<PhaseReport, FailureReport>, RehearsalError>;

impl Context<'_> {
    /// Rehearses `m` (the `index`-th of [`Context::total`]) on the database `before` pictures;
    /// returns its report and the snapshot the next migration starts from (`None` after a
    /// failure).
    pub async fn migration(
        &self,
        m: &'static Migration,
        index: usize,
        before: Snapshot,
    ) -> Result<(MigrationReport, Option<Snapshot>), RehearsalError> {
        let mut report = MigrationReport::new(m.name, m.irreversible);
        let failed = |mut report: MigrationReport, failure: FailureReport| {
            self.observer.on_event(&RehearsalEvent::PhaseFailed {
                migration: m.name,
                failure: &failure,
            });
            report.notes.extend(self.notes.take());
            report.failure = Some(failure);
            Ok((report, None))
        };

        let up = match self.up(m, index, Phase::Up).await? {
            Ok(up) => up,
            Err(failure) => return failed(report, failure),
        };
        report.notes.extend(self.notes.take());
        self.finish(m, Phase::Up, &up, None);
        report.up = Some(up);
        let upgraded = self.snapshot().await?;

        let records = self.records().await?;
        let (rerun, check) = match self.rerun(m, index).await? {
            Ok(rerun) => {
                let mut check = self.compare(m, Phase::Rerun, &upgraded, None).await?;
                check.record_changed = self.records().await? != records;
                check.equal = check.differences() == 0;
                (rerun, check)
            }
            Err(failure) => return failed(report, failure),
        };
        report.notes.extend(self.notes.take());
        self.finish(m, Phase::Rerun, &rerun, Some(&check));
        let unchanged = check.equal;
        report.rerun = Some(rerun);
        report.idempotent = Some(check);
        if m.irreversible.is_some() {
            let next = if unchanged {
                upgraded
            } else {
                self.snapshot().await?
            };
            return Ok((report, Some(next)));
        }

        let down = match self.down(m, index).await? {
            Ok(down) => down,
            Err(failure) => return failed(report, failure),
        };
        let check = self.compare(m, Phase::Down, &before, None).await?;
        self.finish(m, Phase::Down, &down, Some(&check));
        report.notes.extend(self.notes.take());
        report.down = Some(down);
        report.downgrade_exact = Some(check);
        drop(before);

        let again = match self.up(m, index, Phase::UpAgain).await? {
            Ok(again) => again,
            Err(failure) => return failed(report, failure),
        };
        let marker = crate::markers::marker_field(m.name);
        let check = self
            .compare(m, Phase::UpAgain, &upgraded, Some(marker))
            .await?;
        self.finish(m, Phase::UpAgain, &again, Some(&check));
        report.notes.extend(self.notes.take());
        // The snapshot of the first upgrade pictures this database only when nothing differs,
        // not even what the check tolerates.
        let identical = check.equal && check.recreated == 0 && check.regenerated == 0;
        report.up_again = Some(again);
        report.up_again_equal = Some(check);
        let next = if identical {
            upgraded
        } else {
            self.snapshot().await?
        };
        Ok((report, Some(next)))
    }

    fn start(&self, m: &Migration, index: usize, phase: Phase) {
        self.observer.on_event(&RehearsalEvent::PhaseStart {
            migration: m.name,
            phase,
            index,
            total: self.total,
        });
        // What the runner did in between (its state reads and writes) is not this run's.
        self.monitor.take();
    }

    fn finish(
        &self,
        m: &Migration,
        phase: Phase,
        report: &PhaseReport,
        check: Option<&CheckReport>,
    ) {
        self.observer.on_event(&RehearsalEvent::PhaseFinish {
            migration: m.name,
            phase,
            report,
            check,
        });
    }

    fn phase(&self, duration_ms: u64, counters: Counters) -> PhaseReport {
        PhaseReport {
            duration_ms,
            projected_ms: self.projection.project(duration_ms, &counters.collections),
            documents_read: counters.read,
            documents_written: counters.written,
            index_builds: counters.index_builds,
            collections: counters.collections.into_iter().collect(),
        }
    }

    async fn up(&self, m: &'static Migration, index: usize, phase: Phase) -> RunResult {
        self.start(m, index, phase);
        let result = self
            .migrator
            .up_with(&UpOptions {
                to: Some(m.name.to_owned()),
                ..UpOptions::default()
            })
            .await;
        self.recorded(m, phase, result.map(|r| r.steps))
    }

    async fn down(&self, m: &'static Migration, index: usize) -> RunResult {
        self.start(m, index, Phase::Down);
        let result = self
            .migrator
            .down_with(&DownOptions {
                target: DownTarget::Steps(1),
                ..DownOptions::default()
            })
            .await;
        self.recorded(m, Phase::Down, result.map(|r| r.steps))
    }

    /// The outcome of a recorded run, which must have run exactly `m`.
    fn recorded(
        &self,
        m: &Migration,
        phase: Phase,
        result: Result<Vec<crate::Step>, Error>,
    ) -> RunResult {
        let counters = self.monitor.take();
        match result {
            Ok(steps) => match steps.as_slice() {
                [step] if step.name == m.name => {
                    let ms = step
                        .duration_ms
                        .and_then(|d| u64::try_from(d).ok())
                        .unwrap_or(0);
                    Ok(Ok(self.phase(ms, counters)))
                }
                _ => Err(RehearsalError::PlanMismatch {
                    expected: m.name.to_owned(),
                    ran: steps.iter().map(|s| s.name.to_owned()).collect(),
                }),
            },
            Err(Error::MigrationFailed {
                error, document, ..
            }) => Ok(Err(FailureReport {
                phase,
                error,
                document,
            })),
            Err(e) => Err(self.runner_error(e)),
        }
    }

    async fn rerun(&self, m: &'static Migration, index: usize) -> RunResult {
        self.start(m, index, Phase::Rerun);
        let result = self.migrator.run_unrecorded(m.name).await;
        let counters = self.monitor.take();
        match result {
            Ok((Ok(_notes), elapsed)) => {
                // Its notes came through the observer, as the recorded runs' do.
                let ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
                Ok(Ok(self.phase(ms, counters)))
            }
            Ok((Err(caught), _)) => Ok(Err(FailureReport {
                phase: Phase::Rerun,
                error: caught.message,
                document: caught.document,
            })),
            Err(e) => Err(self.runner_error(e)),
        }
    }

    fn runner_error(&self, e: Error) -> RehearsalError {
        match e {
            Error::Cancelled { reason, .. } => RehearsalError::Cancelled { reason },
            e => RehearsalError::scratch(e),
        }
    }

    async fn snapshot(&self) -> Result<Snapshot, RehearsalError> {
        Snapshot::take(self.db, self.exclude, self.spill, self.cancel).await
    }

    async fn compare(
        &self,
        m: &Migration,
        phase: Phase,
        with: &Snapshot,
        marker: Option<String>,
    ) -> Result<CheckReport, RehearsalError> {
        self.observer.on_event(&RehearsalEvent::Comparing {
            migration: m.name,
            phase,
        });
        let options = compare::Options {
            exclude: self.exclude,
            marker,
            show_values: self.show_values,
        };
        compare::against(self.db, with, &options, self.cancel).await
    }

    /// The migration state and details documents, in `_id` order: the re-run must leave them.
    async fn records(&self) -> Result<Vec<Document>, RehearsalError> {
        let mut out = Vec::new();
        for name in [
            self.collection.to_owned(),
            crate::state::details_collection(self.collection),
        ] {
            let docs: Vec<Document> = self
                .db
                .collection::<Document>(&name)
                .find(doc! {})
                .sort(doc! { "_id": 1 })
                .await
                .map_err(RehearsalError::database(format!("reading {name}")))?
                .try_collect()
                .await
                .map_err(RehearsalError::database(format!("reading {name}")))?;
            out.extend(docs);
        }
        Ok(out)
    }
}
