//! Field Notes' seeded fixture, shared by the app's database tests.
#![allow(dead_code)]

use std::sync::Once;

use mongo_migrate::prelude::*;

/// The admin email every test uses.
pub const ADMIN_EMAIL: &str = "admin@field-notes.test";

/// Sets ADMIN_EMAIL once for the whole test binary (migration 0001 reads it).
pub fn admin_env() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::env::set_var("ADMIN_EMAIL", format!("  {}  ", ADMIN_EMAIL.to_uppercase()))
    });
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
