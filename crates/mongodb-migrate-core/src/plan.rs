//! Which migrations a run touches, and in what order: graph walks over the checked plan.

use std::collections::{BTreeSet, HashMap};

use crate::error::{ConfigError, Refusal};
use crate::status::{State, Status};
use crate::Migration;

/// What `down` rolls back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownTarget {
    /// The last `n` applied migrations, latest in plan order first.
    Steps(usize),
    /// Everything that transitively depends on the named migration, keeping it.
    To(String),
    /// Everything.
    Zero,
}

impl Default for DownTarget {
    fn default() -> Self {
        DownTarget::Steps(1)
    }
}

/// Finds `name` in the plan, with a suggestion when it is not there.
pub(crate) fn position(migrations: &[Migration], name: &str) -> Result<usize, ConfigError> {
    migrations
        .iter()
        .position(|m| m.name == name)
        .ok_or_else(|| ConfigError::UnknownTarget {
            name: name.to_owned(),
            suggestion: migrations
                .iter()
                .find(|m| m.name.contains(name) || name.contains(m.name))
                .map(|m| m.name.to_owned()),
        })
}

fn by_name(migrations: &[Migration]) -> HashMap<&str, usize> {
    migrations
        .iter()
        .enumerate()
        .map(|(i, m)| (m.name, i))
        .collect()
}

/// `target` and everything it transitively depends on.
pub(crate) fn ancestors(migrations: &[Migration], target: usize) -> BTreeSet<usize> {
    let index = by_name(migrations);
    let mut seen = BTreeSet::new();
    let mut stack = vec![target];
    while let Some(i) = stack.pop() {
        if seen.insert(i) {
            stack.extend(
                migrations[i]
                    .dependencies
                    .iter()
                    .filter_map(|d| index.get(d).copied()),
            );
        }
    }
    seen
}

/// Everything that transitively depends on `target`, without `target`.
pub(crate) fn descendants(migrations: &[Migration], target: usize) -> BTreeSet<usize> {
    let mut found = BTreeSet::new();
    // The plan is topologically ordered: dependents come after their dependencies.
    for (i, m) in migrations.iter().enumerate().skip(target + 1) {
        if m.dependencies.iter().any(|d| {
            migrations[target].name == *d || found.iter().any(|&f: &usize| migrations[f].name == *d)
        }) {
            found.insert(i);
        }
    }
    found
}

/// The migrations `up` runs, in plan order: the pending ones (and, with `retry`, the failed
/// ones) among `to` and its dependencies, or among all.
pub(crate) fn up_steps(
    migrations: &[Migration],
    status: &Status,
    to: Option<usize>,
    retry: bool,
) -> Vec<usize> {
    let scope = match to {
        Some(t) => ancestors(migrations, t),
        None => (0..migrations.len()).collect(),
    };
    scope
        .into_iter()
        .filter(|&i| match status.migrations[i].state {
            State::Pending => true,
            // A resumable backfill opted into resumption: a plain `up` carries it on.
            State::Failed => retry || status.migrations[i].resumable,
            State::Applied | State::Running => false,
        })
        .collect()
}

/// The migrations `down` reverts, latest in plan order first. Refused when a migration outside
/// the set that is applied or failed depends on one inside it.
pub(crate) fn down_steps(
    migrations: &[Migration],
    status: &Status,
    target: &DownTarget,
    retry: bool,
) -> Result<Vec<usize>, crate::Error> {
    let revertible: Vec<usize> = (0..migrations.len())
        .filter(|&i| match status.migrations[i].state {
            State::Applied => true,
            State::Failed => retry,
            State::Pending | State::Running => false,
        })
        .collect();
    let chosen: Vec<usize> = match target {
        DownTarget::Steps(n) => revertible.iter().rev().take(*n).copied().collect(),
        DownTarget::Zero => revertible.iter().rev().copied().collect(),
        DownTarget::To(name) => {
            let t = position(migrations, name)?;
            let below = descendants(migrations, t);
            revertible
                .iter()
                .rev()
                .filter(|i| below.contains(i))
                .copied()
                .collect()
        }
    };
    for &c in &chosen {
        let dependents: Vec<usize> = descendants(migrations, c)
            .into_iter()
            .filter(|d| !chosen.contains(d))
            .filter(|&d| matches!(status.migrations[d].state, State::Applied | State::Failed))
            .collect();
        if !dependents.is_empty() {
            return Err(Refusal::HasDependents {
                name: migrations[c].name.to_owned(),
                failed_dependent: dependents
                    .iter()
                    .any(|&d| status.migrations[d].state == State::Failed),
                dependents: dependents
                    .iter()
                    .map(|&d| migrations[d].name.to_owned())
                    .collect(),
            }
            .into());
        }
    }
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BoxFuture, MigrationResult};

    fn noop(_: &mongodb::Database) -> BoxFuture<'_, MigrationResult<()>> {
        Box::pin(async { Ok(()) })
    }

    const fn m(name: &'static str, dependencies: &'static [&'static str]) -> Migration {
        Migration {
            name,
            dependencies,
            description: "",
            checksum: "",
            transactional: false,
            allowed: &[],
            irreversible: None,
            collections: &[],
            upgrade: noop,
            downgrade: noop,
        }
    }

    /// a; b←a; c←a; d←b,c — the diamond pymongo-migrate runs as a, b, d, c, d.
    static DIAMOND: &[Migration] = &[
        m("a", &[]),
        m("b", &["a"]),
        m("c", &["a"]),
        m("d", &["b", "c"]),
    ];

    #[test]
    fn ancestors_follow_the_graph_not_the_list() {
        assert_eq!(ancestors(DIAMOND, 1), BTreeSet::from([0, 1]));
        assert_eq!(ancestors(DIAMOND, 2), BTreeSet::from([0, 2]));
        assert_eq!(ancestors(DIAMOND, 3), BTreeSet::from([0, 1, 2, 3]));
    }

    #[test]
    fn descendants_are_transitive() {
        assert_eq!(descendants(DIAMOND, 0), BTreeSet::from([1, 2, 3]));
        assert_eq!(descendants(DIAMOND, 1), BTreeSet::from([3]));
        assert_eq!(descendants(DIAMOND, 3), BTreeSet::new());
    }

    #[test]
    fn unknown_names_get_a_suggestion() {
        match position(DIAMOND, "dd") {
            Err(ConfigError::UnknownTarget { suggestion, .. }) => {
                assert_eq!(suggestion.as_deref(), Some("d"))
            }
            other => panic!("{other:?}"),
        }
    }
}
