//! Finds the test server: a URI, or a command that starts one, named by the environment or in
//! code. Nothing here knows any repository's layout.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use mongodb::options::ClientOptions;
use mongodb::{Client, Database};

/// The environment variable that names the test server's URI (`mongodb://host:port`).
pub const TEST_URI_VAR: &str = "MONGODB_TEST_URI";

/// The environment variable that names a command starting (or reusing) a test server: an
/// executable run without arguments that prints the server's URI on stdout.
pub const TEST_SERVER_VAR: &str = "MONGODB_TEST_SERVER";

static SERVER_COMMAND: OnceLock<PathBuf> = OnceLock::new();

/// Names, in code, the command that starts a test server when neither [`TEST_URI_VAR`] nor
/// [`TEST_SERVER_VAR`] is set: an executable that prints the server's URI on stdout. Call it
/// before the first [`test_database`]; later calls are ignored.
///
/// ```no_run
/// mongodb_migrate_core::testing::use_server_command("scripts/test-server");
/// ```
pub fn use_server_command(path: impl Into<PathBuf>) {
    let _ = SERVER_COMMAND.set(path.into());
}

/// The URI of the server tests run against.
///
/// In order: [`TEST_URI_VAR`]; the output of the command [`TEST_SERVER_VAR`] names; the output
/// of the command given to [`use_server_command`]. The command runs once per process.
///
/// # Panics
/// When no server can be had: tests never pass by skipping for want of a database.
pub fn test_server_uri() -> String {
    static URI: OnceLock<String> = OnceLock::new();
    URI.get_or_init(|| {
        if let Some(uri) = non_empty_var(TEST_URI_VAR) {
            return uri;
        }
        let command = non_empty_var(TEST_SERVER_VAR)
            .map(PathBuf::from)
            .or_else(|| SERVER_COMMAND.get().cloned())
            .unwrap_or_else(|| {
                panic!(
                    "no test server: set {TEST_URI_VAR}=mongodb://host:port, or {TEST_SERVER_VAR} \
                     to a command that starts one and prints its URI"
                )
            });
        run_server_command(&command)
    })
    .clone()
}

fn non_empty_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn run_server_command(command: &std::path::Path) -> String {
    let out = Command::new(command).output().unwrap_or_else(|e| {
        panic!(
            "cannot run the test server command {}: {e}",
            command.display()
        )
    });
    assert!(
        out.status.success(),
        "the test server command {} failed ({}):\n{}",
        command.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let uri = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        uri.starts_with("mongodb://") || uri.starts_with("mongodb+srv://"),
        "the test server command {} printed {uri:?}, not a mongodb:// URI",
        command.display()
    );
    uri
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
