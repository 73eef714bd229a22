//! The data effects of each Field Notes migration on the seeded fixture.
use crate::support;

use mongodb_migrate::prelude::*;
use mongodb_migrate::testing::{test_database, DbSnapshot};
use mongodb_migrate::Migration;

fn migration(name: &str) -> &'static Migration {
    field_notes::MIGRATIONS
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("{name} is not in the plan"))
}

async fn up(db: &Database, name: &str) {
    (migration(name).upgrade)(db)
        .await
        .unwrap_or_else(|e| panic!("{name} upgrade: {e:#}"));
}

async fn down(db: &Database, name: &str) {
    (migration(name).downgrade)(db)
        .await
        .unwrap_or_else(|e| panic!("{name} downgrade: {e:#}"));
}

async fn get(db: &Database, collection: &str, id: &str) -> Document {
    db.collection::<Document>(collection)
        .find_one(doc! { "_id": id })
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{collection} {id} is missing"))
}

async fn snapshot(db: &Database) -> DbSnapshot {
    DbSnapshot::take(db, &[]).await.unwrap()
}

async fn admin(db: &Database) -> Document {
    db.collection::<Document>("users")
        .find_one(doc! { "email": support::ADMIN_EMAIL })
        .await
        .unwrap()
        .expect("the admin user")
}

#[tokio::test]
async fn admin_user_is_created_from_the_trimmed_lowercased_email() {
    support::admin_env();
    let t = test_database("m0001_create").await;
    support::seed(&t.db).await;
    up(&t.db, "0001_create_admin_user").await;
    let admin = admin(&t.db).await;
    assert_eq!(admin.get_str("role").unwrap(), "admin");
    assert!(admin.get_datetime("created_at").is_ok(), "{admin}");
    let users = t.db.collection::<Document>("users");
    assert_eq!(users.count_documents(doc! {}).await.unwrap(), 2);

    down(&t.db, "0001_create_admin_user").await;
    assert_eq!(
        users
            .count_documents(doc! { "email": support::ADMIN_EMAIL })
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        users.count_documents(doc! {}).await.unwrap(),
        1,
        "the seeded author stays"
    );
}

#[tokio::test]
async fn an_existing_user_with_the_admin_email_is_left_alone_both_ways() {
    support::admin_env();
    let t = test_database("m0001_existing").await;
    let users = t.db.collection::<Document>("users");
    users
        .insert_one(doc! { "_id": "u1", "email": support::ADMIN_EMAIL, "role": "editor" })
        .await
        .unwrap();
    let before = snapshot(&t.db).await;
    up(&t.db, "0001_create_admin_user").await;
    assert_eq!(before.diff(&snapshot(&t.db).await), vec![]);
    down(&t.db, "0001_create_admin_user").await;
    assert_eq!(
        get(&t.db, "users", "u1").await.get_str("role").unwrap(),
        "editor"
    );
}

#[tokio::test]
async fn content_without_an_author_is_attributed_to_the_admin_and_restored_exactly() {
    support::admin_env();
    let t = test_database("m0002").await;
    let seed = support::seed(&t.db).await;
    up(&t.db, "0001_create_admin_user").await;
    let admin_id = admin(&t.db).await.get_object_id("_id").unwrap();
    let before = snapshot(&t.db).await;
    up(&t.db, "0002_add_user_id_to_content").await;

    for (coll, id) in [
        ("stories", "s-orphan"),
        ("stories", "s-null"),
        ("pages", "p-about"),
        ("pages", "p-press"),
    ] {
        assert_eq!(
            get(&t.db, coll, id).await.get_object_id("user_id").unwrap(),
            admin_id,
            "{id}"
        );
    }
    for (coll, id) in [("stories", "s-authored"), ("pages", "p-projects")] {
        assert_eq!(
            get(&t.db, coll, id).await.get_object_id("user_id").unwrap(),
            seed.author,
            "{id}"
        );
    }

    // Content written between upgrade and downgrade is not the migration's to undo.
    let stories = t.db.collection::<Document>("stories");
    stories
        .insert_one(doc! { "_id": "s-new", "title": "Later", "user_id": admin_id })
        .await
        .unwrap();
    down(&t.db, "0002_add_user_id_to_content").await;
    assert!(!get(&t.db, "stories", "s-orphan")
        .await
        .contains_key("user_id"));
    assert_eq!(
        get(&t.db, "stories", "s-null").await.get("user_id"),
        Some(&Bson::Null)
    );
    assert_eq!(
        get(&t.db, "stories", "s-new")
            .await
            .get_object_id("user_id")
            .unwrap(),
        admin_id
    );
    stories.delete_one(doc! { "_id": "s-new" }).await.unwrap();
    assert_eq!(before.diff(&snapshot(&t.db).await), vec![]);
}

#[tokio::test]
async fn without_an_admin_content_is_left_as_it_is() {
    support::admin_env();
    let t = test_database("m0002_noadmin").await;
    support::seed(&t.db).await;
    let before = snapshot(&t.db).await;
    up(&t.db, "0002_add_user_id_to_content").await;
    assert_eq!(before.diff(&snapshot(&t.db).await), vec![]);
}

#[tokio::test]
async fn sections_are_seeded_around_an_existing_blog_section() {
    support::admin_env();
    let t = test_database("m0003").await;
    support::seed(&t.db).await;
    up(&t.db, "0003_seed_initial_sections").await;
    let sections = t.db.collection::<Document>("sections");
    let all: Vec<Document> = sections
        .find(doc! {})
        .sort(doc! { "order": 1 })
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let slugs: Vec<(&str, &str, i32)> = all
        .iter()
        .map(|s| {
            (
                s.get_str("slug").unwrap(),
                s.get_str("title").unwrap(),
                s.get_i32("order").unwrap(),
            )
        })
        .collect();
    assert_eq!(
        slugs,
        [
            ("about", "About", 2),
            ("projects", "Projects", 3),
            ("contact", "Contact", 4),
            ("blog", "The Blog", 7)
        ]
    );
    let indexes = sections.list_index_names().await.unwrap();
    assert!(
        indexes.contains(&"slug_unique__0003_seed_initial_sections".to_owned()),
        "{indexes:?}"
    );
    let dup = sections
        .insert_one(doc! { "slug": "about" })
        .await
        .unwrap_err();
    assert!(
        dup.to_string().contains("11000") || dup.to_string().contains("duplicate"),
        "{dup}"
    );

    down(&t.db, "0003_seed_initial_sections").await;
    let left: Vec<Document> = sections
        .find(doc! {})
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].get_str("_id").unwrap(), "pre-blog");
    assert_eq!(sections.list_index_names().await.unwrap(), ["_id_"]);
}

#[tokio::test]
async fn an_existing_unique_slug_index_is_kept_and_never_dropped() {
    support::admin_env();
    let t = test_database("m0003_index").await;
    let sections = t.db.collection::<Document>("sections");
    let index = mongodb_migrate::mongodb::IndexModel::builder()
        .keys(doc! { "slug": 1 })
        .options(
            mongodb_migrate::mongodb::options::IndexOptions::builder()
                .name("my_slug".to_owned())
                .unique(true)
                .build(),
        )
        .build();
    sections.create_index(index).await.unwrap();
    up(&t.db, "0003_seed_initial_sections").await;
    let mut names = sections.list_index_names().await.unwrap();
    names.sort();
    assert_eq!(names, ["_id_", "my_slug"]);
    down(&t.db, "0003_seed_initial_sections").await;
    let mut names = sections.list_index_names().await.unwrap();
    names.sort();
    assert_eq!(names, ["_id_", "my_slug"]);
    assert_eq!(sections.count_documents(doc! {}).await.unwrap(), 0);
}

#[tokio::test]
async fn section_ids_are_backfilled_only_where_missing_and_restored_exactly() {
    support::admin_env();
    let t = test_database("m0004").await;
    let seed = support::seed(&t.db).await;
    for name in [
        "0001_create_admin_user",
        "0002_add_user_id_to_content",
        "0003_seed_initial_sections",
    ] {
        up(&t.db, name).await;
    }
    let section = |slug: &'static str| {
        let db = t.db.clone();
        async move {
            db.collection::<Document>("sections")
                .find_one(doc! { "slug": slug })
                .await
                .unwrap()
                .unwrap()
                .get("_id")
                .cloned()
                .unwrap()
        }
    };
    let before = snapshot(&t.db).await;
    up(&t.db, "0004_backfill_section_id").await;

    for id in ["s-orphan", "s-null", "s-authored"] {
        assert_eq!(
            get(&t.db, "stories", id)
                .await
                .get_str("section_id")
                .unwrap(),
            "pre-blog",
            "{id}"
        );
    }
    assert_eq!(
        get(&t.db, "stories", "s-filed")
            .await
            .get_object_id("section_id")
            .unwrap(),
        seed.editor_section
    );
    assert_eq!(
        get(&t.db, "pages", "p-about").await.get("section_id"),
        Some(&section("about").await)
    );
    assert_eq!(
        get(&t.db, "pages", "p-contact").await.get("section_id"),
        Some(&section("contact").await)
    );
    assert_eq!(
        get(&t.db, "pages", "p-projects").await.get("section_id"),
        Some(&section("projects").await)
    );
    assert!(
        !get(&t.db, "pages", "p-press")
            .await
            .contains_key("section_id"),
        "unknown slug is skipped"
    );
    assert_eq!(
        get(&t.db, "pages", "p-filed")
            .await
            .get_object_id("section_id")
            .unwrap(),
        seed.editor_section
    );

    down(&t.db, "0004_backfill_section_id").await;
    assert_eq!(
        get(&t.db, "pages", "p-contact").await.get("section_id"),
        Some(&Bson::Null)
    );
    assert_eq!(before.diff(&snapshot(&t.db).await), vec![]);
}

/// The markers are a stored format: databases carry them between releases, and a downgrade
/// reads them back. Each records what the migration found and what it wrote.
#[tokio::test]
async fn markers_record_what_was_there_and_what_was_written() {
    support::admin_env();
    let t = test_database("m_markers").await;
    support::seed(&t.db).await;
    for name in [
        "0001_create_admin_user",
        "0002_add_user_id_to_content",
        "0003_seed_initial_sections",
    ] {
        up(&t.db, name).await;
    }
    let marker = |name: &str| mongodb_migrate::markers::marker_field(name);
    let admin = admin(&t.db).await;
    let admin_id = admin.get_object_id("_id").unwrap();
    let m0002 = marker("0002_add_user_id_to_content");
    assert_eq!(
        get(&t.db, "stories", "s-orphan")
            .await
            .get_document(&m0002)
            .unwrap(),
        &doc! { "prior": "absent", "wrote": admin_id }
    );
    assert_eq!(
        get(&t.db, "stories", "s-null")
            .await
            .get_document(&m0002)
            .unwrap(),
        &doc! { "prior": "null", "wrote": admin_id }
    );
    assert!(
        !get(&t.db, "stories", "s-authored")
            .await
            .contains_key(&m0002),
        "untouched, unmarked"
    );
    assert_eq!(
        admin
            .get_document(marker("0001_create_admin_user"))
            .unwrap(),
        &doc! { "created": {
            "email": support::ADMIN_EMAIL,
            "role": "admin",
            "created_at": admin.get_datetime("created_at").unwrap(),
        } }
    );
    let about =
        t.db.collection::<Document>("sections")
            .find_one(doc! { "slug": "about" })
            .await
            .unwrap()
            .unwrap();
    assert_eq!(
        about
            .get_document(marker("0003_seed_initial_sections"))
            .unwrap(),
        &doc! { "created": { "slug": "about", "title": "About", "order": 2 } }
    );
}
