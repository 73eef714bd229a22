//! The state of every migration, as the binary's plan and the database's records combine.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;

use crate::checksum::StoredChecksum;
pub use crate::model::Direction;
use crate::model::{LockHolder, Runner};
use crate::store::Record;
use crate::Migration;

/// Where one migration of the plan stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Applied (`applied` is a date).
    Applied,
    /// Not applied.
    Pending,
    /// Its last upgrade or downgrade failed or was interrupted: see [`MigrationStatus::failure`].
    Failed,
    /// A live runner is executing it right now.
    Running,
}

/// How the checksum recorded at apply time compares with the binary's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChecksumState {
    /// Recorded and equal.
    Matches,
    /// Recorded and different: the migration changed since it was applied.
    Changed,
    /// Applied without a checksum (by pymongo-migrate, or faked by an older version): not a change.
    NotRecorded,
    /// Not applied: nothing to compare.
    NotApplied,
    /// Recorded with a checksum algorithm this binary does not know (a newer version's, see
    /// [`checksum`](crate::checksum)): not comparable, so not a change.
    OtherAlgorithm,
}

/// A recorded failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// When it failed (or when the interruption was discovered).
    pub failed_at: DateTime<Utc>,
    /// Whether the upgrade or the downgrade failed.
    pub direction: Direction,
    /// The error's cause chain, or what interrupted it.
    pub error: String,
}

/// One migration of the plan with its recorded state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MigrationStatus {
    /// 1-based position in the plan.
    pub order: usize,
    /// The name.
    pub name: &'static str,
    /// Its dependencies.
    pub dependencies: &'static [&'static str],
    /// Its description.
    pub description: &'static str,
    /// Where it stands.
    pub state: State,
    /// When it was applied (the shared `applied` field).
    pub applied_at: Option<DateTime<Utc>>,
    /// How long the last apply took.
    pub duration_ms: Option<i64>,
    /// Who applied it (host, pid).
    pub applied_by: Option<Runner>,
    /// Whether it was faked.
    pub fake: bool,
    /// The checksum in the binary.
    pub checksum: &'static str,
    /// The checksum recorded when it was applied.
    pub recorded_checksum: Option<String>,
    /// The comparison of the two.
    pub checksum_state: ChecksumState,
    /// The failure record, when [`State::Failed`].
    pub failure: Option<Failure>,
    /// The notes its last run left ([`progress::note`](crate::progress::note)): what it left
    /// alone, and why.
    pub notes: Vec<String>,
    /// Destructive operations its author allowed (`ALLOW`), from the binary.
    #[serde(skip)]
    pub allowed: &'static [crate::Allowed],
    /// Checkpoints of its resumable backfills ([`batch::backfill`](crate::batch::backfill)),
    /// by backfill id: set while a stopped run can resume.
    pub checkpoints: std::collections::BTreeMap<String, crate::store::CheckpointRecord>,
    /// A failed (cancelled, interrupted) migration with a checkpoint: a plain `up` resumes it,
    /// without `--retry`; it counts as pending, not failed.
    pub resumable: bool,
    /// For an applied migration, its dependencies that are not applied: the history is out of
    /// order (state written by another tool, or edited by hand). Empty otherwise.
    pub unapplied_dependencies: Vec<&'static str>,
}

/// A migration recorded in the database but absent from the binary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnknownMigration {
    /// The recorded name.
    pub name: String,
    /// When it was applied, if it is applied.
    pub applied_at: Option<DateTime<Utc>>,
    /// Its failure record, if it failed.
    pub failure: Option<Failure>,
    /// Whether it only extends this binary's plan (a newer binary applied it), or conflicts
    /// with it.
    pub kind: UnknownKind,
    /// The dependencies stored when it was applied; `None` when none were stored (applied by
    /// pymongo-migrate or an older version of this tool).
    pub dependencies: Option<Vec<String>>,
    /// The description stored when it was applied.
    pub description: Option<String>,
}

/// How an unknown migration relates to this binary's plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownKind {
    /// Applied, and descends through its stored dependencies only from migrations this
    /// binary knows and has applied (or from other future ones): a newer binary's work. The
    /// database is ahead of this binary; it can still run what it has.
    Future,
    /// Anything else: failed, without stored dependencies, or depending on a migration this
    /// binary does not know or has not applied.
    Conflicting,
}

/// The state of the whole plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    /// Every migration of the binary, in plan order.
    pub migrations: Vec<MigrationStatus>,
    /// Applied or failed migrations the binary does not contain.
    pub unknown: Vec<UnknownMigration>,
    /// The lock's holder, if the lock document exists.
    pub lock: Option<LockHolder>,
}

impl Status {
    /// Combines the plan with the records. `live_runner` is the token of a runner known to be
    /// alive (the valid lock holder): its in-progress migration is [`State::Running`]; any other
    /// in-progress marker was left by a runner that died and is reported as interrupted.
    pub(crate) fn build(
        migrations: &'static [Migration],
        records: &HashMap<String, Record>,
        lock: Option<LockHolder>,
        live_runner: Option<&str>,
    ) -> Status {
        let mut list = Vec::with_capacity(migrations.len());
        for (i, m) in migrations.iter().enumerate() {
            let record = records.get(m.name);
            let applied_at = record.and_then(|r| r.applied);
            let failure = record.and_then(failure_of);
            let running = record
                .and_then(|r| r.in_progress.as_ref())
                .is_some_and(|p| Some(p.by.token.as_str()) == live_runner);
            let failure = if running { None } else { failure };
            let state = if running {
                State::Running
            } else if failure.is_some() {
                State::Failed
            } else if applied_at.is_some() {
                State::Applied
            } else {
                State::Pending
            };
            let recorded = record.and_then(|r| r.checksum.clone());
            let checksum_state = match (applied_at, recorded.as_deref()) {
                (None, _) => ChecksumState::NotApplied,
                (Some(_), None) => ChecksumState::NotRecorded,
                (Some(_), Some(c)) => match StoredChecksum::parse(c).matches(m.checksum) {
                    Some(true) => ChecksumState::Matches,
                    Some(false) => ChecksumState::Changed,
                    None => ChecksumState::OtherAlgorithm,
                },
            };
            list.push(MigrationStatus {
                order: i + 1,
                name: m.name,
                dependencies: m.dependencies,
                description: m.description,
                state,
                applied_at,
                duration_ms: record.and_then(|r| r.duration_ms),
                applied_by: record.and_then(|r| r.applied_by.clone()),
                fake: record.is_some_and(|r| r.fake),
                checksum: m.checksum,
                recorded_checksum: recorded,
                checksum_state,
                failure,
                notes: record.map(|r| r.notes.clone()).unwrap_or_default(),
                allowed: m.allowed,
                checkpoints: record.map(|r| r.checkpoints.clone()).unwrap_or_default(),
                resumable: state == State::Failed
                    && record.is_some_and(|r| !r.checkpoints.is_empty()),
                unapplied_dependencies: Vec::new(),
            });
        }
        let applied: std::collections::HashSet<&str> = list
            .iter()
            .filter(|m| m.state == State::Applied)
            .map(|m| m.name)
            .collect();
        for m in list.iter_mut().filter(|m| m.state == State::Applied) {
            m.unapplied_dependencies = m
                .dependencies
                .iter()
                .copied()
                .filter(|d| !applied.contains(d))
                .collect();
        }
        let mut unknown: Vec<UnknownMigration> = records
            .iter()
            .filter(|(name, _)| !migrations.iter().any(|m| m.name == name.as_str()))
            .filter_map(|(name, r)| {
                let failure = failure_of(r);
                (r.applied.is_some() || failure.is_some()).then(|| UnknownMigration {
                    name: name.clone(),
                    applied_at: r.applied,
                    failure,
                    kind: UnknownKind::Conflicting,
                    dependencies: r.dependencies.clone(),
                    description: r.description.clone(),
                })
            })
            .collect();
        unknown.sort_by(|a, b| a.name.cmp(&b.name));
        classify_unknown(&mut unknown, &applied);
        Status {
            migrations: list,
            unknown,
            lock,
        }
    }

    /// The migrations in `state`.
    pub fn in_state(&self, state: State) -> impl Iterator<Item = &MigrationStatus> {
        self.migrations.iter().filter(move |m| m.state == state)
    }

    /// The applied migrations whose checksum changed since they were applied.
    pub fn changed(&self) -> impl Iterator<Item = &MigrationStatus> {
        self.migrations
            .iter()
            .filter(|m| m.checksum_state == ChecksumState::Changed)
    }

    /// The unknown migrations of `kind`.
    pub fn unknown_of(&self, kind: UnknownKind) -> impl Iterator<Item = &UnknownMigration> {
        self.unknown.iter().filter(move |u| u.kind == kind)
    }

    /// The applied migrations applied before one of their dependencies (see
    /// [`MigrationStatus::unapplied_dependencies`]).
    pub fn out_of_order(&self) -> impl Iterator<Item = &MigrationStatus> {
        self.migrations
            .iter()
            .filter(|m| !m.unapplied_dependencies.is_empty())
    }
}

/// Marks as [`UnknownKind::Future`] every unknown migration that is applied, not failed, and
/// whose stored dependencies are each applied and known (in `applied`) or future themselves.
/// A fixed point: a chain of future migrations is found whatever its order.
fn classify_unknown(
    unknown: &mut [UnknownMigration],
    applied: &std::collections::HashSet<&'static str>,
) {
    loop {
        let future: std::collections::HashSet<String> = unknown
            .iter()
            .filter(|u| u.kind == UnknownKind::Future)
            .map(|u| u.name.clone())
            .collect();
        let mut changed = false;
        for u in unknown.iter_mut() {
            if u.kind == UnknownKind::Future || u.applied_at.is_none() || u.failure.is_some() {
                continue;
            }
            let Some(deps) = &u.dependencies else {
                continue;
            };
            if deps
                .iter()
                .all(|d| applied.contains(d.as_str()) || future.contains(d))
            {
                u.kind = UnknownKind::Future;
                changed = true;
            }
        }
        if !changed {
            return;
        }
    }
}

/// A failure record, or the interruption an orphaned in-progress marker stands for.
fn failure_of(r: &Record) -> Option<Failure> {
    if let Some(p) = &r.in_progress {
        return Some(Failure {
            failed_at: p.started_at,
            direction: p.direction,
            error: interrupted_message(p.started_at, p.direction, &p.by),
        });
    }
    r.failure.as_ref().map(|f| Failure {
        failed_at: f.at,
        direction: f.direction,
        error: f.error.clone(),
    })
}

/// What an interrupted migration's failure record says.
pub(crate) fn interrupted_message(at: DateTime<Utc>, dir: Direction, by: &Runner) -> String {
    format!(
        "interrupted: its {dir} started at {} on {} pid {} and never finished (the runner died, was killed or lost its lease); its effects may be partial",
        at.format("%Y-%m-%d %H:%M:%S UTC"),
        by.host,
        by.pid
    )
}
