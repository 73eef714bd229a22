//! The `greetings` collection, with a unique index on `language`.
use mongodb_migrate::prelude::*;

pub const NAME: &str = "0001_create_greetings";
pub const DEPENDENCIES: &[&str] = &[];

pub async fn upgrade(db: &Database) -> Result<()> {
    db.create_collection("greetings").await?;
    let index = mongodb::IndexModel::builder()
        .keys(doc! { "language": 1 })
        .options(mongodb::options::IndexOptions::builder().unique(true).build())
        .build();
    db.collection::<Document>("greetings").create_index(index).await?;
    Ok(())
}

pub async fn downgrade(db: &Database) -> Result<()> {
    db.collection::<Document>("greetings").drop().await?;
    Ok(())
}
