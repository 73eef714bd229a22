//! The analyzer's unit tests: bodies in, finding ids out.

use super::analyze;
use crate::finding::FindingKind;

/// The ids found in a migration with these bodies (and extra items).
fn found(items: &str) -> Vec<&'static str> {
    let text = format!(
        "use mongodb_migrate::prelude::*;\npub const NAME: &str = \"0001_a\";\npub const DEPENDENCIES: &[&str] = &[];\n{items}\n"
    );
    let file = syn::parse_file(&text).expect("valid Rust");
    analyze(&file, text.contains("TRANSACTIONAL"))
        .findings
        .into_iter()
        .map(|f| f.kind.id())
        .collect()
}

fn bodies(up: &str, down: &str) -> Vec<&'static str> {
    found(&format!(
        "pub async fn upgrade(db: &Database) -> Result<()> {{ {up} Ok(()) }}\npub async fn downgrade(db: &Database) -> Result<()> {{ {down} Ok(()) }}"
    ))
}

const NOTHING: &str = "let _ = db;";

#[test]
fn every_kind_is_found() {
    let cases = [
        ("db.collection::<Document>(\"s\").drop().await?;", FindingKind::DropCollection),
        ("let s: Collection<Document> = db.collection(\"s\"); s.drop().await?;", FindingKind::DropCollection),
        ("db.drop().await?;", FindingKind::DropDatabase),
        ("client().drop().await?;", FindingKind::DropCollectionOrDatabase),
        ("db.collection::<Document>(\"s\").drop_index(\"i\").await?;", FindingKind::DropIndex),
        ("db.collection::<Document>(\"s\").drop_indexes().await?;", FindingKind::DropIndexes),
        ("db.collection::<Document>(\"s\").delete_many(doc! {}).await?;", FindingKind::DeleteUnfiltered),
        ("db.collection::<Document>(\"s\").delete_one(Document::new()).await?;", FindingKind::DeleteUnfiltered),
        ("db.collection::<Document>(\"s\").update_many(doc! {}, doc! { \"$unset\": { \"f\": \"\" } }).await?;", FindingKind::UnsetField),
        ("db.collection::<Document>(\"s\").update_many(doc! {}, vec![doc! { \"$unset\": \"f\" }]).await?;", FindingKind::UnsetField),
        ("db.collection::<Document>(\"s\").update_many(doc! {}, doc! { \"$rename\": { \"a\": \"b\" } }).await?;", FindingKind::RenameField),
        ("db.run_command(doc! { \"renameCollection\": \"d.a\", \"to\": \"d.b\" }).await?;", FindingKind::RenameCollection),
        ("db.run_command(doc! { \"drop\": \"s\" }).await?;", FindingKind::DropCollection),
        ("db.run_command(doc! { \"dropDatabase\": 1 }).await?;", FindingKind::DropDatabase),
        ("db.run_command(doc! { \"dropIndexes\": \"s\", \"index\": \"i\" }).await?;", FindingKind::DropIndex),
        ("db.run_command(doc! { \"dropIndexes\": \"s\", \"index\": \"*\" }).await?;", FindingKind::DropIndexes),
        ("db.collection::<Document>(\"s\").aggregate(vec![doc! { \"$match\": {} }, doc! { \"$out\": \"t\" }]).await?;", FindingKind::AggregateOut),
        ("let p = [doc! { \"$out\": \"t\" }]; db.collection::<Document>(\"s\").aggregate(p).await?;", FindingKind::AggregateOut),
    ];
    for (body, kind) in cases {
        // The downgrade writes too, so the irreversibility finding stays out of the way.
        assert_eq!(
            bodies(
                body,
                "db.collection::<Document>(\"x\").insert_one(doc! {}).await?;"
            ),
            [kind.id()],
            "{body}"
        );
    }
}

#[test]
fn filtered_or_harmless_calls_are_not_findings() {
    for body in [
        "db.collection::<Document>(\"s\").delete_many(doc! { \"tmp\": true }).await?;",
        "let f = doc! { \"x\": 1 }; db.collection::<Document>(\"s\").delete_many(f).await?;",
        "db.collection::<Document>(\"s\").update_many(doc! { \"a\": 1 }, doc! { \"$unset\": { \"f\": \"\" } }).await?;",
        "db.collection::<Document>(\"s\").update_one(doc! {}, doc! { \"$unset\": { \"f\": \"\" } }).await?;",
        "db.collection::<Document>(\"s\").update_many(doc! {}, doc! { \"$set\": { \"f\": 1 } }).await?;",
        "db.collection::<Document>(\"s\").aggregate(vec![doc! { \"$match\": {} }]).await?;",
        // GridFS's `rename` renames a file: not a collection.
        "db.gridfs_bucket(None).rename(id, \"new\").await?;",
        "db.run_command(doc! { \"ping\": 1 }).await?;",
        "drop(x);",
    ] {
        assert_eq!(bodies(body, "db.collection::<Document>(\"x\").insert_one(doc! {}).await?;"), Vec::<&str>::new(), "{body}");
    }
}

#[test]
fn a_downgrade_may_destroy_what_its_upgrade_created() {
    let cases = [
        ("db.create_collection(\"t\").await?;", "db.collection::<Document>(\"t\").drop().await?;"),
        ("db.collection::<Document>(\"t\").insert_one(doc! {}).await?;", "let t = db.collection::<Document>(\"t\"); t.drop().await?;"),
        ("db.create_collection(T).await?;", "db.run_command(doc! { \"drop\": T }).await?;"),
        ("db.collection::<Document>(\"s\").aggregate(vec![doc! { \"$out\": \"t\" }]).await?;", "db.collection::<Document>(\"t\").drop().await?;"),
        ("db.create_collection(\"t\").await?;", "db.collection::<Document>(\"t\").delete_many(doc! {}).await?;"),
        (
            "let i = IndexModel::builder().keys(doc! { \"a\": 1 }).options(IndexOptions::builder().name(IDX.to_owned()).build()).build(); db.collection::<Document>(\"s\").create_index(i).await?;",
            "db.collection::<Document>(\"s\").drop_index(IDX).await?;",
        ),
        (
            "let i = IndexModel::builder().options(IndexOptions::builder().name(\"by_a\".to_string()).build()).build(); db.collection::<Document>(\"s\").create_index(i).await?;",
            "db.run_command(doc! { \"dropIndexes\": \"s\", \"index\": \"by_a\" }).await?;",
        ),
        ("db.collection::<Document>(\"s\").update_many(doc! {}, doc! { \"$set\": { \"f\": 1 } }).await?;", "db.collection::<Document>(\"s\").update_many(doc! {}, doc! { \"$unset\": { \"f\": \"\" } }).await?;"),
        ("db.collection::<Document>(\"s\").update_many(doc! { \"a\": 1 }, doc! { \"$rename\": { \"a\": \"b\" } }).await?;", "db.collection::<Document>(\"s\").update_many(doc! {}, doc! { \"$rename\": { \"b\": \"a\" } }).await?;"),
        ("db.run_command(doc! { \"renameCollection\": \"d.a\", \"to\": \"d.b\" }).await?;", "db.run_command(doc! { \"renameCollection\": \"d.b\", \"to\": \"d.a\" }).await?;"),
    ];
    for (up, down) in cases {
        let items = format!("const T: &str = \"t\";\nconst IDX: &str = \"by_a\";\npub async fn upgrade(db: &Database) -> Result<()> {{ {up} Ok(()) }}\npub async fn downgrade(db: &Database) -> Result<()> {{ {down} Ok(()) }}");
        // `$out` and `renameCollection` are findings in the upgrade; the downgrade's undoing is not.
        let expected: &[&str] = if up.contains("$out") {
            &["aggregate_out"]
        } else if up.contains("renameCollection") {
            &["rename_collection"]
        } else {
            &[]
        };
        assert_eq!(found(&items), expected, "{up}\n{down}");
    }
}

#[test]
fn a_downgrade_may_not_destroy_what_its_upgrade_did_not_create() {
    let cases = [
        // Another collection.
        ("db.create_collection(\"t\").await?;", "db.collection::<Document>(\"u\").drop().await?;", "drop_collection"),
        // An index name without `create_index` is not an index the upgrade created.
        ("let o = IndexOptions::builder().name(\"i\".to_owned()).build();", "db.collection::<Document>(\"s\").drop_index(\"i\").await?;", "drop_index"),
        // A field the upgrade sets on another collection.
        ("db.collection::<Document>(\"s\").update_many(doc! {}, doc! { \"$set\": { \"f\": 1 } }).await?;", "db.collection::<Document>(\"t\").update_many(doc! {}, doc! { \"$unset\": { \"f\": \"\" } }).await?;", "unset_field"),
        // Dropping every index is never undoing one.
        ("db.collection::<Document>(\"s\").create_index(i).await?;", "db.collection::<Document>(\"s\").drop_indexes().await?;", "drop_indexes"),
    ];
    for (up, down, id) in cases {
        assert_eq!(bodies(up, down), [id], "{up}\n{down}");
    }
    // What the upgrade creates, the upgrade itself may not drop unflagged.
    assert_eq!(
        bodies(
            "db.create_collection(\"t\").await?; db.collection::<Document>(\"t\").drop().await?;",
            "db.collection::<Document>(\"t\").drop().await?;"
        ),
        ["drop_collection"]
    );
}

#[test]
fn calls_into_functions_of_the_file_are_followed() {
    let items = "async fn clear(c: &Collection<Document>) -> Result<()> { c.delete_many(doc! {}).await?; Ok(()) }\n\
                 async fn wipe(db: &Database) -> Result<()> { db.drop().await?; Ok(()) }\n\
                 pub async fn upgrade(db: &Database) -> Result<()> { let s = db.collection::<Document>(\"s\"); clear(&s).await?; self::wipe(db).await }\n\
                 pub async fn downgrade(db: &Database) -> Result<()> { wipe(db).await }";
    // `wipe` is reached from both bodies: one finding.
    assert_eq!(found(items), ["delete_unfiltered", "drop_database"]);
    // The argument's collection is known inside the helper.
    let file =
        syn::parse_file(&format!("pub const NAME: &str = \"0001_a\";\n{items}")).expect("valid");
    let findings = super::analyze(&file, false).findings;
    assert!(
        findings[0].message.contains("the collection `s`"),
        "{:?}",
        findings[0]
    );
    assert!(
        findings[0]
            .notes
            .iter()
            .any(|n| n == "in `clear`, which `upgrade` calls"),
        "{:?}",
        findings[0]
    );
}

#[test]
fn the_method_lists_are_disjoint() {
    for method in super::operations::OTHER_WRITES {
        assert!(
            !super::operations::READ_CLOSELY.contains(&method),
            "{method}"
        );
    }
}

#[test]
fn calls_inside_macros_are_seen() {
    assert_eq!(
        bodies(
            "tokio::try_join!(db.collection::<Document>(\"s\").drop(), other())?;",
            "db.collection::<Document>(\"x\").insert_one(doc! {}).await?;"
        ),
        ["drop_collection"]
    );
    // Through a function of the file named inside a macro, too.
    let items = "async fn wipe(db: &Database) -> Result<()> { db.drop().await?; Ok(()) }\n\
                 pub async fn upgrade(db: &Database) -> Result<()> { tokio::try_join!(wipe(db), other())?; Ok(()) }\n\
                 pub async fn downgrade(db: &Database) -> Result<()> { undo(db).await }";
    assert_eq!(found(items), ["drop_database"]);
}

#[test]
fn recursion_and_unknown_functions_end() {
    let items = "async fn a(db: &Database) { b(db).await }\nasync fn b(db: &Database) { a(db).await; db.collection::<Document>(\"s\").drop().await; }\n\
                 pub async fn upgrade(db: &Database) -> Result<()> { a(db).await; markers::delete_own(db, NAME).await?; Ok(()) }\n\
                 pub async fn downgrade(db: &Database) -> Result<()> { a(db).await; Ok(()) }";
    assert_eq!(found(items), ["drop_collection"]);
}

#[test]
fn transactional_receivers() {
    let items = "pub const TRANSACTIONAL: bool = true;\n\
                 pub async fn upgrade(tx: &mut Transaction) -> Result<()> { tx.db.drop().await?; tx.db.collection::<Document>(\"s\").drop().await?; Ok(()) }\n\
                 pub async fn downgrade(tx: &mut Transaction) -> Result<()> { tx.db.collection::<Document>(\"s\").insert_one(doc! {}).session(&mut tx.session).await?; Ok(()) }";
    assert_eq!(found(items), ["drop_database", "drop_collection"]);
}

#[test]
fn an_upgrade_that_writes_needs_a_downgrade_that_uses_the_database() {
    let write = "db.collection::<Document>(\"s\").update_many(doc! {}, doc! { \"$set\": { \"f\": 1 } }).await?;";
    assert_eq!(bodies(write, NOTHING), ["undeclared_irreversible"]);
    assert_eq!(bodies(write, ""), ["undeclared_irreversible"]);
    assert_eq!(
        bodies(write, "bail!(\"cannot be undone\");"),
        ["undeclared_irreversible"]
    );
    // Any use of the parameter counts, in a macro too.
    assert_eq!(bodies(write, "undo(db).await?;"), Vec::<&str>::new());
    assert_eq!(
        bodies(write, "eprintln!(\"{}\", db.name());"),
        Vec::<&str>::new()
    );
    // An upgrade that does not write (scaffolded and merge migrations) needs nothing.
    assert_eq!(bodies(NOTHING, NOTHING), Vec::<&str>::new());
    assert_eq!(
        bodies("let n = db.list_collection_names().await?;", ""),
        Vec::<&str>::new()
    );
    assert_eq!(
        bodies("db.run_command(doc! { \"ping\": 1 }).await?;", NOTHING),
        Vec::<&str>::new()
    );
    // A write in a helper counts.
    let items = format!("async fn w(db: &Database) -> Result<()> {{ {write} Ok(()) }}\npub async fn upgrade(db: &Database) -> Result<()> {{ w(db).await }}\npub async fn downgrade(_db: &Database) -> Result<()> {{ Ok(()) }}");
    assert_eq!(found(&items), ["undeclared_irreversible"]);
}

#[test]
fn field_notes_0003_drops_only_its_own_index() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../migrations/0003_seed_initial_sections.rs"
    ))
    .expect("Field Notes' 0003");
    let file = syn::parse_file(&text).expect("valid");
    assert!(analyze(&file, false).findings.is_empty());
    // The same downgrade dropping another index is a finding.
    let other = text.replace(".drop_index(SLUG_INDEX)", ".drop_index(\"slug_1\")");
    assert_ne!(other, text);
    let file = syn::parse_file(&other).expect("valid");
    let ids: Vec<_> = analyze(&file, false)
        .findings
        .iter()
        .map(|f| f.kind.id())
        .collect();
    assert_eq!(ids, ["drop_index"]);
}

#[test]
fn every_expression_kind_is_walked() {
    let write = "db.collection::<Document>(\"s\").update_many(doc! {}, doc! { \"$set\": { \"f\": 1 } }).await?;";
    // A raw borrow of the parameter uses it (the walk before `syn::visit` skipped `&raw`).
    assert_eq!(bodies(write, "let r = &raw const db;"), Vec::<&str>::new());
    // An operation in an array-repeat operand is seen.
    assert_eq!(
        bodies(
            "let _ = [db.collection::<Document>(\"s\").drop(); 1];",
            "db.collection::<Document>(\"x\").insert_one(doc! {}).await?;"
        ),
        ["drop_collection"]
    );
}

#[test]
fn the_collections_the_bodies_name_are_collected_where_the_syntax_shows_them() {
    let text = r#"
use mongodb_migrate::prelude::*;
pub const NAME: &str = "0001_a";
pub const DEPENDENCIES: &[&str] = &[];
const PAGES: &str = "pages";
async fn touch(db: &Database) -> Result<()> {
    db.collection::<Document>("notes").insert_one(doc! {}).await?;
    Ok(())
}
pub async fn upgrade(db: &Database) -> Result<()> {
    let stories = db.collection::<Document>("stories");
    stories
        .aggregate(vec![
            doc! { "$lookup": { "from": "users", "localField": "u", "foreignField": "_id", "as": "u" } },
            doc! { "$out": "report" },
        ])
        .await?;
    db.run_command(doc! { "update": "sections", "updates": [] }).await?;
    db.collection::<Document>(common::ARCHIVE).find(doc! {}).await?;
    db.collection::<Document>(&format!("t_{}", 1)).find(doc! {}).await?;
    touch(db).await
}
pub async fn downgrade(db: &Database) -> Result<()> {
    db.collection::<Document>(PAGES).delete_many(doc! { "x": 1 }).await?;
    db.run_command(doc! { "aggregate": "stories", "pipeline": [{ "$unionWith": { "coll": "drafts" } }], "cursor": {} }).await?;
    Ok(())
}
"#;
    let file = syn::parse_file(text).expect("valid Rust");
    assert_eq!(
        analyze(&file, false).collections,
        ["drafts", "notes", "pages", "report", "sections", "stories", "users"],
        "literals and the file's constants, through helpers of the file; not another module's \
         constant, nor a computed name"
    );
}
