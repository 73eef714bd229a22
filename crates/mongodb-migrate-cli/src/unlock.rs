//! `migrate unlock`: force-release the lock, showing who held it.

use super::{CliError, Ctx};
use crate::exit_code;

pub(crate) async fn run(ctx: &Ctx<'_>) -> Result<u8, CliError> {
    let migrator = ctx.migrator().await?;
    match migrator.unlock().await? {
        Some(holder) => {
            let now = chrono::Utc::now();
            let state = if holder.expires_at.is_some_and(|e| e > now) {
                "its lease was still valid"
            } else {
                "its lease had expired"
            };
            outln!("Released the migration lock held by {holder} ({state}).");
        }
        None => outln!("The migration lock was not held."),
    }
    Ok(exit_code::SUCCESS)
}
