//! `migrate rehearse`: the pending plan on a copy of the real data, before it is deployed.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use super::args::{Format, RehearseArgs};
use super::progress::ms;
use super::{print_json, CliError, Ctx, Style};
use crate::exit_code;
use mongodb_migrate_core::rehearse::{
    CheckReport, Cleaned, DifferenceKind, MigrationReport, Phase, PhaseReport, Prepared, Rehearsal,
    RehearsalEvent, RehearsalObserver, RehearsalReport, Scope, Verdict,
};
use mongodb_migrate_core::sanitize::for_terminal;
use mongodb_migrate_core::{ConfigError, Event, Observer};

/// The JSON document of `migrate rehearse --format json`.
#[derive(Debug, Serialize)]
struct RehearseDocument<'a> {
    /// `mongodb-migrate/rehearse/v1`.
    schema: &'static str,
    ok: bool,
    exit_code: u8,
    #[serde(flatten)]
    report: &'a RehearsalReport,
}

/// The JSON document of `migrate rehearse --cleanup --format json`.
#[derive(Debug, Serialize)]
struct CleanupDocument<'a> {
    /// `mongodb-migrate/rehearse-cleanup/v1`.
    schema: &'static str,
    databases: &'a [Cleaned],
}

pub(crate) async fn run(args: &RehearseArgs, ctx: &Ctx<'_>) -> Result<u8, CliError> {
    if args.cleanup {
        return cleanup(args, ctx).await;
    }
    ctx.check_runner_options()?;
    let g = ctx.global;
    let uri = g
        .uri
        .as_deref()
        .ok_or(mongodb_migrate_core::Error::from(ConfigError::NoUri))?;
    let json = args.format == Format::Json;
    let progress = Arc::new(Lines::new(ctx.style, json));
    let scope = match (&args.to, args.all) {
        (Some(name), _) => Scope::To(name.clone()),
        (None, true) => Scope::All,
        (None, false) => Scope::Pending,
    };
    let rehearsal = Rehearsal::new(uri, ctx.app.migrations)
        .database(g.database.clone())
        .collection(g.collection.clone())
        .scratch_uri(args.scratch_uri.clone())
        .scratch_database(args.scratch_db.clone())
        .scope(scope)
        .collections(args.collections.clone())
        .sample(args.sample)
        .keep(args.keep)
        .show_values(args.show_values)
        .server_timeout(g.server_timeout)
        .lock_timeout(g.lock_timeout)
        .lease_ttl(g.lease_ttl)
        .observer(Arc::clone(&progress) as Arc<dyn RehearsalObserver>)
        .runner_observer(Arc::clone(&progress) as Arc<dyn Observer>)
        .cancel_handle(ctx.cancel.clone());
    let prepared = rehearsal.prepare().await?;
    if prepared.migrations().is_empty() {
        let report = rehearsal.run(prepared).await?;
        return finish(&report, args, ctx, &progress);
    }
    introduce(&prepared, args, &progress);
    confirm(&prepared, args, &progress)?;
    let report = rehearsal.run(prepared).await?;
    finish(&report, args, ctx, &progress)
}

/// What will be rehearsed, where, and how much will be copied.
fn introduce(prepared: &Prepared, args: &RehearseArgs, out: &Lines) {
    let names = prepared.migrations();
    out.line(&format!(
        "Rehearsing {} on a copy of {}: {}",
        count(names.len(), "migration", "migrations"),
        prepared.source_database(),
        names.join(", ")
    ));
    let collections: Vec<&str> = prepared.collections().iter().map(|p| p.name()).collect();
    let which = if args.collections.is_some() {
        "as --collections names them"
    } else {
        "every collection of the source"
    };
    let state = match (args.all, prepared.state_collections().is_empty()) {
        (true, _) => "; not the migration state: --all starts from none",
        (false, true) => "; no migration state is recorded yet",
        (false, false) => ", and the migration state",
    };
    out.line(&format!(
        "Copying {} ({which}{state}): about {} documents, {}, into {}{}",
        count(collections.len(), "collection", "collections"),
        prepared.documents(),
        prepared.bytes().map_or("size unknown".to_owned(), size),
        prepared.scratch_database(),
        match &args.scratch_uri {
            Some(_) => " on the --scratch-uri deployment",
            None => " on the same deployment",
        }
    ));
    let suggested = prepared.suggested();
    if !suggested.is_empty() {
        out.line(&format!(
            "  The build's analyzer saw these migrations name {} (helpers and markers may reach others).",
            suggested.join(", ")
        ));
    }
    if let Some(sample) = args.sample {
        out.line(&format!(
            "  Sample: {sample}; durations are projected to the full collections."
        ));
    }
}

/// Asks before a copy above `--confirm-above`, or refuses when nobody can answer.
fn confirm(prepared: &Prepared, args: &RehearseArgs, out: &Lines) -> Result<(), CliError> {
    // Without a size from the server, a kilobyte a document.
    let bytes = prepared
        .bytes()
        .unwrap_or_else(|| prepared.documents().saturating_mul(1024));
    if args.yes || bytes <= args.confirm_above && args.confirm_above > 0 {
        return Ok(());
    }
    let what = format!(
        "The copy holds about {} ({} documents), above --confirm-above {}",
        size(bytes),
        prepared.documents(),
        size(args.confirm_above)
    );
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(CliError::Usage(format!(
            "{what}: pass --yes to copy it without asking, or copy less with --sample or --collections"
        )));
    }
    out.clear();
    eprint!(
        "{what}. Copy it into {}? [y/N] ",
        prepared.scratch_database()
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    if matches!(answer.trim(), "y" | "Y" | "yes" | "Yes") {
        Ok(())
    } else {
        Err(CliError::Usage(
            "not copied: the rehearsal was not confirmed".to_owned(),
        ))
    }
}

fn finish(
    report: &RehearsalReport,
    args: &RehearseArgs,
    ctx: &Ctx<'_>,
    out: &Lines,
) -> Result<u8, CliError> {
    let code = exit_code::of_verdict(report.verdict);
    out.clear();
    match args.format {
        Format::Json => print_json(&RehearseDocument {
            schema: "mongodb-migrate/rehearse/v1",
            ok: code == exit_code::SUCCESS,
            exit_code: code,
            report,
        })?,
        Format::Human => summary(report, ctx.style),
    }
    Ok(code)
}

/// The summary table, the differences and failure in full, and the verdict.
fn summary(report: &RehearsalReport, st: Style) {
    if report.verdict == Verdict::NothingToRehearse {
        outln!(
            "Nothing to rehearse: no migration is pending in {} (`--all` rehearses the whole plan from an empty state).",
            report.source.database
        );
        return;
    }
    let copy = &report.copy;
    outln!("");
    outln!(
        "Copied {} documents ({}) in {} ({:.0} documents/s).",
        copy.documents,
        size(copy.bytes),
        ms(Duration::from_millis(copy.duration_ms)),
        copy.documents_per_second
    );
    let rows: Vec<[String; 9]> = report
        .migrations
        .iter()
        .map(|m| {
            [
                m.name.to_owned(),
                cell(m.up.as_ref()),
                cell(m.rerun.as_ref()),
                cell(m.down.as_ref()),
                cell(m.up_again.as_ref()),
                m.up.as_ref()
                    .map_or("-".to_owned(), |u| u.documents_written.to_string()),
                verdict_cell(m, m.idempotent.as_ref()),
                if m.irreversible.is_some() {
                    "irreversible".to_owned()
                } else {
                    verdict_cell(m, m.downgrade_exact.as_ref())
                },
                if m.irreversible.is_some() {
                    "-".to_owned()
                } else {
                    verdict_cell(m, m.up_again_equal.as_ref())
                },
            ]
        })
        .collect();
    let headings = [
        "migration",
        "up",
        "re-run",
        "down",
        "up again",
        "written",
        "idempotent",
        "down exact",
        "same again",
    ];
    let mut widths: Vec<usize> = headings.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| {
                if i == 0 || i >= 6 {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    outln!("");
    outln!("{}", st.heading(line(&headings.map(str::to_owned))));
    for row in &rows {
        outln!("{}", line(row));
    }
    if report.sample.is_some() {
        outln!("(~N ms: projected to the full collections from the sample's rate; a projection, not a measurement)");
    }
    for m in &report.migrations {
        details(m, st);
    }
    outln!("");
    let verdict = match report.verdict {
        Verdict::Exact => st.ok("✓ Every round trip is exact: each upgrade is idempotent, each downgrade restores the data, each upgrade again gives the same data."),
        Verdict::NotExact => st.error("✗ A round trip is not exact (exit 15): see the differences above."),
        Verdict::Failed => st.error("✗ A migration failed on the copy (exit 1): see the failure above."),
        Verdict::NothingToRehearse => String::new(),
    };
    outln!("{verdict}");
    let scratch = &report.scratch;
    if scratch.kept {
        outln!(
            "The scratch database {} is kept for inspection; `migrate rehearse --cleanup` drops it.",
            scratch.database
        );
    } else if let Some(e) = &scratch.drop_error {
        outln!(
            "{} the scratch database {} could not be dropped ({e}); `migrate rehearse --cleanup` drops it.",
            st.warn("!"),
            scratch.database
        );
    }
}

fn cell(phase: Option<&PhaseReport>) -> String {
    phase.map_or("-".to_owned(), |p| match p.projected_ms {
        Some(projected) => format!(
            "{} (~{})",
            ms(Duration::from_millis(p.duration_ms)),
            ms(Duration::from_millis(projected))
        ),
        None => ms(Duration::from_millis(p.duration_ms)),
    })
}

fn verdict_cell(m: &MigrationReport, check: Option<&CheckReport>) -> String {
    match check {
        Some(c) if c.equal => "yes".to_owned(),
        Some(_) => "NO".to_owned(),
        None if m.failure.is_some() => "failed".to_owned(),
        None => "-".to_owned(),
    }
}

/// A migration's differences and failure, in full.
fn details(m: &MigrationReport, st: Style) {
    let checks = [
        ("its upgrade run again changed the data", &m.idempotent),
        (
            "its downgrade did not restore the data before the upgrade",
            &m.downgrade_exact,
        ),
        (
            "its upgrade again did not give the first upgrade's data",
            &m.up_again_equal,
        ),
    ];
    for (what, check) in checks {
        let Some(check) = check.as_ref().filter(|c| !c.equal) else {
            continue;
        };
        outln!("");
        outln!("{} {}: {what}:", st.error("✗"), m.name);
        outln!("  {}", differences(check));
        for d in &check.examples {
            let what = match d.kind {
                DifferenceKind::Changed => {
                    format!("document _id {}", d.id.as_deref().unwrap_or("?"))
                }
                DifferenceKind::Added => {
                    format!("document _id {} added", d.id.as_deref().unwrap_or("?"))
                }
                DifferenceKind::Removed => {
                    format!("document _id {} removed", d.id.as_deref().unwrap_or("?"))
                }
                DifferenceKind::Index => format!("index {}", d.index.as_deref().unwrap_or("?")),
                DifferenceKind::Options => "collection options".to_owned(),
            };
            outln!("  - {}: {}", d.collection, for_terminal(&what));
            for f in &d.fields {
                outln!(
                    "      {}: before {}, after {}",
                    for_terminal(&f.path),
                    for_terminal(&f.before),
                    for_terminal(&f.after)
                );
            }
        }
        if check.differences() > check.examples.len() as u64 {
            outln!("  (the first {} shown)", check.examples.len());
        }
    }
    if let Some(f) = &m.failure {
        outln!("");
        outln!(
            "{} {}: {} failed: {}",
            st.error("✗"),
            m.name,
            f.phase.label(),
            for_terminal(&f.error)
        );
        if let Some(d) = &f.document {
            let mut on = match &d.id {
                Some(id) => format!("the failing document: _id {id}"),
                None => "the failing document's _id is not in the server's error".to_owned(),
            };
            if let Some(index) = &d.index {
                on.push_str(&format!(", duplicate key on index {index}"));
            }
            outln!("  {}", for_terminal(&on));
        }
    }
}

/// `3 documents changed, 1 added, 1 index` …
fn differences(c: &CheckReport) -> String {
    let mut parts = Vec::new();
    for (n, one, many) in [
        (c.changed, "document changed", "documents changed"),
        (c.added, "document added", "documents added"),
        (c.removed, "document removed", "documents removed"),
        (
            c.definitions,
            "index or option changed",
            "indexes or options changed",
        ),
    ] {
        if n > 0 {
            parts.push(count_u64(n, one, many));
        }
    }
    if c.record_changed {
        parts.push("the migration's state record changed".to_owned());
    }
    parts.join(", ")
}

/// One line per phase as it ends: duration, documents, and its comparison.
fn phase_line(
    phase: Phase,
    report: &PhaseReport,
    check: Option<&CheckReport>,
    st: Style,
) -> String {
    let mut text = format!(
        "{:<9} {:>10}  read {}, wrote {}",
        phase.label(),
        ms(Duration::from_millis(report.duration_ms)),
        report.documents_read,
        report.documents_written
    );
    if let Some(p) = report.projected_ms {
        text.push_str(&format!(
            " (projected {} on the full collections)",
            ms(Duration::from_millis(p))
        ));
    }
    for b in &report.index_builds {
        text.push_str(&format!(
            "; built {} on {} in {}",
            b.indexes.join(", "),
            b.collection,
            ms(Duration::from_millis(b.duration_ms))
        ));
    }
    let (mark, verdict) = match (phase, check) {
        (_, None) => (st.ok("✓"), String::new()),
        (_, Some(c)) if !c.equal => (st.error("✗"), format!("; {}", differences(c))),
        (Phase::Rerun, Some(_)) => (st.ok("✓"), "; changed nothing".to_owned()),
        (Phase::Down, Some(_)) => (st.ok("✓"), "; restored the data exactly".to_owned()),
        (_, Some(c)) => {
            let mut tolerated = Vec::new();
            if c.recreated > 0 {
                tolerated.push(count_u64(
                    c.recreated,
                    "document created anew",
                    "documents created anew",
                ));
            }
            if c.regenerated > 0 {
                tolerated.push(count_u64(
                    c.regenerated,
                    "generated value",
                    "generated values",
                ));
            }
            let tolerated = if tolerated.is_empty() {
                String::new()
            } else {
                format!(" ({})", tolerated.join(", "))
            };
            (st.ok("✓"), format!("; equal to the first up{tolerated}"))
        }
    };
    format!("  {mark} {text}{verdict}")
}

async fn cleanup(args: &RehearseArgs, ctx: &Ctx<'_>) -> Result<u8, CliError> {
    let g = ctx.global;
    let uri = match args.scratch_uri.as_deref().or(g.uri.as_deref()) {
        Some(uri) => uri,
        None => return Err(mongodb_migrate_core::Error::from(ConfigError::NoUri).into()),
    };
    let conn = mongodb_migrate_core::connect(uri, Some("admin"), g.server_timeout).await?;
    let _ = ctx.hosts.set(conn.hosts.clone());
    let cleaned =
        mongodb_migrate_core::rehearse::cleanup(&conn.client, args.scratch_db.as_deref()).await?;
    match args.format {
        Format::Json => print_json(&CleanupDocument {
            schema: "mongodb-migrate/rehearse-cleanup/v1",
            databases: &cleaned,
        })?,
        Format::Human => {
            let st = ctx.style;
            if cleaned.is_empty() {
                outln!("No scratch database of a rehearsal on {}.", conn.hosts);
            }
            for c in &cleaned {
                let s = &c.scratch;
                let made = format!(
                    "of {}, made {} by {} pid {}{}",
                    s.source,
                    s.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
                    s.runner.host,
                    s.runner.pid,
                    if s.kept { ", kept with --keep" } else { "" }
                );
                if c.dropped {
                    outln!(
                        "{} dropped {}  ({})",
                        st.ok("✓"),
                        s.name,
                        for_terminal(&made)
                    );
                } else {
                    outln!(
                        "- left {}  (in use by a running rehearsal: {}; lease until {})",
                        s.name,
                        for_terminal(&made),
                        s.expires_at.format("%Y-%m-%d %H:%M:%S UTC")
                    );
                }
            }
        }
    }
    Ok(exit_code::SUCCESS)
}

fn count(n: usize, one: &str, many: &str) -> String {
    count_u64(n as u64, one, many)
}

fn count_u64(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Bytes as people read them: `52.3 MB`.
fn size(bytes: u64) -> String {
    let b = bytes as f64;
    match bytes {
        0..1_000 => format!("{bytes} B"),
        1_000..1_000_000 => format!("{:.1} kB", b / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", b / 1e6),
        _ => format!("{:.2} GB", b / 1e9),
    }
}

/// The rehearsal's progress: a line per collection copied and per run of each migration; on a
/// terminal, a bar with an ETA while a collection copies or a backfill runs. With `--format
/// json` the lines go to stderr, so stdout holds the document alone.
struct Lines {
    style: Style,
    stderr: bool,
    terminal: bool,
    bar: Mutex<Option<ProgressBar>>,
    /// How long the running migration's upgrade took: what its later runs are likely to take.
    up_ms: Mutex<Option<u64>>,
}

impl std::fmt::Debug for Lines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lines")
            .field("stderr", &self.stderr)
            .finish_non_exhaustive()
    }
}

impl Lines {
    fn new(style: Style, json: bool) -> Self {
        let terminal = if json {
            std::io::stderr().is_terminal()
        } else {
            std::io::stdout().is_terminal()
        };
        Lines {
            style,
            stderr: json,
            terminal,
            bar: Mutex::new(None),
            up_ms: Mutex::new(None),
        }
    }

    fn line(&self, text: &str) {
        let text = super::shown(text).into_owned();
        if let Ok(bar) = self.bar.lock() {
            if let Some(bar) = bar.as_ref() {
                bar.println(&text);
                return;
            }
        }
        if self.stderr {
            eprintln!("{text}");
        } else {
            outln!("{text}");
        }
    }

    fn target(&self) -> ProgressDrawTarget {
        if self.stderr {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::stdout()
        }
    }

    /// A bar (with a length) or a spinner, replacing the current one.
    fn show(&self, message: String, length: Option<u64>) {
        if !self.terminal {
            return;
        }
        let template = match length {
            Some(_) => "{spinner} {msg} [{wide_bar}] {pos}/{len} ({percent}%) ETA {eta}",
            None => "{spinner} {msg} {elapsed}",
        };
        let bar = ProgressBar::with_draw_target(length, self.target()).with_message(message);
        if let Ok(s) = ProgressStyle::with_template(template) {
            bar.set_style(s.progress_chars("=> "));
        }
        bar.enable_steady_tick(Duration::from_millis(100));
        if let Ok(mut b) = self.bar.lock() {
            if let Some(old) = b.replace(bar) {
                old.finish_and_clear();
            }
        }
    }

    fn clear(&self) {
        if let Ok(mut b) = self.bar.lock() {
            if let Some(bar) = b.take() {
                bar.finish_and_clear();
            }
        }
    }
}

impl RehearsalObserver for Lines {
    fn on_event(&self, event: &RehearsalEvent<'_>) {
        let st = self.style;
        match *event {
            RehearsalEvent::ScratchReady {
                database,
                replaced: true,
            } => {
                self.line(&format!(
                    "  Replaced {database}, a scratch database an earlier rehearsal left."
                ));
            }
            RehearsalEvent::ScratchDone {
                database,
                kept,
                error,
            } => {
                self.clear();
                match (kept, error) {
                    (true, _) => {
                        self.line(&format!("Kept the scratch database {database} (--keep)."))
                    }
                    (false, None) => {
                        self.line(&format!("Dropped the scratch database {database}."))
                    }
                    (false, Some(e)) => self.line(&format!(
                        "{} could not drop the scratch database {database}: {e}",
                        st.warn("!")
                    )),
                }
            }
            RehearsalEvent::CopyStart {
                collection,
                index,
                total,
                expected,
            } => {
                // `show` draws only on a terminal; elsewhere the line at the end says it all.
                self.show(
                    format!("[{index}/{total}] copying {collection}"),
                    Some(expected),
                );
            }
            RehearsalEvent::CopyProgress { done, .. } => {
                if let Ok(b) = self.bar.lock() {
                    if let Some(bar) = b.as_ref() {
                        bar.set_position(done);
                    }
                }
            }
            RehearsalEvent::CopyFinish { copy } => {
                self.clear();
                let mut extra = Vec::new();
                if copy.indexes > 0 {
                    extra.push(count(copy.indexes, "index", "indexes"));
                }
                if copy.validator {
                    extra.push("validator".to_owned());
                }
                if copy.kind != "collection" {
                    extra.push(copy.kind.clone());
                }
                if copy.state {
                    extra.push("migration state".to_owned());
                }
                let extra = if extra.is_empty() {
                    String::new()
                } else {
                    format!(", {}", extra.join(", "))
                };
                self.line(&format!(
                    "  {} copied {} ({}{extra}) in {}",
                    st.ok("✓"),
                    copy.name,
                    count_u64(copy.documents, "document", "documents"),
                    ms(Duration::from_millis(copy.duration_ms))
                ));
            }
            RehearsalEvent::PhaseStart {
                migration,
                phase,
                index,
                total,
            } => {
                let up_ms = self.up_ms.lock().ok().and_then(|mut u| {
                    if phase == Phase::Up {
                        *u = None;
                    }
                    *u
                });
                if phase == Phase::Up {
                    self.clear();
                    self.line(&format!("[{index}/{total}] {migration}"));
                }
                let hint = up_ms.map_or(String::new(), |ms| format!(" (its upgrade took {ms} ms)"));
                self.show(format!("{} {migration}{hint}", phase.label()), None);
            }
            RehearsalEvent::Comparing { migration, phase } => {
                self.show(
                    format!("comparing after {} of {migration}", phase.label()),
                    None,
                );
            }
            RehearsalEvent::PhaseFinish {
                phase,
                report,
                check,
                ..
            } => {
                if phase == Phase::Up {
                    if let Ok(mut u) = self.up_ms.lock() {
                        *u = Some(report.duration_ms);
                    }
                }
                self.clear();
                self.line(&phase_line(phase, report, check, st));
            }
            RehearsalEvent::PhaseFailed { failure, .. } => {
                self.clear();
                self.line(&format!(
                    "  {} {:<9} failed: {}",
                    st.error("✗"),
                    failure.phase.label(),
                    for_terminal(&failure.error)
                ));
            }
            _ => {}
        }
    }
}

impl Observer for Lines {
    fn on_event(&self, event: &Event<'_>) {
        match *event {
            Event::LockWait { holder, timeout } => {
                let who = holder.map_or_else(
                    || "another runner".to_owned(),
                    |h| for_terminal(&h.to_string()).into_owned(),
                );
                self.line(&format!(
                    "  Waiting up to {timeout:?} for the scratch database's migration lock held by {who}…"
                ));
            }
            Event::Progress { name, done, total } => {
                if let Ok(b) = self.bar.lock() {
                    if let Some(bar) = b.as_ref() {
                        if let Some(t) = total.filter(|t| *t > 0) {
                            if bar.length() != Some(t) {
                                if let Ok(style) = ProgressStyle::with_template(
                                    "{spinner} {msg} [{wide_bar}] {pos}/{len} ({percent}%) ETA {eta}",
                                ) {
                                    bar.set_style(style.progress_chars("=> "));
                                }
                                bar.set_length(t);
                                bar.reset_eta();
                            }
                            bar.set_position(done);
                        } else {
                            bar.set_message(format!("{name} ({done} done)"));
                        }
                    }
                }
            }
            Event::Note { name, message } => {
                let message = for_terminal(message);
                let line = if message.starts_with(name) {
                    format!("    {} {message}", self.style.warn("note:"))
                } else {
                    format!("    {} {name}: {message}", self.style.warn("note:"))
                };
                self.line(&line);
            }
            // Starts, ends and failures are the rehearsal's own lines.
            _ => {}
        }
    }
}
