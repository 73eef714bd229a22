//! `new` and `new --merge`: the next migration file.

use std::path::Path;
use std::process::ExitCode;

use crate::cli::NewArgs;
use crate::exit;

pub(crate) fn run(args: &NewArgs, dir: &Path) -> ExitCode {
    let created = if args.merge {
        mongodb_migrate_build::scaffold::create_merge(dir, args.name.as_deref())
    } else {
        // clap requires NAME without --merge.
        let name = args.name.as_deref().unwrap_or_default();
        mongodb_migrate_build::scaffold::create(dir, name)
    };
    match created {
        Ok(path) => {
            println!("Created {}", path.display());
            println!("Rebuild (`cargo build`) to compile it into the plan.");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(exit::USAGE)
        }
    }
}
