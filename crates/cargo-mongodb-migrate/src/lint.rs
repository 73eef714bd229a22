//! `lint`: the build script's checks of the plan, without a build.
//!
//! It configures a [`Builder`] as the app's `build.rs` does and calls [`Builder::lint`], so
//! the plan is read, the framework's crate named and every diagnostic worded by the same code
//! as `cargo build`; the report on stderr is byte for byte what the build script prints.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mongodb_migrate_build::Builder;

use crate::cli::{Color, LintArgs};
use crate::exit;

pub(crate) fn run(args: &LintArgs, dir: &Path) -> ExitCode {
    let dir = match std::path::absolute(dir) {
        Ok(dir) => dir,
        Err(e) => return usage(format!("cannot resolve {}: {e}", dir.display())),
    };
    let manifest_dir = match &args.manifest_path {
        Some(manifest) if manifest.is_file() => match std::path::absolute(manifest) {
            Ok(path) => path.parent().map(Path::to_path_buf).unwrap_or_default(),
            Err(e) => return usage(format!("cannot resolve {}: {e}", manifest.display())),
        },
        Some(manifest) => {
            return usage(format!(
                "the manifest {} does not exist",
                manifest.display()
            ))
        }
        None => nearest_manifest_dir(&dir),
    };
    // Relative to the app, as `build.rs` names it (`migrations`): the diagnostics show files
    // as the build does (`migrations/0001_x.rs`), wherever the lint is run from.
    let relative = dir.strip_prefix(&manifest_dir).unwrap_or(&dir);
    let mut builder = Builder::new().migrations_dir(relative);
    if let Some(path) = &args.runtime_crate {
        builder = builder.runtime_crate(path);
    }
    match builder.lint(&manifest_dir) {
        Ok(plan) => {
            if !args.quiet {
                let head = plan
                    .head()
                    .map_or_else(String::new, |m| format!(", head `{}`", m.name));
                println!(
                    "{}/: no problems ({} migrations{head})",
                    relative.display(),
                    plan.migrations.len()
                );
            }
            ExitCode::SUCCESS
        }
        Err(report) => {
            let mut stderr = std::io::stderr().lock();
            let _ = stderr.write_all(report.render(use_color(args.color)).as_bytes());
            let _ = stderr.flush();
            ExitCode::from(exit::PROBLEMS)
        }
    }
}

/// The directory of the nearest `Cargo.toml` above `dir` (the app whose `build.rs` reads it),
/// or `dir`'s parent when there is none: the framework's crate then has its default name, as
/// in a build that cannot read its manifest.
fn nearest_manifest_dir(dir: &Path) -> PathBuf {
    let parent = dir.parent().unwrap_or(dir);
    parent
        .ancestors()
        .find(|d| d.join("Cargo.toml").is_file())
        .unwrap_or(parent)
        .to_path_buf()
}

fn use_color(color: Color) -> bool {
    match color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stderr().is_terminal()
        }
    }
}

fn usage(message: String) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(exit::USAGE)
}
