//! `status` reads the whole state in one query, whatever the plan's size (pymongo-migrate's
//! `show` issues one per migration).
//!
//! The large case applies more migrations than a server returns in a cursor's first batch (101
//! documents by default), in both the state and the details collections, so a read that
//! fetched the documents one by one would need a `getMore`, which is counted here.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use mongodb_migrate_core::mongodb::event::command::CommandEvent;
use mongodb_migrate_core::mongodb::event::EventHandler;
use mongodb_migrate_core::mongodb::options::ClientOptions;
use mongodb_migrate_core::mongodb::Client;
use mongodb_migrate_core::testing::{test_database, test_server_uri};
use mongodb_migrate_core::{Migration, Migrator, State};

fn plan_of(n: usize) -> &'static [Migration] {
    common::chain(n, "m", common::noop)
}

/// Documents a server returns in a cursor's first batch when the command sets no `batchSize`.
const DEFAULT_FIRST_BATCH: usize = 101;

/// Applies the first `applied` migrations of a plan of `n`, then counts the reads (`find`,
/// `aggregate`, `getMore`, `count`) that `status` issues.
async fn reads_during_status(n: usize, applied: usize) -> usize {
    assert!(0 < applied && applied <= n);
    let t = test_database(&format!("status_queries_{n}")).await;
    let plan = plan_of(n);
    Migrator::new(t.db.clone(), plan)
        .up_with(&mongodb_migrate_core::UpOptions {
            to: Some(plan[applied - 1].name.to_owned()),
            ..Default::default()
        })
        .await
        .expect("up to the last one to apply");
    // What the state read has to fetch: one state and one details document per applied
    // migration (counted on the test's own client, before the counting one exists).
    for collection in [
        mongodb_migrate_core::DEFAULT_COLLECTION.to_owned(),
        format!("{}_details", mongodb_migrate_core::DEFAULT_COLLECTION),
    ] {
        let stored =
            t.db.collection::<mongodb_migrate_core::bson::Document>(&collection)
                .count_documents(mongodb_migrate_core::bson::doc! {})
                .await
                .expect("count");
        assert_eq!(stored, applied as u64, "{collection}");
    }

    let finds = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&finds);
    let mut options = ClientOptions::parse(test_server_uri())
        .await
        .expect("options");
    options.command_event_handler = Some(EventHandler::callback(move |e: CommandEvent| {
        if let CommandEvent::Started(s) = e {
            if matches!(
                s.command_name.as_str(),
                "find" | "aggregate" | "getMore" | "count"
            ) {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        }
    }));
    let client = Client::with_options(options).expect("client");
    let status = Migrator::new(client.database(t.name()), plan)
        .status()
        .await
        .expect("status");
    assert_eq!(status.in_state(State::Applied).count(), applied);
    assert_eq!(status.in_state(State::Pending).count(), n - applied);
    finds.load(Ordering::SeqCst)
}

#[tokio::test(flavor = "multi_thread")]
async fn status_is_one_query_for_3_or_160_migrations() {
    let small = reads_during_status(3, 2).await;
    // 130 applied: 130 state and 130 details documents, each past a first batch.
    let applied = 130;
    assert!(applied > DEFAULT_FIRST_BATCH);
    let large = reads_during_status(160, applied).await;
    assert_eq!(small, 1, "one aggregation over state, details and lock");
    assert_eq!(
        large, 1,
        "still one for {applied} applied migrations, past a first batch (no getMore)"
    );
}
