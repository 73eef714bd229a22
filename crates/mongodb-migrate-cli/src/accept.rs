//! `migrate accept-changes`: record the binary's checksum for reviewed edits to applied
//! migrations.

use super::args::AcceptArgs;
use super::{CliError, Ctx};
use crate::exit_code;

pub(crate) async fn run(args: &AcceptArgs, ctx: &Ctx<'_>) -> Result<u8, CliError> {
    let migrator = ctx.migrator().await?;
    let accepted = migrator.accept_changes(&args.names).await?;
    if accepted.is_empty() {
        outln!("No applied migration changed since it was applied; nothing to accept.");
    }
    for change in &accepted {
        let previous = change
            .previous
            .as_deref()
            .map_or("none", |p| &p[..p.len().min(12)]);
        outln!(
            "Accepted {}: recorded checksum {} → {}",
            change.name,
            previous,
            &change.checksum[..change.checksum.len().min(12)]
        );
    }
    Ok(exit_code::SUCCESS)
}
