//! Which crate a path starts with: the one rule behind the checksum's canonical spelling of
//! the framework's crate and the diagnostic for its old import path.
//!
//! The framework's runtime is imported as `mongodb_migrate` (the package `mongodb-migrate`);
//! until 0.1 it was `mongo_migrate`, and an app may rename the dependency. A migration's
//! checksum must not depend on which of these spellings the file uses, so the checksum writes
//! the first segment of every path that names the framework as [`CANONICAL`] (see
//! `checksum.rs`), and the build pass points at a path still spelled the old way when that
//! spelling no longer resolves (see `old_path.rs`).

/// How every spelling of the framework's crate is serialized in checksum algorithm version 1:
/// the import path the checksums of every migration applied before the rename were computed
/// with.
pub(crate) const CANONICAL: &str = "mongo_migrate";

/// The framework's import path before 0.1's rename.
pub(crate) const OLD_NAME: &str = "mongo_migrate";

/// The framework's import path: the library name of the `mongodb-migrate` package.
pub(crate) const NAME: &str = "mongodb_migrate";

/// The package an app depends on for the runtime.
pub(crate) const PACKAGE: &str = "mongodb-migrate";

/// What the rule needs to know of one token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape<'a> {
    /// An identifier or keyword.
    Ident(&'a str),
    /// A punctuation character, and whether it is joined to the next one.
    Punct(char, bool),
    /// A literal.
    Literal,
    /// A delimited group (its contents are walked separately).
    Group,
}

/// Keywords that may precede a path's leading `::` without being a path segment themselves
/// (`use ::a::b`, `x as ::a::T`, `return ::a::f()`). `crate`, `self`, `super` and `Self` are
/// segments: `crate::mongodb_migrate` is a module of the app, not the framework.
const BEFORE_LEADING_COLONS: [&str; 24] = [
    "use", "pub", "as", "in", "return", "let", "mut", "ref", "dyn", "impl", "where", "for", "if",
    "while", "match", "else", "break", "move", "static", "const", "type", "unsafe", "async",
    "await",
];

/// Whether the identifier at `tokens[i]` is the first segment of a path that names a crate:
/// it is followed by `::` (or is the whole path of a `use` or `extern crate`), and it is not
/// itself preceded by a path segment and `::` (`a::b`, `crate::b`, `<T as X>::b`).
pub(crate) fn starts_crate_path(tokens: &[Shape<'_>], i: usize) -> bool {
    let before = |back: usize| i.checked_sub(back).map(|j| tokens[j]);
    let after = |ahead: usize| tokens.get(i + ahead).copied();
    let colons_after = matches!(after(1), Some(Shape::Punct(':', true)))
        && matches!(after(2), Some(Shape::Punct(':', _)));
    let colons_before = matches!(before(2), Some(Shape::Punct(':', true)))
        && matches!(before(1), Some(Shape::Punct(':', _)));
    if colons_before {
        // A leading `::` (`::mongodb_migrate::x`) is the start of the path; a `::` after a
        // segment or a generic's `>` is the middle of one.
        let leading = match before(3) {
            None => true,
            Some(Shape::Ident(word)) => BEFORE_LEADING_COLONS.contains(&word),
            // `-> ::a::T` and `=> ::a::f()` start a path; a generic's closing `>` ends a segment.
            Some(Shape::Punct('>', _)) => {
                matches!(before(4), Some(Shape::Punct('-' | '=', true)))
            }
            Some(Shape::Group | Shape::Literal) => false,
            Some(Shape::Punct(..)) => true,
        };
        return leading && (colons_after || ends_use(tokens, i));
    }
    if colons_after {
        return true;
    }
    // `use mongodb_migrate;`, `use mongodb_migrate as mm;`, `extern crate mongodb_migrate;`.
    let declared = matches!(before(1), Some(Shape::Ident("use")))
        || (matches!(before(1), Some(Shape::Ident("crate")))
            && matches!(before(2), Some(Shape::Ident("extern"))));
    declared && ends_use(tokens, i)
}

/// Whether the path ends at `tokens[i]` inside a declaration: `;`, `as` or `,` follows.
fn ends_use(tokens: &[Shape<'_>], i: usize) -> bool {
    matches!(
        tokens.get(i + 1),
        Some(Shape::Punct(';' | ',', _) | Shape::Ident("as")) | None
    )
}

/// The byte ranges of every path in `stream` (and its groups) whose first segment is `name`.
pub(crate) fn paths_starting_with(
    stream: proc_macro2::TokenStream,
    name: &str,
) -> Vec<std::ops::Range<usize>> {
    use proc_macro2::{Spacing, TokenTree};
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
        .map(|(t, ident)| match t {
            TokenTree::Ident(_) => Shape::Ident(ident),
            TokenTree::Punct(p) => Shape::Punct(p.as_char(), p.spacing() == Spacing::Joint),
            TokenTree::Literal(_) => Shape::Literal,
            TokenTree::Group(_) => Shape::Group,
        })
        .collect();
    let mut found = Vec::new();
    for (i, tree) in trees.iter().enumerate() {
        match tree {
            TokenTree::Ident(ident)
                if shapes[i] == Shape::Ident(name) && starts_crate_path(&shapes, i) =>
            {
                found.push(ident.span().byte_range());
            }
            TokenTree::Group(group) => found.extend(paths_starting_with(group.stream(), name)),
            _ => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many paths of `text` start with the crate `name`.
    fn starts(text: &str, name: &str) -> usize {
        paths_starting_with(text.parse().expect("lexes"), name).len()
    }

    #[test]
    fn a_path_starting_with_the_crate_counts() {
        for text in [
            "use m::prelude::*;",
            "use ::m::prelude::*;",
            "use {m::a, std::b};",
            "use m;",
            "use m as mm;",
            "extern crate m;",
            "fn f() { m::batch::backfill(); }",
            "fn f() -> ::m::Result<()> { todo!() }",
            "fn f() { match x { _ => ::m::f() } }",
            "fn f() { let x = m::bson::doc! {}; }",
            "fn f(x: &m::Database) {}",
            "fn f() { return ::m::f(); }",
            "type T = Vec<m::X>;",
        ] {
            assert_eq!(starts(text, "m"), 1, "{text}");
        }
    }

    #[test]
    fn the_same_name_elsewhere_in_a_path_or_as_a_variable_does_not() {
        for text in [
            "use crate::m::x;",
            "use self::m::x;",
            "use super::m;",
            "use other::m::x;",
            "fn f() { let m = 1; m + 1; }",
            "fn f() { a::m::g(); }",
            "fn f() { <T as X>::m::g(); }",
            "fn f() { Vec::<u8>::m(); }",
            "fn f() { x.m(); }",
            "struct S { m: u8 }",
            "fn m() {}",
        ] {
            assert_eq!(starts(text, "m"), 0, "{text}");
        }
    }
}
