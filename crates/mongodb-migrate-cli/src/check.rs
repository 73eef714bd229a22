//! `migrate check`: the deploy gate.

use serde::Serialize;

use super::args::{Format, FormatArgs};
use super::status::Summary;
use super::{print_json, CliError, Ctx};
use crate::exit_code;
use mongodb_migrate_core::{FindingKind, Status};

/// The JSON document of `migrate check --format json`.
#[derive(Debug, Serialize)]
struct CheckDocument<'a> {
    /// `mongodb-migrate/check/v1`.
    schema: &'static str,
    database: String,
    ok: bool,
    exit_code: u8,
    summary: Summary,
    failed: Vec<&'a str>,
    changed: Vec<&'a str>,
    unknown: Vec<&'a str>,
    out_of_order: Vec<&'a str>,
    /// Newer than this binary, extending its plan (exit 12 when nothing worse is found).
    ahead: Vec<&'a str>,
    pending: Vec<&'a str>,
    /// The destructive operations the pending migrations' authors allowed (`ALLOW`): a deploy
    /// pipeline can require a human approval when any are present.
    allowed_destructive: Vec<PendingAllowed>,
}

#[derive(Debug, Serialize)]
struct PendingAllowed {
    migration: &'static str,
    finding: &'static str,
    reason: &'static str,
    line: u32,
}

pub(crate) async fn run(args: &FormatArgs, ctx: &Ctx<'_>) -> Result<u8, CliError> {
    let migrator = ctx.migrator().await?;
    let status = migrator.status().await?;
    let mut doc = findings(&status);
    doc.database = migrator.database().name().to_owned();
    match args.format {
        Format::Json => print_json(&doc)?,
        Format::Human => {
            let st = ctx.style;
            if doc.ok {
                outln!(
                    "{} Up to date: all {} migrations applied, none changed, none unknown.",
                    st.ok("✓"),
                    status.migrations.len()
                );
            } else {
                outln!("{} Not up to date:", st.error("✗"));
                for (label, names) in [
                    ("failed", &doc.failed),
                    ("changed since applied", &doc.changed),
                    ("unknown to this binary", &doc.unknown),
                    ("applied before a dependency", &doc.out_of_order),
                    (
                        "newer than this binary (the database is ahead of it)",
                        &doc.ahead,
                    ),
                    ("pending", &doc.pending),
                ] {
                    if !names.is_empty() {
                        let names: Vec<_> = names
                            .iter()
                            .map(|n| mongodb_migrate_core::sanitize::for_terminal(n))
                            .collect();
                        outln!("  {} {label}: {}", names.len(), names.join(", "));
                    }
                }
            }
        }
    }
    Ok(doc.exit_code)
}

/// The check document: the verdict's findings by kind, and the exit code of the first.
fn findings(status: &Status) -> CheckDocument<'_> {
    let verdict = status.verdict();
    let names = |kind: FindingKind| -> Vec<&str> {
        verdict
            .names(kind)
            .iter()
            .map(|n| {
                // Borrow from the status, whose lifetime the document has.
                status
                    .migrations
                    .iter()
                    .map(|m| m.name)
                    .chain(status.unknown.iter().map(|u| u.name.as_str()))
                    .find(|s| *s == n.as_str())
                    .unwrap_or("")
            })
            .collect()
    };
    let code = verdict
        .worst()
        .map_or(exit_code::SUCCESS, |f| exit_code::of_finding(f.kind));
    CheckDocument {
        schema: "mongodb-migrate/check/v1",
        database: String::new(),
        ok: code == exit_code::SUCCESS,
        exit_code: code,
        summary: Summary::of(status),
        failed: names(FindingKind::Failed),
        changed: names(FindingKind::Changed),
        unknown: names(FindingKind::Unknown),
        out_of_order: names(FindingKind::OutOfOrder),
        ahead: names(FindingKind::Future),
        pending: names(FindingKind::Pending),
        allowed_destructive: status
            .migrations
            .iter()
            .filter(|m| {
                verdict
                    .names(FindingKind::Pending)
                    .iter()
                    .any(|n| n == m.name)
            })
            .flat_map(|m| {
                m.allowed.iter().map(move |a| PendingAllowed {
                    migration: m.name,
                    finding: a.finding,
                    reason: a.reason,
                    line: a.line,
                })
            })
            .collect(),
    }
}
