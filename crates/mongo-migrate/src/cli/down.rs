//! `migrate down`: roll back.

use std::time::Instant;

use super::args::DownArgs;
use super::{CliError, Ctx};
use crate::{exit_code, DownOptions, DownTarget, Error};

pub(crate) async fn run(args: &DownArgs, ctx: &Ctx<'_>) -> Result<u8, CliError> {
    let target = match (&args.to, args.steps) {
        (Some(t), _) if t == "zero" => DownTarget::Zero,
        (Some(t), _) => DownTarget::To(t.clone()),
        (None, Some(n)) => DownTarget::Steps(n as usize),
        (None, None) => DownTarget::Steps(1),
    };
    let migrator = ctx.migrator().await?;
    let options = DownOptions {
        target,
        dry_run: args.dry_run,
        fake: args.fake,
        retry: args.retry,
        allow_unknown: args.allow_unknown,
        allow_changed: args.allow_changed,
    };
    let started = Instant::now();
    match migrator.down_with(&options).await {
        Ok(report) => {
            super::up::summarize(&report, started, "roll back", "Rolled back", "not applied");
            Ok(exit_code::SUCCESS)
        }
        Err(e @ Error::MigrationFailed { .. }) => {
            eprintln!(
                "The failure is recorded. Fix the downgrade, rebuild, and run `migrate down --retry`; \
                 or `migrate up --retry` to run its upgrade again."
            );
            Err(e.into())
        }
        Err(e) => Err(e.into()),
    }
}
