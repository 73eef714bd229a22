//! Put stories in the Blog section and each page in the section of the same slug.
//!
//! Only a missing (absent or null) `section_id` is set. A page whose slug matches no section is
//! skipped with a warning. The downgrade restores exactly what this migration set.
use mongodb_migrate::prelude::*;

pub const NAME: &str = "0004_backfill_section_id";
pub const DEPENDENCIES: &[&str] = &["0003_seed_initial_sections"];

pub async fn upgrade(db: &Database) -> Result<()> {
    let sections = db.collection::<Document>("sections");
    let stories = db.collection::<Document>("stories");
    let pages = db.collection::<Document>("pages");

    match sections.find_one(doc! { "slug": "blog" }).await? {
        Some(blog) => {
            let id = blog
                .get("_id")
                .cloned()
                .context("the blog section has no _id")?;
            markers::set_if_missing(&stories, doc! {}, "section_id", id, NAME)
                .await
                .context("setting section_id on stories")?;
        }
        None => {
            eprintln!("warning: {NAME}: no section with slug \"blog\"; stories left as they are")
        }
    }

    // One server-side update per section: the section list is small, the pages may not be.
    let mut cursor = sections
        .find(doc! {})
        .projection(doc! { "slug": 1 })
        .await?;
    while let Some(section) = cursor.try_next().await? {
        let (Some(id), Ok(slug)) = (section.get("_id").cloned(), section.get_str("slug")) else {
            continue;
        };
        markers::set_if_missing(&pages, doc! { "slug": slug }, "section_id", id, NAME)
            .await
            .with_context(|| format!("setting section_id on pages with slug {slug:?}"))?;
    }

    let unmatched = pages.count_documents(doc! { "section_id": null }).await?;
    if unmatched > 0 {
        let slugs: Vec<String> = pages
            .distinct("slug", doc! { "section_id": null })
            .await?
            .into_iter()
            .take(10)
            .map(|s| s.to_string())
            .collect();
        eprintln!(
            "warning: {NAME}: {unmatched} page(s) match no section and were skipped (slugs: {})",
            slugs.join(", ")
        );
    }
    Ok(())
}

pub async fn downgrade(db: &Database) -> Result<()> {
    for name in ["stories", "pages"] {
        let collection = db.collection::<Document>(name);
        markers::unset_own(&collection, "section_id", NAME)
            .await
            .with_context(|| format!("restoring section_id on {name}"))?;
    }
    Ok(())
}
