//! The one verdict: from the plan and the stored state to an ordered list of findings.
//!
//! `up`, `down`, `check`, `status` and the exit codes all read it, so they cannot disagree.
//! The order is [`PRECEDENCE`]: the first finding decides `check`'s exit code and is the first
//! thing `up` refuses over.

use serde::Serialize;

use crate::status::{ChecksumState, State, Status};

/// What can be wrong with (or pending in) a database, against a binary's plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FindingKind {
    /// A migration of the plan is recorded as failed, cancelled or interrupted.
    Failed,
    /// An applied migration changed since it was applied.
    Changed,
    /// The database records applied or failed migrations this binary lacks.
    Unknown,
    /// An applied migration's dependency is not applied.
    OutOfOrder,
    /// Migrations are not applied yet (or being applied right now by a live runner).
    Pending,
}

/// The findings in the order they rank: the first present one decides `check`'s exit code.
pub const PRECEDENCE: [FindingKind; 5] = [
    FindingKind::Failed,
    FindingKind::Changed,
    FindingKind::Unknown,
    FindingKind::OutOfOrder,
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

impl Verdict {
    /// Judges `status`.
    pub fn of(status: &Status) -> Verdict {
        let names = |kind: FindingKind| -> Vec<String> {
            match kind {
                FindingKind::Failed => status
                    .migrations
                    .iter()
                    .filter(|m| m.state == State::Failed)
                    .map(|m| m.name.to_owned())
                    .collect(),
                FindingKind::Changed => status
                    .migrations
                    .iter()
                    .filter(|m| m.checksum_state == ChecksumState::Changed)
                    .map(|m| m.name.to_owned())
                    .collect(),
                FindingKind::Unknown => status.unknown.iter().map(|u| u.name.clone()).collect(),
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
                    .filter(|m| matches!(m.state, State::Pending | State::Running))
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
