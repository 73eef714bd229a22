//! The build-time pass (discover + parse + validate + generate) on generated sets of 100 and
//! 1,000 migrations, against merely reading the same files.
//!
//! `cargo bench -p mongodb-migrate-build --bench build_pass` prints a table, then the cost of
//! the destructive-operation lint alone (on files already parsed, on one thread) against the
//! whole pass.
//! `… -- --incremental` also times the incremental `cargo build` of a fixture crate with 200
//! migrations after touching one of them (in `target/bench-incremental`, or `BENCH_TARGET_DIR`;
//! `MONGO_MIGRATE_RUNTIME` points at another copy of the runtime crate). `BENCH_PHASES=1`
//! breaks the pass down.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

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
    if args.iter().any(|a| a == "--incremental") {
        incremental();
    }
}

/// Times `cargo build` of a 200-migration crate: the first build, a no-op rebuild, and a rebuild
/// after touching (then after editing) one migration.
fn incremental() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let workspace = std::fs::canonicalize(workspace).expect("workspace");
    let runtime = std::env::var_os("MONGO_MIGRATE_RUNTIME")
        .map_or_else(|| workspace.join("crates/mongodb-migrate"), PathBuf::from);
    let temp = tempfile::tempdir().expect("temp dir");
    let krate = temp.path();
    std::fs::create_dir_all(krate.join("src")).expect("mkdir");
    std::fs::write(
        krate.join("Cargo.toml"),
        format!(
            "[package]\nname = \"bench-200\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[workspace]\n\n\
             [dependencies]\nmongodb-migrate = {{ path = {:?} }}\n\n\
             [build-dependencies]\nmongodb-migrate-build = {{ path = {:?} }}\n",
            runtime,
            workspace.join("crates/mongodb-migrate-build")
        ),
    )
    .expect("manifest");
    std::fs::copy(workspace.join("Cargo.lock"), krate.join("Cargo.lock")).expect("lock");
    std::fs::write(
        krate.join("build.rs"),
        "fn main() { mongodb_migrate_build::Builder::new().migrations_dir(\"migrations\").emit(); }\n",
    )
    .expect("build.rs");
    std::fs::write(
        krate.join("src/main.rs"),
        "mod registry { include!(concat!(env!(\"OUT_DIR\"), \"/registry.rs\")); }\n\
         fn main() { println!(\"{}\", registry::MIGRATIONS.len()); }\n",
    )
    .expect("main.rs");
    write_set(&krate.join("migrations"), 200);
    // A target directory of its own: the shared fixtures one is locked by other builds, and
    // waiting for that lock is not what we measure.
    let target = std::env::var_os("BENCH_TARGET_DIR")
        .map_or_else(|| workspace.join("target/bench-incremental"), PathBuf::from);
    let build = || {
        let start = Instant::now();
        let out = Command::new(env!("CARGO"))
            .arg("build")
            .arg("--quiet")
            .current_dir(krate)
            .env("CARGO_TARGET_DIR", &target)
            .output()
            .expect("cargo");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        start.elapsed()
    };
    let first = build();
    let noop = build();
    let one = krate.join("migrations/0100_change_number_100.rs");
    let touched: Vec<Duration> = (0..3)
        .map(|_| {
            let text = std::fs::read_to_string(&one).expect("read");
            std::fs::write(&one, text).expect("touch");
            build()
        })
        .collect();
    let edited: Vec<Duration> = (0..3)
        .map(|i| {
            let text = std::fs::read_to_string(&one).expect("read");
            std::fs::write(
                &one,
                text.replace(
                    "Ok(())\n}\n\n/// Removes",
                    &format!("let _ = {i};\n    Ok(())\n}}\n\n/// Removes"),
                ),
            )
            .expect("edit");
            build()
        })
        .collect();
    let best = |v: &[Duration]| v.iter().min().copied().unwrap_or_default();
    println!("\nincremental `cargo build`, 200 migrations (best of 3 where repeated)\n");
    println!("| build | time |\n|---|---:|");
    println!(
        "| first build of the crate (dependencies already compiled) | {} |",
        ms(first)
    );
    println!("| nothing changed | {} |", ms(noop));
    println!(
        "| one migration touched (same bytes) | {} |",
        ms(best(&touched))
    );
    println!("| one migration's body edited | {} |", ms(best(&edited)));
}
