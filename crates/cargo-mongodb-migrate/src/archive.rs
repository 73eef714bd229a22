//! `archive --through NAME`: long-applied migrations into the app's archive crate.

use std::io::IsTerminal as _;
use std::path::Path;
use std::process::ExitCode;

use mongodb_migrate_build::archive::{archive, ArchiveError};

use crate::app::App;
use crate::cli::ArchiveArgs;
use crate::exit;
use crate::lint::usage;

pub(crate) fn run(args: &ArchiveArgs, dir: &Path) -> ExitCode {
    let app = match App::locate(dir, args.manifest_path.as_deref()) {
        Ok(app) => app,
        Err(message) => return usage(message),
    };
    match archive(&app.dir, &app.migrations, &args.through) {
        Ok(done) => {
            let shown = done
                .crate_dir
                .strip_prefix(&app.dir)
                .unwrap_or(&done.crate_dir)
                .display()
                .to_string();
            if done.created {
                println!(
                    "Created the archive crate {shown}/ and named it in Cargo.toml (`[dependencies]`, `[package.metadata.mongodb-migrate] archive`)."
                );
            }
            match (done.moved.first(), done.moved.last()) {
                (Some(first), Some(last)) => println!(
                    "Archived {} migration{} ({first} … {last}) into {shown}/migrations/.",
                    done.moved.len(),
                    if done.moved.len() == 1 { "" } else { "s" }
                ),
                _ => println!("Nothing to move: `{}` is archived already.", args.through),
            }
            println!("Rebuild (`cargo build`): the archive compiles once; a change to a recent migration then recompiles only those in {}/.", app.migrations.display());
            ExitCode::SUCCESS
        }
        Err(ArchiveError::Plan(report)) => {
            eprint!(
                "{}",
                report.render(
                    std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
                )
            );
            eprintln!("error: the plan is archived only once it passes every check");
            ExitCode::from(exit::PROBLEMS)
        }
        Err(e) => usage(e.to_string()),
    }
}
