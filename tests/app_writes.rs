//! A downgrade after the application wrote, through the real `migrate` binary: what the app
//! wrote since `up` survives `down --to zero`, what the migrations wrote and nobody changed is
//! undone exactly, and every document left is reported in the run's output and in the
//! migration's details record (`notes`).
use crate::cli_common;
use crate::support;

use assert_cmd::Command;
use cli_common::{stderr, stdout};
use mongodb_migrate::markers::marker_field;
use mongodb_migrate::prelude::*;
use mongodb_migrate::testing::{state_collections, test_database, DbSnapshot};

const M0002: &str = "0002_add_user_id_to_content";
const M0003: &str = "0003_seed_initial_sections";
const M0004: &str = "0004_backfill_section_id";

fn migrate(uri: &str) -> Command {
    let mut cmd = Command::cargo_bin("migrate").unwrap();
    cmd.env("MONGO_URI", uri)
        .env("NO_COLOR", "1")
        .env("ADMIN_EMAIL", support::ADMIN_EMAIL)
        .env_remove("MONGO_DATABASE")
        .env_remove("MONGO_MIGRATE_COLLECTION")
        // Never pick up a developer's .env.
        .current_dir(std::env::temp_dir());
    cmd
}

/// Runs `migrate args`, which must succeed; returns what it printed (stdout, then stderr).
fn run(uri: &str, args: &[&str]) -> String {
    let out = migrate(uri).args(args).output().unwrap();
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(out.status.success(), "migrate {args:?}:\n{all}");
    all
}

/// The notes the last run of `migration` left in its details record.
async fn recorded_notes(db: &Database, migration: &str) -> Vec<String> {
    let details = db
        .collection::<Document>("pymongo_migrate_details")
        .find_one(doc! { "_id": migration })
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no details record for {migration}"));
    match details.get_array("notes") {
        Ok(notes) => notes
            .iter()
            .map(|n| n.as_str().expect("a note is a string").to_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Asserts `note` is in the run's output and in `migration`'s details record.
async fn assert_reported(db: &Database, output: &str, migration: &str, note: &str) {
    assert!(output.contains(note), "not in the output: {note}\n{output}");
    let recorded = recorded_notes(db, migration).await;
    assert!(
        recorded.iter().any(|n| n == note),
        "not in {migration}'s details record: {note}\n{recorded:#?}"
    );
}

async fn snapshot(db: &Database) -> DbSnapshot {
    DbSnapshot::take(db, &state_collections("pymongo_migrate"))
        .await
        .unwrap()
}

async fn section_id(db: &Database, slug: &str) -> Bson {
    db.collection::<Document>("sections")
        .find_one(doc! { "slug": slug })
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no {slug} section"))
        .get("_id")
        .cloned()
        .unwrap()
}

/// The setup: two stories, `up`, the app reassigns story 1, `down --to zero`.
#[tokio::test]
async fn a_story_reassigned_after_up_keeps_its_new_author() {
    let t = test_database("aw_reassigned").await;
    let stories = t.db.collection::<Document>("stories");
    stories
        .insert_many([
            doc! { "_id": 1, "title": "First" },
            doc! { "_id": 2, "title": "Second" },
        ])
        .await
        .unwrap();
    let before = snapshot(&t.db).await;
    run(&t.uri, &["up"]);

    let other = ObjectId::new();
    stories
        .update_one(doc! { "_id": 1 }, doc! { "$set": { "user_id": other } })
        .await
        .unwrap();
    let down = run(&t.uri, &["down", "--to", "zero"]);

    // Exactly the app's write is left; story 2's user_id, set by 0002, is gone.
    let diff: Vec<String> = before
        .diff(&snapshot(&t.db).await)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        diff,
        [format!(
            "stories: document _id {{\"$numberInt\":\"1\"}}, field `user_id`: before <absent>, \
             after {{\"$oid\":\"{other}\"}}"
        )]
    );
    assert_reported(
        &t.db,
        &down,
        M0002,
        "0002_add_user_id_to_content: 1 document in stories changed since it was applied; \
         left as it is (`user_id` no longer holds the value the migration wrote)",
    )
    .await;
}

#[tokio::test]
async fn a_renamed_blog_section_is_kept_and_the_note_says_so() {
    let t = test_database("aw_renamed").await;
    t.db.collection::<Document>("stories")
        .insert_one(doc! { "_id": 1, "title": "First" })
        .await
        .unwrap();
    let before = snapshot(&t.db).await;
    run(&t.uri, &["up"]);
    let sections = t.db.collection::<Document>("sections");
    let blog = section_id(&t.db, "blog").await;
    sections
        .update_one(
            doc! { "_id": &blog },
            doc! { "$set": { "title": "Field Notes" } },
        )
        .await
        .unwrap();
    let down = run(&t.uri, &["down", "--to", "zero"]);

    let kept: Vec<Document> = sections
        .find(doc! {})
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        kept,
        [doc! { "_id": &blog, "slug": "blog", "title": "Field Notes", "order": 1 }],
        "the renamed Blog stays, as the app left it and without 0003's marker; the others go"
    );
    // Nothing else is left: the story lost the section_id 0004 gave it, and its user_id; the
    // sections collection, new since, lives on with the Blog section.
    let diff: Vec<String> = before
        .diff(&snapshot(&t.db).await)
        .iter()
        .map(|d| format!("{}: {}", d.collection, d.item))
        .collect();
    assert_eq!(
        diff,
        [
            "sections: index _id_".to_owned(),
            format!(
                "sections: document _id {}",
                mongodb_migrate::testing::id_key(&doc! { "_id": &blog })
            )
        ]
    );
    assert_reported(
        &t.db,
        &down,
        M0003,
        "0003_seed_initial_sections: 1 document in sections changed since it was created; \
         left as it is",
    )
    .await;
}

#[tokio::test]
async fn a_section_a_story_created_after_up_points_to_is_left_in_place() {
    let t = test_database("aw_referenced").await;
    let before = snapshot(&t.db).await;
    run(&t.uri, &["up"]);
    let about = section_id(&t.db, "about").await;
    let stories = t.db.collection::<Document>("stories");
    stories
        .insert_one(doc! { "_id": "s-later", "title": "About us, again", "section_id": &about })
        .await
        .unwrap();
    let down = run(&t.uri, &["down", "--to", "zero"]);

    let sections = t.db.collection::<Document>("sections");
    let left = sections.distinct("_id", doc! {}).await.unwrap();
    assert_eq!(
        left,
        vec![about.clone()],
        "only the referenced section stays"
    );
    let story = stories
        .find_one(doc! { "_id": "s-later" })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(story.get("section_id"), Some(&about), "{story}");
    assert_reported(
        &t.db,
        &down,
        M0003,
        "0003_seed_initial_sections: 1 document in sections is still referenced \
         (from stories.section_id by 1 document); left in place",
    )
    .await;

    // It keeps its marker: once nothing points at it, the next downgrade removes it.
    stories.delete_one(doc! { "_id": "s-later" }).await.unwrap();
    run(&t.uri, &["up"]);
    run(&t.uri, &["down", "--to", "zero"]);
    assert_eq!(before.diff(&snapshot(&t.db).await), vec![]);
    assert_eq!(recorded_notes(&t.db, M0003).await, Vec::<String>::new());
}

/// A page the app rewrote from its model (`replace_one` without the `_migrated_by_*` fields)
/// cannot be told from one that held those values before: the markers are gone, so 0002 and
/// 0004 keep their values on it and cannot count it (documented in the README). What the
/// design does see is the reference the page still holds: 0003 leaves the About section.
#[tokio::test]
async fn a_page_rewritten_without_its_markers_keeps_their_values() {
    let t = test_database("aw_rewritten").await;
    support::seed(&t.db).await;
    run(&t.uri, &["up"]);
    let pages = t.db.collection::<Document>("pages");
    let page = pages
        .find_one(doc! { "_id": "p-about" })
        .await
        .unwrap()
        .unwrap();
    let (user_id, section) = (
        page.get("user_id").cloned(),
        page.get("section_id").cloned(),
    );
    assert!(page.contains_key(marker_field(M0002)), "{page}");
    // The app's model knows its own fields only.
    let model: Document = page
        .into_iter()
        .filter(|(k, _)| !k.starts_with("_migrated_by_"))
        .collect();
    pages
        .replace_one(doc! { "_id": "p-about" }, model)
        .await
        .unwrap();
    let down = run(&t.uri, &["down", "--to", "zero"]);

    let page = pages
        .find_one(doc! { "_id": "p-about" })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(page.get("user_id").cloned(), user_id, "{page}");
    assert_eq!(page.get("section_id").cloned(), section, "{page}");
    for migration in [M0002, M0004] {
        let notes = recorded_notes(&t.db, migration).await;
        assert!(
            notes.iter().all(|n| !n.contains(" in pages ")),
            "{migration} cannot see the rewritten page: {notes:#?}"
        );
    }
    assert_reported(
        &t.db,
        &down,
        M0003,
        "0003_seed_initial_sections: 1 document in sections is still referenced \
         (from pages.section_id by 1 document); left in place",
    )
    .await;
    // The other pages, untouched by the app, are restored exactly.
    let contact = pages
        .find_one(doc! { "_id": "p-contact" })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        contact,
        doc! { "_id": "p-contact", "slug": "contact", "title": "Contact", "section_id": null }
    );
}

/// A database migrated before markers recorded values: its markers are `"absent"`, `"null"` and
/// `true`, which say nothing of what was written. The downgrade cannot tell the app's later
/// writes apart, so it leaves those documents, markers included, and says how to find them.
#[tokio::test]
async fn old_format_markers_are_left_with_a_note() {
    let t = test_database("aw_old_markers").await;
    support::seed(&t.db).await;
    run(&t.uri, &["up"]);
    // Rewrite today's markers the way the previous version wrote them.
    for (collection, migration) in [
        ("stories", M0002),
        ("pages", M0002),
        ("stories", M0004),
        ("pages", M0004),
    ] {
        let marker = marker_field(migration);
        for prior in ["absent", "null"] {
            t.db.collection::<Document>(collection)
                .update_many(
                    doc! { format!("{marker}.prior"): prior },
                    doc! { "$set": { &marker: prior } },
                )
                .await
                .unwrap();
        }
    }
    for (collection, migration) in [("sections", M0003), ("users", "0001_create_admin_user")] {
        let marker = marker_field(migration);
        t.db.collection::<Document>(collection)
            .update_many(
                doc! { &marker: { "$exists": true } },
                doc! { "$set": { &marker: true } },
            )
            .await
            .unwrap();
    }
    let migrated = snapshot(&t.db).await;
    let down = run(&t.uri, &["down", "--to", "zero"]);

    // Only 0003's index goes: it is identified by its name, not by a marker.
    let diff: Vec<String> = migrated
        .diff(&snapshot(&t.db).await)
        .iter()
        .map(|d| d.item.clone())
        .collect();
    assert_eq!(diff, ["index slug_unique__0003_seed_initial_sections"]);
    assert_reported(
        &t.db,
        &down,
        M0002,
        "0002_add_user_id_to_content: 2 documents in stories have an old-format marker, which \
         does not record the value the migration wrote, so a later change to `user_id` cannot \
         be told; left as they are, marker included (find them with \
         { \"_migrated_by_0002_add_user_id_to_content\": { \"$in\": [\"absent\", \"null\"] } })",
    )
    .await;
    assert_reported(
        &t.db,
        &down,
        M0003,
        "0003_seed_initial_sections: 3 documents in sections have an old-format marker, which \
         does not record what the migration inserted, so a later change cannot be told; left \
         as they are, marker included (find them with \
         {\"_migrated_by_0003_seed_initial_sections\": true})",
    )
    .await;
}

/// `section_id`s the app set itself, on stories it wrote after `up`, are the app's: 0004's
/// downgrade restores the rest and says nothing about those.
#[tokio::test]
async fn values_the_app_wrote_on_its_own_documents_are_not_the_migrations() {
    let t = test_database("aw_own_docs").await;
    support::seed(&t.db).await;
    run(&t.uri, &["up"]);
    let blog = section_id(&t.db, "blog").await;
    t.db.collection::<Document>("stories")
        .insert_one(doc! { "_id": "s-app", "title": "Later", "section_id": &blog })
        .await
        .unwrap();
    let down = run(&t.uri, &["down", "--steps", "1"]);
    assert!(!down.contains("note:"), "{down}");
    assert_eq!(recorded_notes(&t.db, M0004).await, Vec::<String>::new());
    let stories = t.db.collection::<Document>("stories");
    assert_eq!(
        stories
            .count_documents(doc! { "section_id": &blog })
            .await
            .unwrap(),
        1,
        "only the app's story keeps the Blog section"
    );
}
