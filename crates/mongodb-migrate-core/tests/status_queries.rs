//! `status` reads the whole state in one query, whatever the plan's size (pymongo-migrate's
//! `show` issues one per migration).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use mongo_migrate_core::mongodb::event::command::CommandEvent;
use mongo_migrate_core::mongodb::event::EventHandler;
use mongo_migrate_core::mongodb::options::ClientOptions;
use mongo_migrate_core::mongodb::Client;
use mongo_migrate_core::testing::{test_database, test_server_uri};
use mongo_migrate_core::{Migration, Migrator, State};

fn plan_of(n: usize) -> &'static [Migration] {
    let migrations: Vec<Migration> = (1..=n)
        .map(|i| {
            let name: &'static str = Box::leak(format!("{i:04}_m").into_boxed_str());
            let deps: &'static [&'static str] = if i == 1 {
                &[]
            } else {
                let prev: &'static str = Box::leak(format!("{:04}_m", i - 1).into_boxed_str());
                Box::leak(vec![prev].into_boxed_slice())
            };
            Migration {
                name,
                dependencies: deps,
                description: "",
                checksum: "c",
                transactional: false,
                allowed: &[],
                irreversible: None,
                upgrade: common::noop,
                downgrade: common::noop,
            }
        })
        .collect();
    Box::leak(migrations.into_boxed_slice())
}

async fn reads_during_status(n: usize) -> usize {
    let t = test_database(&format!("status_queries_{n}")).await;
    let plan = plan_of(n);
    Migrator::new(t.db.clone(), plan)
        .up_with(&mongo_migrate_core::UpOptions {
            to: Some(plan[n / 2].name.to_owned()),
            ..Default::default()
        })
        .await
        .expect("up half");

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
    assert_eq!(status.in_state(State::Applied).count(), n / 2 + 1);
    finds.load(Ordering::SeqCst)
}

#[tokio::test(flavor = "multi_thread")]
async fn status_is_one_query_for_3_or_60_migrations() {
    let small = reads_during_status(3).await;
    let large = reads_during_status(60).await;
    assert_eq!(small, 1, "one aggregation over state, details and lock");
    assert_eq!(large, 1, "still one for 60 migrations (no getMore)");
}
