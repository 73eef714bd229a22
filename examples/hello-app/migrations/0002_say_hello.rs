//! The first greeting.
use mongodb_migrate::prelude::*;

pub const NAME: &str = "0002_say_hello";
pub const DEPENDENCIES: &[&str] = &["0001_create_greetings"];

pub async fn upgrade(db: &Database) -> Result<()> {
    db.collection::<Document>("greetings")
        .insert_one(doc! { "language": "en", "text": "hello" })
        .await?;
    Ok(())
}

pub async fn downgrade(db: &Database) -> Result<()> {
    db.collection::<Document>("greetings")
        .delete_one(doc! { "language": "en", "text": "hello" })
        .await?;
    Ok(())
}
