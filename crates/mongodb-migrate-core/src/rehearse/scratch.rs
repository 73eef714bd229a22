//! Scratch databases: their names, the marker that says a rehearsal made one, its lease, and the
//! clean-up of those a killed rehearsal left behind.
//!
//! A rehearsal writes its marker (collection [`MARKER_COLLECTION`], one document) before
//! anything else, so every scratch database it ever made carries one, even when it was killed
//! mid-copy. The marker names the source, the runner (host, pid) and a lease (`expires_at`,
//! judged by the server's clock) that the running rehearsal renews. A scratch database is *in
//! use* while its lease runs and, on the same host, while its process lives; otherwise it is
//! *stale*: `migrate rehearse --cleanup` drops it, and a rehearsal asked to use its name
//! replaces it. A database without the marker is never dropped nor written.

use std::time::Duration;

use bson::doc;
use chrono::{DateTime, Utc};
use mongodb::{Client, Database};
use serde::{Deserialize, Serialize};

use super::error::RehearsalError;
use crate::model::Runner;

/// The collection holding a scratch database's marker.
pub const MARKER_COLLECTION: &str = "_mongodb_migrate_rehearsal";

/// The marker document's fixed `_id`.
const MARKER_ID: &str = "rehearsal";

/// The marker's format, stored with it.
const MARKER_FORMAT: i32 = 1;

/// How long a marker's lease runs without renewal; it is renewed every sixth of that.
pub(crate) const LEASE: Duration = Duration::from_secs(60);

/// The marker document.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct MarkerDoc {
    #[serde(rename = "_id")]
    id: String,
    format: i32,
    tool: String,
    source: String,
    runner: Runner,
    created_at: bson::DateTime,
    expires_at: bson::DateTime,
    #[serde(default)]
    kept: bool,
}

/// A scratch database a rehearsal made, as its marker describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScratchDatabase {
    /// Its name.
    pub name: String,
    /// The source database it rehearsed.
    pub source: String,
    /// The rehearsal that made it.
    pub runner: Runner,
    /// When it was made (server time).
    pub created_at: DateTime<Utc>,
    /// When its lease runs out unless renewed (server time).
    pub expires_at: DateTime<Utc>,
    /// Left for inspection with `--keep`.
    pub kept: bool,
    /// Whether a rehearsal is using it: its lease runs and, on this host, its process lives.
    pub in_use: bool,
}

/// What a database name holds.
#[derive(Debug)]
pub(crate) enum Existing {
    /// Nothing: no collection.
    Nothing,
    /// A rehearsal's scratch database.
    Scratch(ScratchDatabase),
    /// Something else, with some of its collection names.
    Foreign(Vec<String>),
}

/// The default scratch database of `source` at `now`: `<source>_rehearsal_<UTC timestamp>`,
/// the source's part shortened so the name stays within MongoDB's 63 bytes.
pub(crate) fn default_name(source: &str, now: DateTime<Utc>) -> String {
    let suffix = format!("_rehearsal_{}", now.format("%Y%m%dT%H%M%SZ"));
    let mut head = source.to_owned();
    while head.len() + suffix.len() > 63 {
        head.pop();
    }
    format!("{head}{suffix}")
}

/// Checks a database name as MongoDB does (on every platform it runs on).
pub(crate) fn validate_name(name: &str) -> Result<(), RehearsalError> {
    let bad = |reason| RehearsalError::BadScratchName {
        name: name.to_owned(),
        reason,
    };
    if name.is_empty() {
        return Err(bad("the name is empty"));
    }
    if name.len() > 63 {
        return Err(bad("MongoDB database names are at most 63 bytes"));
    }
    if name.chars().any(|c| "/\\. \"$*<>:|?\0".contains(c)) {
        return Err(bad(
            "MongoDB database names cannot contain / \\ . space \" $ * < > : | ? or NUL",
        ));
    }
    if ["admin", "local", "config"].contains(&name) {
        return Err(bad("admin, local and config belong to the server"));
    }
    Ok(())
}

/// The server's clock (`hello.localTime`), which judges every lease.
pub(crate) async fn server_now(db: &Database) -> Result<bson::DateTime, RehearsalError> {
    let hello = db
        .run_command(doc! { "hello": 1 })
        .await
        .map_err(RehearsalError::database(
            "reading the server's clock (hello)",
        ))?;
    Ok(hello
        .get_datetime("localTime")
        .copied()
        .unwrap_or_else(|_| bson::DateTime::now()))
}

/// What `db` holds: nothing, a rehearsal's scratch database, or something else.
pub(crate) async fn inspect(db: &Database) -> Result<Existing, RehearsalError> {
    let names = db
        .list_collection_names()
        .await
        .map_err(RehearsalError::database(format!(
            "listing the collections of {}",
            db.name()
        )))?;
    if names.is_empty() {
        return Ok(Existing::Nothing);
    }
    if !names.iter().any(|n| n == MARKER_COLLECTION) {
        let mut names = names;
        names.sort();
        names.truncate(5);
        return Ok(Existing::Foreign(names));
    }
    let marker = db
        .collection::<MarkerDoc>(MARKER_COLLECTION)
        .find_one(doc! { "_id": MARKER_ID })
        .await
        .map_err(RehearsalError::database(format!(
            "reading the rehearsal marker of {}",
            db.name()
        )))?;
    let Some(marker) = marker else {
        return Ok(Existing::Foreign(names));
    };
    let now = server_now(db).await?;
    Ok(Existing::Scratch(describe(db.name(), marker, now)))
}

fn describe(name: &str, m: MarkerDoc, now: bson::DateTime) -> ScratchDatabase {
    let leased = m.expires_at > now;
    let in_use = leased && !m.kept && process_may_live(&m.runner);
    ScratchDatabase {
        name: name.to_owned(),
        source: m.source,
        runner: m.runner,
        created_at: m.created_at.to_chrono(),
        expires_at: m.expires_at.to_chrono(),
        kept: m.kept,
        in_use,
    }
}

/// Whether the process that made a marker may still run: on this host, whether its pid exists
/// (where `/proc` tells); elsewhere only its lease can say.
fn process_may_live(runner: &Runner) -> bool {
    let here = gethostname::gethostname().to_string_lossy().into_owned();
    let proc = std::path::Path::new("/proc");
    if runner.host != here || !proc.join("self").exists() {
        return true;
    }
    runner.pid == std::process::id() || proc.join(runner.pid.to_string()).exists()
}

/// Writes the marker of a new scratch database (its first write, before any copy).
pub(crate) async fn mark(
    db: &Database,
    source: &str,
    runner: &Runner,
) -> Result<(), RehearsalError> {
    let now = server_now(db).await?;
    let marker = MarkerDoc {
        id: MARKER_ID.to_owned(),
        format: MARKER_FORMAT,
        tool: crate::store::TOOL.to_owned(),
        source: source.to_owned(),
        runner: runner.clone(),
        created_at: now,
        expires_at: later(now, LEASE),
        kept: false,
    };
    db.collection::<MarkerDoc>(MARKER_COLLECTION)
        .insert_one(marker)
        .await
        .map_err(RehearsalError::database(format!(
            "writing the rehearsal marker into {}",
            db.name()
        )))?;
    Ok(())
}

fn later(t: bson::DateTime, d: Duration) -> bson::DateTime {
    bson::DateTime::from_millis(
        t.timestamp_millis() + i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2),
    )
}

/// Renews the marker's lease until dropped.
#[derive(Debug)]
pub(crate) struct Lease(tokio::task::JoinHandle<()>);

impl Drop for Lease {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts renewing `db`'s marker every sixth of [`LEASE`]. A failed renewal is retried at the
/// next tick: the lease outlives five of them.
pub(crate) fn renew(db: &Database) -> Lease {
    let db = db.clone();
    Lease(tokio::spawn(async move {
        let mut tick = tokio::time::interval(LEASE / 6);
        tick.tick().await;
        loop {
            tick.tick().await;
            if let Ok(now) = server_now(&db).await {
                let _ = db
                    .collection::<MarkerDoc>(MARKER_COLLECTION)
                    .update_one(
                        doc! { "_id": MARKER_ID },
                        doc! { "$set": { "expires_at": later(now, LEASE) } },
                    )
                    .await;
            }
        }
    }))
}

/// Marks the scratch database as kept for inspection: no rehearsal uses it any more, so
/// `--cleanup` drops it, and a rehearsal given its name replaces it.
pub(crate) async fn keep(db: &Database) -> Result<(), RehearsalError> {
    db.collection::<MarkerDoc>(MARKER_COLLECTION)
        .update_one(doc! { "_id": MARKER_ID }, doc! { "$set": { "kept": true } })
        .await
        .map_err(RehearsalError::database(format!(
            "marking {} as kept",
            db.name()
        )))?;
    Ok(())
}

/// What `--cleanup` did with one scratch database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cleaned {
    /// The scratch database.
    pub scratch: ScratchDatabase,
    /// Dropped (it was stale), or left (a rehearsal is using it).
    pub dropped: bool,
}

/// Lists the scratch databases rehearsals made on `client`'s deployment and drops the stale
/// ones (or, with `only`, that database if it is one). Databases without a rehearsal's marker
/// are never touched.
///
/// Listing needs `listDatabases` (any user gets the databases it may use, from MongoDB 4.0.5);
/// where a user cannot list, name the database with `only`.
///
/// # Errors
/// A database command that failed (listing, reading a marker, dropping).
pub async fn cleanup(client: &Client, only: Option<&str>) -> Result<Vec<Cleaned>, RehearsalError> {
    let names: Vec<String> = match only {
        Some(name) => vec![name.to_owned()],
        None => client
            .list_database_names()
            .authorized_databases(true)
            .await
            .map_err(RehearsalError::database(
                "listing the databases (listDatabases; name one with --scratch-db instead)",
            ))?
            .into_iter()
            .filter(|n| !["admin", "local", "config"].contains(&n.as_str()))
            .collect(),
    };
    let mut out = Vec::new();
    for name in names {
        let db = client.database(&name);
        let Existing::Scratch(scratch) = inspect(&db).await? else {
            continue;
        };
        let dropped = !scratch.in_use;
        if dropped {
            db.drop()
                .await
                .map_err(RehearsalError::database(format!("dropping {name}")))?;
        }
        out.push(Cleaned { scratch, dropped });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    #[test]
    fn default_names_carry_the_source_and_the_time_within_63_bytes() {
        let now = Utc.with_ymd_and_hms(2026, 12, 4, 21, 35, 0).unwrap();
        assert_eq!(
            default_name("field-notes", now),
            "field-notes_rehearsal_20261204T213500Z"
        );
        let long = default_name(&"x".repeat(80), now);
        assert_eq!(long.len(), 63);
        assert!(long.ends_with("_rehearsal_20261204T213500Z"));
        assert!(validate_name(&long).is_ok());
    }

    #[test]
    fn names_mongodb_refuses_are_refused() {
        for bad in ["", "a.b", "a b", "a$b", "admin", &"x".repeat(64)] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
        assert!(validate_name("field-notes_rehearsal").is_ok());
    }

    #[test]
    fn a_dead_process_on_this_host_holds_no_scratch_database() {
        let mut runner = Runner::current();
        assert!(process_may_live(&runner));
        if std::path::Path::new("/proc/self").exists() {
            runner.pid = u32::MAX - 7;
            assert!(!process_may_live(&runner));
        }
        runner.host = "another-host".to_owned();
        assert!(
            process_may_live(&runner),
            "elsewhere only the lease can tell"
        );
    }
}
