//! What a migration's body does to the scratch database, measured from the commands its client
//! sends (the driver's command monitoring): documents read and written, index builds and their
//! time, the collections it names. The runner's own commands on the state, details, lock and
//! marker collections are left out.
//!
//! "Read" counts documents the server returned (find, aggregate, getMore, findAndModify), not
//! documents it examined: a `count_documents` over a million documents reads one. A client-level
//! `bulkWrite` that also carries the runner's fenced state writes (a checkpointed backfill) is
//! counted without those, one write each.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use bson::{Bson, Document};
use mongodb::event::command::CommandEvent;
use mongodb::event::EventHandler;

use super::report::IndexBuild;

/// What the monitored commands did since the last [`Monitor::take`].
#[derive(Debug, Clone, Default)]
pub(crate) struct Counters {
    pub read: u64,
    pub written: u64,
    pub index_builds: Vec<IndexBuild>,
    pub collections: BTreeSet<String>,
}

/// A command between its start and its reply.
#[derive(Debug)]
struct Pending {
    name: String,
    collection: Option<String>,
    indexes: Vec<String>,
    /// For `bulkWrite`: operations on the runner's own collections, whose writes are not the
    /// migration's.
    own_ops: u64,
    /// Whether any operation or namespace is the migration's.
    counted: bool,
}

#[derive(Debug, Default)]
struct State {
    current: Counters,
    pending: HashMap<i32, Pending>,
}

/// Counts the commands a client sends to one database.
#[derive(Debug, Clone)]
pub(crate) struct Monitor {
    database: String,
    /// The collections whose commands are the runner's, not the migration's.
    own: Arc<HashSet<String>>,
    state: Arc<Mutex<State>>,
}

impl Monitor {
    pub fn new(database: &str, own: impl IntoIterator<Item = String>) -> Self {
        Monitor {
            database: database.to_owned(),
            own: Arc::new(own.into_iter().collect()),
            state: Arc::default(),
        }
    }

    /// The handler to install on the client (`ClientOptions::command_event_handler`).
    pub fn handler(&self) -> EventHandler<CommandEvent> {
        let monitor = self.clone();
        EventHandler::callback(move |event| monitor.on_event(event))
    }

    /// What was counted since the last call, and a fresh start.
    pub fn take(&self) -> Counters {
        self.state
            .lock()
            .map(|mut s| std::mem::take(&mut s.current))
            .unwrap_or_default()
    }

    fn on_event(&self, event: CommandEvent) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        match event {
            CommandEvent::Started(e) => {
                if let Some(pending) = self.pending(&e.db, &e.command_name, &e.command) {
                    state.pending.insert(e.request_id, pending);
                }
            }
            CommandEvent::Succeeded(e) => {
                if let Some(p) = state.pending.remove(&e.request_id) {
                    let duration = u64::try_from(e.duration.as_millis()).unwrap_or(u64::MAX);
                    count(&mut state.current, p, &e.reply, duration);
                }
            }
            CommandEvent::Failed(e) => {
                state.pending.remove(&e.request_id);
            }
            _ => {}
        }
    }

    /// The command to follow, when it is one of the migration's.
    fn pending(&self, db: &str, name: &str, command: &Document) -> Option<Pending> {
        if name == "bulkWrite" {
            return self.bulk_write(command);
        }
        if db != self.database {
            return None;
        }
        let target = match name {
            "getMore" => command.get_str("collection").ok(),
            _ => command.get_str(name).ok(),
        };
        let collection = target.map(str::to_owned);
        if collection.as_ref().is_some_and(|c| self.own.contains(c)) {
            return None;
        }
        let indexes = if name == "createIndexes" {
            command
                .get_array("indexes")
                .map(|list| {
                    list.iter()
                        .filter_map(|i| i.as_document()?.get_str("name").ok().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        Some(Pending {
            name: name.to_owned(),
            collection,
            indexes,
            own_ops: 0,
            counted: true,
        })
    }

    /// A client-level `bulkWrite`: its namespaces are in `nsInfo`, its operations name them by
    /// position.
    fn bulk_write(&self, command: &Document) -> Option<Pending> {
        let prefix = format!("{}.", self.database);
        let own: Vec<bool> = command
            .get_array("nsInfo")
            .ok()?
            .iter()
            .map(|ns| {
                let ns = ns
                    .as_document()
                    .and_then(|d| d.get_str("ns").ok())
                    .unwrap_or("");
                match ns.strip_prefix(&prefix) {
                    Some(c) => self.own.contains(c),
                    None => true,
                }
            })
            .collect();
        let ops = command
            .get_array("ops")
            .map(Vec::as_slice)
            .unwrap_or_default();
        let target = |op: &Bson| {
            let op = op.as_document()?;
            ["insert", "update", "delete"]
                .iter()
                .find_map(|k| op.get(*k).and_then(Bson::as_i32))
                .and_then(|i| usize::try_from(i).ok())
        };
        let own_ops = ops
            .iter()
            .filter(|op| target(op).is_none_or(|i| own.get(i).copied().unwrap_or(true)))
            .count() as u64;
        Some(Pending {
            name: "bulkWrite".to_owned(),
            collection: None,
            indexes: Vec::new(),
            own_ops,
            counted: (own_ops as usize) < ops.len(),
        })
    }
}

fn count(c: &mut Counters, p: Pending, reply: &Document, duration_ms: u64) {
    if !p.counted {
        return;
    }
    let n = |key: &str| -> u64 {
        match reply.get(key) {
            Some(Bson::Int32(i)) => u64::try_from(*i).unwrap_or(0),
            Some(Bson::Int64(i)) => u64::try_from(*i).unwrap_or(0),
            Some(Bson::Double(f)) => *f as u64,
            _ => 0,
        }
    };
    if let Some(collection) = &p.collection {
        c.collections.insert(collection.clone());
    }
    match p.name.as_str() {
        "find" | "aggregate" | "getMore" => {
            let batch = reply.get_document("cursor").ok().and_then(|cursor| {
                cursor
                    .get_array("firstBatch")
                    .or_else(|_| cursor.get_array("nextBatch"))
                    .ok()
            });
            c.read += batch.map_or(0, |b| b.len() as u64);
            // An aggregation with $out or $merge writes; its reply does not say how much.
        }
        "insert" | "delete" => c.written += n("n"),
        "update" => {
            let upserted = reply.get_array("upserted").map_or(0, |u| u.len() as u64);
            c.written += n("nModified") + upserted;
        }
        "findAndModify" => {
            let found = reply.get("value").is_some_and(|v| !matches!(v, Bson::Null));
            let upserted = reply
                .get_document("lastErrorObject")
                .is_ok_and(|l| l.contains_key("upserted"));
            if found {
                c.read += 1;
            }
            if found || upserted {
                c.written += 1;
            }
        }
        "bulkWrite" => {
            let total = n("nInserted") + n("nModified") + n("nUpserted") + n("nDeleted");
            c.written += total.saturating_sub(p.own_ops);
        }
        "createIndexes" => c.index_builds.push(IndexBuild {
            collection: p.collection.unwrap_or_default(),
            indexes: p.indexes,
            duration_ms,
        }),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn monitor() -> Monitor {
        Monitor::new(
            "app",
            [
                "pymongo_migrate".to_owned(),
                "pymongo_migrate_lock".to_owned(),
            ],
        )
    }

    fn run(m: &Monitor, db: &str, name: &str, command: Document, reply: Document) {
        let p = m.pending(db, name, &command);
        if let Some(p) = p {
            count(&mut m.state.lock().unwrap().current, p, &reply, 7);
        }
    }

    #[test]
    fn reads_writes_and_index_builds_are_counted_for_the_migrations_collections() {
        let m = monitor();
        run(
            &m,
            "app",
            "find",
            doc! { "find": "stories" },
            doc! { "cursor": { "firstBatch": [{}, {}], "id": 5_i64 } },
        );
        run(
            &m,
            "app",
            "getMore",
            doc! { "getMore": 5_i64, "collection": "stories" },
            doc! { "cursor": { "nextBatch": [{}] } },
        );
        run(
            &m,
            "app",
            "update",
            doc! { "update": "stories" },
            doc! { "n": 3, "nModified": 2, "upserted": [{ "index": 0, "_id": 1 }] },
        );
        run(
            &m,
            "app",
            "delete",
            doc! { "delete": "pages" },
            doc! { "n": 4 },
        );
        run(
            &m,
            "app",
            "createIndexes",
            doc! { "createIndexes": "sections", "indexes": [{ "name": "slug_1", "key": { "slug": 1 } }] },
            doc! { "ok": 1 },
        );
        // The runner's own state write, and another database's command: not the migration's.
        run(
            &m,
            "app",
            "update",
            doc! { "update": "pymongo_migrate" },
            doc! { "n": 1, "nModified": 1 },
        );
        run(
            &m,
            "other",
            "insert",
            doc! { "insert": "stories" },
            doc! { "n": 9 },
        );
        let c = m.take();
        assert_eq!((c.read, c.written), (3, 7));
        assert_eq!(
            c.index_builds,
            [IndexBuild {
                collection: "sections".into(),
                indexes: vec!["slug_1".into()],
                duration_ms: 7
            }]
        );
        assert_eq!(
            c.collections.into_iter().collect::<Vec<_>>(),
            ["pages", "sections", "stories"]
        );
        assert_eq!(m.take().written, 0, "take starts afresh");
    }

    #[test]
    fn a_fenced_bulk_write_counts_only_the_migrations_operations() {
        let m = monitor();
        let command = doc! {
            "bulkWrite": 1,
            "nsInfo": [{ "ns": "app.pymongo_migrate_lock" }, { "ns": "app.items" }],
            "ops": [{ "update": 0 }, { "update": 1 }, { "update": 1 }],
        };
        run(
            &m,
            "admin",
            "bulkWrite",
            command,
            doc! { "nModified": 3, "nInserted": 0, "nUpserted": 0, "nDeleted": 0 },
        );
        let only_state = doc! { "bulkWrite": 1, "nsInfo": [{ "ns": "app.pymongo_migrate" }], "ops": [{ "update": 0 }] };
        run(
            &m,
            "admin",
            "bulkWrite",
            only_state,
            doc! { "nModified": 1 },
        );
        assert_eq!(m.take().written, 2);
    }
}
