//! No secret is ever shown or stored: a password with every awkward character, in a real
//! connection, quoted by a failing and by a panicking migration. Neither stdout, stderr, the
//! JSON output nor the database may hold any form of it.

use crate::cli_common;

use cli_common::{code, counter_app, migrate, run, stderr, stdout};
use futures::TryStreamExt;
use mongodb_migrate::bson::{doc, Document};
use mongodb_migrate::cli::exit_code;
use mongodb_migrate::testing::test_database;

const PASSWORD: &str = "pa/ss?w@rd$x:y";

/// Every form the password can take in a text.
fn forms() -> Vec<String> {
    let encoded =
        percent_encoding::utf8_percent_encode(PASSWORD, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    vec![
        PASSWORD.to_owned(),
        encoded,
        "pa/ss".to_owned(),
        "w@rd$x".to_owned(),
    ]
}

fn assert_hidden(what: &str, text: &str) {
    for form in forms() {
        assert!(!text.contains(&form), "{what} shows {form:?}:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_quoted_by_a_failing_or_panicking_migration_is_never_shown_nor_stored() {
    let app = counter_app();
    let t = test_database("secrets_e2e").await;
    t.db.run_command(doc! { "createUser": "ann", "pwd": PASSWORD, "roles": ["readWrite"] })
        .await
        .expect("create a user with an awkward password");
    let host = t
        .uri
        .trim_start_matches("mongodb://")
        .split('/')
        .next()
        .expect("host")
        .to_owned();
    let encoded = &forms()[1];
    let uri = format!(
        "mongodb://ann:{encoded}@{host}/{}?authSource={}",
        t.name(),
        t.name()
    );

    for how in ["uri", "panic"] {
        let up = run(migrate(app, &uri).arg("up").env("FAIL_0003", how));
        assert_eq!(
            code(&up),
            i32::from(exit_code::MIGRATION_FAILED),
            "{}",
            stderr(&up)
        );
        assert_hidden("up stdout", &stdout(&up));
        assert_hidden("up stderr", &stderr(&up));
        assert!(stderr(&up).contains("0003_flaky"), "{}", stderr(&up));
        for args in [
            vec!["status", "-v"],
            vec!["status", "--format", "json"],
            vec!["check", "--format", "json"],
        ] {
            let o = run(migrate(app, &uri).args(&args));
            assert_hidden(&format!("{args:?} stdout"), &stdout(&o));
            assert_hidden(&format!("{args:?} stderr"), &stderr(&o));
        }
        let details: Vec<Document> =
            t.db.collection::<Document>("pymongo_migrate_details")
                .find(doc! {})
                .await
                .expect("find")
                .try_collect()
                .await
                .expect("read");
        let stored = format!("{details:?}");
        assert_hidden("the details record", &stored);
        assert!(
            stored.contains("***"),
            "the error is stored, redacted: {stored}"
        );
        // Clear the failure for the next round.
        let retry = run(migrate(app, &uri).args(["down", "--retry"]));
        assert_eq!(code(&retry), 0, "{}", stderr(&retry));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_dotenv_line_is_located_without_its_value() {
    let app = counter_app();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join(".env"),
        // Single-quoted: the `$` in the password is taken as written.
        format!("MONGO_URI='mongodb://ann:{PASSWORD}@h/x'\nBROKEN LINE {PASSWORD}\n"),
    )
    .expect("write .env");
    let o = run(migrate(app, "")
        .env_remove("MONGO_URI")
        .current_dir(dir.path())
        .arg("status"));
    assert_eq!(code(&o), i32::from(exit_code::USAGE), "{}", stderr(&o));
    assert!(stderr(&o).contains(".env:2:"), "{}", stderr(&o));
    assert_hidden("stderr", &stderr(&o));
}
