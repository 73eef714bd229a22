//! `migrate check`: the deploy gate.

use serde::Serialize;

use super::args::{Format, FormatArgs};
use super::status::Summary;
use super::{print_json, CliError, Ctx};
use crate::{exit_code, State, Status};

/// The JSON document of `migrate check --format json`.
#[derive(Debug, Serialize)]
struct CheckDocument<'a> {
    /// `mongo-migrate/check/v1`.
    schema: &'static str,
    ok: bool,
    exit_code: u8,
    summary: Summary,
    failed: Vec<&'a str>,
    changed: Vec<&'a str>,
    unknown: Vec<&'a str>,
    out_of_order: Vec<&'a str>,
    pending: Vec<&'a str>,
}

pub(crate) async fn run(args: &FormatArgs, ctx: &Ctx<'_>) -> Result<u8, CliError> {
    let status = ctx.migrator().await?.status().await?;
    let doc = findings(&status);
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
                    ("pending", &doc.pending),
                ] {
                    if !names.is_empty() {
                        outln!("  {} {label}: {}", names.len(), names.join(", "));
                    }
                }
            }
        }
    }
    Ok(doc.exit_code)
}

fn findings(status: &Status) -> CheckDocument<'_> {
    let failed: Vec<&str> = status
        .migrations
        .iter()
        .filter(|m| m.state == State::Failed)
        .map(|m| m.name)
        .collect();
    let changed: Vec<&str> = status.changed().map(|m| m.name).collect();
    let unknown: Vec<&str> = status.unknown.iter().map(|u| u.name.as_str()).collect();
    let out_of_order: Vec<&str> = status.out_of_order().map(|m| m.name).collect();
    // A migration another runner is applying right now is not done: pending, not failed.
    let pending: Vec<&str> = status
        .migrations
        .iter()
        .filter(|m| matches!(m.state, State::Pending | State::Running))
        .map(|m| m.name)
        .collect();
    // The worst finding decides the code.
    let code = if !failed.is_empty() {
        exit_code::FAILED_RECORD
    } else if !changed.is_empty() {
        exit_code::CHANGED
    } else if !unknown.is_empty() {
        exit_code::UNKNOWN
    } else if !out_of_order.is_empty() {
        exit_code::OUT_OF_ORDER
    } else if !pending.is_empty() {
        exit_code::PENDING
    } else {
        exit_code::SUCCESS
    };
    CheckDocument {
        schema: "mongo-migrate/check/v1",
        ok: code == exit_code::SUCCESS,
        exit_code: code,
        summary: Summary::of(status),
        failed,
        changed,
        unknown,
        out_of_order,
        pending,
    }
}
