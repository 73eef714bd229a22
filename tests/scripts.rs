//! The shell side of the two commands: scripts/dev-db and scripts/with-db (what `make migrate`
//! uses to pick a server).
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cli_common;
use cli_common::{stderr, stdout};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// An isolated .dev home sharing the project's venv, so nothing touches the user's dev data.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        // The venv is installed by the harness (mongodb_migrate::testing) or `make test`.
        let out = Command::new(root().join("scripts/dev-db"))
            .arg("install")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Home {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn cmd(&self, script: &str) -> Command {
        let mut c = Command::new(root().join("scripts").join(script));
        c.env("DEV_DB_HOME", self.dir.path())
            .env("MIGRATE_BIN", env!("CARGO_BIN_EXE_migrate"))
            .env("DEV_DB_VENV", root().join(".dev/venv"))
            .env_remove("MONGO_URI")
            .env_remove("ADMIN_EMAIL")
            .current_dir(self.dir.path());
        c
    }

    fn free_port(&self) -> String {
        stdout(&self.cmd("dev-db").arg("free-port").output().unwrap())
            .trim()
            .to_owned()
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        let _ = self.cmd("dev-db").args(["stop", "--name", "dev"]).output();
        let _ = self
            .cmd("dev-db")
            .args(["stop", "--name", "other"])
            .output();
    }
}

#[test]
fn with_db_starts_the_local_server_when_mongo_uri_is_unset_and_says_so() {
    let home = Home::new();
    let port = home.free_port();
    let out = home
        .cmd("with-db")
        .env("DEV_DB_PORT", &port)
        .args(["sh", "-c", "echo \"$MONGO_URI|$ADMIN_EMAIL\""])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        format!("mongodb://127.0.0.1:{port}/field-notes|admin@field-notes.local")
    );
    assert!(
        stderr(&out).contains("ADMIN_EMAIL is unset; using the dev default"),
        "{}",
        stderr(&out)
    );
    let status = home
        .cmd("dev-db")
        .args(["status", "--name", "dev"])
        .output()
        .unwrap();
    assert!(
        stdout(&status).contains(&format!("127.0.0.1:{port}")),
        "{}",
        stdout(&status)
    );
    // Data persists: the dev server keeps its data under the home, not in a throwaway dir.
    assert!(Path::new(home.dir.path()).join("data/dev").is_dir());
    // A second call reuses the running server.
    let again = home
        .cmd("with-db")
        .env("DEV_DB_PORT", &port)
        .arg("true")
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("already running"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn with_db_uses_mongo_uri_from_the_environment_or_dotenv_and_starts_nothing() {
    let home = Home::new();
    let out = home
        .cmd("with-db")
        .env("MONGO_URI", "mongodb://db.example:27017/x")
        .args(["sh", "-c", "echo \"$MONGO_URI|${ADMIN_EMAIL:-unset}\""])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "mongodb://db.example:27017/x|unset");
    std::fs::write(
        home.dir.path().join(".env"),
        "export MONGO_URI=\"mongodb://from-dotenv/y\"\n",
    )
    .unwrap();
    let out = home
        .cmd("with-db")
        .args(["sh", "-c", "echo \"${MONGO_URI:-unset}\""])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    // The binary reads .env itself; with-db only must not start a server or override it.
    assert_eq!(stdout(&out).trim(), "unset");
    assert!(!home.dir.path().join("run/dev/server.pid").exists());
}

#[test]
fn dev_db_refuses_a_port_taken_by_another_process() {
    let home = Home::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let out = home
        .cmd("dev-db")
        .args(["start", "--name", "other", "--port", &port, "--throwaway"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(&format!("port {port} on 127.0.0.1 is already taken")),
        "{}",
        stderr(&out)
    );
}

#[test]
fn dev_db_start_stop_and_status() {
    let home = Home::new();
    let port = home.free_port();
    let start = home
        .cmd("dev-db")
        .args(["start", "--name", "other", "--port", &port, "--throwaway"])
        .output()
        .unwrap();
    assert!(start.status.success(), "{}", stderr(&start));
    let uri = home
        .cmd("dev-db")
        .args(["uri", "--name", "other"])
        .output()
        .unwrap();
    assert_eq!(stdout(&uri).trim(), format!("mongodb://127.0.0.1:{port}"));
    let stop = home
        .cmd("dev-db")
        .args(["stop", "--name", "other"])
        .output()
        .unwrap();
    assert!(stop.status.success(), "{}", stderr(&stop));
    let status = home
        .cmd("dev-db")
        .args(["status", "--name", "other"])
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(3));
    assert!(stdout(&status).contains("not running"));
}

fn make(args: &[&str]) -> std::process::Output {
    Command::new("make")
        .current_dir(root())
        .args(["--no-print-directory"])
        .args(args)
        .output()
        .expect("run make")
}

/// The Makefile vocabulary the Field Notes guide uses: every target is listed by `make help`,
/// and `deps-dev` / `format-check` / `migration` run what they say (dry runs, `make -n`).
#[test]
fn make_help_lists_the_development_targets_and_they_run_what_they_say() {
    let help = String::from_utf8_lossy(&make(&["help"]).stdout).into_owned();
    for target in [
        "migrate ",
        "migrate-status",
        "migrate-down",
        "migration ",
        "merge-migration",
        "test ",
        "test-quick",
        "lint ",
        "format-check",
        "release-checks",
        "deps-dev",
    ] {
        assert!(
            help.contains(&format!("  {target}")),
            "{target} missing:\n{help}"
        );
    }
    let dry = |target: &str| String::from_utf8_lossy(&make(&["-n", target]).stdout).into_owned();
    let deps = dry("deps-dev");
    assert!(deps.contains("cargo fetch --locked"), "{deps}");
    assert!(deps.contains("scripts/dev-db install"), "{deps}");
    assert!(dry("test-quick").contains("scripts/test-quick"));
    let format = dry("format-check");
    assert!(format.contains("cargo fmt --all --check"), "{format}");
    assert!(
        format.contains("clippy") && format.contains("-D warnings"),
        "{format}"
    );
    let migration =
        String::from_utf8_lossy(&make(&["-n", "migration", "NAME=add_tags"]).stdout).into_owned();
    assert!(
        migration.contains("-p cargo-mongodb-migrate -- mongodb-migrate new 'add_tags'"),
        "{migration}"
    );
    // Without NAME it says how to call it, and writes nothing.
    let bare = make(&["migration"]);
    assert!(!bare.status.success());
    assert!(String::from_utf8_lossy(&bare.stderr).contains("usage: make migration NAME="));
}
