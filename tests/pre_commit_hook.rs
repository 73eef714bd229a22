//! `.githooks/pre-commit` blocks a commit that breaks the migration lint, showing why.
use std::path::Path;
use std::process::{Command, Output};

use mongodb_migrate_test_support::FixtureCrate;

const GOOD: &str = r#"//! First.
use mongodb_migrate::prelude::*;

pub const NAME: &str = "0001_first";
pub const DEPENDENCIES: &[&str] = &[];

pub async fn upgrade(_db: &Database) -> Result<()> {
    Ok(())
}

pub async fn downgrade(_db: &Database) -> Result<()> {
    Ok(())
}
"#;

fn git(dir: &Path, args: &[&str]) -> Output {
    let target = mongodb_migrate_test_support::target_dir();
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .env("CARGO_TERM_COLOR", "never")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.test")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.test")
        .output()
        .unwrap()
}

#[test]
fn the_hook_blocks_a_commit_with_a_broken_migration() {
    let hook =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(".githooks/pre-commit"))
            .unwrap();
    let built = FixtureCrate::new("hook")
        .file("migrations/0001_first.rs", GOOD)
        .file(".githooks/pre-commit", hook)
        .build();
    assert!(built.success, "{}", built.stderr);
    let dir = &built.dir;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        dir.join(".githooks/pre-commit"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    assert!(git(dir, &["init", "-q"]).status.success());
    assert!(git(dir, &["config", "core.hooksPath", ".githooks"])
        .status
        .success());
    git(dir, &["add", "-A"]);
    let ok = git(dir, &["commit", "-qm", "good"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    built.write(
        "migrations/0002_second.rs",
        GOOD.replace("0001_first", "0002_secnd"),
    );
    git(dir, &["add", "-A"]);
    let blocked = git(dir, &["commit", "-qm", "broken"]);
    let stderr = String::from_utf8_lossy(&blocked.stderr);
    assert!(!blocked.status.success(), "{stderr}");
    assert!(stderr.contains("migrations/0002_second.rs"), "{stderr}");
    assert!(
        stderr.contains("`NAME` does not match the file name"),
        "{stderr}"
    );
    assert!(
        stderr.contains("pre-commit: the migration lint"),
        "{stderr}"
    );
    let log = git(dir, &["log", "--oneline"]);
    assert_eq!(
        String::from_utf8_lossy(&log.stdout).lines().count(),
        1,
        "the broken commit was not made"
    );
}
