//! Every topology SecantusDB can be, end to end through the CLI (`doctor`, `up`, `status`,
//! `check`, `down`): a standalone server, authentication with a least-privileged user, TLS, and
//! both write paths; the connection options no migration can run with; a server that refuses
//! `$unionWith`; and the messages an operator reads when the server cannot be reached, refuses
//! the login or a role, is not the primary, or fails the TLS handshake (snapshots).
//!
//! One server per mode, started once per test binary and shared by the tests of that mode; each
//! test has a database of its own.

use crate::cli_common;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Output;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use cli_common::{code, counter_app, counters, migrate, run, stderr, stdout, OwnServer};
use mongodb_migrate::bson::{doc, Document};
use mongodb_migrate::cli::exit_code;
use mongodb_migrate::mongodb::{Client, Database};
use mongodb_migrate::testing::test_database;

/// A database name of this test's own on a server of this binary.
fn fresh(label: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "topo_{label}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn explain(o: &Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", stdout(o), stderr(o))
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", explain(o)))
}

/// What changes from run to run in a message or a report: ports, database names, times.
fn redact(text: &str, db: &str) -> String {
    let mut out = text.replace(db, "[db]");
    let mut rest = out.as_str();
    let mut done = String::new();
    while let Some(at) = rest.find("127.0.0.1:") {
        let (head, tail) = rest.split_at(at + "127.0.0.1:".len());
        done.push_str(head);
        let digits = tail.chars().take_while(char::is_ascii_digit).count();
        done.push_str(if digits > 0 { "[port]" } else { "" });
        rest = &tail[digits..];
    }
    done.push_str(rest);
    out = done;
    out.lines()
        .map(|l| {
            if l.starts_with("Clock") {
                "Clock         [the server's clock against this host's]".to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The doctor JSON with its volatile fields replaced.
fn redact_json(mut v: serde_json::Value, db: &str) -> serde_json::Value {
    for key in ["clock_offset_ms", "round_trip_ms", "local_time"] {
        if let Some(s) = v.get_mut("server").and_then(|s| s.get_mut(key)) {
            *s = serde_json::Value::String("[redacted]".to_owned());
        }
    }
    let text = redact(&v.to_string(), db);
    serde_json::from_str(&text).expect("still JSON")
}

/// The round trip every mode must pass: `doctor` says `up` would run; `up` runs each migration
/// once; `status` and `check` agree; `down --to zero` reverts each once; `check` then says
/// pending. Returns `doctor`'s text and JSON from before the run.
fn round_trip(uri: &str, db: &str, env: &[(&str, &str)]) -> (String, serde_json::Value) {
    let app = counter_app();
    let cmd = |args: &[&str]| {
        let mut c = migrate(app, uri);
        c.args(args);
        for (k, v) in env {
            c.env(k, v);
        }
        run(&mut c)
    };
    let doctor = cmd(&["doctor"]);
    assert_eq!(code(&doctor), 0, "doctor: {}", explain(&doctor));
    let doctor_json = cmd(&["doctor", "--format", "json"]);
    assert_eq!(
        code(&doctor_json),
        0,
        "doctor json: {}",
        explain(&doctor_json)
    );
    let doctor_json = json(&doctor_json);
    assert_eq!(doctor_json["schema"], "mongodb-migrate/doctor/v1");
    assert_eq!(
        (
            doctor_json["ok"].as_bool(),
            doctor_json["exit_code"].as_u64()
        ),
        (Some(true), Some(0))
    );

    let up = cmd(&["up"]);
    assert_eq!(code(&up), 0, "up: {}", explain(&up));
    let status = cmd(&["status", "--format", "json"]);
    assert_eq!(code(&status), 0, "status: {}", explain(&status));
    assert_eq!(
        json(&status)["summary"]["applied"],
        3,
        "{}",
        stdout(&status)
    );
    let check = cmd(&["check"]);
    assert_eq!(code(&check), 0, "check: {}", explain(&check));
    let down = cmd(&["down", "--to", "zero"]);
    assert_eq!(code(&down), 0, "down: {}", explain(&down));
    let check = cmd(&["check"]);
    assert_eq!(
        code(&check),
        i32::from(exit_code::PENDING),
        "check: {}",
        explain(&check)
    );

    let text = redact(&stdout(&doctor), db);
    (text, redact_json(doctor_json, db))
}

/// The migrations' own effects: each ran up once and down once.
async fn ran_once_each_way(db: &Database) {
    assert_eq!(
        counters(db).await,
        [
            ("0001_first".to_owned(), 1, 1),
            ("0002_slow".to_owned(), 1, 1),
            ("0003_flaky".to_owned(), 1, 1),
        ]
    );
}

async fn client(uri: &str) -> Client {
    Client::with_uri_str(uri).await.expect("client")
}

// ---------------------------------------------------------------------------------------------
// Servers, one per mode

fn standalone() -> &'static OwnServer {
    static S: OnceLock<OwnServer> = OnceLock::new();
    S.get_or_init(|| OwnServer::shared("topo-standalone", &["--standalone"]))
}

const ROOT: &str = "root:root-pw";

fn with_auth() -> &'static OwnServer {
    static S: OnceLock<OwnServer> = OnceLock::new();
    S.get_or_init(|| {
        OwnServer::shared(
            "topo-auth",
            &["--auth", "--user", &format!("{ROOT}:root@admin")],
        )
    })
}

/// A TLS server and its CA certificate's path.
struct Tls {
    server: OwnServer,
    ca: PathBuf,
}

fn with_tls() -> &'static Tls {
    static S: OnceLock<Tls> = OnceLock::new();
    S.get_or_init(|| {
        // Under the target directory: the static is never dropped to clean a temporary one.
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("topo-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a directory for the certificates");
        let (ca, cert, key) = certificates(&dir);
        let server = OwnServer::shared(
            "topo-tls",
            &[
                "--tls-cert-file",
                cert.to_str().expect("utf-8"),
                "--tls-key-file",
                key.to_str().expect("utf-8"),
            ],
        );
        Tls { server, ca }
    })
}

/// A CA, and a server certificate it signs for `localhost` and the IP address 127.0.0.1 (the
/// driver's rustls checks an IP address against an IP SAN).
fn certificates(dir: &std::path::Path) -> (PathBuf, PathBuf, PathBuf) {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, SanType,
    };
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "mongodb-migrate test CA");
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("ca key")).expect("ca");
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    params
        .subject_alt_names
        .push(SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1])));
    params
        .distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    let cert = params.signed_by(&key, &ca).expect("cert");
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write a certificate");
        path
    };
    (
        write("ca.pem", ca.pem()),
        write("server.pem", cert.pem()),
        write("server.key", key.serialize_pem()),
    )
}

fn with_fail_points() -> &'static OwnServer {
    static S: OnceLock<OwnServer> = OnceLock::new();
    S.get_or_init(|| OwnServer::shared("topo-failpoints", &["--enable-test-commands"]))
}

/// Arms `failCommand` on `commands` for clients named `app_name` until the guard drops.
struct FailPoint(Client);

impl FailPoint {
    async fn arm(server: &OwnServer, commands: &[&str], code: i32, app_name: &str) -> Self {
        let c = client(&server.uri()).await;
        c.database("admin")
            .run_command(doc! {
                "configureFailPoint": "failCommand",
                "mode": "alwaysOn",
                "data": { "failCommands": commands, "errorCode": code, "appName": app_name },
            })
            .await
            .expect("arm the fail point");
        FailPoint(c)
    }

    async fn disarm(self) {
        self.0
            .database("admin")
            .run_command(doc! { "configureFailPoint": "failCommand", "mode": "off" })
            .await
            .expect("disarm the fail point");
    }
}

// ---------------------------------------------------------------------------------------------
// Modes

#[tokio::test(flavor = "multi_thread")]
async fn both_write_paths_run_end_to_end_on_a_replica_set() {
    for (label, env) in [
        ("bulk", vec![]),
        ("separate", vec![("MONGO_MIGRATE_STATE_WRITES", "separate")]),
    ] {
        let t = test_database(&format!("topo_{label}")).await;
        let (text, report) = round_trip(&t.uri, t.name(), &env);
        insta::assert_snapshot!(format!("doctor_replica_set_{label}"), text);
        insta::assert_json_snapshot!(format!("doctor_replica_set_{label}_json"), report);
        ran_once_each_way(&t.db).await;
        t.drop().await.expect("drop");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_standalone_server_runs_end_to_end_and_doctor_says_what_it_lacks() {
    let server = standalone();
    let db = fresh("standalone");
    let uri = format!("{}/{db}", server.uri());
    let (text, report) = round_trip(&uri, &db, &[]);
    assert!(text.contains("Topology      standalone"), "{text}");
    assert!(text.contains("Retryable     no"), "{text}");
    assert!(
        text.contains("Transactions  no: the server is standalone"),
        "{text}"
    );
    insta::assert_snapshot!("doctor_standalone", text);
    insta::assert_json_snapshot!("doctor_standalone_json", report);
    ran_once_each_way(&client(&server.uri()).await.database(&db)).await;
}

/// The user `up` needs has `readWrite` on the app's database and nothing else; `read` is
/// enough for `status`, `check` and `doctor`.
#[tokio::test(flavor = "multi_thread")]
async fn a_least_privileged_user_runs_everything_with_read_write_on_the_app_database_only() {
    let server = with_auth();
    let db = fresh("auth");
    let root = client(&format!(
        "mongodb://{ROOT}@127.0.0.1:{}/?authSource=admin",
        server.port()
    ))
    .await;
    for (user, role) in [("migrator", "readWrite"), ("reader", "read")] {
        root.database(&db)
            .run_command(doc! {
                "createUser": user, "pwd": format!("{user}-pw"),
                "roles": [ { "role": role, "db": &db } ],
            })
            .await
            .expect("create the user");
    }
    let uri = |user: &str, pw: &str| {
        format!(
            "mongodb://{user}:{pw}@127.0.0.1:{}/{db}?authSource={db}",
            server.port()
        )
    };
    let (text, report) = round_trip(&uri("migrator", "migrator-pw"), &db, &[]);
    assert!(
        text.contains("User          migrator@[db], roles readWrite@[db]"),
        "{text}"
    );
    insta::assert_snapshot!("doctor_auth", text);
    insta::assert_json_snapshot!("doctor_auth_json", report);
    ran_once_each_way(&root.database(&db)).await;

    // `read` reads; `doctor` says `up` would not run, and why; `up` stops before writing.
    let reader = uri("reader", "reader-pw");
    let app = counter_app();
    for args in [["status"].as_slice(), &["check"]] {
        let o = run(migrate(app, &reader).args(args));
        assert!(
            [0, i32::from(exit_code::PENDING)].contains(&code(&o)),
            "{args:?}: {}",
            explain(&o)
        );
    }
    let doctor = run(migrate(app, &reader).arg("doctor"));
    assert_eq!(
        code(&doctor),
        i32::from(exit_code::USAGE),
        "{}",
        explain(&doctor)
    );
    insta::assert_snapshot!("doctor_auth_read_only", redact(&stdout(&doctor), &db));
    let up = run(migrate(app, &reader).arg("up"));
    assert_eq!(code(&up), i32::from(exit_code::USAGE), "{}", explain(&up));
    insta::assert_snapshot!("error_missing_role", redact(&stderr(&up), &db));
    let events = run(migrate(app, &reader).args(["up", "--format", "json"]));
    let summary: serde_json::Value = stdout(&events)
        .lines()
        .last()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .expect("a summary");
    assert_eq!(
        (
            &summary["exit_code"],
            &summary["error_code"],
            &summary["error_code_name"]
        ),
        (
            &serde_json::json!(2),
            &serde_json::json!(13),
            &serde_json::json!("Unauthorized")
        ),
        "{summary}"
    );

    // A wrong password, and no credentials at all: exit 2, said in words.
    let wrong = run(migrate(app, &uri("migrator", "not-the-password")).arg("status"));
    assert_eq!(
        code(&wrong),
        i32::from(exit_code::USAGE),
        "{}",
        explain(&wrong)
    );
    insta::assert_snapshot!("error_wrong_password", redact(&stderr(&wrong), &db));
    assert!(
        !stderr(&wrong).contains("not-the-password"),
        "{}",
        stderr(&wrong)
    );
    let anonymous = run(migrate(app, &format!("{}/{db}", server.uri())).arg("up"));
    assert_eq!(
        code(&anonymous),
        i32::from(exit_code::USAGE),
        "{}",
        explain(&anonymous)
    );
    assert!(
        stderr(&anonymous).contains("requires authentication"),
        "{}",
        stderr(&anonymous)
    );
    // Nothing was written by the refused runs.
    assert_eq!(
        root.database(&db)
            .collection::<Document>("pymongo_migrate_lock")
            .find_one(doc! { "owner": { "$ne": null } })
            .await
            .expect("read the lock"),
        None
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_runs_end_to_end_and_a_client_without_the_ca_is_told_why() {
    let tls = with_tls();
    let db = fresh("tls");
    let ca = tls.ca.to_str().expect("utf-8");
    let uri = format!(
        "mongodb://127.0.0.1:{}/{db}?tls=true&tlsCAFile={ca}",
        tls.server.port()
    );
    let (text, report) = round_trip(&uri, &db, &[]);
    insta::assert_snapshot!("doctor_tls", text);
    insta::assert_json_snapshot!("doctor_tls_json", report);
    let c = client(&uri).await;
    ran_once_each_way(&c.database(&db)).await;

    let app = counter_app();
    let no_ca = format!("mongodb://127.0.0.1:{}/{db}?tls=true", tls.server.port());
    let o = run(migrate(app, &no_ca).args(["--server-timeout", "2s", "status"]));
    assert_eq!(
        code(&o),
        i32::from(exit_code::DATABASE_UNREACHABLE),
        "{}",
        explain(&o)
    );
    insta::assert_snapshot!("error_tls", redact(&stderr(&o), &db));
}

// ---------------------------------------------------------------------------------------------
// Unreachable servers, in words

#[test]
fn an_unreachable_server_is_named_with_the_cause() {
    let app = counter_app();
    let closed = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    // A port that accepts connections and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent_port = silent.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in silent.incoming().flatten() {
            held.push(s);
        }
    });
    for (name, uri) in [
        ("error_refused", format!("mongodb://127.0.0.1:{closed}/app")),
        (
            "error_host_does_not_resolve",
            "mongodb://db.example.invalid/app".to_owned(),
        ),
        (
            "error_timeout",
            format!("mongodb://127.0.0.1:{silent_port}/app"),
        ),
    ] {
        let o = run(migrate(app, &uri).args(["--server-timeout", "1s", "status"]));
        assert_eq!(
            code(&o),
            i32::from(exit_code::DATABASE_UNREACHABLE),
            "{name}: {}",
            explain(&o)
        );
        let err = stderr(&o);
        for debug in ["labels:", "source: None", "Kind:"] {
            assert!(!err.contains(debug), "{name}: {err}");
        }
        insta::assert_snapshot!(name, redact(&err, "app"));
    }
    // `-v` shows the chain as the driver reported it.
    let o = run(
        migrate(app, &format!("mongodb://127.0.0.1:{closed}/app")).args([
            "-v",
            "--server-timeout",
            "1s",
            "status",
        ]),
    );
    assert!(
        stderr(&o).contains("caused by:\n  Kind: Server selection timeout"),
        "{}",
        explain(&o)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn not_primary_is_explained() {
    let server = with_fail_points();
    let db = fresh("not_primary");
    let fp = FailPoint::arm(server, &["aggregate"], 10107, "topo-not-primary").await;
    let uri = format!(
        "{}/{db}?appName=topo-not-primary&heartbeatFrequencyMS=500",
        server.uri()
    );
    let o = run(migrate(counter_app(), &uri).args(["--server-timeout", "3s", "status"]));
    fp.disarm().await;
    assert_eq!(
        code(&o),
        i32::from(exit_code::DATABASE_ERROR),
        "{}",
        explain(&o)
    );
    insta::assert_snapshot!("error_not_primary", redact(&stderr(&o), &db));
}

/// A server that refuses `$unionWith` (Amazon DocumentDB before 8.0.3) is read in three
/// queries, found out at the first read; the run goes on.
#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_refuses_union_with_is_read_in_three_queries() {
    let server = with_fail_points();
    let db = fresh("no_union");
    let fp = FailPoint::arm(server, &["aggregate"], 40324, "topo-no-union").await;
    let uri = format!("{}/{db}?appName=topo-no-union", server.uri());
    let app = counter_app();
    let up = run(migrate(app, &uri).arg("up"));
    let status = run(migrate(app, &uri).args(["status", "--format", "json"]));
    let doctor = run(migrate(app, &uri).arg("doctor"));
    fp.disarm().await;
    assert_eq!(code(&up), 0, "{}", explain(&up));
    assert_eq!(
        json(&status)["summary"]["applied"],
        3,
        "{}",
        explain(&status)
    );
    assert!(
        stdout(&doctor).contains("State read    three queries"),
        "{}",
        explain(&doctor)
    );
}

// ---------------------------------------------------------------------------------------------
// Connection options

#[tokio::test(flavor = "multi_thread")]
async fn options_no_migration_can_run_with_are_refused_before_the_lock() {
    let t = test_database("topo_options").await;
    let app = counter_app();
    for option in ["w=0", "w=2"] {
        let uri = format!("{}?{option}", t.uri);
        let up = run(migrate(app, &uri).arg("up"));
        assert_eq!(
            code(&up),
            i32::from(exit_code::USAGE),
            "{option}: {}",
            explain(&up)
        );
        assert!(
            stderr(&up).contains(&format!("sets {option}")),
            "{}",
            stderr(&up)
        );
        let doctor = run(migrate(app, &uri).arg("doctor"));
        assert_eq!(
            code(&doctor),
            i32::from(exit_code::USAGE),
            "{}",
            explain(&doctor)
        );
        assert!(
            stdout(&doctor).contains(&format!("✗ the connection string sets {option}")),
            "{}",
            stdout(&doctor)
        );
        if option == "w=0" {
            insta::assert_snapshot!("error_w0", redact(&stderr(&up), t.name()));
        }
    }
    // Nothing was written: not even the lock's collection exists.
    let names = t.db.list_collection_names().await.expect("list");
    assert!(names.is_empty(), "{names:?}");
    assert!(counters(&t.db).await.is_empty());
    // A fake run runs no body, and the runner's own writes use their own concerns: allowed.
    let w0 = format!("{}?w=0", t.uri);
    for args in [
        ["up", "--fake"].as_slice(),
        &["down", "--fake", "--to", "zero"],
    ] {
        let o = run(migrate(app, &w0).args(args));
        assert_eq!(code(&o), 0, "{args:?}: {}", explain(&o));
    }

    // An option that only changes what bodies see is reported, and the run goes on: the
    // runner's own commands stay on the primary with majority concerns.
    let uri = format!(
        "{}?readPreference=secondaryPreferred&readConcernLevel=local",
        t.uri
    );
    let doctor = run(migrate(app, &uri).arg("doctor"));
    assert_eq!(code(&doctor), 0, "{}", explain(&doctor));
    let text = stdout(&doctor);
    assert!(
        text.contains("· readPreference=secondaryPreferred: migration bodies"),
        "{text}"
    );
    assert!(
        text.contains("· readConcernLevel=local: migration bodies"),
        "{text}"
    );
    let up = run(migrate(app, &uri).arg("up"));
    assert_eq!(code(&up), 0, "{}", explain(&up));
    t.drop().await.expect("drop");
}

/// `doctor` exits with the code `up` would: a failure record is 5, named with its fix; a lock
/// held by a live runner is only a warning (`up` would wait for it).
#[tokio::test(flavor = "multi_thread")]
async fn doctor_exits_with_the_code_up_would_exit_with() {
    let t = test_database("topo_doctor_verdict").await;
    let app = counter_app();
    let failed = run(migrate(app, &t.uri).arg("up").env("FAIL_0003", "1"));
    assert_eq!(
        code(&failed),
        i32::from(exit_code::MIGRATION_FAILED),
        "{}",
        explain(&failed)
    );
    let doctor = run(migrate(app, &t.uri).arg("doctor"));
    assert_eq!(
        code(&doctor),
        i32::from(exit_code::FAILED_RECORD),
        "{}",
        explain(&doctor)
    );
    let text = stdout(&doctor);
    assert!(text.contains("✗ failure records: 0003_flaky"), "{text}");
    assert!(
        text.contains("fix: `migrate status` shows the error"),
        "{text}"
    );
    let report = json(&run(
        migrate(app, &t.uri).args(["doctor", "--format", "json"])
    ));
    assert_eq!(
        (&report["ok"], &report["exit_code"]),
        (&serde_json::json!(false), &serde_json::json!(5))
    );
    assert_eq!(report["state"]["failed"], serde_json::json!(["0003_flaky"]));

    // Repaired; then another runner holds a live lease.
    let down = run(migrate(app, &t.uri).args(["down", "--retry", "--to", "0002_slow"]));
    assert_eq!(code(&down), 0, "{}", explain(&down));
    let far = mongodb_migrate::bson::DateTime::from_millis(
        mongodb_migrate::bson::DateTime::now().timestamp_millis() + 600_000,
    );
    t.db.collection::<Document>("pymongo_migrate_lock")
        .update_one(
            doc! { "_id": "migrate" },
            doc! { "$set": {
                "owner": { "host": "other-host", "pid": 7, "token": "someone-else" },
                "acquired_at": far, "renewed_at": far, "expires_at": far,
            }},
        )
        .upsert(true)
        .await
        .expect("a live lease of another runner");
    let doctor = run(migrate(app, &t.uri).arg("doctor"));
    assert_eq!(code(&doctor), 0, "{}", explain(&doctor));
    let text = stdout(&doctor);
    assert!(
        text.contains("! the lock is held by other-host pid 7"),
        "{text}"
    );
    assert!(
        text.contains("`up` waits up to --lock-timeout (1m)"),
        "{text}"
    );
    // A state collection that holds an application's documents: 2, as `up` would.
    let foreign = run(migrate(app, &t.uri).args(["--collection", "counters", "doctor"]));
    assert_eq!(
        code(&foreign),
        i32::from(exit_code::USAGE),
        "{}",
        explain(&foreign)
    );
    assert!(
        stdout(&foreign)
            .contains("collection counters holds documents that are not migration state"),
        "{}",
        explain(&foreign)
    );
    t.drop().await.expect("drop");
}
