//! Renewing the lease before each state write costs one command: the server's clock is read
//! when the lock is taken, not again on every renewal.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mongodb_migrate_core::lock::LeaseLock;
use mongodb_migrate_core::mongodb::event::command::CommandEvent;
use mongodb_migrate_core::mongodb::event::EventHandler;
use mongodb_migrate_core::mongodb::options::ClientOptions;
use mongodb_migrate_core::mongodb::Client;
use mongodb_migrate_core::testing::{test_database, test_server_uri};

#[tokio::test(flavor = "multi_thread")]
async fn a_renewal_is_one_update_and_keeps_the_lease_with_the_server_clock() {
    let t = test_database("lock_round_trips").await;
    let commands = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&commands);
    let mut options = ClientOptions::parse(test_server_uri()).await.unwrap();
    options.command_event_handler = Some(EventHandler::callback(move |e: CommandEvent| {
        if let CommandEvent::Started(s) = e {
            seen.lock().unwrap().push(s.command_name.clone());
        }
    }));
    let client = Client::with_options(options).unwrap();
    let db = client.database(t.name());
    let lock = LeaseLock::new(&db, "pymongo_migrate", Duration::from_secs(30));
    lock.acquire(Duration::from_secs(5), |_| {}).await.unwrap();
    let before = lock.holder().await.unwrap().unwrap().expires_at.unwrap();
    commands.lock().unwrap().clear();

    tokio::time::sleep(Duration::from_millis(300)).await;
    lock.ensure_owned().await.unwrap();
    assert_eq!(*commands.lock().unwrap(), ["update"]);

    // The lease moved forward by about the time that passed, on the server's clock.
    let after = lock.holder().await.unwrap().unwrap().expires_at.unwrap();
    let moved = (after - before).num_milliseconds();
    assert!((250..2_000).contains(&moved), "moved {moved} ms");
    assert!(lock.release().await.unwrap());
}
