//! `lint`: the build script's checks of the plan, without a build.
//!
//! It configures a [`Builder`] as the app's `build.rs` does and calls [`Builder::lint`], so
//! the plan is read, the framework's crate named and every diagnostic worded by the same code
//! as `cargo build`; the report on stderr is byte for byte what the build script prints.

use std::io::{IsTerminal as _, Write as _};
use std::path::Path;
use std::process::ExitCode;

use mongodb_migrate_build::Builder;

use crate::app::App;
use crate::cli::{Color, LintArgs};
use crate::exit;

pub(crate) fn run(args: &LintArgs, dir: &Path) -> ExitCode {
    let app = match App::locate(dir, args.manifest_path.as_deref()) {
        Ok(app) => app,
        Err(message) => return usage(message),
    };
    let relative = &app.migrations;
    let mut builder = Builder::new().migrations_dir(relative);
    if let Some(path) = &args.runtime_crate {
        builder = builder.runtime_crate(path);
    }
    match builder.lint(&app.dir) {
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

pub(crate) fn usage(message: String) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(exit::USAGE)
}
