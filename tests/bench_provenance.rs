//! `make bench*` run anywhere: from a tree without `.git` (a source tarball, `git archive`) the
//! commit is "unknown commit" and the benchmark goes on; every table names the machine and the
//! commit (`bench/provenance.py`, which every benchmark script prints first).
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn python(args: &[&str], cwd: &Path) -> Output {
    Command::new("python3")
        .args(args)
        .current_dir(cwd)
        .env_remove("BENCH_REV")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .expect("python3 runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `bench/*.py` copied into `dir/bench`, as a tarball of the tree has them.
fn copy_bench(dir: &Path) -> PathBuf {
    let bench = dir.join("bench");
    std::fs::create_dir_all(&bench).expect("mkdir");
    for entry in std::fs::read_dir(root().join("bench")).expect("bench/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "py") {
            std::fs::copy(&path, bench.join(path.file_name().expect("name"))).expect("copy");
        }
    }
    bench
}

fn commit_line(out: &Output) -> String {
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let mut lines = stdout.lines();
    let machine = lines.next().unwrap_or_default();
    assert!(
        machine.starts_with("machine: ") && machine.contains(" cores ("),
        "{stdout}"
    );
    lines.next().unwrap_or_default().to_owned()
}

#[test]
fn the_checkout_names_its_commit() {
    let out = python(&["bench/provenance.py"], &root());
    let line = commit_line(&out);
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(root())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| text(&o.stdout).trim().to_owned())
    };
    match git(&["rev-parse", "--show-toplevel"]) {
        Some(top) if Path::new(&top).canonicalize().ok() == root().canonicalize().ok() => {
            let sha = git(&["rev-parse", "--short", "HEAD"]).expect("a commit");
            assert!(line.starts_with(&format!("commit: {sha}")), "{line}");
        }
        // This tree itself came without .git.
        _ => assert_eq!(line, "commit: unknown commit"),
    }
}

#[test]
fn a_tree_without_git_is_an_unknown_commit_even_inside_another_repository() {
    let temp = tempfile::tempdir().expect("temp dir");
    let bench = copy_bench(temp.path());
    let out = python(&["provenance.py"], &bench);
    assert_eq!(commit_line(&out), "commit: unknown commit");
    // Unpacked inside some other checkout: that checkout's commit is not this tree's.
    let outer = tempfile::tempdir().expect("temp dir");
    let init = Command::new("git")
        .args(["init", "-q"])
        .current_dir(outer.path())
        .output()
        .expect("git");
    assert!(init.status.success());
    let nested = copy_bench(&outer.path().join("vendored/mongodb-migrate"));
    let out = python(&["provenance.py"], &nested);
    assert_eq!(commit_line(&out), "commit: unknown commit");
}

/// The peers and backfill benchmarks measure the working tree without git; only `BENCH_REV`,
/// which extracts a commit, needs a checkout, and says so.
#[test]
fn the_peers_benchmark_measures_a_tree_without_git() {
    let temp = tempfile::tempdir().expect("temp dir");
    let bench = copy_bench(temp.path());
    let code = "import peers; print(peers.framework().label)";
    let out = python(&["-c", code], &bench);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "working tree at unknown commit");
    let out = Command::new("python3")
        .args(["-c", code])
        .current_dir(&bench)
        .env("BENCH_REV", "HEAD")
        .output()
        .expect("python3");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("BENCH_REV=HEAD needs git and a git checkout"),
        "{}",
        text(&out.stderr)
    );
    // `make bench` prints both lines before its tables.
    let make = Command::new("make")
        .args(["--no-print-directory", "-n", "bench"])
        .current_dir(root())
        .output()
        .expect("make");
    assert!(
        text(&make.stdout).contains("bench/provenance.py"),
        "{}",
        text(&make.stdout)
    );
}
