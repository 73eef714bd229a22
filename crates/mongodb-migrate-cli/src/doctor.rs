//! `migrate doctor`: whether `up` would work on this server with this account, told before it
//! matters. It writes nothing.
//!
//! Every judgement is the runner's own: the server's capabilities are
//! [`ServerInfo`]'s, the options [`judge_options`]'s, the roles [`access::judge`]'s, the state
//! the verdict's. The exit code is the one `up` would exit with.

use serde::Serialize;

use super::args::{Format, FormatArgs};
use super::{print_json, CliError, Ctx};
use crate::exit_code;
use mongodb_migrate_core::access::{self, AccessReport};
use mongodb_migrate_core::bson::doc;
use mongodb_migrate_core::lock::LockHolder;
use mongodb_migrate_core::{
    judge_options, Error, FindingKind, OptionsJudgement, ServerInfo, State, StoreError, Topology,
};

/// The schema id of `migrate doctor --format json`.
pub(crate) const SCHEMA: &str = "mongodb-migrate/doctor/v1";

/// The JSON document of `migrate doctor --format json`.
#[derive(Debug, Serialize)]
struct Report {
    schema: &'static str,
    database: String,
    collection: String,
    /// Whether `up` would run.
    ok: bool,
    /// The code `up` would exit with.
    exit_code: u8,
    /// What stops `up`, or needs a look, each with its fix.
    findings: Vec<Finding>,
    connection: Option<ConnectionReport>,
    server: Option<ServerInfo>,
    write_path: Option<WritePathReport>,
    /// Whether the state is read in one aggregation (`$unionWith`) or three queries.
    state_read: Option<&'static str>,
    retryable_writes: Option<RetryableReport>,
    transactions: Option<TransactionsReport>,
    access: Option<AccessReport>,
    options: OptionsJudgement,
    state: Option<StateReport>,
}

#[derive(Debug, Serialize)]
struct Finding {
    /// `error` (stops `up`), `warning` (worth fixing), `note`.
    severity: &'static str,
    what: String,
    fix: Option<String>,
}

#[derive(Debug, Serialize)]
struct ConnectionReport {
    /// The URI's hosts.
    hosts: String,
    tls: bool,
    /// `name@authSource`, when the URI names a user.
    user: Option<String>,
}

#[derive(Debug, Serialize)]
struct WritePathReport {
    /// `bulk_write` or `separate`.
    path: &'static str,
    commands_per_migration: &'static str,
    /// Forced by `MONGO_MIGRATE_STATE_WRITES=separate`.
    forced: bool,
}

#[derive(Debug, Serialize)]
struct RetryableReport {
    /// Whether the server has them.
    server: bool,
    /// What the URI says (`null`: the driver's default, on).
    uri: Option<bool>,
}

#[derive(Debug, Serialize)]
struct TransactionsReport {
    supported: bool,
    reason: Option<String>,
    /// Pending transactional migrations of this binary.
    pending_transactional: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
struct StateReport {
    applied: usize,
    pending: usize,
    /// Being applied by a live runner now.
    running: Vec<&'static str>,
    /// Failure records (interrupted runs included).
    failed: Vec<&'static str>,
    changed: Vec<String>,
    unknown: Vec<String>,
    out_of_order: Vec<String>,
    lock: Option<LockHolder>,
    /// Whether the lock's lease is still valid (another runner holds it now).
    lock_live: bool,
}

impl Report {
    fn push(&mut self, severity: &'static str, what: impl Into<String>, fix: Option<String>) {
        self.findings.push(Finding {
            severity,
            what: what.into(),
            fix,
        });
    }

    /// Records `code` as what `up` would exit with, unless an earlier finding decided.
    fn stop(&mut self, code: u8) {
        if self.exit_code == exit_code::SUCCESS {
            self.exit_code = code;
        }
    }
}

pub(crate) async fn run(args: &FormatArgs, ctx: &Ctx<'_>) -> Result<u8, CliError> {
    let g = ctx.global;
    let mut report = Report {
        schema: SCHEMA,
        database: g.database.clone().unwrap_or_default(),
        collection: g.collection.clone(),
        ok: false,
        exit_code: exit_code::SUCCESS,
        findings: Vec::new(),
        connection: None,
        server: None,
        write_path: None,
        state_read: None,
        retryable_writes: None,
        transactions: None,
        access: None,
        options: OptionsJudgement::default(),
        state: None,
    };
    if let Err(e) = examine(ctx, &mut report).await {
        report.stop(e.exit_code());
        let what = super::shown(&ctx.error_text(&e)).into_owned();
        report.push("error", what, None);
    }
    report.ok = report.exit_code == exit_code::SUCCESS;
    match args.format {
        Format::Json => print_json(&report)?,
        Format::Human => super::emit(&render(&report, ctx))?,
    }
    Ok(report.exit_code)
}

/// Fills `report`; an error is what stops the examination (unreachable, a failed login, a
/// configuration that does not parse).
async fn examine(ctx: &Ctx<'_>, report: &mut Report) -> Result<(), CliError> {
    let conn = ctx.connection().await?;
    report.database = conn.db.name().to_owned();
    report.connection = Some(ConnectionReport {
        hosts: conn.hosts.clone(),
        tls: conn.tls,
        user: conn.user.clone(),
    });
    let server = ServerInfo::probe_all(&conn.db, &conn.host_list)
        .await
        .map_err(|source| {
            Error::from(StoreError::Server {
                operation: "asking the server what it is (hello)",
                source,
            })
        })?;

    // Options first: an unusable one stops `up` before anything else matters.
    let options = judge_options(&conn.db, &server);
    for r in &options.refusals {
        report.push(
            "error",
            format!("the connection string sets {}: {}", r.option, r.message),
            Some(format!("remove {} from the URI", r.option)),
        );
        report.stop(exit_code::USAGE);
    }
    for n in &options.notes {
        report.push("note", format!("{}: {}", n.option, n.message), None);
    }
    report.options = options;

    let path = server.write_path();
    report.write_path = Some(WritePathReport {
        path: match path {
            mongodb_migrate_core::WritePath::Bulk => "bulk_write",
            mongodb_migrate_core::WritePath::Separate => "separate",
        },
        commands_per_migration: path.commands_per_migration(),
        forced: server.has_bulk_write() && path == mongodb_migrate_core::WritePath::Separate,
    });
    report.retryable_writes = Some(RetryableReport {
        server: server.retryable_writes(),
        uri: conn.retry_writes,
    });
    if !server.retryable_writes() {
        report.push(
            "note",
            "the server has no retryable writes (a standalone, or no sessions): a state write \
             that fails on a network error is not retried by the driver",
            None,
        );
    }
    if let Topology::ReplicaSet { primary: false, .. } = server.topology {
        report.push(
            "error",
            "connected to a replica set member that is not the primary: every write would fail \
             with NotWritablePrimary",
            Some("remove directConnection=true, or point the URI at the replica set".to_owned()),
        );
        report.stop(exit_code::DATABASE_ERROR);
    }
    if server.local_time.is_none() {
        report.push(
            "error",
            "the server's hello has no localTime: leases cannot be judged by the server clock",
            None,
        );
        report.stop(exit_code::DATABASE_ERROR);
    }
    for gap in server.known_gaps() {
        report.push("note", gap, Some("see docs/compatibility.md".to_owned()));
    }

    // Transactions: `up` refuses before the first migration when a pending one needs them.
    let pending_tx: Vec<&'static str> = ctx
        .app
        .migrations
        .iter()
        .filter(|m| m.transactional)
        .map(|m| m.name)
        .collect();

    // The account.
    let collections = [
        ctx.global.collection.clone(),
        mongodb_migrate_core::state::details_collection(&ctx.global.collection),
        mongodb_migrate_core::state::lock_collection(&ctx.global.collection),
    ];
    match conn
        .db
        .run_command(doc! { "connectionStatus": 1, "showPrivileges": true })
        .await
    {
        Ok(reply) => {
            let access = access::judge(&reply, conn.db.name(), &collections);
            for role in ["readWrite", "read"] {
                let lacking: Vec<&access::CommandAccess> = access
                    .commands
                    .iter()
                    .filter(|c| c.role == role && c.granted == Some(false))
                    .collect();
                if lacking.is_empty() {
                    continue;
                }
                let blocks_up = lacking.iter().any(|c| c.command == "up");
                let mut missing: Vec<&str> = Vec::new();
                for c in &lacking {
                    for m in &c.missing {
                        let action = m.split(" on ").next().unwrap_or(m);
                        if !missing.contains(&action) {
                            missing.push(action);
                        }
                    }
                }
                let commands: Vec<String> =
                    lacking.iter().map(|c| format!("`{}`", c.command)).collect();
                report.push(
                    if blocks_up { "error" } else { "warning" },
                    format!(
                        "{} need the {role} role on {} (the user lacks {} on the state collections {})",
                        commands.join(", "),
                        conn.db.name(),
                        missing.join(", "),
                        collections.join(", ")
                    ),
                    Some(format!(
                        "grant the user the {role} role on {} (see docs/permissions.md)",
                        conn.db.name()
                    )),
                );
                if blocks_up {
                    report.stop(exit_code::USAGE);
                }
            }
            if access.of("up").is_some_and(|c| c.granted.is_none()) {
                report.push(
                    "warning",
                    format!(
                        "cannot tell whether the user's roles ({}) grant what `up` needs: the \
                         server lists no privileges and a role is not built in",
                        access.roles.join(", ")
                    ),
                    Some("check that they grant find, insert, update and remove on the state collections".to_owned()),
                );
            }
            report.access = Some(access);
        }
        Err(e) => report.push(
            "note",
            format!(
                "the server did not say who is connected (connectionStatus): {}",
                ctx.error_text(&e)
            ),
            None,
        ),
    }

    // The state, read as `status` reads it.
    let migrator = ctx.migrator_of(conn);
    match migrator.status().await {
        Ok(status) => {
            let verdict = status.verdict();
            let names = |k: FindingKind| verdict.names(k).to_vec();
            let now = chrono::Utc::now();
            let lock_live = status
                .lock
                .as_ref()
                .is_some_and(|h| h.expires_at.is_some_and(|e| e > now));
            let pending_tx: Vec<&'static str> = status
                .in_state(State::Pending)
                .map(|m| m.name)
                .filter(|n| pending_tx.contains(n))
                .collect();
            let supported = server.transactions();
            if let (Err(reason), false) = (&supported, pending_tx.is_empty()) {
                report.push(
                    "error",
                    format!(
                        "pending migrations are transactional ({}), but {reason}",
                        pending_tx.join(", ")
                    ),
                    Some("run them against a replica set or a mongos, or drop TRANSACTIONAL from them".to_owned()),
                );
                report.stop(exit_code::USAGE);
            }
            report.transactions = Some(TransactionsReport {
                supported: supported.is_ok(),
                reason: supported.err(),
                pending_transactional: pending_tx,
            });
            if let Some(holder) = status.lock.as_ref().filter(|_| lock_live) {
                report.push(
                    "warning",
                    format!("the lock is held by {holder}"),
                    Some(format!(
                        "`up` waits up to --lock-timeout ({}) for it; `migrate unlock` only if that runner is surely dead",
                        humantime::format_duration(ctx.global.lock_timeout)
                    )),
                );
            }
            for finding in &verdict.findings {
                let code = exit_code::of_finding(finding.kind);
                let blocks = matches!(
                    finding.kind,
                    FindingKind::Failed
                        | FindingKind::Changed
                        | FindingKind::Unknown
                        | FindingKind::OutOfOrder
                );
                if blocks {
                    report.push(
                        "error",
                        format!("{}: {}", describe(finding.kind), finding.names.join(", ")),
                        Some(fix(finding.kind).to_owned()),
                    );
                    report.stop(code);
                }
            }
            report.state = Some(StateReport {
                applied: status.in_state(State::Applied).count(),
                pending: names(FindingKind::Pending).len(),
                running: status.in_state(State::Running).map(|m| m.name).collect(),
                failed: status.in_state(State::Failed).map(|m| m.name).collect(),
                changed: names(FindingKind::Changed),
                unknown: names(FindingKind::Unknown),
                out_of_order: names(FindingKind::OutOfOrder),
                lock: status.lock.clone(),
                lock_live,
            });
        }
        Err(e) => {
            let e = CliError::from(e);
            report.stop(e.exit_code());
            report.push(
                "error",
                super::shown(&ctx.error_text(&e)).into_owned(),
                None,
            );
        }
    }
    report.state_read = Some(
        if migrator.reads_state_in_one_query() && server.union_read() {
            "one aggregation ($unionWith)"
        } else {
            "three queries (no $unionWith)"
        },
    );
    report.server = Some(server);
    Ok(())
}

fn describe(kind: FindingKind) -> &'static str {
    match kind {
        FindingKind::Failed => "failure records",
        FindingKind::Changed => "changed since applied",
        FindingKind::Unknown => "unknown to this binary",
        FindingKind::OutOfOrder => "applied before a dependency",
        _ => "other",
    }
}

fn fix(kind: FindingKind) -> &'static str {
    match kind {
        FindingKind::Failed => "`migrate status` shows the error; fix, rebuild and `migrate up --retry`, or `migrate down --retry`",
        FindingKind::Changed => "restore the code, or `migrate accept-changes` after review",
        FindingKind::Unknown => "deploy the newer binary, or pass --allow-unknown",
        FindingKind::OutOfOrder => "check the history; --allow-out-of-order applies the missing ones late",
        _ => "",
    }
}

/// The human report.
fn render(r: &Report, ctx: &Ctx<'_>) -> String {
    let st = ctx.style;
    let mut out = String::new();
    let line = |out: &mut String, label: &str, value: String| {
        out.push_str(&format!("{:<14}{value}\n", label));
    };
    if let Some(c) = &r.connection {
        let tls = if c.tls { "TLS" } else { "no TLS" };
        let user = c
            .user
            .as_deref()
            .map(|u| format!(", as {u}"))
            .unwrap_or_default();
        line(&mut out, "Connection", format!("{} ({tls}{user})", c.hosts));
    }
    line(
        &mut out,
        "Database",
        format!("{} (state collection {})", r.database, r.collection),
    );
    if let Some(s) = &r.server {
        let version = s
            .version
            .as_deref()
            .map(|v| format!(" {v}"))
            .unwrap_or_default();
        let wire = s
            .max_wire_version
            .map(|w| format!(" (wire version {w})"))
            .unwrap_or_default();
        line(
            &mut out,
            "Server",
            format!("{}{version}{wire}", s.kind.label()),
        );
        line(
            &mut out,
            "Topology",
            match &s.topology {
                Topology::Standalone => "standalone".to_owned(),
                Topology::ReplicaSet {
                    name,
                    members,
                    primary,
                } => format!(
                    "replica set {name}, {members} data-bearing member{}, connected to {}",
                    if *members == 1 { "" } else { "s" },
                    if *primary {
                        "the primary"
                    } else {
                        "a secondary"
                    }
                ),
                Topology::Sharded => "sharded cluster (mongos)".to_owned(),
            },
        );
        if let Some(w) = &r.write_path {
            let how = if w.path == "bulk_write" {
                "one fenced bulkWrite per step"
            } else {
                "a fenced update, then one command per write"
            };
            let forced = if w.forced {
                " (forced by MONGO_MIGRATE_STATE_WRITES)"
            } else {
                ""
            };
            line(
                &mut out,
                "Write path",
                format!(
                    "{} — {how}: {} commands per migration{forced}",
                    w.path, w.commands_per_migration
                ),
            );
        }
        if let Some(read) = r.state_read {
            line(&mut out, "State read", read.to_owned());
        }
        if let Some(rw) = &r.retryable_writes {
            let uri = match rw.uri {
                Some(false) => ", turned off by the URI (retryWrites=false)",
                _ => "",
            };
            line(
                &mut out,
                "Retryable",
                format!("{}{uri}", if rw.server { "yes" } else { "no" }),
            );
        }
        if let Some(t) = &r.transactions {
            line(
                &mut out,
                "Transactions",
                match &t.reason {
                    None => "yes".to_owned(),
                    Some(reason) => format!("no: {reason}"),
                },
            );
        }
        if let (Some(offset), Some(rtt)) = (s.clock_offset_ms, s.round_trip_ms) {
            let dir = if offset >= 0 { "ahead of" } else { "behind" };
            line(
&mut out,
                "Clock",
                format!(
                    "the server is {} ms {dir} this host (round trip {rtt} ms); leases are judged by the server's clock",
                    offset.abs()
                ),
            );
        }
    }
    if let Some(a) = &r.access {
        if a.users.is_empty() {
            line(
                &mut out,
                "User",
                "none authenticated (the server runs without authentication)".to_owned(),
            );
        } else {
            line(
                &mut out,
                "User",
                format!(
                    "{}, roles {}",
                    a.users.join(", "),
                    if a.roles.is_empty() {
                        "(none)".to_owned()
                    } else {
                        a.roles.join(", ")
                    }
                ),
            );
            for c in &a.commands {
                let mark = match c.granted {
                    Some(true) => st.ok("✓").to_string(),
                    Some(false) => st.error("✗").to_string(),
                    None => st.warn("?").to_string(),
                };
                out.push_str(&format!("  {mark} {:<15} needs {}\n", c.command, c.role));
            }
        }
    }
    if let Some(s) = &r.state {
        let lock = match (&s.lock, s.lock_live) {
            (Some(h), true) => format!("held by {h}"),
            (Some(h), false) => format!(
                "free (last held by {} pid {}; lease expired)",
                h.owner.host, h.owner.pid
            ),
            (None, _) => "free".to_owned(),
        };
        let mut state = vec![
            format!("{} applied", s.applied),
            format!("{} pending", s.pending),
        ];
        if !s.running.is_empty() {
            state.push(format!("running now: {}", s.running.join(", ")));
        }
        state.push(if s.failed.is_empty() {
            "no failure records".to_owned()
        } else {
            format!("failure records: {}", s.failed.join(", "))
        });
        line(&mut out, "State", state.join(", "));
        line(&mut out, "Lock", lock);
    }
    if !r.findings.is_empty() {
        out.push('\n');
    }
    for f in &r.findings {
        let mark = match f.severity {
            "error" => st.error("✗").to_string(),
            "warning" => st.warn("!").to_string(),
            _ => st.dim("·").to_string(),
        };
        out.push_str(&format!("{mark} {}\n", f.what));
        if let Some(fix) = &f.fix {
            out.push_str(&format!("  fix: {fix}\n"));
        }
    }
    out.push('\n');
    if r.ok {
        out.push_str(&format!("{} `up` would run.\n", st.ok("✓")));
    } else {
        out.push_str(&format!(
            "{} `up` would not run: it would exit {}.\n",
            st.error("✗"),
            r.exit_code
        ));
    }
    out
}
