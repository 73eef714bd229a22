//! Shared by the `cli_*` tests: the counter fixture app, built once per test binary, and
//! helpers to run it against a test database.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use futures::TryStreamExt;
use mongodb_migrate::bson::{doc, Document};
use mongodb_migrate::mongodb::Database;
use mongodb_migrate_test_support::{FixtureBuild, FixtureCrate};

/// The fixture app's source directory.
pub fn counter_source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/apps/counter")
}

/// The counter app (0001_first; 0002_slow ← 0001; 0003_flaky ← 0002), built once.
pub fn counter_app() -> &'static FixtureBuild {
    static BUILD: OnceLock<FixtureBuild> = OnceLock::new();
    BUILD.get_or_init(|| {
        let build = FixtureCrate::new("counter")
            .copy_dir(counter_source())
            .build();
        assert!(
            build.success,
            "the counter fixture must build:\n{}",
            build.stderr
        );
        build
    })
}

/// `migrate` of `app` against `uri`, in the app's directory, with a clean environment for
/// the variables the CLI reads.
pub fn migrate(app: &FixtureBuild, uri: &str) -> Command {
    let mut cmd = Command::new(app.binary());
    cmd.current_dir(&app.dir)
        .env("MONGO_URI", uri)
        .env("NO_COLOR", "1")
        .env_remove("MONGO_DATABASE")
        .env_remove("MONGO_MIGRATE_COLLECTION")
        .env_remove("MONGO_MIGRATE_LOCK_TIMEOUT")
        .env_remove("MONGO_MIGRATE_LEASE_TTL")
        .env_remove("SLOW_MS")
        .env_remove("SLOW_WRITES")
        .env_remove("SLOW_BLOCKING")
        .env_remove("MONGO_MIGRATE_SERVER_TIMEOUT")
        .env_remove("FAIL_0003");
    cmd
}

/// Runs and captures.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run the fixture binary")
}

/// stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The exit code (panics when killed by a signal).
pub fn code(o: &Output) -> i32 {
    o.status
        .code()
        .unwrap_or_else(|| panic!("killed by a signal: {o:?}"))
}

/// Whether nobody holds the lock: its document is absent, or released (no owner).
pub async fn lock_free(db: &Database) -> bool {
    use mongodb_migrate::bson::{doc, Bson, Document};
    db.collection::<Document>("pymongo_migrate_lock")
        .find_one(doc! {})
        .await
        .expect("read the lock")
        .is_none_or(|d| matches!(d.get("owner"), None | Some(Bson::Null)))
}

/// `(name, up runs, down runs)` from the fixture's `counters` collection, sorted by name.
pub async fn counters(db: &Database) -> Vec<(String, i32, i32)> {
    let docs: Vec<Document> = db
        .collection::<Document>("counters")
        .find(doc! {})
        .sort(doc! { "_id": 1 })
        .await
        .expect("find counters")
        .try_collect()
        .await
        .expect("read counters");
    docs.iter()
        .map(|d| {
            (
                d.get_str("_id").expect("_id").to_owned(),
                d.get_i32("up").unwrap_or(0),
                d.get_i32("down").unwrap_or(0),
            )
        })
        .collect()
}

/// Replaces what changes from run to run (dates, durations, hosts, pids, tokens) by
/// `"[redacted]"`, for snapshots.
pub fn redact(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                let volatile = matches!(
                    key.as_str(),
                    "applied_at"
                        | "failed_at"
                        | "duration_ms"
                        | "applied_by"
                        | "acquired_at"
                        | "expires_at"
                        | "database"
                );
                let checksum = matches!(key.as_str(), "checksum" | "recorded_checksum");
                if volatile && !v.is_null() {
                    *v = Value::String("[redacted]".to_owned());
                } else if checksum && v.as_str().is_some_and(|s| s.len() == 64) {
                    // Pinned by the build crate's tests; here only its presence matters.
                    *v = Value::String("[sha256]".to_owned());
                } else {
                    redact(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// A SecantusDB server of the test's own (`scripts/dev-db`, throwaway data), for tests that
/// stop the server under a runner: never the shared one.
#[derive(Debug)]
pub struct OwnServer {
    name: String,
    port: u16,
}

fn dev_db(args: &[&str]) -> Output {
    Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/dev-db"))
        .args(args)
        .output()
        .expect("run scripts/dev-db")
}

impl OwnServer {
    /// Starts a server named `name` on a free port, waiting until it answers.
    pub fn start(name: &str) -> Self {
        Self::start_with(name, &[])
    }

    /// [`start`](Self::start) with more `scripts/dev-db start` flags (`--standalone`, `--auth
    /// --user …`, `--tls-cert-file …`, `--enable-test-commands`).
    pub fn start_with(name: &str, flags: &[&str]) -> Self {
        Self::launch(name, flags)
    }

    /// A server for every test of this binary (kept in a `static`, which is never dropped): it
    /// stops when this process exits (`dev-db start --exit-with`).
    pub fn shared(name: &str, flags: &[&str]) -> Self {
        let pid = std::process::id().to_string();
        let mut all = vec!["--exit-with", pid.as_str()];
        all.extend_from_slice(flags);
        Self::launch(name, &all)
    }

    fn launch(name: &str, flags: &[&str]) -> Self {
        let port = dev_db(&["free-port"]);
        let port: u16 = String::from_utf8_lossy(&port.stdout)
            .trim()
            .parse()
            .expect("a free port");
        let name = format!("{name}-{}", std::process::id());
        let port_text = port.to_string();
        let mut args = vec![
            "start",
            "--name",
            &name,
            "--port",
            &port_text,
            "--throwaway",
        ];
        args.extend_from_slice(flags);
        let started = dev_db(&args);
        assert!(
            started.status.success(),
            "dev-db start: {}",
            String::from_utf8_lossy(&started.stderr)
        );
        OwnServer { name, port }
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `mongodb://127.0.0.1:PORT`.
    pub fn uri(&self) -> String {
        format!("mongodb://127.0.0.1:{}", self.port)
    }

    /// Stops the server now.
    pub fn stop(&self) {
        let _ = dev_db(&["stop", "--name", &self.name]);
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        self.stop();
    }
}
