//! The framework's import path as releases before the rename spelled it (`mongo_migrate::`),
//! met with one located diagnostic per file, before rustc's unresolved-import errors.

use proc_macro2::{Spacing, TokenStream, TokenTree};

use crate::crate_path::{self, Shape};
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
    let mut found = Vec::new();
    old_paths(tokens.clone(), &mut found);
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

/// The byte ranges of every path in `stream` that starts with `mongo_migrate`.
fn old_paths(stream: TokenStream, found: &mut Vec<std::ops::Range<usize>>) {
    let trees: Vec<TokenTree> = stream.into_iter().collect();
    let idents: Vec<String> = trees
        .iter()
        .map(|t| match t {
            TokenTree::Ident(i) => i.to_string(),
            _ => String::new(),
        })
        .collect();
    let shapes: Vec<Shape<'_>> = trees
        .iter()
        .zip(&idents)
        .map(|(t, name)| match t {
            TokenTree::Ident(_) => Shape::Ident(name),
            TokenTree::Punct(p) => Shape::Punct(p.as_char(), p.spacing() == Spacing::Joint),
            TokenTree::Literal(_) => Shape::Literal,
            TokenTree::Group(_) => Shape::Group,
        })
        .collect();
    for (i, tree) in trees.iter().enumerate() {
        match tree {
            TokenTree::Ident(ident)
                if shapes[i] == Shape::Ident(crate_path::OLD_NAME)
                    && crate_path::starts_crate_path(&shapes, i) =>
            {
                found.push(ident.span().byte_range());
            }
            TokenTree::Group(group) => old_paths(group.stream(), found),
            _ => {}
        }
    }
}
