//! The one verdict: from the plan and the stored state to an ordered list of findings.
//!
//! `up`, `down`, `check`, `status` and the exit codes all read it, so they cannot disagree.
//! The order is [`PRECEDENCE`]: the first finding decides `check`'s exit code and is the first
//! thing `up` refuses over.

use serde::Serialize;

use crate::status::{ChecksumState, State, Status, UnknownKind};

/// What can be wrong with (or pending in) a database, against a binary's plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FindingKind {
    /// A migration of the plan is recorded as failed, cancelled or interrupted.
    Failed,
    /// An applied migration changed since it was applied.
    Changed,
    /// The database records applied or failed migrations this binary lacks, and that do not
    /// merely extend its plan ([`UnknownKind::Conflicting`](crate::UnknownKind)).
    Unknown,
    /// An applied migration's dependency is not applied.
    OutOfOrder,
    /// The database holds migrations newer than this binary, which extend its plan
    /// ([`UnknownKind::Future`](crate::UnknownKind)): the database is ahead of this binary.
    /// Nothing to refuse: `up` runs what it has, `down` keeps what they depend on.
    Future,
    /// Migrations are not applied yet (or being applied right now by a live runner).
    Pending,
}

/// The findings in the order they rank: the first present one decides `check`'s exit code.
pub const PRECEDENCE: [FindingKind; 6] = [
    FindingKind::Failed,
    FindingKind::Changed,
    FindingKind::Unknown,
    FindingKind::OutOfOrder,
    FindingKind::Future,
    FindingKind::Pending,
];

/// One finding: its kind and the migrations it concerns, in plan order (unknown ones by name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What is found.
    pub kind: FindingKind,
    /// The migrations concerned.
    pub names: Vec<String>,
}

/// Every finding present, in [`PRECEDENCE`] order; empty when the database is exactly at the
/// binary's plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The findings, highest-ranked first.
    pub findings: Vec<Finding>,
}

// Here rather than in `status`: the verdict judges a status, so `status` need not know it.
impl Status {
    /// The one verdict over this status: every finding, in precedence order.
    pub fn verdict(&self) -> Verdict {
        Verdict::of(self)
    }

    /// Whether nothing is pending, failed, running, changed, unknown or out of order.
    pub fn is_clean(&self) -> bool {
        self.verdict().is_clean()
    }
}

impl Verdict {
    /// Judges `status`.
    pub fn of(status: &Status) -> Verdict {
        let names = |kind: FindingKind| -> Vec<String> {
            match kind {
                FindingKind::Failed => status
                    .migrations
                    .iter()
                    .filter(|m| m.state == State::Failed && !m.resumable)
                    .map(|m| m.name.to_owned())
                    .collect(),
                FindingKind::Changed => status
                    .migrations
                    .iter()
                    .filter(|m| m.checksum_state == ChecksumState::Changed)
                    .map(|m| m.name.to_owned())
                    .collect(),
                FindingKind::Unknown => status
                    .unknown_of(UnknownKind::Conflicting)
                    .map(|u| u.name.clone())
                    .collect(),
                FindingKind::Future => status
                    .unknown_of(UnknownKind::Future)
                    .map(|u| u.name.clone())
                    .collect(),
                FindingKind::OutOfOrder => status
                    .migrations
                    .iter()
                    .filter(|m| !m.unapplied_dependencies.is_empty())
                    .map(|m| m.name.to_owned())
                    .collect(),
                // A migration another runner is applying right now is not done: pending, not
                // failed.
                FindingKind::Pending => status
                    .migrations
                    .iter()
                    .filter(|m| {
                        matches!(m.state, State::Pending | State::Running)
                            || (m.state == State::Failed && m.resumable)
                    })
                    .map(|m| m.name.to_owned())
                    .collect(),
            }
        };
        Verdict {
            findings: PRECEDENCE
                .iter()
                .map(|&kind| Finding {
                    kind,
                    names: names(kind),
                })
                .filter(|f| !f.names.is_empty())
                .collect(),
        }
    }

    /// The names of `kind`'s finding (empty when absent).
    pub fn names(&self, kind: FindingKind) -> &[String] {
        self.findings
            .iter()
            .find(|f| f.kind == kind)
            .map_or(&[], |f| &f.names)
    }

    /// The highest-ranked finding.
    pub fn worst(&self) -> Option<&Finding> {
        self.findings.first()
    }

    /// Whether nothing is found.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::store::{FailureRecord, Record};
    use crate::{BoxFuture, Direction, Migration, MigrationResult, UpOptions};

    fn noop(_: &mongodb::Database) -> BoxFuture<'_, MigrationResult<()>> {
        Box::pin(async { Ok(()) })
    }

    const fn m(name: &'static str, dependencies: &'static [&'static str]) -> Migration {
        Migration {
            name,
            dependencies,
            description: "",
            checksum: "sum",
            transactional: false,
            allowed: &[],
            irreversible: None,
            collections: &[],
            upgrade: noop,
            downgrade: noop,
        }
    }

    /// The finding a refusal of `up` stands for.
    fn refused_over(e: crate::Error) -> Option<FindingKind> {
        match e {
            crate::Error::Refused(r) => r.finding(),
            other => panic!("not a refusal: {other}"),
        }
    }

    static PLAN: &[Migration] = &[
        m("f", &[]),
        m("c", &[]),
        m("o_dep", &[]),
        m("o", &["o_dep"]),
        m("p", &[]),
    ];

    fn applied(checksum: &str) -> Record {
        Record {
            applied: Some(chrono::Utc::now()),
            checksum: Some(checksum.to_owned()),
            ..Record::default()
        }
    }

    /// Every combination of the five findings: the verdict lists exactly those present, in
    /// precedence order; `check`'s code is the first one's; `up` refuses over the first one it
    /// is not told to allow.
    #[test]
    fn every_combination_is_judged_in_precedence_order() {
        for bits in 0u8..32 {
            let [failed, changed, unknown, out_of_order, pending] =
                [0, 1, 2, 3, 4].map(|i| bits & (1 << i) != 0);
            let mut records = HashMap::new();
            let mut f = applied("sum");
            if failed {
                f.failure = Some(FailureRecord {
                    at: chrono::Utc::now(),
                    direction: Direction::Up,
                    error: "boom".to_owned(),
                });
            }
            records.insert("f".to_owned(), f);
            records.insert(
                "c".to_owned(),
                applied(if changed { "edited" } else { "sum" }),
            );
            if !out_of_order {
                records.insert("o_dep".to_owned(), applied("sum"));
            }
            records.insert("o".to_owned(), applied("sum"));
            if !pending {
                records.insert("p".to_owned(), applied("sum"));
            }
            if unknown {
                // No stored dependencies: it cannot be told from a conflict.
                records.insert("zz_newer".to_owned(), applied("sum"));
            }
            let status = crate::Status::build(PLAN, &records, None, None);
            let verdict = status.verdict();
            let kinds: Vec<FindingKind> = verdict.findings.iter().map(|f| f.kind).collect();
            // An out-of-order history leaves its dependency pending too.
            let present = [
                failed,
                changed,
                unknown,
                out_of_order,
                // No future migration in these combinations (see `future_tests`).
                false,
                pending || out_of_order,
            ];
            let expected: Vec<FindingKind> = PRECEDENCE
                .iter()
                .zip(present)
                .filter(|(_, p)| *p)
                .map(|(k, _)| *k)
                .collect();
            assert_eq!(kinds, expected, "combination {bits:05b}");
            assert_eq!(verdict.is_clean(), expected.is_empty());
            let worst = verdict.worst().map(|f| f.kind);
            let refusal = crate::migrator::refuse_up(&status, &UpOptions::default())
                .err()
                .map(refused_over);
            match expected.first() {
                None | Some(FindingKind::Pending) => assert_eq!(refusal, None, "{bits:05b}"),
                Some(_) => assert_eq!(refusal, Some(worst), "{bits:05b}"),
            }
            // Allowing the first refusal moves `up` to the next one.
            let allow_all_but_out_of_order = UpOptions {
                retry: true,
                allow_changed: true,
                allow_unknown: true,
                ..UpOptions::default()
            };
            let refusal = crate::migrator::refuse_up(&status, &allow_all_but_out_of_order)
                .err()
                .map(refused_over);
            assert_eq!(
                refusal,
                out_of_order.then_some(Some(FindingKind::OutOfOrder)),
                "{bits:05b}"
            );
        }
    }

    /// A checksum tagged with an algorithm version this binary does not know is not drift.
    #[test]
    fn a_checksum_of_another_algorithm_is_not_a_change() {
        let mut records = HashMap::new();
        for name in ["f", "o_dep", "o", "p"] {
            records.insert(name.to_owned(), applied("sum"));
        }
        records.insert("c".to_owned(), applied("v2:computed-otherwise"));
        let status = crate::Status::build(PLAN, &records, None, None);
        assert_eq!(
            status.migrations[1].checksum_state,
            crate::ChecksumState::OtherAlgorithm
        );
        assert!(status.verdict().is_clean(), "{:?}", status.verdict());
        // The same value untagged is version 1: a change.
        records.insert("c".to_owned(), applied("computed-otherwise"));
        let status = crate::Status::build(PLAN, &records, None, None);
        assert_eq!(
            status.migrations[1].checksum_state,
            crate::ChecksumState::Changed
        );
    }

    #[test]
    fn a_migration_running_in_a_live_runner_counts_as_pending() {
        let runner = crate::Runner::current();
        let mut records = HashMap::new();
        for name in ["f", "c", "o_dep", "o"] {
            records.insert(name.to_owned(), applied("sum"));
        }
        records.insert(
            "p".to_owned(),
            Record {
                in_progress: Some(crate::store::InProgress {
                    started_at: chrono::Utc::now(),
                    direction: Direction::Up,
                    by: runner.clone(),
                }),
                ..Record::default()
            },
        );
        let live = crate::Status::build(PLAN, &records, None, Some(&runner.token));
        assert_eq!(live.migrations[4].state, crate::State::Running);
        assert_eq!(live.verdict().names(FindingKind::Pending), ["p"]);
        // The same marker without a live runner is an interruption: failed.
        let dead = crate::Status::build(PLAN, &records, None, None);
        assert_eq!(dead.migrations[4].state, crate::State::Failed);
        assert_eq!(dead.verdict().names(FindingKind::Failed), ["p"]);
    }
}

#[cfg(test)]
mod future_tests {
    use std::collections::HashMap;

    use super::*;
    use crate::store::Record;
    use crate::{BoxFuture, Migration, MigrationResult, UnknownKind};

    fn noop(_: &mongodb::Database) -> BoxFuture<'_, MigrationResult<()>> {
        Box::pin(async { Ok(()) })
    }

    static PLAN: &[Migration] = &[
        Migration {
            name: "0001_a",
            dependencies: &[],
            description: "",
            checksum: "sum",
            transactional: false,
            allowed: &[],
            irreversible: None,
            collections: &[],
            upgrade: noop,
            downgrade: noop,
        },
        Migration {
            name: "0002_b",
            dependencies: &["0001_a"],
            description: "",
            checksum: "sum",
            transactional: false,
            allowed: &[],
            irreversible: None,
            collections: &[],
            upgrade: noop,
            downgrade: noop,
        },
    ];

    fn applied(deps: Option<&[&str]>) -> Record {
        Record {
            applied: Some(chrono::Utc::now()),
            checksum: Some("sum".to_owned()),
            dependencies: deps.map(|d| d.iter().map(|s| (*s).to_owned()).collect()),
            ..Record::default()
        }
    }

    #[test]
    fn unknown_migrations_are_future_only_when_they_descend_from_what_is_applied() {
        let mut records = HashMap::new();
        records.insert("0001_a".to_owned(), applied(Some(&[])));
        records.insert("0002_b".to_owned(), applied(Some(&["0001_a"])));
        // A chain of two newer ones, listed in any order.
        records.insert("0004_d".to_owned(), applied(Some(&["0003_c"])));
        records.insert("0003_c".to_owned(), applied(Some(&["0002_b"])));
        // Depends on something this binary does not know and is not applied.
        records.insert("0005_x".to_owned(), applied(Some(&["0099_gone"])));
        // No stored dependencies (pymongo-migrate, or an older version): conservative.
        records.insert("0006_y".to_owned(), applied(None));
        let status = crate::Status::build(PLAN, &records, None, None);
        let kind = |name: &str| {
            status
                .unknown
                .iter()
                .find(|u| u.name == name)
                .map(|u| u.kind)
        };
        assert_eq!(kind("0003_c"), Some(UnknownKind::Future));
        assert_eq!(kind("0004_d"), Some(UnknownKind::Future));
        assert_eq!(kind("0005_x"), Some(UnknownKind::Conflicting));
        assert_eq!(kind("0006_y"), Some(UnknownKind::Conflicting));
        let verdict = status.verdict();
        assert_eq!(verdict.names(FindingKind::Future), ["0003_c", "0004_d"]);
        assert_eq!(verdict.names(FindingKind::Unknown), ["0005_x", "0006_y"]);
        // Conflicting ranks before future, which ranks before pending.
        assert_eq!(
            verdict.findings.iter().map(|f| f.kind).collect::<Vec<_>>(),
            [FindingKind::Unknown, FindingKind::Future]
        );
    }

    #[test]
    fn a_future_migration_over_an_unapplied_dependency_is_not_future() {
        let mut records = HashMap::new();
        records.insert("0001_a".to_owned(), applied(Some(&[])));
        records.insert("0003_c".to_owned(), applied(Some(&["0002_b"])));
        let status = crate::Status::build(PLAN, &records, None, None);
        assert_eq!(status.unknown[0].kind, UnknownKind::Conflicting);
        let verdict = status.verdict();
        assert_eq!(
            verdict.findings.iter().map(|f| f.kind).collect::<Vec<_>>(),
            [FindingKind::Unknown, FindingKind::Pending]
        );
    }
}
