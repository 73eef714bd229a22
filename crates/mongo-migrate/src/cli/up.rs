//! `migrate up`: apply pending migrations.

use std::time::Instant;

use super::args::UpArgs;
use super::{CliError, Ctx};
use crate::{exit_code, Error, Report, UpOptions};

pub(crate) async fn run(args: &UpArgs, ctx: &Ctx<'_>) -> Result<u8, CliError> {
    let migrator = ctx.migrator().await?;
    let options = UpOptions {
        to: args.to.clone(),
        dry_run: args.dry_run,
        fake: args.fake,
        retry: args.retry,
        allow_changed: args.allow_changed,
        allow_unknown: args.allow_unknown,
        allow_out_of_order: args.allow_out_of_order,
    };
    let started = Instant::now();
    match migrator.up_with(&options).await {
        Ok(report) => {
            summarize(&report, started, "apply", "Applied", "applied");
            Ok(exit_code::SUCCESS)
        }
        Err(e @ Error::MigrationFailed { .. }) => {
            eprintln!(
                "The failure is recorded; migrations before it stay applied. Fix the migration, \
                 rebuild, and run `migrate up --retry`; or run `migrate down --retry` to run its \
                 downgrade and clear the record."
            );
            Err(e.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// The summary line of `up` and `down`.
pub(crate) fn summarize(report: &Report, started: Instant, verb: &str, done: &str, state: &str) {
    let n = report.steps.len();
    let noun = if n == 1 { "migration" } else { "migrations" };
    if report.dry_run {
        if n == 0 {
            outln!("Dry run: nothing to {verb}. Nothing was written.");
        } else {
            let fake = if report.fake { " (as fake)" } else { "" };
            outln!("Dry run: would {verb} {n} {noun}{fake}, in this order:");
            for s in &report.steps {
                outln!("  {}", s.name);
            }
            outln!("Nothing was written.");
        }
    } else if n == 0 {
        outln!("Nothing to {verb}.");
    } else if report.fake {
        outln!("Recorded {n} {noun} as {state} without running them (fake).");
    } else {
        outln!(
            "{done} {n} {noun} in {}.",
            super::progress::ms(started.elapsed())
        );
    }
}
