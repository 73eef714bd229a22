//! Seed the Blog, About, Projects and Contact sections, with a unique index on `slug`.
//!
//! A section whose slug already exists is skipped. The downgrade removes only the index and the
//! sections this migration created, and of those only the ones unchanged since that no story or
//! page points at; it notes the ones it leaves.
use mongodb_migrate::mongodb::options::IndexOptions;
use mongodb_migrate::mongodb::IndexModel;
use mongodb_migrate::prelude::*;

pub const NAME: &str = "0003_seed_initial_sections";
pub const DEPENDENCIES: &[&str] = &["0002_add_user_id_to_content"];

/// (slug, title, order)
pub const SECTIONS: [(&str, &str, i32); 4] = [
    ("blog", "Blog", 1),
    ("about", "About", 2),
    ("projects", "Projects", 3),
    ("contact", "Contact", 4),
];

/// The name of the index this migration creates; the downgrade drops only an index so named.
pub const SLUG_INDEX: &str = "slug_unique__0003_seed_initial_sections";

/// Whether `sections` already has an index on exactly `{slug: 1}`, and whether it is unique.
async fn existing_slug_index(sections: &Collection<Document>) -> Result<Option<(String, bool)>> {
    let mut cursor = match sections.list_indexes().await {
        Ok(cursor) => cursor,
        // NamespaceNotFound: no collection yet, so no index.
        Err(e) if matches!(*e.kind, mongodb::error::ErrorKind::Command(ref c) if c.code == 26) => {
            return Ok(None)
        }
        Err(e) => return Err(e).context("listing the indexes of sections"),
    };
    while let Some(index) = cursor.try_next().await? {
        if index.keys == doc! { "slug": 1 } {
            let options = index.options.unwrap_or_default();
            return Ok(Some((
                options.name.unwrap_or_default(),
                options.unique.unwrap_or(false),
            )));
        }
    }
    Ok(None)
}

pub async fn upgrade(db: &Database) -> Result<()> {
    let sections = db.collection::<Document>("sections");
    for (slug, title, order) in SECTIONS {
        markers::insert_if_absent(
            &sections,
            doc! { "slug": slug },
            doc! { "slug": slug, "title": title, "order": order },
            NAME,
        )
        .await
        .with_context(|| format!("seeding section {slug:?}"))?;
    }
    match existing_slug_index(&sections).await? {
        Some((_, true)) => {}
        Some((name, false)) => eprintln!(
            "warning: {NAME}: sections already has a non-unique index {name:?} on slug; \
             left as it is, so slugs are not enforced unique"
        ),
        None => {
            let index = IndexModel::builder()
                .keys(doc! { "slug": 1 })
                .options(
                    IndexOptions::builder()
                        .name(SLUG_INDEX.to_owned())
                        .unique(true)
                        .build(),
                )
                .build();
            sections
                .create_index(index)
                .await
                .context("creating the unique index on sections.slug (duplicate slugs?)")?;
        }
    }
    Ok(())
}

pub async fn downgrade(db: &Database) -> Result<()> {
    let sections = db.collection::<Document>("sections");
    if let Some((name, _)) = existing_slug_index(&sections).await? {
        if name == SLUG_INDEX {
            sections
                .drop_index(SLUG_INDEX)
                .await
                .context("dropping the slug index")?;
        }
    }
    // A section a story or page points at stays, so no reference is left dangling.
    markers::delete_own_unreferenced(
        &sections,
        NAME,
        &[
            markers::Reference {
                collection: "stories",
                field: "section_id",
            },
            markers::Reference {
                collection: "pages",
                field: "section_id",
            },
        ],
    )
    .await
    .context("removing the seeded sections")?;
    Ok(())
}
