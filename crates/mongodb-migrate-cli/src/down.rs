//! `migrate down`: roll back.

use std::sync::Arc;
use std::time::Instant;

use super::args::{DownArgs, Format};
use super::events::JsonEvents;
use super::{CliError, Ctx};
use mongodb_migrate_core::{DownOptions, DownTarget};

pub(crate) async fn run(args: &DownArgs, ctx: &Ctx<'_>) -> Result<u8, CliError> {
    let target = match (&args.to, args.steps) {
        (Some(t), _) if t == "zero" => DownTarget::Zero,
        (Some(t), _) => DownTarget::To(t.clone()),
        (None, Some(n)) => DownTarget::Steps(n as usize),
        (None, None) => DownTarget::Steps(1),
    };
    let mut migrator = ctx.migrator().await?;
    let events = (args.format == Format::Json)
        .then(|| Arc::new(JsonEvents::new(migrator.database().name())));
    if let Some(events) = &events {
        migrator = migrator.observer(Arc::clone(events) as Arc<dyn mongodb_migrate_core::Observer>);
    }
    let options = DownOptions {
        target,
        dry_run: args.dry_run,
        fake: args.fake,
        retry: args.retry,
        allow_unknown: args.allow_unknown,
        allow_changed: args.allow_changed,
    };
    let started = Instant::now();
    let result = migrator.down_with(&options).await;
    super::up::finish(
        ctx,
        result,
        ctx.app.migrations,
        events.as_deref(),
        started,
        ["roll back", "Rolled back", "not applied"],
        "The failure is recorded. Fix the downgrade, rebuild, and run `migrate down --retry`; \
         or `migrate up --retry` to run its upgrade again.",
    )
}
