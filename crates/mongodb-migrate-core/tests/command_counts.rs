//! The commands `up`, `down` and `status` send, counted through the driver's command events:
//! at most the migration's own commands + 2 per migration, plus O(1) per run (fewer on the
//! `bulkWrite` path), and one query for `status`. Counts are deterministic, so they are exact.

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mongodb_migrate_core::bson::{doc, Document};
use mongodb_migrate_core::mongodb::event::command::CommandEvent;
use mongodb_migrate_core::mongodb::event::EventHandler;
use mongodb_migrate_core::mongodb::options::ClientOptions;
use mongodb_migrate_core::mongodb::{Client, Database};
use mongodb_migrate_core::testing::{test_database, test_server_uri};
use mongodb_migrate_core::{
    BoxFuture, DownOptions, DownTarget, Migration, MigrationResult, Migrator, WritePath,
};

/// Each migration's own work: one write.
fn set_v(db: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    Box::pin(async move {
        db.collection::<Document>("bench")
            .update_one(doc! { "_id": 0 }, doc! { "$inc": { "v": 1 } })
            .upsert(true)
            .await?;
        Ok(())
    })
}

fn plan_of(n: usize) -> &'static [Migration] {
    common::chain(n, "set_v", set_v)
}

/// The filters of the updates a command sends to the state collection (`pymongo_migrate`),
/// from a `bulkWrite`'s operations or an `update`'s statements.
fn state_filters(command: &Document) -> Vec<Document> {
    let docs = |key: &str| -> Vec<Document> {
        command
            .get_array(key)
            .map(|a| a.iter().filter_map(|b| b.as_document().cloned()).collect())
            .unwrap_or_default()
    };
    if command.get_str("update") == Ok("pymongo_migrate") {
        return docs("updates")
            .iter()
            .filter_map(|u| u.get_document("q").ok().cloned())
            .collect();
    }
    if command.contains_key("bulkWrite") {
        let state_ns: Vec<i32> = docs("nsInfo")
            .iter()
            .enumerate()
            .filter(|(_, ns)| {
                ns.get_str("ns")
                    .is_ok_and(|n| n.ends_with(".pymongo_migrate"))
            })
            .map(|(i, _)| i32::try_from(i).expect("index"))
            .collect();
        return docs("ops")
            .iter()
            .filter(|op| op.get_i32("update").is_ok_and(|i| state_ns.contains(&i)))
            .filter_map(|op| op.get_document("filter").ok().cloned())
            .collect();
    }
    Vec::new()
}

/// What a counting client saw.
type Seen = Arc<Mutex<Vec<String>>>;
type Filters = Arc<Mutex<Vec<Document>>>;

/// A client whose command names are recorded, and every state-collection update filter.
async fn counting(db_name: &str) -> (Database, Seen, Filters) {
    let seen = Seen::default();
    let filters = Filters::default();
    let sink = Arc::clone(&seen);
    let filter_sink = Arc::clone(&filters);
    let mut options = ClientOptions::parse(test_server_uri())
        .await
        .expect("options");
    options.command_event_handler = Some(EventHandler::callback(move |e: CommandEvent| {
        if let CommandEvent::Started(s) = e {
            sink.lock().expect("lock").push(s.command_name.clone());
            filter_sink
                .lock()
                .expect("lock")
                .extend(state_filters(&s.command));
        }
    }));
    let client = Client::with_options(options).expect("client");
    (client.database(db_name), seen, filters)
}

fn take(seen: &Mutex<Vec<String>>) -> Vec<String> {
    std::mem::take(&mut *seen.lock().expect("lock"))
}

fn bulk() -> bool {
    !std::env::var(WritePath::ENV).is_ok_and(|v| v.eq_ignore_ascii_case("separate"))
}

/// What every run sends first: judge the server (what it is, which commands it has), probe the
/// collections, read the server's clock, take the lock, read the state.
const RUN_START: [&str; 6] = [
    "hello",
    "listCommands",
    "aggregate",
    "hello",
    "update",
    "aggregate",
];

/// The state commands of a run over `n` migrations (each sending one own `update`).
fn expected(n: usize) -> Vec<String> {
    let mut e: Vec<&str> = RUN_START.to_vec();
    if bulk() {
        // One fenced bulkWrite between two migrations (the outcome of one and the start of the
        // next), one after the last.
        for _ in 0..n {
            e.extend(["bulkWrite", "update"]);
        }
        e.push("bulkWrite");
    } else {
        // Fence, then each write: start of the first; outcome (state, details) of each with
        // the start of the next; outcome of the last.
        // (`update` each, the migration's own included.)
        e.extend(["update", "update", "update"]);
        for _ in 1..n {
            e.extend(["update", "update", "update", "update", "update"]);
        }
        e.extend(["update", "update", "update"]);
        // That is own + 4 per migration: documented as the fallback's cost.
    }
    // Release.
    e.push("update");
    e.into_iter().map(str::to_owned).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn up_and_down_send_the_migrations_commands_plus_one_each_and_status_one_query() {
    let t = test_database("command_counts").await;
    let (db, seen, filters) = counting(t.name()).await;
    const N: usize = 6;
    let plan = plan_of(N);
    // A long lease: no heartbeat renewal (they depend on time) falls inside the run.
    let m = Migrator::new(db, plan).lease_ttl(Duration::from_secs(120));

    let report = m.up().await.expect("up");
    assert_eq!(report.steps.len(), N);
    let up = take(&seen);
    assert_eq!(up, expected(N), "up");
    let state_commands = up.len() - N;
    if bulk() {
        // Own + 1 per migration (its boundary bulkWrite), + 8 per run: judge the server (2),
        // probe, clock, take, read, the last outcome's bulkWrite, release.
        assert_eq!(state_commands, N + 8);
    }

    let status = m.status().await.expect("status");
    assert!(status.is_clean());
    assert_eq!(take(&seen), ["aggregate"], "status is one query");

    let report = m
        .down_with(&DownOptions {
            target: DownTarget::Zero,
            ..DownOptions::default()
        })
        .await
        .expect("down");
    assert_eq!(report.steps.len(), N);
    assert_eq!(take(&seen), expected(N), "down");

    // Shared documents are addressed by `_id`, never by `name` alone: pymongo-migrate keeps no
    // index on `name`, so that filter would scan the collection at every write.
    let filters = std::mem::take(&mut *filters.lock().expect("lock"));
    assert_eq!(
        filters.len(),
        2 * N,
        "one applied and one reverted write each: {filters:?}"
    );
    for f in &filters {
        assert_eq!(
            f.keys().map(String::as_str).collect::<Vec<_>>(),
            ["_id", "name"],
            "{f}"
        );
    }
    // The upgrade inserted each with the `_id` the downgrade then used.
    for (applied, reverted) in filters[..N].iter().zip(filters[N..].iter().rev()) {
        assert_eq!(applied, reverted);
    }

    // Nothing to do: O(1), no per-migration command.
    m.down().await.expect("down with nothing applied");
    let idle = take(&seen);
    assert_eq!(idle, [RUN_START.as_slice(), &["update"]].concat());
}

/// A backfill walks the collection with one cursor, a getMore per batch, and writes each batch
/// as one command: a fresh query per batch would scan and sort again where the key has no
/// index.
#[tokio::test]
async fn a_backfill_reads_with_one_cursor_and_writes_one_command_per_batch() {
    let t = test_database("counts_backfill").await;
    t.db.collection::<Document>("items")
        .insert_many((0..2500).map(|i| doc! { "_id": i, "n": i }))
        .await
        .expect("seed");
    let (db, seen, _) = counting(t.name()).await;
    let items = db.collection::<Document>("items");
    let report = mongodb_migrate_core::batch::backfill(&items, doc! {})
        .batch_size(1000)
        .update_each(|_| Some(doc! { "$set": { "f": 1 } }))
        .await
        .expect("backfill");
    assert_eq!((report.processed, report.batches), (2500, 3));
    let commands = take(&seen);
    let count = |name: &str| commands.iter().filter(|c| *c == name).count();
    assert_eq!((count("find"), count("getMore")), (1, 2), "{commands:?}");
    let writes = if bulk() {
        count("bulkWrite")
    } else {
        count("update")
    };
    assert_eq!(writes, 3, "{commands:?}");
    assert_eq!(
        t.db.collection::<Document>("items")
            .count_documents(doc! { "f": 1 })
            .await
            .expect("count"),
        2500
    );
}
