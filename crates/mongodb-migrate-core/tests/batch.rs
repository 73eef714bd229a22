//! Batches stream a collection with bounded memory and report progress to the runner.
use std::sync::{Arc, Mutex};

use mongodb_migrate_core::prelude::*;
use mongodb_migrate_core::testing::test_database;
use mongodb_migrate_core::{BoxFuture, Event, Migration, MigrationResult, Migrator, Observer};

const COUNT: i32 = 1_050;

async fn seed(db: &Database) {
    let docs: Vec<Document> = (0..COUNT)
        .rev()
        .map(|i| doc! { "_id": i, "n": i })
        .collect();
    db.collection::<Document>("items")
        .insert_many(docs)
        .await
        .unwrap();
}

#[tokio::test]
async fn every_matching_document_is_handed_over_once_in_id_order_and_in_bounded_batches() {
    let t = test_database("batch_order").await;
    seed(&t.db).await;
    let items = t.db.collection::<Document>("items");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sizes = Arc::new(Mutex::new(Vec::new()));
    let handed = batch::for_each_batch(&items, doc! { "n": { "$gte": 0 } }, 100, |docs| {
        let seen = Arc::clone(&seen);
        let sizes = Arc::clone(&sizes);
        async move {
            sizes.lock().unwrap().push(docs.len());
            seen.lock()
                .unwrap()
                .extend(docs.iter().map(|d| d.get_i32("_id").unwrap()));
            Ok(())
        }
    })
    .await
    .unwrap();
    assert_eq!(handed, COUNT as u64);
    assert_eq!(*seen.lock().unwrap(), (0..COUNT).collect::<Vec<_>>());
    let sizes = sizes.lock().unwrap().clone();
    assert_eq!(sizes.len(), 11);
    assert!(sizes[..10].iter().all(|s| *s == 100), "{sizes:?}");
    assert_eq!(sizes[10], 50);
}

#[tokio::test]
async fn an_error_stops_at_its_batch() {
    let t = test_database("batch_error").await;
    seed(&t.db).await;
    let items = t.db.collection::<Document>("items");
    let mut calls = 0;
    let err = batch::for_each_batch(&items, doc! {}, 300, |_| {
        calls += 1;
        let fail = calls == 2;
        async move {
            if fail {
                bail!("bad document");
            }
            Ok(())
        }
    })
    .await
    .unwrap_err();
    assert_eq!(err.to_string(), "bad document");
    assert_eq!(calls, 2);
    // Outside a run, progress reports go nowhere, harmlessly.
    progress::report(1, Some(2));
}

fn doubles(db: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    Box::pin(async move {
        let items = db.collection::<Document>("items");
        let filter = doc! { "doubled": { "$exists": false } };
        batch::for_each_batch(&items, filter, 250, |docs| {
            let items = items.clone();
            async move {
                let ids: Vec<Bson> = docs.iter().filter_map(|d| d.get("_id").cloned()).collect();
                items
                    .update_many(
                        doc! { "_id": { "$in": ids }, "doubled": { "$exists": false } },
                        doc! { "$set": { "doubled": true } },
                    )
                    .await?;
                Ok(())
            }
        })
        .await?;
        Ok(())
    })
}

fn noop(_: &Database) -> BoxFuture<'_, MigrationResult<()>> {
    Box::pin(async { Ok(()) })
}

static PLAN: [Migration; 1] = [Migration {
    name: "0001_double",
    dependencies: &[],
    description: "",
    checksum: "c",
    transactional: false,
    allowed: &[],
    irreversible: None,
    collections: &[],
    upgrade: doubles,
    downgrade: noop,
}];

#[derive(Default)]
struct Recorder(Mutex<Vec<(String, u64, Option<u64>)>>);

impl Observer for Recorder {
    fn on_event(&self, event: &Event<'_>) {
        if let Event::Progress { name, done, total } = *event {
            self.0.lock().unwrap().push((name.to_owned(), done, total));
        }
    }
}

#[tokio::test]
async fn the_runner_receives_the_progress_of_the_running_migration() {
    let t = test_database("batch_progress").await;
    seed(&t.db).await;
    let recorder = Arc::new(Recorder::default());
    Migrator::new(t.db.clone(), &PLAN)
        .observer(recorder.clone())
        .up()
        .await
        .unwrap();
    let items = t.db.collection::<Document>("items");
    assert_eq!(
        items
            .count_documents(doc! { "doubled": true })
            .await
            .unwrap(),
        COUNT as u64
    );
    let events = recorder.0.lock().unwrap().clone();
    let total = Some(COUNT as u64);
    let expected: Vec<(String, u64, Option<u64>)> = [0, 250, 500, 750, 1000, 1050]
        .into_iter()
        .map(|done| ("0001_double".to_owned(), done, total))
        .collect();
    assert_eq!(events, expected);
}
