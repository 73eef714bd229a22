//! Attribute content without an author to the admin user.
//!
//! Sets `user_id` on every story and page that has none (absent or null). Content that already
//! has an author is untouched, and the downgrade restores only what this migration set.
use mongodb_migrate::prelude::*;

use super::common::admin;

pub const NAME: &str = "0002_add_user_id_to_content";
pub const DEPENDENCIES: &[&str] = &["0001_create_admin_user"];

const CONTENT: [&str; 2] = ["stories", "pages"];

/// The admin user's `_id`: the one with ADMIN_EMAIL when it is set, else the oldest admin.
async fn admin_id(db: &Database) -> Result<Option<Bson>> {
    let users = db.collection::<Document>("users");
    let filter = match admin::configured_email() {
        Some(email) => doc! { "role": "admin", "email": email },
        None => doc! { "role": "admin" },
    };
    let admin = users
        .find_one(filter)
        .sort(doc! { "created_at": 1, "_id": 1 })
        .await
        .context("looking up the admin user")?;
    Ok(admin.and_then(|u| u.get("_id").cloned()))
}

pub async fn upgrade(db: &Database) -> Result<()> {
    let Some(admin) = admin_id(db).await? else {
        eprintln!("warning: {NAME}: no admin user found; content left without user_id");
        return Ok(());
    };
    for name in CONTENT {
        let collection = db.collection::<Document>(name);
        markers::set_if_missing(&collection, doc! {}, "user_id", admin.clone(), NAME)
            .await
            .with_context(|| format!("setting user_id on {name}"))?;
    }
    Ok(())
}

pub async fn downgrade(db: &Database) -> Result<()> {
    for name in CONTENT {
        let collection = db.collection::<Document>(name);
        markers::unset_own(&collection, "user_id", NAME)
            .await
            .with_context(|| format!("restoring user_id on {name}"))?;
    }
    Ok(())
}
