//! The framework's import path as releases before the rename spelled it (`mongo_migrate::`),
//! met with one located diagnostic per file, before rustc's unresolved-import errors.

use proc_macro2::TokenStream;

use crate::crate_path;
use crate::diagnostic::{Diagnostic, FileId};
use crate::framework::Framework;

/// The diagnostic for `tokens` (file `file`) when it names the framework `mongo_migrate` and
/// that name no longer resolves in this app.
pub(crate) fn check(
    file: FileId,
    tokens: &TokenStream,
    framework: &Framework,
) -> Option<Diagnostic> {
    if framework.old_name_resolves {
        return None;
    }
    let found = crate_path::paths_starting_with(tokens.clone(), crate_path::OLD_NAME);
    let first = found.first()?.clone();
    let new = &framework.name;
    let mut diagnostic = Diagnostic::error(format!(
        "`{old}` is now `{new}`: the framework's import path is the package's name",
        old = crate_path::OLD_NAME
    ))
    .at(file, first, format!("write `{new}` here"));
    if found.len() > 1 {
        diagnostic = diagnostic.note(format!(
            "{} more {} in this file start with `{}::`",
            found.len() - 1,
            if found.len() == 2 { "path" } else { "paths" },
            crate_path::OLD_NAME
        ));
    }
    Some(
        diagnostic
            .note("the migration's checksum is the same with either spelling: an applied migration does not read as changed")
            .help(format!(
                "replace `{old}::` with `{new}::`, or keep `{old}` by renaming the dependency in Cargo.toml: `{old} = {{ package = \"{package}\", version = \"{version}\" }}`",
                old = crate_path::OLD_NAME,
                package = crate_path::PACKAGE,
                version = concat!(env!("CARGO_PKG_VERSION_MAJOR"), ".", env!("CARGO_PKG_VERSION_MINOR")),
            )),
    )
}
