//! Diagnostic snapshots: one folder per broken plan under `tests/fixtures/<case>/migrations/`,
//! its rendered report compared with `tests/fixtures/<case>/expected.txt`.
//!
//! `BLESS=1 cargo test -p mongodb-migrate-build --test build_time snapshots` rewrites the expected files;
//! review the diff before committing.

use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn broken_cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .expect("tests/fixtures")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.is_dir()
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('_'))
        })
        .collect();
    cases.sort();
    cases
}

fn bless() -> bool {
    std::env::var_os("BLESS").is_some_and(|v| v != "0")
}

#[test]
fn every_broken_case_matches_its_snapshot() {
    let cases = broken_cases();
    assert!(cases.len() >= 15, "only {} cases", cases.len());
    let mut mismatches = Vec::new();
    for case in &cases {
        let name = case
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let report = match mongodb_migrate_build::resolve(case.join("migrations")) {
            Ok(plan) => panic!("case {name} resolved to a plan: {plan:#?}"),
            Err(report) => report,
        };
        assert!(!report.is_empty(), "{name}");
        let actual = report.render(false);
        assert!(
            !actual.contains(env!("CARGO_MANIFEST_DIR")),
            "{name}: an absolute path leaked:\n{actual}"
        );
        let expected_path = case.join("expected.txt");
        if bless() {
            std::fs::write(&expected_path, &actual).expect("write expected.txt");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != actual {
            mismatches.push(format!(
                "--- {name}/expected.txt\n{expected}\n+++ actual\n{actual}"
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} snapshot(s) differ (BLESS=1 to update):\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn several_cases_have_several_problems() {
    let multi = broken_cases()
        .iter()
        .filter(|case| {
            mongodb_migrate_build::resolve(case.join("migrations"))
                .map_or(0, |_| 0)
                .max(
                    mongodb_migrate_build::resolve(case.join("migrations"))
                        .err()
                        .map_or(0, |r| r.len()),
                )
                > 1
        })
        .count();
    assert!(multi >= 5, "only {multi} cases with more than one problem");
}

#[test]
fn colour_output_is_the_plain_text_plus_escapes() {
    let case = fixtures().join("many_problems_at_once/migrations");
    let report = mongodb_migrate_build::resolve(case).expect_err("broken");
    let colored = report.render(true);
    assert!(colored.contains("\u{1b}["));
    let stripped = strip_ansi(&colored);
    assert_eq!(stripped, report.render(false));
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
