//! Reading one migration file with syn: its constants, its functions, its description and
//! checksum, and the problems of its shape. What its bodies do is the analyzers' business
//! (`analyze/`), run on the parsed file by the per-file pass (`file_pass.rs`).

use std::ops::Range;

use proc_macro2::TokenStream;
use syn::spanned::Spanned as _;
use syn::{Expr, Item, ItemConst, ItemFn, Lit, Visibility};

use crate::checksum::checksum;
use crate::diagnostic::{Diagnostic, FileId};
use crate::framework::Framework;
use crate::syntax::{bool_literal, not_pub, string_literal};

/// A string literal and where it is.
#[derive(Debug, Clone)]
pub(crate) struct Located {
    pub(crate) value: String,
    pub(crate) range: Range<usize>,
}

/// What one file says about itself. Plain data (byte ranges, no spans), so files can be parsed
/// on several threads.
#[derive(Debug)]
pub(crate) struct Parsed {
    /// `false` when the file is not valid Rust: nothing else below is known.
    pub(crate) syntax_ok: bool,
    pub(crate) name: Option<Located>,
    /// The string literals listed; `dependencies_complete` is `false` if the constant was
    /// missing or something in it was not a string literal.
    pub(crate) dependencies: Vec<Located>,
    pub(crate) dependencies_complete: bool,
    pub(crate) description: String,
    pub(crate) checksum: String,
    /// The value of `pub const TRANSACTIONAL: bool = …;`, `None` when the file has no such
    /// constant (or it is malformed, which is diagnosed).
    pub(crate) transactional: Option<bool>,
    pub(crate) diagnostics: Vec<Diagnostic>,
}

/// The top-level items a migration is read by, each the last of its name.
#[derive(Debug, Default)]
pub(crate) struct Items<'f> {
    pub(crate) name: Option<&'f ItemConst>,
    pub(crate) dependencies: Option<&'f ItemConst>,
    pub(crate) transactional: Option<&'f ItemConst>,
    /// The opt-outs of the destructive-operation lint (see `allow.rs`).
    pub(crate) allow: Option<&'f ItemConst>,
    pub(crate) irreversible: Option<&'f ItemConst>,
    pub(crate) upgrade: Option<&'f ItemFn>,
    pub(crate) downgrade: Option<&'f ItemFn>,
}

impl<'f> Items<'f> {
    pub(crate) fn of(syntax: &'f syn::File) -> Self {
        let mut items = Items::default();
        for item in &syntax.items {
            match item {
                Item::Const(c) if c.ident == "NAME" => items.name = Some(c),
                Item::Const(c) if c.ident == "DEPENDENCIES" => items.dependencies = Some(c),
                Item::Const(c) if c.ident == "TRANSACTIONAL" => items.transactional = Some(c),
                Item::Const(c) if c.ident == "ALLOW" => items.allow = Some(c),
                Item::Const(c) if c.ident == "IRREVERSIBLE" => items.irreversible = Some(c),
                Item::Fn(f) if f.sig.ident == "upgrade" => items.upgrade = Some(f),
                Item::Fn(f) if f.sig.ident == "downgrade" => items.downgrade = Some(f),
                _ => {}
            }
        }
        items
    }
}

/// Where problems about the whole file (a missing item) point: its very start.
const FILE_START: Range<usize> = 0..0;

fn range(span: proc_macro2::Span) -> Range<usize> {
    span.byte_range()
}

/// Parses `text` (already newline-normalized) as the migration `stem`, in an app that calls
/// the framework's crate as `framework` says; the syntax tree too, when the file is valid Rust.
pub(crate) fn parse(
    file: FileId,
    stem: &str,
    text: &str,
    framework: &Framework,
) -> (Parsed, Option<syn::File>) {
    let mut parsed = Parsed {
        syntax_ok: false,
        name: None,
        dependencies: Vec::new(),
        dependencies_complete: false,
        description: String::new(),
        checksum: String::new(),
        transactional: None,
        diagnostics: Vec::new(),
    };
    let tokens: TokenStream = match text.parse() {
        Ok(tokens) => tokens,
        Err(error) => {
            // proc-macro2's lexer says only "cannot parse string into token stream"; what it
            // rejects is one of these, and the span shows where it gave up.
            parsed.diagnostics.push(
                Diagnostic::error("this file is not valid Rust: unbalanced delimiter, or an unterminated string or comment")
                    .at(file, range(error.span()), "the tokens stop making sense here")
                    .help("close every `(`, `[`, `{`, string and `/*` comment; every migration is compiled as a module of the crate"),
            );
            return (parsed, None);
        }
    };
    let syntax = match syn::parse2::<syn::File>(tokens.clone()) {
        Ok(syntax) => syntax,
        Err(errors) => {
            parsed
                .diagnostics
                .extend(errors.into_iter().map(|e| syntax_error(file, &e)));
            return (parsed, None);
        }
    };
    parsed.syntax_ok = true;
    parsed.checksum = checksum(&tokens, &framework.aliases());
    parsed
        .diagnostics
        .extend(crate::old_path::check(file, &tokens, framework));
    parsed.description = description(&syntax.attrs);

    let items = Items::of(&syntax);
    check_name(file, stem, items.name, &mut parsed);
    check_dependencies(file, stem, items.dependencies, &mut parsed);
    check_transactional(file, items.transactional, &mut parsed);
    // A malformed `TRANSACTIONAL` is reported once; the parameters are not judged against a
    // kind we do not know.
    let kind_known = items.transactional.is_none() || parsed.transactional.is_some();
    check_function(file, "upgrade", items.upgrade, kind_known, &mut parsed);
    check_function(file, "downgrade", items.downgrade, kind_known, &mut parsed);
    (parsed, Some(syntax))
}

fn syntax_error(file: FileId, error: &syn::Error) -> Diagnostic {
    Diagnostic::error(format!("this file is not valid Rust: {error}"))
        .at(file, range(error.span()), error.to_string())
        .help("fix the syntax; every migration is compiled as a module of the crate")
}

/// The first non-blank line of the `//!` doc comment.
fn description(attrs: &[syn::Attribute]) -> String {
    attrs
        .iter()
        .filter(|a| matches!(a.style, syn::AttrStyle::Inner(_)) && a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(syn::ExprLit {
                    lit: Lit::Str(s), ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .flat_map(|doc| {
            doc.lines()
                .map(str::trim)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .find(|line| !line.is_empty())
        .unwrap_or_default()
}

fn check_name(file: FileId, stem: &str, item: Option<&ItemConst>, parsed: &mut Parsed) {
    let Some(item) = item else {
        parsed.diagnostics.push(
            Diagnostic::error("missing `NAME`")
                .at(file, FILE_START, "this file has no `NAME` constant")
                .help(format!("add `pub const NAME: &str = \"{stem}\";`")),
        );
        return;
    };
    let Some(literal) = string_literal(&item.expr) else {
        parsed.diagnostics.push(
            Diagnostic::error("`NAME` is not a string literal")
                .at(file, range(item.expr.span()), "expected a string literal")
                .help(format!("write `pub const NAME: &str = \"{stem}\";`")),
        );
        return;
    };
    let value = literal.value();
    let here = range(literal.span());
    if value != stem {
        parsed.diagnostics.push(
            Diagnostic::error("`NAME` does not match the file name")
                .at(file, here.clone(), format!("`NAME` is \"{value}\""))
                .note(format!("the file name says \"{stem}\""))
                .help(format!(
                    "set `NAME` to \"{stem}\", or rename the file to `{value}.rs`"
                )),
        );
    }
    parsed.name = Some(Located { value, range: here });
}

fn check_dependencies(file: FileId, stem: &str, item: Option<&ItemConst>, parsed: &mut Parsed) {
    let Some(item) = item else {
        parsed.diagnostics.push(
            Diagnostic::error("missing `DEPENDENCIES`")
                .at(file, FILE_START, "this file has no `DEPENDENCIES` constant")
                .help("add `pub const DEPENDENCIES: &[&str] = &[\"…\"];` naming what this migration needs (`&[]` for none)"),
        );
        return;
    };
    let array = match &*item.expr {
        Expr::Reference(r) if r.mutability.is_none() => match &*r.expr {
            Expr::Array(array) => Some(array),
            _ => None,
        },
        _ => None,
    };
    let Some(array) = array else {
        parsed.diagnostics.push(
            Diagnostic::error("`DEPENDENCIES` is not a slice of string literals")
                .at(file, range(item.expr.span()), "expected `&[\"0001_name\", …]`")
                .help("list the names as string literals: `pub const DEPENDENCIES: &[&str] = &[\"0001_name\"];`"),
        );
        return;
    };
    let mut complete = true;
    for element in &array.elems {
        let Some(literal) = string_literal(element) else {
            complete = false;
            parsed.diagnostics.push(
                Diagnostic::error("dependency is not a string literal")
                    .at(
                        file,
                        range(element.span()),
                        "expected a string literal naming a migration",
                    )
                    .help("write each dependency as its name in quotes: `\"0001_name\"`"),
            );
            continue;
        };
        let dependency = Located {
            value: literal.value(),
            range: range(literal.span()),
        };
        if let Some(first) = parsed
            .dependencies
            .iter()
            .find(|d| d.value == dependency.value)
        {
            parsed.diagnostics.push(
                Diagnostic::error(format!(
                    "`{}` is listed twice in `DEPENDENCIES`",
                    dependency.value
                ))
                .at(file, dependency.range.clone(), "listed again here")
                .also(file, first.range.clone(), "first listed here")
                .help("remove the repeated entry"),
            );
            continue;
        }
        if dependency.value == stem {
            parsed.diagnostics.push(
                Diagnostic::error(format!("`{stem}` depends on itself"))
                    .at(file, dependency.range.clone(), "this is the migration's own name")
                    .help("remove it from `DEPENDENCIES`; list the migrations that must run before this one"),
            );
            continue;
        }
        parsed.dependencies.push(dependency);
    }
    parsed.dependencies_complete = complete;
}

/// The optional opt-in `pub const TRANSACTIONAL: bool = true;`. Its value must be a literal so
/// the build knows it without evaluating anything (it picks the shim), and `pub` so the module
/// reads like the other constants.
fn check_transactional(file: FileId, item: Option<&ItemConst>, parsed: &mut Parsed) {
    let Some(item) = item else {
        return;
    };
    let help = "write `pub const TRANSACTIONAL: bool = true;` (or remove it: absent means false)";
    let is_bool =
        matches!(&*item.ty, syn::Type::Path(p) if p.qself.is_none() && p.path.is_ident("bool"));
    if !is_bool {
        parsed.diagnostics.push(
            Diagnostic::error("`TRANSACTIONAL` is not a `bool`")
                .at(file, range(item.ty.span()), "expected `bool`")
                .help(help),
        );
        return;
    }
    let Some(value) = bool_literal(&item.expr) else {
        parsed.diagnostics.push(
            Diagnostic::error("`TRANSACTIONAL` is not `true` or `false`")
                .at(file, range(item.expr.span()), "expected a bool literal")
                .note("the build reads the value to pick how the migration is called, so it must be written out")
                .help(help),
        );
        return;
    };
    // Known even if not `pub`, so the function-shape hints name the right signature.
    parsed.transactional = Some(value);
    if let Some(here) = not_pub(item) {
        parsed.diagnostics.push(
            Diagnostic::error("`TRANSACTIONAL` is not `pub`")
                .at(file, here, "not `pub`")
                .help(help),
        );
    }
}

fn check_function(
    file: FileId,
    which: &str,
    item: Option<&ItemFn>,
    kind_known: bool,
    parsed: &mut Parsed,
) {
    let expected = if parsed.transactional == Some(true) {
        format!("pub async fn {which}(tx: &mut Transaction) -> Result<()>")
    } else {
        format!("pub async fn {which}(db: &Database) -> Result<()>")
    };
    let Some(item) = item else {
        parsed.diagnostics.push(
            Diagnostic::error(format!("missing `{which}` function"))
                .at(
                    file,
                    FILE_START,
                    format!("this file has no `{which}` function"),
                )
                .help(format!("add `{expected} {{ … }}`")),
        );
        return;
    };
    // What is wrong, as predicates of "this" (the signature): "this is not `pub`, not `async`",
    // "this takes 2 parameters, not 1", "this is not `async`, takes 0 parameters, not 1".
    let mut wrong = Vec::new();
    if !matches!(item.vis, Visibility::Public(_)) {
        wrong.push(
            if wrong.is_empty() {
                "is not `pub`"
            } else {
                "not `pub`"
            }
            .to_owned(),
        );
    }
    if item.sig.asyncness.is_none() {
        wrong.push(
            if wrong.is_empty() {
                "is not `async`"
            } else {
                "not `async`"
            }
            .to_owned(),
        );
    }
    let count = item.sig.inputs.len();
    if count != 1 {
        wrong.push(format!(
            "takes {count} parameter{}, not 1",
            if count == 1 { "" } else { "s" }
        ));
    }
    if wrong.is_empty() {
        if kind_known {
            check_parameter(file, which, item, &expected, parsed);
        }
        return;
    }
    let start = range(item.vis.span())
        .start
        .min(range(item.sig.span()).start);
    let start = if matches!(item.vis, Visibility::Inherited) {
        range(item.sig.span()).start
    } else {
        start
    };
    let end = range(item.sig.paren_token.span.join()).end;
    parsed.diagnostics.push(
        Diagnostic::error(format!(
            "`{which}` must be a `pub async fn` with one parameter"
        ))
        .at(file, start..end, format!("this {}", wrong.join(", ")))
        .help(format!("write `{expected}`")),
    );
}

/// The one parameter's reference matches the migration's kind: `&mut` (the transaction) for a
/// transactional migration, `&` (the database) otherwise. Only the reference is checked, so a
/// type alias or a qualified path is fine; rustc checks the type itself.
fn check_parameter(file: FileId, which: &str, item: &ItemFn, expected: &str, parsed: &mut Parsed) {
    let Some(syn::FnArg::Typed(arg)) = item.sig.inputs.first() else {
        return;
    };
    let transactional = parsed.transactional == Some(true);
    let (problem, label) = match &*arg.ty {
        syn::Type::Reference(r) if r.mutability.is_some() == transactional => return,
        syn::Type::Reference(_) if transactional => (
            format!("`{which}` of a transactional migration must take the transaction"),
            "this takes a shared reference; `TRANSACTIONAL = true` passes `&mut Transaction`",
        ),
        syn::Type::Reference(_) => (
            format!("`{which}` takes a mutable reference, but the migration is not transactional"),
            "a migration that is not transactional is passed `&Database`",
        ),
        _ => (
            format!("`{which}` must take its argument by reference"),
            "this is not a reference",
        ),
    };
    let help = match (&*arg.ty, transactional) {
        (syn::Type::Reference(_), true) => {
            format!("write `{expected}`, or remove `TRANSACTIONAL` to take `db: &Database`")
        }
        (syn::Type::Reference(_), false) => format!(
            "write `{expected}`, or add `pub const TRANSACTIONAL: bool = true;` to take `tx: &mut Transaction`"
        ),
        _ => format!("write `{expected}`"),
    };
    parsed.diagnostics.push(
        Diagnostic::error(problem)
            .at(file, range(arg.ty.span()), label)
            .help(help),
    );
}
