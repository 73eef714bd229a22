//! What a rehearsal covers, judged from the source alone (read-only): which migrations, which
//! collections, how much data, and whether the source is in a state worth copying.

use bson::doc;
use mongodb::Database;

use super::error::RehearsalError;
use super::sample::Sample;
use super::scratch::MARKER_COLLECTION;
use crate::collection_spec::{self, CollectionSpec};
use crate::state::state_collections;
use crate::{Migration, Migrator, UpOptions};

/// Which migrations a rehearsal runs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Scope {
    /// The pending migrations, as `migrate up` would run them.
    #[default]
    Pending,
    /// The pending migrations NAME needs, and NAME (as `migrate up --to NAME`).
    To(String),
    /// The whole plan from an empty state, over a copy of the data (the state is not copied).
    All,
}

/// One collection to copy, with the source's estimate of it.
#[derive(Debug, Clone)]
pub struct Planned {
    pub(crate) spec: CollectionSpec,
    /// Documents in the source (its metadata's estimate).
    pub documents: u64,
    /// Bytes in the source (BSON), when the server tells.
    pub bytes: Option<u64>,
    /// Documents the copy will hold (sampled).
    pub expected: u64,
    /// Whether it is migration state.
    pub state: bool,
}

impl Planned {
    /// The collection's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// Bytes the copy will hold, about.
    pub fn expected_bytes(&self) -> Option<u64> {
        let bytes = self.bytes?;
        Some(match self.documents {
            0 => 0,
            n => (bytes as f64 * self.expected as f64 / n as f64).round() as u64,
        })
    }
}

/// Refuses a source whose lock is held by a live runner, or which records a migration in
/// progress (running, or interrupted): its data and state are changing or half-applied.
pub(crate) async fn check_source(migrator: &Migrator) -> Result<(), RehearsalError> {
    let db = migrator.database();
    let loaded = migrator
        .load_state()
        .await
        .map_err(RehearsalError::source)?;
    let mut in_progress: Vec<String> = loaded
        .records
        .iter()
        .filter(|(_, r)| r.in_progress.is_some())
        .map(|(n, _)| n.clone())
        .collect();
    if let Some(holder) = loaded.lock.as_ref().and_then(|l| l.holder()) {
        let now = super::scratch::server_now(db).await?.to_chrono();
        if holder.expires_at.is_some_and(|e| e > now) {
            return Err(RehearsalError::SourceLocked {
                holder: Box::new(holder),
            });
        }
    }
    if !in_progress.is_empty() {
        in_progress.sort();
        return Err(RehearsalError::SourceInProgress {
            migrations: in_progress,
        });
    }
    Ok(())
}

/// The migrations to rehearse, in plan order: for `Pending` and `To`, what `up` would run
/// (and its refusals: a failed record, drift, unknown migrations); for `All`, the whole plan.
pub(crate) async fn steps(
    migrator: &Migrator,
    scope: &Scope,
) -> Result<Vec<&'static Migration>, RehearsalError> {
    let plan = migrator.migrations();
    let to = match scope {
        Scope::All => return Ok(plan.iter().collect()),
        Scope::Pending => None,
        Scope::To(name) => Some(name.clone()),
    };
    let report = migrator
        .up_with(&UpOptions {
            to,
            dry_run: true,
            ..UpOptions::default()
        })
        .await
        .map_err(RehearsalError::source)?;
    Ok(report
        .steps
        .iter()
        .filter_map(|s| plan.iter().find(|m| m.name == s.name))
        .collect())
}

/// Splits the source's collections into the data to copy (all of them, or `only`) and the
/// migration state (`<collection>` and `<collection>_details`, when `with_state`). The lock
/// collection and a scratch marker are never copied.
pub(crate) fn select(
    specs: Vec<CollectionSpec>,
    only: Option<&[String]>,
    collection: &str,
    with_state: bool,
    database: &str,
) -> Result<(Vec<CollectionSpec>, Vec<CollectionSpec>), RehearsalError> {
    let own = state_collections(collection);
    let (mut state, mut data): (Vec<CollectionSpec>, Vec<CollectionSpec>) = specs
        .into_iter()
        .filter(|s| s.name != MARKER_COLLECTION && s.name != own[2])
        .partition(|s| own.contains(&s.name));
    if !with_state {
        state.clear();
    }
    if let Some(only) = only {
        for name in only.iter().filter(|n| !own.contains(n)) {
            if !data.iter().any(|s| &s.name == name) {
                return Err(RehearsalError::UnknownCollection {
                    database: database.to_owned(),
                    name: name.clone(),
                    suggestion: data
                        .iter()
                        .map(|s| &s.name)
                        .min_by_key(|s| distance(s, name))
                        .filter(|s| distance(s, name) <= 3)
                        .cloned(),
                });
            }
        }
        data.retain(|s| only.contains(&s.name));
    }
    // Collections first, then views (definitions only); each by name.
    data.sort_by(|a, b| (a.is_view(), &a.name).cmp(&(b.is_view(), &b.name)));
    state.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((data, state))
}

/// The source's estimate of a collection: documents (collection metadata, no scan) and bytes
/// (`collStats.size`, when the server and the user's roles give it).
pub(crate) async fn estimate(
    db: &Database,
    spec: &CollectionSpec,
) -> Result<(u64, Option<u64>), RehearsalError> {
    if spec.is_view() {
        return Ok((0, Some(0)));
    }
    let documents = db
        .collection::<bson::Document>(&spec.name)
        .estimated_document_count()
        .await
        .map_err(RehearsalError::database(format!(
            "counting the documents of {}",
            spec.name
        )))?;
    let bytes = match db.run_command(doc! { "collStats": &spec.name }).await {
        Ok(stats) => match stats.get("size") {
            Some(bson::Bson::Int32(n)) => u64::try_from(*n).ok(),
            Some(bson::Bson::Int64(n)) => u64::try_from(*n).ok(),
            Some(bson::Bson::Double(n)) => Some(*n as u64),
            _ => None,
        },
        Err(_) => None,
    };
    Ok((documents, bytes))
}

/// The planned copy of one collection.
pub(crate) fn plan(
    spec: CollectionSpec,
    documents: u64,
    bytes: Option<u64>,
    sample: Option<Sample>,
    state: bool,
) -> Planned {
    let expected = match (sample, state) {
        (Some(s), false) => s.of(documents),
        _ => documents,
    };
    Planned {
        spec,
        documents,
        bytes,
        expected,
        state,
    }
}

/// The collections the build's analyzer saw `steps` name (outside their checksums, in the
/// registry), in name order.
pub(crate) fn suggested(steps: &[&'static Migration]) -> Vec<String> {
    let mut names: Vec<String> = steps
        .iter()
        .flat_map(|m| m.collections.iter().map(|c| (*c).to_owned()))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Edit distance, for suggesting a collection name.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(current + 1);
            previous = current;
        }
    }
    row[b.len()]
}

/// Lists the source's collections.
pub(crate) async fn list(db: &Database) -> Result<Vec<CollectionSpec>, RehearsalError> {
    collection_spec::list(db)
        .await
        .map_err(RehearsalError::database(format!(
            "listing the collections of {}",
            db.name()
        )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, kind: &str) -> CollectionSpec {
        CollectionSpec {
            name: name.to_owned(),
            kind: kind.to_owned(),
            options: bson::Document::new(),
        }
    }

    fn names(list: &[CollectionSpec]) -> Vec<&str> {
        list.iter().map(|s| s.name.as_str()).collect()
    }

    #[test]
    fn every_collection_is_copied_but_the_lock_and_markers() {
        let specs = vec![
            spec("stories", "collection"),
            spec("pymongo_migrate", "collection"),
            spec("pymongo_migrate_details", "collection"),
            spec("pymongo_migrate_lock", "collection"),
            spec("recent", "view"),
            spec(MARKER_COLLECTION, "collection"),
            spec("pages", "collection"),
        ];
        let (data, state) = select(specs.clone(), None, "pymongo_migrate", true, "app").unwrap();
        assert_eq!(names(&data), ["pages", "stories", "recent"]);
        assert_eq!(
            names(&state),
            ["pymongo_migrate", "pymongo_migrate_details"]
        );
        let (data, state) = select(
            specs.clone(),
            Some(&["stories".into()]),
            "pymongo_migrate",
            false,
            "app",
        )
        .unwrap();
        assert_eq!((names(&data), names(&state)), (vec!["stories"], vec![]));
        let err = select(
            specs,
            Some(&["storys".into()]),
            "pymongo_migrate",
            true,
            "app",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the source database app has no collection \"storys\" (did you mean \"stories\"?)"
        );
    }
}
