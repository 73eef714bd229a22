//! `migrate new NAME` and `migrate new --merge`: write a migration file with the build-time
//! library, which reads `migrations/` itself (so it works while two heads break the build).

use super::args::NewArgs;
use super::{CliError, Ctx};
use crate::exit_code;

pub(crate) fn run(args: &NewArgs, ctx: &Ctx<'_>) -> Result<u8, CliError> {
    let dir = ctx
        .global
        .migrations_dir
        .clone()
        .or_else(|| ctx.app.migrations_dir.clone())
        .ok_or_else(|| {
            CliError::Usage(
                "no migrations directory: pass --migrations-dir or set MONGO_MIGRATE_DIR"
                    .to_owned(),
            )
        })?;
    let path = if args.merge {
        mongo_migrate_build::scaffold::create_merge(&dir, args.name.as_deref())?
    } else {
        let name = args
            .name
            .as_deref()
            .ok_or_else(|| CliError::Usage("a NAME is required without --merge".to_owned()))?;
        mongo_migrate_build::scaffold::create(&dir, name)?
    };
    outln!("Created {}", path.display());
    outln!("Rebuild (`cargo build`) to compile it into the plan.");
    Ok(exit_code::SUCCESS)
}
