//! Field Notes' seeded fixture, shared by the app's database tests.
#![allow(dead_code)]

use std::sync::Once;

use mongodb_migrate::prelude::*;

/// The admin email every test uses.
pub const ADMIN_EMAIL: &str = "admin@field-notes.test";

/// Sets ADMIN_EMAIL once for the whole test binary (migration 0001 reads it).
pub fn admin_env() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::env::set_var("ADMIN_EMAIL", format!("  {}  ", ADMIN_EMAIL.to_uppercase()))
    });
}

/// The user the application reassigns content to ([`app_writes`]).
pub fn editor() -> ObjectId {
    ObjectId::parse_str("65a0000000000000000000ed").expect("a valid ObjectId")
}

/// Ids of the seeded documents, for assertions.
pub struct Seed {
    pub author: ObjectId,
    pub editor_section: ObjectId,
}

/// Real-looking data that exercises every branch of 0001–0004:
/// - users: one existing non-admin author;
/// - sections: a pre-existing `blog` section (with its own title and order);
/// - stories: with and without `user_id` (one explicitly null), with and without `section_id`;
/// - pages: `about` and `contact` without ids, `projects` with a `user_id`, a page whose slug
///   matches no section (`press`), and one with a `section_id` already set.
pub async fn seed(db: &Database) -> Seed {
    let author = ObjectId::new();
    let editor_section = ObjectId::new();
    db.collection::<Document>("users")
        .insert_one(doc! { "_id": author, "email": "writer@field-notes.test", "role": "author", "created_at": DateTime::from_millis(1_700_000_000_000) })
        .await
        .unwrap();
    db.collection::<Document>("sections")
        .insert_one(doc! { "_id": "pre-blog", "slug": "blog", "title": "The Blog", "order": 7 })
        .await
        .unwrap();
    db.collection::<Document>("stories")
        .insert_many([
            doc! { "_id": "s-orphan", "title": "No author" },
            doc! { "_id": "s-null", "title": "Null author", "user_id": null },
            doc! { "_id": "s-authored", "title": "By the author", "user_id": author },
            doc! { "_id": "s-filed", "title": "Filed elsewhere", "user_id": author, "section_id": editor_section },
        ])
        .await
        .unwrap();
    db.collection::<Document>("pages")
        .insert_many([
            doc! { "_id": "p-about", "slug": "about", "title": "About" },
            doc! { "_id": "p-contact", "slug": "contact", "title": "Contact", "section_id": null },
            doc! { "_id": "p-projects", "slug": "projects", "title": "Projects", "user_id": author },
            doc! { "_id": "p-press", "slug": "press", "title": "Press kit" },
            doc! { "_id": "p-filed", "slug": "about", "title": "About (old)", "section_id": editor_section },
        ])
        .await
        .unwrap();
    Seed {
        author,
        editor_section,
    }
}

/// What Field Notes itself writes while migrations are applied, for the round-trip harness's
/// interleaved check (`app_writes = support::app_writes`): it runs after every migration's
/// upgrade, on whatever that migration left, so each write is guarded by the data it needs and
/// is a no-op the second time.
///
/// - a user of its own, and a story of its own (inserts the downgrades must keep);
/// - reassigns `s-orphan` to that user once a migration gave it an author (the case:
///   a value a migration wrote, changed by the app);
/// - edits `s-null`'s title (a field no migration writes, beside one that 0002 and 0004 do);
/// - renames the Blog section (created by 0003 on an empty database; the seeded one otherwise);
/// - adds a section of its own and moves `p-contact` there once 0004 filed it;
/// - deletes `p-press` once 0002 attributed it.
pub async fn app_writes(db: &Database) {
    let editor = editor();
    let users = db.collection::<Document>("users");
    let stories = db.collection::<Document>("stories");
    let sections = db.collection::<Document>("sections");
    let pages = db.collection::<Document>("pages");
    users
        .update_one(
            doc! { "_id": editor },
            doc! { "$setOnInsert": { "email": "editor@field-notes.test", "role": "editor", "created_at": DateTime::from_millis(1_700_000_100_000) } },
        )
        .upsert(true)
        .await
        .expect("the app adds an editor");
    stories
        .update_one(
            doc! { "_id": "s-app" },
            doc! { "$setOnInsert": { "title": "Written after the upgrade", "user_id": editor } },
        )
        .upsert(true)
        .await
        .expect("the app writes a story");
    stories
        .update_one(
            doc! { "_id": "s-orphan", "user_id": { "$ne": null } },
            doc! { "$set": { "user_id": editor } },
        )
        .await
        .expect("the app reassigns s-orphan");
    stories
        .update_one(
            doc! { "_id": "s-null" },
            doc! { "$set": { "title": "Null author, edited" } },
        )
        .await
        .expect("the app edits s-null's title");
    sections
        .update_one(
            doc! { "slug": "blog" },
            doc! { "$set": { "title": "Field Notes" } },
        )
        .await
        .expect("the app renames the Blog section");
    sections
        .update_one(
            doc! { "_id": "app-news" },
            doc! { "$setOnInsert": { "slug": "news", "title": "News", "order": 9 } },
        )
        .upsert(true)
        .await
        .expect("the app adds a section");
    pages
        .update_one(
            doc! { "_id": "p-contact", "section_id": { "$ne": null } },
            doc! { "$set": { "section_id": "app-news" } },
        )
        .await
        .expect("the app moves p-contact");
    pages
        .delete_one(doc! { "_id": "p-press", "user_id": { "$ne": null } })
        .await
        .expect("the app deletes p-press");
}
