//! `migrate wait`: block until the database is at this binary's plan — an app pod's init
//! container runs it while the migration Job works.

use std::time::{Duration, Instant};

use super::args::WaitArgs;
use super::{CliError, Ctx};
use crate::exit_code;
use mongodb_migrate_core::FindingKind;

/// The longest pause between two polls, however long the wait.
const MAX_INTERVAL: Duration = Duration::from_secs(10);

pub(crate) async fn run(args: &WaitArgs, ctx: &Ctx<'_>) -> Result<u8, CliError> {
    let started = Instant::now();
    let migrator = ctx.migrator().await?;
    let mut interval = args.interval;
    let mut said: Option<String> = None;
    loop {
        match migrator.status().await {
            Ok(status) => {
                let verdict = status.verdict();
                match verdict.worst().map(|f| f.kind) {
                    // Migrations newer than this binary count as ready: the database is at
                    // (or past) this binary's plan.
                    None | Some(FindingKind::Future) => {
                        outln!(
                            "{} Ready: all {} migrations of this binary are applied.",
                            ctx.style.ok("✓"),
                            status.migrations.len()
                        );
                        return Ok(exit_code::SUCCESS);
                    }
                    Some(FindingKind::Pending) => {
                        let pending = verdict.names(FindingKind::Pending);
                        let line = format!(
                            "Waiting for {} pending {} ({})…",
                            pending.len(),
                            if pending.len() == 1 {
                                "migration"
                            } else {
                                "migrations"
                            },
                            pending.join(", ")
                        );
                        if said.as_deref() != Some(line.as_str()) {
                            outln!("{line}");
                            said = Some(line);
                        }
                    }
                    // Failed, changed, conflicting or out of order: waiting will not fix it.
                    Some(kind) => {
                        let names = verdict.names(kind).join(", ");
                        eprintln!(
                            "error: waiting will not help: {} ({names}); `migrate status` shows why",
                            describe(kind)
                        );
                        return Ok(exit_code::of_finding(kind));
                    }
                }
            }
            // The server may be restarting while the Job and the pods start: keep trying
            // until the timeout, saying so once.
            Err(e)
                if e.is_unreachable() || exit_code::of_error(&e) == exit_code::DATABASE_ERROR =>
            {
                let line = format!("Waiting for the database: {e}");
                if said.as_deref() != Some(line.as_str()) {
                    outln!("{line}");
                    said = Some(line);
                }
            }
            Err(e) => return Err(e.into()),
        }
        let elapsed = started.elapsed();
        if elapsed >= args.timeout {
            eprintln!(
                "error: the database did not reach this binary's plan within {}",
                humantime::format_duration(args.timeout)
            );
            return Ok(exit_code::WAIT_TIMEOUT);
        }
        tokio::time::sleep(interval.min(args.timeout - elapsed)).await;
        // Back off: the first polls are quick, a long migration is not polled every second.
        interval = (interval * 3 / 2).min(MAX_INTERVAL.max(args.interval));
    }
}

fn describe(kind: FindingKind) -> &'static str {
    match kind {
        FindingKind::Failed => "a migration failed",
        FindingKind::Changed => "an applied migration changed since it was applied",
        FindingKind::Unknown => "the database records migrations this binary does not know",
        FindingKind::OutOfOrder => "an applied migration's dependency is not applied",
        FindingKind::Future | FindingKind::Pending => "pending",
        // A finding newer than this crate: the framework's crates are released together.
        _ => "the database does not match this binary's plan",
    }
}
