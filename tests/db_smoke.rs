//! The test database is real: connect, write, read back.
use mongodb_migrate::prelude::*;
use mongodb_migrate::testing::test_database;

#[tokio::test]
async fn connects_writes_and_reads_back() {
    let t = test_database("smoke").await;
    let notes = t.db.collection::<Document>("notes");
    let id = notes
        .insert_one(doc! { "text": "hello" })
        .await
        .unwrap()
        .inserted_id;
    let back = notes
        .find_one(doc! { "_id": &id })
        .await
        .unwrap()
        .expect("the document we wrote");
    assert_eq!(back.get_str("text").unwrap(), "hello");
    assert_eq!(notes.count_documents(doc! {}).await.unwrap(), 1);
}

#[tokio::test]
async fn each_test_gets_its_own_empty_database() {
    let a = test_database("iso").await;
    let b = test_database("iso").await;
    assert_ne!(a.name(), b.name());
    a.db.collection::<Document>("x")
        .insert_one(doc! {})
        .await
        .unwrap();
    assert_eq!(
        b.db.collection::<Document>("x")
            .count_documents(doc! {})
            .await
            .unwrap(),
        0
    );
    assert!(a.uri.ends_with(a.name()), "{}", a.uri);
}
