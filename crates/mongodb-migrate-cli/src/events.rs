//! `up` and `down` with `--format json`: one JSON event per line on stdout (JSON Lines), for
//! runs inside a Job that must be followed and alerted on. Schema `mongodb-migrate/event/v1`;
//! fields are only ever added within a version.

use std::sync::Mutex;

use serde::Serialize;
use serde_json::{json, Value};

use mongodb_migrate_core::{Event, Observer, Report};

/// The schema tag every event carries.
pub(crate) const SCHEMA: &str = "mongodb-migrate/event/v1";

/// Prints [`Event`]s as JSON lines, each with the database it concerns.
#[derive(Debug)]
pub(crate) struct JsonEvents {
    database: String,
    /// The last tenth of progress printed, per run: a line per tenth, not per report.
    tenth: Mutex<Option<u64>>,
}

impl JsonEvents {
    pub fn new(database: &str) -> Self {
        JsonEvents {
            database: database.to_owned(),
            tenth: Mutex::new(None),
        }
    }

    /// Prints one event: `event` plus `fields`.
    pub fn emit(&self, event: &str, fields: Value) {
        let mut line = json!({
            "schema": SCHEMA,
            "event": event,
            "database": self.database,
            "at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        });
        if let (Some(line), Value::Object(fields)) = (line.as_object_mut(), fields) {
            line.extend(fields);
        }
        if let Ok(text) = serde_json::to_string(&line) {
            super::line(&text);
        }
    }

    /// The last event of a run: what it did, its exit code, and the error if it failed (with
    /// the server's code and code name when the server answered with one).
    pub fn summary(
        &self,
        report: Option<&Report>,
        code: u8,
        error: Option<(&str, Option<(i32, String)>)>,
    ) {
        let (error, server) = match error {
            Some((text, server)) => (Some(text), server),
            None => (None, None),
        };
        self.emit(
            "summary",
            json!({
                "ok": code == crate::exit_code::SUCCESS,
                "exit_code": code,
                "direction": report.map(|r| r.direction),
                "dry_run": report.is_some_and(|r| r.dry_run),
                "fake": report.is_some_and(|r| r.fake),
                "steps": report.map(|r| r.steps.clone()).unwrap_or_default(),
                "interrupted": report.map(|r| r.interrupted.clone()).unwrap_or_default(),
                "ahead": report.map(|r| r.ahead.clone()).unwrap_or_default(),
                "error": error,
                "error_code": server.as_ref().map(|s| s.0),
                "error_code_name": server.as_ref().map(|s| s.1.clone()),
            }),
        );
    }
}

#[derive(Serialize)]
struct Holder<'a> {
    host: &'a str,
    pid: u32,
}

impl Observer for JsonEvents {
    fn on_event(&self, event: &Event<'_>) {
        match *event {
            Event::LockWait { holder, timeout } => self.emit(
                "lock_wait",
                json!({
                    "holder": holder.map(|h| Holder { host: &h.owner.host, pid: h.owner.pid }),
                    "timeout_ms": timeout.as_millis() as u64,
                }),
            ),
            Event::LockAcquired => self.emit("lock_acquired", json!({})),
            Event::Destructive { name, allowed } => self.emit(
                "destructive",
                json!({
                    "migration": name,
                    "allowed": allowed.iter().map(|a| json!({
                        "finding": a.finding, "reason": a.reason, "line": a.line,
                    })).collect::<Vec<_>>(),
                }),
            ),
            Event::Interrupted { name, failure } => self.emit(
                "interrupted",
                json!({ "migration": name, "direction": failure.direction, "error": failure.error }),
            ),
            Event::Deduplicated { name, removed } => self.emit(
                "deduplicated",
                json!({ "migration": name, "removed": removed }),
            ),
            Event::Ahead { names } => self.emit("ahead", json!({ "migrations": names })),
            Event::Start {
                name,
                direction,
                index,
                total,
                fake,
            } => {
                if let Ok(mut t) = self.tenth.lock() {
                    *t = None;
                }
                self.emit(
                    "start",
                    json!({
                        "migration": name, "direction": direction, "index": index,
                        "total": total, "fake": fake,
                    }),
                );
            }
            Event::Progress { name, done, total } => {
                // A line per tenth when the total is known; otherwise each report.
                if let Some(t) = total.filter(|t| *t > 0) {
                    let tenth = done * 10 / t;
                    let Ok(mut last) = self.tenth.lock() else { return };
                    if *last == Some(tenth) {
                        return;
                    }
                    *last = Some(tenth);
                }
                self.emit(
                    "progress",
                    json!({ "migration": name, "done": done, "total": total }),
                );
            }
            Event::Note { name, message } => {
                self.emit("note", json!({ "migration": name, "message": message }));
            }
            Event::Finish {
                name,
                direction,
                elapsed,
                fake,
            } => self.emit(
                "finish",
                json!({
                    "migration": name, "direction": direction,
                    "duration_ms": elapsed.as_millis() as u64, "fake": fake,
                }),
            ),
            Event::Failed {
                name,
                direction,
                elapsed,
                error,
            } => self.emit(
                "failed",
                json!({
                    "migration": name, "direction": direction,
                    "duration_ms": elapsed.as_millis() as u64, "error": error,
                }),
            ),
            // Events newer than this crate are not emitted.
            _ => {}
        }
    }
}
