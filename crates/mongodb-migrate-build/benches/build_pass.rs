//! The build-time cost of a plan, on generated sets of migrations (`make bench` runs it):
//!
//! 1. the build-time pass (discover + parse + validate + generate), 100 and 1,000 migrations,
//!    against merely reading the same files; `BENCH_PHASES=1` breaks it down;
//! 2. the destructive-operation lint alone (files parsed beforehand, one thread);
//! 3. `cargo mongodb-migrate lint` as a process (release build), 200 and 1,000 migrations;
//! 4. rebuilding an app after an edit to one migration body (`cargo build`, debug, the
//!    workspace's profiles and target directory, dependencies warm): 200 and 1,000 migrations
//!    in the app's crate, and 1,000 of which 950 are archived (`cargo mongodb-migrate
//!    archive`). `BENCH_REBUILD=0` skips it; the first build of each app takes a minute.
//!
//! `cargo bench -p mongodb-migrate-build --bench build_pass` runs it alone.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use mongodb_migrate_test_support::{FixtureBuild, FixtureCrate};

const RUNS: usize = 15;

fn migration(seq: usize, deps: &[usize]) -> (String, String) {
    let name = format!("{seq:04}_change_number_{seq}");
    let deps: Vec<String> = deps
        .iter()
        .map(|&d| format!("\"{d:04}_change_number_{d}\""))
        .collect();
    let text = format!(
        r#"//! Change number {seq}: set a field on every story.
//!
//! Generated for the benchmark.
use mongodb_migrate::prelude::*;

pub const NAME: &str = "{name}";
pub const DEPENDENCIES: &[&str] = &[{deps}];

/// Sets `field_{seq}`.
pub async fn upgrade(db: &Database) -> Result<()> {{
    let stories = db.collection::<Document>("stories");
    stories
        .update_many(doc! {{ "field_{seq}": {{ "$exists": false }} }}, doc! {{ "$set": {{ "field_{seq}": {seq} }} }})
        .await
        .context("setting field_{seq}")?;
    let mut cursor = stories.find(doc! {{ "field_{seq}": {seq} }}).await?;
    while let Some(story) = cursor.try_next().await? {{
        ensure!(story.contains_key("_id"), "story without _id");
    }}
    Ok(())
}}

/// Removes `field_{seq}`.
pub async fn downgrade(db: &Database) -> Result<()> {{
    db.collection::<Document>("stories")
        .update_many(doc! {{}}, doc! {{ "$unset": {{ "field_{seq}": "" }} }})
        .await?;
    Ok(())
}}
"#,
        deps = deps.join(", ")
    );
    (name, text)
}

/// A chain with a diamond every ten migrations, so the graph is not trivially linear.
fn write_set(dir: &Path, count: usize) {
    std::fs::create_dir_all(dir).expect("mkdir");
    for seq in 1..=count {
        let deps: Vec<usize> = match seq {
            1 => vec![],
            s if s % 10 == 0 && s > 2 => vec![s - 2, s - 1],
            s if s % 10 == 9 => vec![s - 2],
            s => vec![s - 1],
        };
        let (name, text) = migration(seq, &deps);
        std::fs::write(dir.join(format!("{name}.rs")), text).expect("write");
    }
}

fn read_only(dir: &Path) -> usize {
    let mut bytes = 0;
    for entry in std::fs::read_dir(dir).expect("dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "rs") {
            bytes += std::fs::read_to_string(&path).expect("read").len();
        }
    }
    bytes
}

fn full_pass(dir: &Path) -> usize {
    let plan = mongodb_migrate_build::resolve(dir).unwrap_or_else(|r| panic!("{r}"));
    mongodb_migrate_build::generate(&plan, "::mongodb_migrate", "migrations/")
        .expect("generate")
        .len()
}

/// Times the lint on every file of `dir`, parsed once beforehand: the walk of `upgrade`,
/// `downgrade` and the functions they call, and the reading of `doc!` literals.
fn lint(dir: &Path) -> (Duration, Duration) {
    let files: Vec<syn::File> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| std::fs::read_to_string(e.expect("entry").path()).expect("read"))
        .map(|text| syn::parse_file(&text).expect("parses"))
        .collect();
    let findings: usize = files
        .iter()
        .map(mongodb_migrate_build::count_findings)
        .sum();
    // The generated migrations are clean, or the full pass above would have failed.
    assert_eq!(findings, 0);
    measure(|| {
        files
            .iter()
            .map(mongodb_migrate_build::count_findings)
            .sum()
    })
}

fn measure(mut f: impl FnMut() -> usize) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(f());
            start.elapsed()
        })
        .collect();
    times.sort();
    (times[0], times[RUNS / 2])
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    println!("build pass vs reading the files; best and median of {RUNS} runs, {threads} cores\n");
    println!("| migrations | read (best / median) | full pass (best / median) | ratio (median) |");
    println!("|-----------:|---------------------:|--------------------------:|---------------:|");
    let mut lint_rows = Vec::new();
    for count in [100, 1_000] {
        let temp = tempfile::tempdir().expect("temp dir");
        let dir = temp.path().join("migrations");
        write_set(&dir, count);
        // Warm the page cache and the allocator for both sides alike.
        read_only(&dir);
        full_pass(&dir);
        let (read_best, read_median) = measure(|| read_only(&dir));
        let (pass_best, pass_median) = measure(|| full_pass(&dir));
        if std::env::var_os("BENCH_PHASES").is_some() {
            let (r, _) =
                measure(|| mongodb_migrate_build::resolve(&dir).map_or(0, |p| p.migrations.len()));
            let plan = mongodb_migrate_build::resolve(&dir).expect("plan");
            let (g, _) = measure(|| {
                mongodb_migrate_build::generate(&plan, "::mongodb_migrate", "m/")
                    .map_or(0, |s| s.len())
            });
            let texts: Vec<String> = std::fs::read_dir(&dir)
                .expect("dir")
                .map(|e| std::fs::read_to_string(e.expect("e").path()).expect("r"))
                .collect();
            let (c, _) = measure(|| {
                texts
                    .iter()
                    .map(|t| mongodb_migrate_build::checksum_source(t).map_or(0, |s| s.len()))
                    .sum()
            });
            let (l, _) = measure(|| {
                texts
                    .iter()
                    .map(|t| {
                        t.parse::<proc_macro2::TokenStream>()
                            .map_or(0, |s| s.into_iter().count())
                    })
                    .sum()
            });
            let (sy, _) = measure(|| {
                texts
                    .iter()
                    .map(|t| syn::parse_file(t).map_or(0, |f| f.items.len()))
                    .sum()
            });
            eprintln!(
                "{count}: resolve {} generate {} lex+checksum {} lex {} syn::parse_file {}",
                ms(r),
                ms(g),
                ms(c),
                ms(l),
                ms(sy)
            );
        }
        println!(
            "| {count:>10} | {:>20} | {:>25} | {:>13.1}× |",
            format!("{} / {}", ms(read_best), ms(read_median)),
            format!("{} / {}", ms(pass_best), ms(pass_median)),
            pass_median.as_secs_f64() / read_median.as_secs_f64()
        );
        lint_rows.push((count, lint(&dir), pass_median));
    }
    println!(
        "\ndestructive-operation lint alone: files parsed beforehand, one thread (inside the pass it runs on every core)\n"
    );
    println!("| migrations | lint (best / median) | share of the full pass (median) |");
    println!("|-----------:|---------------------:|--------------------------------:|");
    for (count, (best, median), pass) in lint_rows {
        println!(
            "| {count:>10} | {:>20} | {:>30.1}% |",
            format!("{} / {}", ms(best), ms(median)),
            100.0 * median.as_secs_f64() / pass.as_secs_f64()
        );
    }
    lint_process();
    if std::env::var_os("BENCH_REBUILD").is_none_or(|v| v != "0") {
        rebuild();
    }
}

/// The workspace's root and target directory.
fn workspace() -> (PathBuf, PathBuf) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = std::fs::canonicalize(root).expect("workspace");
    let target = mongodb_migrate_test_support::target_dir();
    (root, target)
}

/// Times `cargo mongodb-migrate lint` (release build), process start to exit, on apps of 200
/// and 1,000 migrations.
fn lint_process() {
    let (root, target) = workspace();
    let built = Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "--locked",
            "--quiet",
            "-p",
            "cargo-mongodb-migrate",
        ])
        .current_dir(&root)
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .expect("cargo");
    assert!(built.success(), "building cargo-mongodb-migrate failed");
    let tool = target.join("release/cargo-mongodb-migrate");
    println!("\n`cargo mongodb-migrate lint` as a process (release build), best and median of {RUNS} runs; target: 50 ms at 200\n");
    println!("| migrations | lint (best / median) |");
    println!("|-----------:|---------------------:|");
    for count in [200, 1_000] {
        let app = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            app.path().join("Cargo.toml"),
            "[package]\nname = \"app\"\nversion = \"0.0.0\"\n\n[dependencies]\nmongodb-migrate = \"0.1\"\n",
        )
        .expect("Cargo.toml");
        write_set(&app.path().join("migrations"), count);
        let run = || {
            let out = Command::new(&tool)
                .args(["mongodb-migrate", "lint", "--quiet"])
                .current_dir(app.path())
                .output()
                .expect("lint");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout.len()
        };
        run();
        let (best, median) = measure(run);
        println!(
            "| {count:>10} | {:>20} |",
            format!("{} / {}", ms(best), ms(median))
        );
    }
}

/// One app to rebuild: its migrations, and how many of them are archived.
struct RebuildCase {
    label: &'static str,
    count: usize,
    archived_through: Option<usize>,
}

/// Times the rebuild of an app after an edit to one migration body, in the workspace's target
/// directory with its profiles (the dependencies the tests compiled are reused).
fn rebuild() {
    let cases = [
        RebuildCase {
            label: "200, in the app's crate",
            count: 200,
            archived_through: None,
        },
        RebuildCase {
            label: "1,000, in the app's crate",
            count: 1_000,
            archived_through: None,
        },
        RebuildCase {
            label: "1,000, of which 950 archived",
            count: 1_000,
            archived_through: Some(950),
        },
    ];
    println!("\nrebuild after editing one migration body: `cargo build`, debug, the workspace's profiles, dependencies warm; best and median of 5 (target: 5 s at 1,000)\n");
    println!("| migrations | first build | nothing changed | one body edited (best / median) |");
    println!("|---|---:|---:|---:|");
    for case in cases {
        let (first, noop, best, median) = rebuild_case(&case);
        println!(
            "| {} | {} | {} | {} / {} |",
            case.label,
            secs(first),
            secs(noop),
            secs(best),
            secs(median)
        );
    }
}

fn rebuild_case(case: &RebuildCase) -> (Duration, Duration, Duration, Duration) {
    let mut fixture = FixtureCrate::new("bench_rebuild");
    let scratch = tempfile::tempdir().expect("temp dir");
    write_set(&scratch.path().join("migrations"), case.count);
    fixture = fixture.copy_dir(scratch.path());
    let app = fixture.written();
    if let Some(through) = case.archived_through {
        let name = format!("{through:04}_change_number_{through}");
        mongodb_migrate_build::archive::archive(&app.dir, Path::new("migrations"), &name)
            .expect("archive");
    }
    let timed = |app: &FixtureBuild| {
        let start = Instant::now();
        let built = app.rebuild();
        let elapsed = start.elapsed();
        assert!(built.success, "{}", built.stderr);
        elapsed
    };
    let first = timed(&app);
    let noop = timed(&app);
    // The last migration: in an archived plan, one of the app's own.
    let edited = format!("migrations/{n:04}_change_number_{n}.rs", n = case.count);
    let original = std::fs::read_to_string(app.dir.join(&edited)).expect("read");
    let mut times: Vec<Duration> = (0..5)
        .map(|i| {
            app.write(
                &edited,
                original.replacen("Ok(())", &format!("let _edit = {i};\n    Ok(())"), 1),
            );
            timed(&app)
        })
        .collect();
    times.sort();
    let _ = std::fs::remove_dir_all(&app.dir);
    (first, noop, times[0], times[times.len() / 2])
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}
