//! Finds the test server, starting one through `scripts/dev-db` when none is configured.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use mongodb::options::ClientOptions;
use mongodb::{Client, Database};

/// The environment variable that names the test server (`make test` exports it).
pub const TEST_URI_VAR: &str = "MONGODB_TEST_URI";

/// The URI of the server tests run against.
///
/// It is `MONGODB_TEST_URI` when set. Otherwise the server named `cargo-test` is started (or
/// reused) through the project's `scripts/dev-db`, found by walking up from the current
/// directory, so a bare `cargo test` works too.
///
/// # Panics
/// When no server can be had: tests never pass by skipping for want of a database.
pub fn test_server_uri() -> String {
    static URI: OnceLock<String> = OnceLock::new();
    URI.get_or_init(|| {
        if let Ok(uri) = std::env::var(TEST_URI_VAR) {
            if !uri.trim().is_empty() {
                return uri;
            }
        }
        start_own_server()
    })
    .clone()
}

fn find_dev_db_script() -> Option<PathBuf> {
    let starts = [
        std::env::current_dir().ok(),
        std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from),
    ];
    for start in starts.into_iter().flatten() {
        let mut dir: Option<&Path> = Some(&start);
        while let Some(d) = dir {
            let candidate = d.join("scripts").join("dev-db");
            if candidate.is_file() {
                return Some(candidate);
            }
            dir = d.parent();
        }
    }
    None
}

fn start_own_server() -> String {
    let script = find_dev_db_script().unwrap_or_else(|| {
        panic!(
            "{TEST_URI_VAR} is not set and no scripts/dev-db was found above the current \
             directory: set {TEST_URI_VAR}=mongodb://host:port or run the tests with `make test`"
        )
    });
    let run = |args: &[&str]| {
        Command::new("bash")
            .arg(&script)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("could not run {}: {e}", script.display()))
    };
    // Reuse the server a previous bare `cargo test` left running.
    let uri = run(&["uri", "--name", "cargo-test"]);
    if uri.status.success() {
        return String::from_utf8_lossy(&uri.stdout).trim().to_owned();
    }
    let port = run(&["free-port"]);
    let port = String::from_utf8_lossy(&port.stdout).trim().to_owned();
    let started = run(&[
        "start",
        "--name",
        "cargo-test",
        "--port",
        &port,
        "--throwaway",
    ]);
    assert!(
        started.status.success(),
        "{TEST_URI_VAR} is not set and starting a test server with `{} start` failed:\n{}",
        script.display(),
        String::from_utf8_lossy(&started.stderr)
    );
    format!("mongodb://127.0.0.1:{port}")
}

/// A database of its own for one test, so tests run in parallel without interfering.
#[derive(Debug, Clone)]
pub struct TestDatabase {
    /// The client connected to the test server.
    pub client: Client,
    /// The test's database.
    pub db: Database,
    /// The server URI with this database in its path, for child processes (`migrate --uri …`).
    pub uri: String,
}

impl TestDatabase {
    /// The database's name.
    pub fn name(&self) -> &str {
        self.db.name()
    }

    /// Drops the database.
    pub async fn drop(&self) -> mongodb::error::Result<()> {
        self.db.drop().await
    }
}

/// Connects to the test server and returns a fresh, empty database named after `label`.
///
/// # Panics
/// When the server cannot be reached: a test must fail loudly, not skip.
pub async fn test_database(label: &str) -> TestDatabase {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let base = test_server_uri();
    let mut options = ClientOptions::parse(&base)
        .await
        .unwrap_or_else(|e| panic!("bad {TEST_URI_VAR} {base:?}: {e}"));
    options.server_selection_timeout = Some(std::time::Duration::from_secs(10));
    let client = Client::with_options(options).expect("client options are valid");
    let sanitized: String = label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(36)
        .collect();
    let name = format!(
        "t_{sanitized}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let db = client.database(&name);
    db.drop()
        .await
        .unwrap_or_else(|e| panic!("test server at {base} is unreachable: {e}"));
    let uri = with_database(&base, &name);
    TestDatabase { client, db, uri }
}

/// `mongodb://h:p/?x` + `db` → `mongodb://h:p/db?x`.
fn with_database(base: &str, db: &str) -> String {
    let (scheme, rest) = base.split_once("://").unwrap_or(("mongodb", base));
    let (hosts_and_path, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    let hosts = hosts_and_path.split('/').next().unwrap_or(hosts_and_path);
    match query {
        Some(q) => format!("{scheme}://{hosts}/{db}?{q}"),
        None => format!("{scheme}://{hosts}/{db}"),
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn puts_the_database_in_the_path() {
        assert_eq!(with_database("mongodb://h:1", "d"), "mongodb://h:1/d");
        assert_eq!(
            with_database("mongodb://h:1/old?x=1", "d"),
            "mongodb://h:1/d?x=1"
        );
        assert_eq!(
            with_database("mongodb://h:1/?x=1", "d"),
            "mongodb://h:1/d?x=1"
        );
    }
}
