//! `scripts/check-release-paths`, the step of `make release-checks` that fails when the release
//! binary carries the checkout's absolute path (`make release` remaps it; see
//! docs/release-builds.md).
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn check(binary: &Path) -> Output {
    Command::new(root().join("scripts/check-release-paths"))
        .arg(binary)
        .output()
        .expect("run the script")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_binary_naming_the_checkout_fails_and_says_where() {
    let temp = tempfile::tempdir().expect("temp dir");
    let root = root().canonicalize().expect("root");
    let mut bytes = b"\x7fELF\0\0".to_vec();
    bytes.extend_from_slice(format!("{}/migrations/0003_x.rs\0", root.display()).as_bytes());
    bytes.extend_from_slice(b"\0migrations/0004_y.rs\0");
    let dirty = temp.path().join("dirty");
    std::fs::write(&dirty, &bytes).expect("write");
    let out = check(&dirty);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("FAILED"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("  {}/migrations/0003_x.rs", root.display())),
        "{}",
        stderr(&out)
    );

    // Remapped, the same binary names the file relative to the checkout: clean.
    let clean = temp.path().join("clean");
    std::fs::write(
        &clean,
        b"\x7fELF\0\0migrations/0003_x.rs\0migrations/0004_y.rs\0",
    )
    .expect("write");
    let out = check(&clean);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("carries no path of the checkout"));

    let missing = check(&temp.path().join("missing"));
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("make release"),
        "{}",
        stderr(&missing)
    );
}
