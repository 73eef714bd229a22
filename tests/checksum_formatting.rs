//! Reformatting a migration is not a change: every Field Notes migration, run through rustfmt
//! with very different widths, keeps its checksum (so `cargo fmt` never reads as drift).
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

fn rustfmt(source: &str, max_width: u32) -> String {
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2021", "--emit", "stdout", "--config"])
        .arg(format!("max_width={max_width}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rustfmt (part of the Rust toolchain) runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(source.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn rustfmt_at_any_width_keeps_every_checksum() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut checked = 0;
    for migration in field_notes::MIGRATIONS {
        let source = std::fs::read_to_string(dir.join(format!("{}.rs", migration.name))).unwrap();
        let recorded = mongodb_migrate_build::checksum_source(&source).unwrap();
        assert_eq!(recorded, migration.checksum);
        let mut variants = 0;
        for width in [40, 60, 80, 140, 200] {
            let formatted = rustfmt(&source, width);
            if formatted != source {
                variants += 1;
            }
            assert_eq!(
                mongodb_migrate_build::checksum_source(&formatted).unwrap(),
                recorded,
                "{} reformatted at max_width={width} reads as changed:\n{formatted}",
                migration.name
            );
        }
        assert!(
            variants >= 3,
            "{}: the widths produced too few variants",
            migration.name
        );
        checked += 1;
    }
    assert!(checked >= 4);
}
