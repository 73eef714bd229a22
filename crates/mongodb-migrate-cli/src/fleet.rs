//! Fleets: `up`, `down`, `status` and `check` over many databases in one run (a database per
//! tenant). Each database is migrated exactly as if it were run alone — its own lock, its own
//! state — `-j N` at a time, each output line prefixed with its database, and a summary at the
//! end.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use serde_json::json;

use super::args::{Command, Format, GlobalArgs};
use super::{CliError, Ctx};
use crate::exit_code;

/// Databases a glob never matches: the server's own.
const SYSTEM_DATABASES: [&str; 3] = ["admin", "local", "config"];

/// Which problem decides a fleet's exit code when databases disagree: the verdict's order
/// (`check`'s), with a migration that failed in this run beside a recorded failure, and the
/// errors of the run itself after the refusals.
const RANK: [u8; 16] = [
    exit_code::MIGRATION_FAILED,
    exit_code::FAILED_RECORD,
    exit_code::CHANGED,
    exit_code::UNKNOWN,
    exit_code::OUT_OF_ORDER,
    exit_code::HAS_DEPENDENTS,
    exit_code::LOCK_NOT_ACQUIRED,
    exit_code::DATABASE_UNREACHABLE,
    exit_code::DATABASE_ERROR,
    exit_code::USAGE,
    exit_code::TERMINATED,
    exit_code::INTERRUPTED,
    exit_code::WAIT_TIMEOUT,
    exit_code::AHEAD,
    exit_code::PENDING,
    exit_code::SUCCESS,
];

fn rank(code: u8) -> usize {
    RANK.iter().position(|c| *c == code).unwrap_or(0)
}

/// One database's result.
struct Outcome {
    database: String,
    code: u8,
    counts: Option<(usize, usize, usize)>,
    duration: Duration,
    started: bool,
}

/// The databases `spec` names: a glob over the server's databases, a comma list, or `@file`.
async fn resolve(spec: &str, ctx: &Ctx<'_>) -> Result<Vec<String>, CliError> {
    let usage = |m: String| CliError::Usage(m);
    if let Some(file) = spec.strip_prefix('@') {
        let text = std::fs::read_to_string(Path::new(file))
            .map_err(|e| usage(format!("--databases @{file}: cannot read it: {e}")))?;
        return Ok(text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect());
    }
    if !spec.contains(['*', '?', '[']) {
        return Ok(spec
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect());
    }
    let pattern = glob::Pattern::new(spec)
        .map_err(|e| usage(format!("--databases {spec:?} is not a valid glob: {e}")))?;
    let client = ctx.client().await?;
    let names = client
        .list_database_names()
        .await
        .map_err(|e| CliError::from(mongodb_migrate_core::Error::Preflight(e)))?;
    let mut names: Vec<String> = names
        .into_iter()
        .filter(|n| !SYSTEM_DATABASES.contains(&n.as_str()))
        .filter(|n| pattern.matches(n))
        .collect();
    names.sort();
    Ok(names)
}

/// Runs `command` over the databases of `--databases`.
pub(crate) async fn run(command: &Command, ctx: &Ctx<'_>, spec: &str) -> Result<u8, CliError> {
    let (json, fleet_ok) = match command {
        Command::Up(a) => (a.format == Format::Json, true),
        Command::Down(a) => (a.format == Format::Json, true),
        Command::Status(a) => (a.format == Format::Json, true),
        Command::Check(a) => (a.format == Format::Json, true),
        _ => (false, false),
    };
    if !fleet_ok {
        return Err(CliError::Usage(
            "--databases applies to up, down, status and check".to_owned(),
        ));
    }
    let databases = resolve(spec, ctx).await?;
    if databases.is_empty() {
        return Err(CliError::Usage(format!(
            "--databases {spec:?} names no database"
        )));
    }
    let stop = AtomicBool::new(false);
    // Only runs that write stop starting databases after a failure: status and check read
    // every database.
    let keep_going = ctx.global.keep_going || !matches!(command, Command::Up(_) | Command::Down(_));
    let outcomes: Vec<Outcome> = futures::stream::iter(databases.iter().cloned())
        .map(|database| {
            let stop = &stop;
            async move {
                if stop.load(Ordering::SeqCst) && !keep_going {
                    return Outcome {
                        database,
                        code: exit_code::SUCCESS,
                        counts: None,
                        duration: Duration::ZERO,
                        started: false,
                    };
                }
                let outcome = one(command, ctx, database, json).await;
                if outcome.code != exit_code::SUCCESS
                    && !matches!(outcome.code, exit_code::PENDING | exit_code::AHEAD)
                {
                    stop.store(true, Ordering::SeqCst);
                }
                outcome
            }
        })
        .buffer_unordered(usize::from(ctx.global.jobs))
        .collect()
        .await;
    let mut outcomes = outcomes;
    outcomes.sort_by(|a, b| a.database.cmp(&b.database));
    let worst = outcomes
        .iter()
        .filter(|o| o.started)
        .map(|o| o.code)
        .min_by_key(|c| rank(*c))
        .unwrap_or(exit_code::SUCCESS);
    if !json {
        summary_table(&outcomes, ctx);
    }
    Ok(worst)
}

/// Runs `command` on one database, its output prefixed (human) or tagged (JSON).
async fn one(command: &Command, ctx: &Ctx<'_>, database: String, json: bool) -> Outcome {
    let mut global: GlobalArgs = ctx.global.clone();
    global.database = Some(database.clone());
    global.databases = None;
    let child = Ctx {
        app: ctx.app,
        global: &global,
        style: ctx.style,
        terminal: false,
        cancel: ctx.cancel.clone(),
        hosts: OnceLock::new(),
        health: OnceLock::new(),
        database: OnceLock::new(),
        user: OnceLock::new(),
        command: ctx.command,
    };
    let prefix = (!json).then(|| format!("[{database}] "));
    let started = Instant::now();
    let result =
        super::output::with_prefix(prefix, async { super::dispatch_one(command, &child).await })
            .await;
    let duration = started.elapsed();
    let (code, error, server_code) = match result {
        Ok(code) => (code, None, None),
        Err(e) => (
            e.exit_code(),
            Some(super::shown(&child.error_text(&e)).into_owned()),
            super::render::server_code(&e),
        ),
    };
    if let Some(error) = &error {
        if json {
            let line = json!({
                "schema": super::events::SCHEMA, "event": "error", "database": database,
                "exit_code": code, "error": error,
                "error_code": server_code.as_ref().map(|c| c.0),
                "error_code_name": server_code.as_ref().map(|c| c.1.clone()),
            });
            super::line(&line.to_string());
        } else {
            eprintln!("[{database}] error: {}", super::terminal_lines(error));
        }
    }
    let counts = match child.migrator().await {
        Ok(m) => m.status().await.ok().map(|s| {
            let v = s.verdict();
            (
                s.in_state(mongodb_migrate_core::State::Applied).count(),
                v.names(mongodb_migrate_core::FindingKind::Failed).len(),
                v.names(mongodb_migrate_core::FindingKind::Pending).len(),
            )
        }),
        Err(_) => None,
    };
    Outcome {
        database,
        code,
        counts,
        duration,
        started: true,
    }
}

fn summary_table(outcomes: &[Outcome], ctx: &Ctx<'_>) {
    let st = ctx.style;
    let width = outcomes
        .iter()
        .map(|o| o.database.len())
        .max()
        .unwrap_or(8)
        .max(8);
    outln!("");
    outln!(
        "{:<width$}  {:>7}  {:>6}  {:>7}  {:>9}  result",
        "database",
        "applied",
        "failed",
        "pending",
        "duration"
    );
    for o in outcomes {
        let (applied, failed, pending) = o
            .counts
            .map(|(a, f, p)| (a.to_string(), f.to_string(), p.to_string()))
            .unwrap_or_else(|| ("?".into(), "?".into(), "?".into()));
        let result = if !o.started {
            st.dim("not started (an earlier database failed; --keep-going runs them all)")
        } else if o.code == exit_code::SUCCESS {
            st.ok("ok")
        } else {
            st.error(format!("exit {}", o.code))
        };
        outln!(
            "{:<width$}  {applied:>7}  {failed:>6}  {pending:>7}  {:>9}  {result}",
            mongodb_migrate_core::sanitize::for_terminal(&o.database),
            format!("{} ms", o.duration.as_millis()),
        );
    }
    let problems: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.started && o.code != exit_code::SUCCESS)
        .map(|o| o.database.as_str())
        .collect();
    if !problems.is_empty() {
        outln!("Databases with a problem: {}", problems.join(", "));
    }
}
