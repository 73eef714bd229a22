//! `migrate plan`: the checked plan compiled into the binary, offline.

use std::fmt::Write as _;

use serde::Serialize;

use super::args::{Format, FormatArgs};
use super::{print_json, CliError, Ctx};
use crate::exit_code;

/// The JSON document of `migrate plan --format json`.
#[derive(Debug, Serialize)]
struct PlanDocument<'a> {
    /// `mongodb-migrate/plan/v1`.
    schema: &'static str,
    migrations: Vec<PlannedMigration<'a>>,
}

#[derive(Debug, Serialize)]
struct PlannedMigration<'a> {
    order: usize,
    name: &'a str,
    dependencies: &'a [&'a str],
    description: &'a str,
    checksum: &'a str,
    /// Runs in a transaction (`pub const TRANSACTIONAL: bool = true;`).
    transactional: bool,
    /// Destructive operations its author allowed (`ALLOW`), with their reasons.
    allowed: Vec<AllowedFinding<'a>>,
    /// Why it cannot be rolled back (`IRREVERSIBLE`), if it says so.
    irreversible: Option<&'a str>,
}

/// One allowed destructive operation, as JSON.
#[derive(Debug, Serialize)]
pub(crate) struct AllowedFinding<'a> {
    pub finding: &'a str,
    pub reason: &'a str,
    pub line: u32,
}

pub(crate) fn allowed_of(m: &mongodb_migrate_core::Migration) -> Vec<AllowedFinding<'static>> {
    m.allowed
        .iter()
        .map(|a| AllowedFinding {
            finding: a.finding,
            reason: a.reason,
            line: a.line,
        })
        .collect()
}

pub(crate) fn run(args: &FormatArgs, ctx: &Ctx<'_>) -> Result<u8, CliError> {
    let migrations = ctx.app.migrations;
    match args.format {
        Format::Json => print_json(&PlanDocument {
            schema: "mongodb-migrate/plan/v1",
            migrations: migrations
                .iter()
                .enumerate()
                .map(|(i, m)| PlannedMigration {
                    order: i + 1,
                    name: m.name,
                    dependencies: m.dependencies,
                    description: m.description,
                    checksum: m.checksum,
                    transactional: m.transactional,
                    allowed: allowed_of(m),
                    irreversible: m.irreversible,
                })
                .collect(),
        })?,
        Format::Human => {
            let st = ctx.style;
            let noun = if migrations.len() == 1 {
                "migration"
            } else {
                "migrations"
            };
            let mut out = format!(
                "{}\n",
                st.heading(format!("Plan ({} {noun}, in order):", migrations.len()))
            );
            for (i, m) in migrations.iter().enumerate() {
                let _ = writeln!(out, "{:>4}. {}", i + 1, m.name);
                if !m.description.is_empty() {
                    let _ = writeln!(out, "      {}", m.description);
                }
                let deps = if m.dependencies.is_empty() {
                    "(none)".to_owned()
                } else {
                    m.dependencies.join(", ")
                };
                let _ = writeln!(out, "      depends on: {deps}");
                let _ = writeln!(out, "      checksum:   {}", st.dim(m.checksum));
                if m.transactional {
                    let _ = writeln!(out, "      transactional: yes");
                }
                for a in m.allowed {
                    let _ = writeln!(
                        out,
                        "      {} {} (line {}): {}",
                        st.warn("allows"),
                        a.finding,
                        a.line,
                        a.reason
                    );
                }
                if let Some(reason) = m.irreversible {
                    let _ = writeln!(out, "      {} {reason}", st.warn("irreversible:"));
                }
            }
            super::emit(&out)?;
        }
    }
    Ok(exit_code::SUCCESS)
}
