//! `migrate status`: applied, failed, pending and unknown migrations.

use serde::Serialize;

use super::args::{Format, StatusArgs};
use super::{print_json, CliError, Ctx, Style};
use crate::exit_code;
use mongodb_migrate_core::sanitize::for_terminal;
use mongodb_migrate_core::{
    ChecksumState, MigrationStatus, State, Status, UnknownKind, UnknownMigration,
};

/// The JSON document of `migrate status --format json`.
#[derive(Debug, Serialize)]
pub(crate) struct StatusDocument<'a> {
    /// `mongodb-migrate/status/v1`.
    schema: &'static str,
    database: &'a str,
    collection: &'a str,
    summary: Summary,
    migrations: &'a [MigrationStatus],
    unknown: &'a [UnknownMigration],
    lock: &'a Option<mongodb_migrate_core::lock::LockHolder>,
}

/// Counts per state.
#[derive(Debug, Serialize)]
pub(crate) struct Summary {
    pub applied: usize,
    pub pending: usize,
    pub failed: usize,
    pub running: usize,
    pub changed: usize,
    pub unknown: usize,
    pub out_of_order: usize,
    pub ahead: usize,
}

impl Summary {
    pub fn of(status: &Status) -> Self {
        Summary {
            applied: status.in_state(State::Applied).count(),
            pending: status.in_state(State::Pending).count(),
            failed: status.in_state(State::Failed).count(),
            running: status.in_state(State::Running).count(),
            changed: status.changed().count(),
            unknown: status.unknown_of(UnknownKind::Conflicting).count(),
            ahead: status.unknown_of(UnknownKind::Future).count(),
            out_of_order: status.out_of_order().count(),
        }
    }
}

pub(crate) async fn run(args: &StatusArgs, ctx: &Ctx<'_>) -> Result<u8, CliError> {
    let migrator = ctx.migrator().await?;
    let status = migrator.status().await?;
    match args.format {
        Format::Json => print_json(&StatusDocument {
            schema: "mongodb-migrate/status/v1",
            database: migrator.database().name(),
            collection: migrator.collection_name(),
            summary: Summary::of(&status),
            migrations: &status.migrations,
            unknown: &status.unknown,
            lock: &status.lock,
        })?,
        Format::Human => super::emit(&render(&status, ctx.global.verbose, ctx.style))?,
    }
    Ok(exit_code::SUCCESS)
}

const DATE: &str = "%Y-%m-%d %H:%M:%S UTC";

/// The human status, as in the user's document.
pub(crate) fn render(status: &Status, verbose: bool, st: Style) -> String {
    let mut out = String::new();
    let width = status
        .migrations
        .iter()
        .map(|m| m.name.len())
        .chain(status.unknown.iter().map(|u| u.name.len()))
        .max()
        .unwrap_or(0);

    out.push_str(&st.heading("Applied migrations:"));
    out.push('\n');
    let applied: Vec<&MigrationStatus> = status.in_state(State::Applied).collect();
    if applied.is_empty() {
        out.push_str("  (none)\n");
    }
    for m in applied {
        let date = m
            .applied_at
            .map(|d| d.format(DATE).to_string())
            .unwrap_or_default();
        let duration = m
            .duration_ms
            .map(|d| format!(" {d:>4} ms"))
            .unwrap_or_default();
        let mut marks = String::new();
        if m.checksum_state == ChecksumState::Changed {
            marks.push_str(&format!("  {}", st.warn("(changed since applied)")));
        }
        if m.fake {
            marks.push_str(&format!("  {}", st.dim("(fake)")));
        }
        if !m.unapplied_dependencies.is_empty() {
            marks.push_str(&format!(
                "  {}",
                st.warn(format!(
                    "(applied before its dependency {})",
                    m.unapplied_dependencies.join(", ")
                ))
            ));
        }
        out.push_str(&format!(
            "  {} {:<width$} {date}{duration}{marks}\n",
            st.ok("✓"),
            m.name
        ));
        if verbose {
            details(&mut out, m, st);
        }
    }

    let failed: Vec<&MigrationStatus> = status
        .migrations
        .iter()
        .filter(|m| matches!(m.state, State::Failed | State::Running))
        .collect();
    if !failed.is_empty() {
        out.push('\n');
        out.push_str(&st.heading("Failed migrations:"));
        out.push('\n');
        for m in failed {
            match (&m.failure, m.state) {
                (Some(f), _) => out.push_str(&format!(
                    "  {} {:<width$}  {} failed {}: {}\n",
                    st.error("✗"),
                    m.name,
                    f.direction,
                    f.failed_at.format(DATE),
                    for_terminal(&f.error)
                )),
                (None, _) => out.push_str(&format!(
                    "  {} {:<width$} running now\n",
                    st.warn("…"),
                    m.name
                )),
            }
            if verbose {
                details(&mut out, m, st);
            }
        }
        out.push_str(
            "  Fix, rebuild and `migrate up --retry`, or `migrate down --retry` to undo it.\n",
        );
    }

    out.push('\n');
    out.push_str(&st.heading("Pending migrations:"));
    out.push('\n');
    let pending: Vec<&MigrationStatus> = status.in_state(State::Pending).collect();
    if pending.is_empty() {
        out.push_str("  (none)\n");
    }
    for m in pending {
        out.push_str(&format!("  {}\n", m.name));
        if verbose {
            details(&mut out, m, st);
        }
    }

    let future: Vec<&UnknownMigration> = status.unknown_of(UnknownKind::Future).collect();
    if !future.is_empty() {
        out.push('\n');
        out.push_str(&st.heading(
            "Newer than this binary (applied by a newer version; they extend this plan):",
        ));
        out.push('\n');
        for u in future {
            let name = for_terminal(&u.name);
            let date = u
                .applied_at
                .map(|a| a.format(DATE).to_string())
                .unwrap_or_default();
            out.push_str(&format!("  {} {name:<width$} {date}\n", st.dim("+")));
        }
    }
    let conflicting: Vec<&UnknownMigration> = status.unknown_of(UnknownKind::Conflicting).collect();
    if !conflicting.is_empty() {
        out.push('\n');
        out.push_str(&st.heading("Unknown migrations (in the database, not in this binary):"));
        out.push('\n');
        for u in conflicting {
            let what = match (&u.failure, u.applied_at) {
                (Some(f), _) => format!(
                    "failed {}: {}",
                    f.failed_at.format(DATE),
                    for_terminal(&f.error)
                ),
                (None, Some(a)) => format!("applied {}", a.format(DATE)),
                (None, None) => String::new(),
            };
            let name = for_terminal(&u.name);
            out.push_str(&format!("  {} {name:<width$} {what}\n", st.warn("?")));
        }
    }
    if let Some(lock) = &status.lock {
        out.push('\n');
        out.push_str(&format!(
            "Lock: held by {}\n",
            for_terminal(&lock.to_string())
        ));
    }
    out
}

fn details(out: &mut String, m: &MigrationStatus, st: Style) {
    let pad = "      ";
    if !m.description.is_empty() {
        out.push_str(&format!("{pad}{}\n", st.dim(m.description)));
    }
    if let Some(by) = &m.applied_by {
        let d = m
            .duration_ms
            .map(|d| format!(" in {d} ms"))
            .unwrap_or_default();
        out.push_str(&format!(
            "{pad}by {} pid {}{d}\n",
            mongodb_migrate_core::sanitize::for_terminal(&by.host),
            by.pid
        ));
    }
    let checksum = match m.checksum_state {
        ChecksumState::Matches => "checksum matches".to_owned(),
        ChecksumState::Changed => format!(
            "changed since applied: recorded {}, binary {}",
            short(m.recorded_checksum.as_deref().unwrap_or("")),
            short(m.checksum)
        ),
        ChecksumState::NotRecorded => "no checksum recorded".to_owned(),
        ChecksumState::NotApplied => format!("checksum {}", short(m.checksum)),
        ChecksumState::OtherAlgorithm => format!(
            "checksum recorded by another algorithm ({}): not compared",
            short(m.recorded_checksum.as_deref().unwrap_or(""))
        ),
    };
    out.push_str(&format!("{pad}{checksum}\n"));
    for note in &m.notes {
        out.push_str(&format!(
            "{pad}{} {}\n",
            st.warn("note:"),
            mongodb_migrate_core::sanitize::for_terminal(note)
        ));
    }
}

fn short(s: &str) -> &str {
    s.get(..12).unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use mongodb_migrate_core::Failure;

    fn entry(order: usize, name: &'static str, state: State, ms: Option<i64>) -> MigrationStatus {
        let applied = state == State::Applied;
        MigrationStatus {
            order,
            name,
            dependencies: &[],
            description: "",
            state,
            applied_at: applied
                .then(|| chrono::Utc.with_ymd_and_hms(2026, 11, 26, 4, 5, 6).unwrap()),
            duration_ms: ms,
            applied_by: None,
            fake: false,
            checksum: "c",
            recorded_checksum: applied.then(|| "c".to_owned()),
            checksum_state: if applied {
                ChecksumState::Matches
            } else {
                ChecksumState::NotApplied
            },
            failure: None,
            notes: Vec::new(),
            allowed: &[],
            checkpoints: Default::default(),
            resumable: false,
            unapplied_dependencies: Vec::new(),
        }
    }

    #[test]
    fn renders_the_users_format() {
        let status = Status {
            migrations: vec![
                entry(1, "0001_create_admin_user", State::Applied, Some(12)),
                entry(2, "0002_add_user_id_to_content", State::Applied, Some(3)),
                entry(3, "0003_seed_initial_sections", State::Pending, None),
                entry(4, "0004_backfill_section_id", State::Pending, None),
            ],
            unknown: vec![],
            lock: None,
        };
        assert_eq!(
            render(&status, false, Style::new(false)),
            "Applied migrations:
  ✓ 0001_create_admin_user      2026-11-26 04:05:06 UTC   12 ms
  ✓ 0002_add_user_id_to_content 2026-11-26 04:05:06 UTC    3 ms

Pending migrations:
  0003_seed_initial_sections
  0004_backfill_section_id
"
        );
    }

    #[test]
    fn marks_failed_changed_and_unknown() {
        let mut changed = entry(1, "0001_a", State::Applied, Some(5));
        changed.checksum_state = ChecksumState::Changed;
        let mut failed = entry(2, "0002_b", State::Failed, Some(1));
        failed.failure = Some(Failure {
            failed_at: chrono::Utc.with_ymd_and_hms(2026, 11, 26, 4, 5, 7).unwrap(),
            direction: mongodb_migrate_core::Direction::Up,
            error: "backfilling: field missing".to_owned(),
        });
        let status = Status {
            migrations: vec![changed, failed],
            unknown: vec![UnknownMigration {
                name: "0009_gone".to_owned(),
                applied_at: Some(chrono::Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap()),
                failure: None,
                kind: UnknownKind::Conflicting,
                dependencies: None,
                description: None,
            }],
            lock: None,
        };
        assert_eq!(
            render(&status, false, Style::new(false)),
            "Applied migrations:
  ✓ 0001_a    2026-11-26 04:05:06 UTC    5 ms  (changed since applied)

Failed migrations:
  ✗ 0002_b     upgrade failed 2026-11-26 04:05:07 UTC: backfilling: field missing
  Fix, rebuild and `migrate up --retry`, or `migrate down --retry` to undo it.

Pending migrations:
  (none)

Unknown migrations (in the database, not in this binary):
  ? 0009_gone applied 2026-11-27 00:00:00 UTC
"
        );
    }

    #[test]
    fn marks_a_migration_applied_before_its_dependency() {
        let mut early = entry(2, "0002_b", State::Applied, Some(4));
        early.unapplied_dependencies = vec!["0001_a"];
        let status = Status {
            migrations: vec![entry(1, "0001_a", State::Pending, None), early],
            unknown: vec![],
            lock: None,
        };
        assert_eq!(
            render(&status, false, Style::new(false)),
            "Applied migrations:
  ✓ 0002_b 2026-11-26 04:05:06 UTC    4 ms  (applied before its dependency 0001_a)

Pending migrations:
  0001_a
"
        );
    }
}
