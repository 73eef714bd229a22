//! `migrate up`: apply pending migrations.

use std::sync::Arc;
use std::time::Instant;

use super::args::{Format, UpArgs};
use super::events::JsonEvents;
use super::{CliError, Ctx};
use crate::exit_code;
use mongodb_migrate_core::{Error, Report, UpOptions};

pub(crate) async fn run(args: &UpArgs, ctx: &Ctx<'_>) -> Result<u8, CliError> {
    let mut migrator = ctx.migrator().await?;
    let events = (args.format == Format::Json)
        .then(|| Arc::new(JsonEvents::new(migrator.database().name())));
    if let Some(events) = &events {
        migrator = migrator.observer(Arc::clone(events) as Arc<dyn mongodb_migrate_core::Observer>);
    }
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
    let result = migrator.up_with(&options).await;
    finish(
        ctx,
        result,
        ctx.app.migrations,
        events.as_deref(),
        started,
        ["apply", "Applied", "applied"],
        "The failure is recorded; migrations before it stay applied. Fix the migration, \
         rebuild, and run `migrate up --retry`; or run `migrate down --retry` to run its \
         downgrade and clear the record.",
    )
}

/// The end of `up` and `down`: the summary (a line, or a JSON `summary` event), and the way
/// forward after a failed migration.
pub(crate) fn finish(
    ctx: &Ctx<'_>,
    result: Result<Report, Error>,
    migrations: &[mongodb_migrate_core::Migration],
    events: Option<&JsonEvents>,
    started: Instant,
    [verb, done, state]: [&str; 3],
    failure_hint: &str,
) -> Result<u8, CliError> {
    match result {
        Ok(report) => {
            match events {
                Some(events) => events.summary(Some(&report), exit_code::SUCCESS, None),
                None => summarize(&report, migrations, started, verb, done, state),
            }
            Ok(exit_code::SUCCESS)
        }
        Err(e) => {
            if let Some(events) = events {
                let message = super::shown(&ctx.error_text(&e)).into_owned();
                let code = super::render::server_code(&e);
                events.summary(None, exit_code::of_error(&e), Some((&message, code)));
            }
            if matches!(e, Error::MigrationFailed { .. }) {
                eprintln!("{failure_hint}");
            }
            Err(e.into())
        }
    }
}

/// The summary line of `up` and `down`.
pub(crate) fn summarize(
    report: &Report,
    migrations: &[mongodb_migrate_core::Migration],
    started: Instant,
    verb: &str,
    done: &str,
    state: &str,
) {
    let migration_named = |name: &str| migrations.iter().find(|m| m.name == name);
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
                if report.direction == mongodb_migrate_core::Direction::Up {
                    if let Some(m) = migration_named(s.name) {
                        for a in m.allowed {
                            outln!(
                                "      allowed destructive operation: {} (line {}): {}",
                                a.finding,
                                a.line,
                                a.reason
                            );
                        }
                    }
                }
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
