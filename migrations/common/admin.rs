//! Shared by the migrations that deal with the admin user. A helper module under
//! `migrations/common/` is not a migration: the build does not take it for one.

/// ADMIN_EMAIL from the environment, trimmed and lowercased; `None` when unset or blank.
pub fn configured_email() -> Option<String> {
    let email = std::env::var("ADMIN_EMAIL").ok()?.trim().to_lowercase();
    (!email.is_empty()).then_some(email)
}
