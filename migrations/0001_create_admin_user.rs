//! Create the admin user from the ADMIN_EMAIL environment variable.
//!
//! The email is trimmed and lowercased. An existing user with that email is left as it is, and
//! the downgrade removes the user only if this migration created it (marked by
//! `markers::insert_if_absent`).
use mongodb_migrate::prelude::*;

use super::common::admin;

pub const NAME: &str = "0001_create_admin_user";
pub const DEPENDENCIES: &[&str] = &[];

/// The admin's email, trimmed and lowercased, from the environment.
pub fn admin_email() -> Result<String> {
    let email =
        admin::configured_email().context("ADMIN_EMAIL environment variable is required")?;
    let valid = matches!(email.split_once('@'), Some((local, domain))
        if !local.is_empty() && !domain.is_empty() && !domain.contains('@'))
        && !email.chars().any(char::is_whitespace);
    ensure!(valid, "ADMIN_EMAIL {email:?} is not an email address");
    Ok(email)
}

pub async fn upgrade(db: &Database) -> Result<()> {
    // Read the configuration before touching the database: a missing email writes nothing.
    let email = admin_email()?;
    let users = db.collection::<Document>("users");
    let created = markers::insert_if_absent(
        &users,
        doc! { "email": &email },
        doc! { "email": &email, "role": "admin", "created_at": DateTime::now() },
        NAME,
    )
    .await
    .context("creating the admin user")?;
    if !created {
        eprintln!("{NAME}: a user with email {email} already exists; left unchanged");
    }
    Ok(())
}

pub async fn downgrade(db: &Database) -> Result<()> {
    let users = db.collection::<Document>("users");
    markers::delete_own(&users, NAME)
        .await
        .context("removing the admin user this migration created")?;
    Ok(())
}
