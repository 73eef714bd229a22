//! The checksum of a migration: what it does, not how it is written.
//!
//! It hashes the file's token stream, so whitespace, comments and line endings do not count,
//! and it drops doc attributes (`///`, `//!`, `#[doc…]`), so rewording a description does not
//! count either. A change to the code does.
//!
//! Formatting tools change more than whitespace: rustfmt adds and removes trailing commas,
//! wraps a long match arm in a block (and drops the comma after a block arm), adds `;` after a
//! final `return`, and sorts `use` and `mod` declarations. None of that changes what the code
//! does, so the tokens are put in a canonical form first ([`canonical`]): `cargo fmt` on an
//! applied migration must never read as drift.
//!
//! The opt-outs of the destructive-operation lint, the top-level `ALLOW` and `IRREVERSIBLE`
//! constants, are left out too ([`without_opt_outs`]): they say why the code is safe, not what
//! it does, and giving an applied migration a reason must not mark it as changed.
//!
//! The framework's crate is one crate whatever the file calls it: `mongodb_migrate`, the
//! `mongo_migrate` of releases before the rename, or the name an app renamed the dependency to.
//! The first segment of every path naming it is serialized as `mongo_migrate`
//! ([`crate_path::CANONICAL`]) before anything is sorted (the spellings sort differently), so
//! a migration applied as `use mongo_migrate::prelude::*;` keeps its checksum when the line
//! becomes `use mongodb_migrate::prelude::*;`.

use std::fmt::Write as _;

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};
use sha2::{Digest, Sha256};

use crate::crate_path::{self, Shape};

/// Hex SHA-256 of `tokens` without doc attributes, in a canonical serialization of our own.
///
/// The serialization is ours rather than `TokenStream`'s `Display` so that a new
/// proc-macro2 formatting choice can never change checksums recorded in databases.
///
/// `framework` lists the names the framework's crate goes by in this app besides
/// `mongodb_migrate` (the name a `Builder` was told the runtime is renamed to).
pub(crate) fn checksum(tokens: &TokenStream, framework: &[&str]) -> String {
    let tree = canonical(without_opt_outs(lower(tokens.clone(), framework)), None);
    let mut text = String::new();
    serialize(&tree, &mut text);
    let digest = Sha256::digest(text.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// Hex SHA-256 checksum of a migration's source text, as recorded in the registry.
///
/// Returns `None` if the text does not lex as Rust tokens.
///
/// # Examples
///
/// ```
/// use mongodb_migrate_build::checksum_source;
/// let a = checksum_source("/// Old words.\npub fn f() {}").unwrap();
/// let b = checksum_source("/// New words.\r\npub   fn f ( ) { } // note").unwrap();
/// assert_eq!(a, b);
/// assert_ne!(a, checksum_source("pub fn g() {}").unwrap());
/// ```
///
/// The framework's crate counts the same however it is spelled:
///
/// ```
/// use mongodb_migrate_build::checksum_source;
/// assert_eq!(
///     checksum_source("use mongo_migrate::prelude::*;"),
///     checksum_source("use mongodb_migrate::prelude::*;"),
/// );
/// ```
pub fn checksum_source(text: &str) -> Option<String> {
    let tokens: TokenStream = normalize_newlines(text).parse().ok()?;
    Some(checksum(&tokens, &[]))
}

/// rustc reads `\r\n` as `\n` before lexing; do the same so CRLF never reaches a literal.
pub(crate) fn normalize_newlines(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains("\r\n") {
        std::borrow::Cow::Owned(text.replace("\r\n", "\n"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// A token, owned and comparable, so the canonical form can be rearranged.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Punct(char, bool),
    Literal(String),
    Group(Delimiter, Vec<Tok>),
}

impl Tok {
    fn is_punct(&self, c: char) -> bool {
        matches!(self, Tok::Punct(p, _) if *p == c)
    }

    fn is_ident(&self, name: &str) -> bool {
        matches!(self, Tok::Ident(i) if i == name)
    }

    fn is_group(&self, delimiter: Delimiter) -> bool {
        matches!(self, Tok::Group(d, _) if *d == delimiter)
    }
}

/// Converts a token stream, dropping doc attributes and spelling the framework's crate
/// [`crate_path::CANONICAL`] (`framework`: its names besides `mongodb_migrate`).
fn lower(tokens: TokenStream, framework: &[&str]) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut iter = tokens.into_iter().peekable();
    while let Some(token) = iter.next() {
        if let TokenTree::Punct(punct) = &token {
            if punct.as_char() == '#' && skip_doc_attribute(&mut iter) {
                continue;
            }
        }
        out.push(match token {
            TokenTree::Ident(ident) => Tok::Ident(ident.to_string()),
            TokenTree::Punct(punct) => {
                Tok::Punct(punct.as_char(), punct.spacing() == Spacing::Joint)
            }
            TokenTree::Literal(literal) => Tok::Literal(literal.to_string()),
            TokenTree::Group(group) => {
                Tok::Group(group.delimiter(), lower(group.stream(), framework))
            }
        });
    }
    canonical_crate_names(&mut out, framework);
    out
}

/// Writes the first segment of each path naming the framework's crate as
/// [`crate_path::CANONICAL`].
fn canonical_crate_names(toks: &mut [Tok], framework: &[&str]) {
    let is_framework = |name: &str| {
        name == crate_path::NAME || name == crate_path::OLD_NAME || framework.contains(&name)
    };
    let found: Vec<usize> = {
        let shapes: Vec<Shape<'_>> = toks
            .iter()
            .map(|t| match t {
                Tok::Ident(name) => Shape::Ident(name),
                Tok::Punct(c, joint) => Shape::Punct(*c, *joint),
                Tok::Literal(_) => Shape::Literal,
                Tok::Group(..) => Shape::Group,
            })
            .collect();
        (0..shapes.len())
            .filter(|&i| {
                matches!(shapes[i], Shape::Ident(name) if is_framework(name))
                    && crate_path::starts_crate_path(&shapes, i)
            })
            .collect()
    };
    for i in found {
        toks[i] = Tok::Ident(crate_path::CANONICAL.to_owned());
    }
}

/// The file's top-level tokens without the items `const ALLOW …;` and `const IRREVERSIBLE …;`
/// (with their attributes and visibility, whatever their shape). A constant of that name
/// inside a function or module is ordinary code and stays.
fn without_opt_outs(toks: Vec<Tok>) -> Vec<Tok> {
    const OPT_OUTS: [&str; 2] = ["ALLOW", "IRREVERSIBLE"];
    let mut removed: Vec<std::ops::Range<usize>> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        // Attributes, then `pub` or `pub(…)`, then `const NAME`.
        let mut j = i;
        while toks.get(j).is_some_and(|t| t.is_punct('#'))
            && toks
                .get(j + 1)
                .is_some_and(|t| t.is_group(Delimiter::Bracket))
        {
            j += 2;
        }
        if toks.get(j).is_some_and(|t| t.is_ident("pub")) {
            j += 1;
            if toks
                .get(j)
                .is_some_and(|t| t.is_group(Delimiter::Parenthesis))
            {
                j += 1;
            }
        }
        let opt_out = toks.get(j).is_some_and(|t| t.is_ident("const"))
            && toks
                .get(j + 1)
                .is_some_and(|t| OPT_OUTS.iter().any(|name| t.is_ident(name)));
        let end = opt_out
            .then(|| toks[j..].iter().position(|t| t.is_punct(';')))
            .flatten();
        match end {
            Some(semicolon) => {
                removed.push(i..j + semicolon + 1);
                i = j + semicolon + 1;
            }
            None => i += 1,
        }
    }
    if removed.is_empty() {
        return toks;
    }
    toks.into_iter()
        .enumerate()
        .filter(|(k, _)| !removed.iter().any(|r| r.contains(k)))
        .map(|(_, t)| t)
        .collect()
}

/// The canonical form of the tokens of one group (`parent` is its delimiter; `None` at the
/// top of the file). Each rule removes a difference rustfmt makes without changing meaning.
fn canonical(tokens: Vec<Tok>, parent: Option<Delimiter>) -> Vec<Tok> {
    canonical_group(tokens, parent, false)
}

fn canonical_group(tokens: Vec<Tok>, parent: Option<Delimiter>, tuple: bool) -> Vec<Tok> {
    let mut toks: Vec<Tok> = Vec::with_capacity(tokens.len());
    for t in tokens {
        let t = match t {
            Tok::Group(d, inner) => {
                // What precedes a group is unchanged by canonicalizing it, so `toks` serves.
                let tuple = d == Delimiter::Parenthesis && is_tuple_position(&toks, toks.len());
                Tok::Group(d, canonical_group(inner, Some(d), tuple))
            }
            other => other,
        };
        toks.push(t);
    }
    unwrap_arm_blocks(&mut toks);
    unwrap_closure_blocks(&mut toks);
    if parent == Some(Delimiter::Brace) {
        // `arm => { … },` and `arm => { … }` are the same match.
        let mut i = 1;
        while i < toks.len() {
            if toks[i].is_punct(',') && toks[i - 1].is_group(Delimiter::Brace) {
                toks.remove(i);
            } else {
                i += 1;
            }
        }
        drop_final_semicolon_after_jump(&mut toks);
    }
    if toks.last().is_some_and(|t| t.is_punct(',')) {
        let commas = toks.iter().filter(|t| t.is_punct(',')).count();
        // `(x,)` is a one-element tuple, `(x)` is not: that trailing comma means something.
        // In a call's arguments (`f(x,)`) it does not.
        if !(tuple && commas == 1) {
            toks.pop();
        }
    }
    sort_declarations(toks)
}

/// Whether the parenthesis at `toks[i]` can be a tuple (expression, pattern or type) rather
/// than the argument or parameter list of a call, a tuple struct, a macro or `fn(…)`.
fn is_tuple_position(toks: &[Tok], i: usize) -> bool {
    const BEFORE_TUPLE: [&str; 12] = [
        "return", "in", "match", "if", "while", "let", "mut", "ref", "break", "yield", "else",
        "move",
    ];
    let Some(prev) = i.checked_sub(1).map(|p| &toks[p]) else {
        return true;
    };
    match prev {
        Tok::Ident(word) => BEFORE_TUPLE.contains(&word.as_str()),
        Tok::Literal(_) | Tok::Group(..) => false,
        // `=> (a,)` and `-> (A,)` start a tuple; a generic's closing `>` starts a call.
        Tok::Punct('>', _) => i >= 2 && matches!(toks[i - 2], Tok::Punct('=' | '-', true)),
        Tok::Punct('!', _) => false,
        Tok::Punct(..) => true,
    }
}

/// A block holding one expression and no statement.
fn is_expression_block(tok: &Tok) -> bool {
    matches!(tok, Tok::Group(Delimiter::Brace, inner)
        if !inner.is_empty() && !inner.iter().any(|t| t.is_punct(';')) && !starts_with_item(inner))
}

/// `|x| { expr }` is `|x| expr` (rustfmt wraps a long closure body in a block). Only where the
/// closure ends the expression (`,`, `)`, `;` or the end follows), so that precedence cannot
/// differ between the two.
fn unwrap_closure_blocks(toks: &mut Vec<Tok>) {
    let mut i = 1;
    while i < toks.len() {
        let ends = match toks.get(i + 1) {
            None => true,
            Some(t) => t.is_punct(',') || t.is_punct(';'),
        };
        if toks[i - 1].is_punct('|') && ends && is_expression_block(&toks[i]) {
            let Tok::Group(_, inner) = toks.remove(i) else {
                unreachable!("checked above")
            };
            let len = inner.len();
            toks.splice(i..i, inner);
            i += len;
        } else {
            i += 1;
        }
    }
}

/// `=> { expr }` (a block holding one expression, no statement) is `=> expr,`.
fn unwrap_arm_blocks(toks: &mut Vec<Tok>) {
    let mut i = 0;
    while i + 2 < toks.len() {
        let is_arrow = matches!(toks[i], Tok::Punct('=', true)) && toks[i + 1].is_punct('>');
        let followed_by_method = toks
            .get(i + 3)
            .is_some_and(|t| t.is_punct('.') || t.is_punct('?'));
        let unwrap = is_arrow && !followed_by_method && is_expression_block(&toks[i + 2]);
        if unwrap {
            let Tok::Group(_, inner) = toks.remove(i + 2) else {
                unreachable!("checked above")
            };
            let len = inner.len();
            toks.splice(i + 2..i + 2, inner);
            let after = i + 2 + len;
            if after < toks.len() && !toks[after].is_punct(',') {
                toks.insert(after, Tok::Punct(',', false));
            }
            i = after;
        } else {
            i += 1;
        }
    }
}

/// A block that declares an item (`{ fn f() {} f() }`) is not a plain expression.
fn starts_with_item(inner: &[Tok]) -> bool {
    const ITEMS: [&str; 9] = [
        "fn", "struct", "enum", "impl", "trait", "mod", "use", "let", "static",
    ];
    inner.iter().any(|t| ITEMS.iter().any(|k| t.is_ident(k)))
}

/// `{ …; return x; }` and `{ …; return x }` are the same block (likewise `break`, `continue`).
fn drop_final_semicolon_after_jump(toks: &mut Vec<Tok>) {
    if !toks.last().is_some_and(|t| t.is_punct(';')) {
        return;
    }
    let body = &toks[..toks.len() - 1];
    let start = body
        .iter()
        .rposition(|t| t.is_punct(';') || t.is_group(Delimiter::Brace))
        .map_or(0, |p| p + 1);
    if body
        .get(start)
        .is_some_and(|t| t.is_ident("return") || t.is_ident("break") || t.is_ident("continue"))
    {
        toks.pop();
    }
}

/// Sorts each run of consecutive `use …;` and `mod name;` declarations (their order never
/// matters, and rustfmt sorts them), and the lists inside `use` braces.
fn sort_declarations(toks: Vec<Tok>) -> Vec<Tok> {
    let mut out: Vec<Tok> = Vec::with_capacity(toks.len());
    let mut run: Vec<Vec<Tok>> = Vec::new();
    let mut i = 0;
    let flush = |run: &mut Vec<Vec<Tok>>, out: &mut Vec<Tok>| {
        run.sort_by_cached_key(|decl| {
            let mut key = String::new();
            serialize(decl, &mut key);
            key
        });
        for decl in run.drain(..) {
            out.extend(decl);
        }
    };
    while i < toks.len() {
        match declaration_end(&toks, i) {
            Some(end) => {
                let mut decl = toks[i..end].to_vec();
                canonical_use_tree(&mut decl);
                run.push(decl);
                i = end;
            }
            None => {
                flush(&mut run, &mut out);
                out.push(toks[i].clone());
                i += 1;
            }
        }
    }
    flush(&mut run, &mut out);
    out
}

/// If a `use` or `mod name;` declaration (with attributes and visibility) starts at `start`,
/// the index just past its `;`.
fn declaration_end(toks: &[Tok], start: usize) -> Option<usize> {
    let mut i = start;
    while toks.get(i).is_some_and(|t| t.is_punct('#')) {
        i += 1;
        if toks.get(i).is_some_and(|t| t.is_punct('!')) {
            return None;
        }
        if !toks.get(i)?.is_group(Delimiter::Bracket) {
            return None;
        }
        i += 1;
    }
    if toks.get(i)?.is_ident("pub") {
        i += 1;
        if toks.get(i)?.is_group(Delimiter::Parenthesis) {
            i += 1;
        }
    }
    if toks.get(i)?.is_ident("use") {
        let semi = toks[i..].iter().position(|t| t.is_punct(';'))?;
        return Some(i + semi + 1);
    }
    if toks.get(i)?.is_ident("mod")
        && matches!(toks.get(i + 1)?, Tok::Ident(_))
        && toks.get(i + 2)?.is_punct(';')
    {
        return Some(i + 3);
    }
    None
}

/// Sorts the lists inside a `use` declaration's braces, and writes `a::{b}` as `a::b`.
fn canonical_use_tree(decl: &mut Vec<Tok>) {
    if !decl.iter().any(|t| t.is_ident("use")) {
        return;
    }
    let mut i = 0;
    while i < decl.len() {
        if let Tok::Group(Delimiter::Brace, inner) = &decl[i] {
            let mut items: Vec<Vec<Tok>> = inner
                .split(|t| t.is_punct(','))
                .filter(|item| !item.is_empty())
                .map(|item| {
                    let mut item = item.to_vec();
                    canonical_use_tree_inner(&mut item);
                    item
                })
                .collect();
            items.sort_by_cached_key(|item| {
                let mut key = String::new();
                serialize(item, &mut key);
                key
            });
            if items.len() == 1 && !(items[0].len() == 1 && items[0][0].is_ident("self")) {
                let item = items.remove(0);
                let len = item.len();
                decl.splice(i..=i, item);
                i += len;
                continue;
            }
            let mut joined = Vec::new();
            for (n, item) in items.into_iter().enumerate() {
                if n > 0 {
                    joined.push(Tok::Punct(',', false));
                }
                joined.extend(item);
            }
            decl[i] = Tok::Group(Delimiter::Brace, joined);
        }
        i += 1;
    }
}

fn canonical_use_tree_inner(item: &mut Vec<Tok>) {
    // A nested list (`a::{b::{c, d}}`) gets the same treatment; `use` makes the check pass.
    item.insert(0, Tok::Ident("use".to_owned()));
    canonical_use_tree(item);
    item.remove(0);
}

/// Whether `a` immediately followed by `b` lexes as (part of) one operator: `&&`, `::`, `->`,
/// `..=`, `>>=`, …, or a lifetime's `'`. Only then does their spacing matter; `>,` and `> ,`
/// are the same tokens.
fn glues(a: char, b: char) -> bool {
    a == '\''
        || matches!(
            (a, b),
            ('&', '&' | '=')
                | ('|', '|' | '=')
                | ('<', '<' | '=' | '-')
                | ('>', '>' | '=')
                | ('=', '=' | '>')
                | ('!' | '+' | '*' | '/' | '%' | '^', '=')
                | ('-', '>' | '=')
                | (':', ':')
                | ('.', '.' | '=')
        )
}

fn serialize(tokens: &[Tok], out: &mut String) {
    for (i, token) in tokens.iter().enumerate() {
        match token {
            Tok::Ident(ident) => {
                out.push('i');
                out.push_str(ident);
                out.push(' ');
            }
            Tok::Punct(c, joint) => {
                let glued = *joint
                    && match tokens.get(i + 1) {
                        Some(Tok::Punct(next, _)) => glues(*c, *next),
                        _ => *c == '\'',
                    };
                out.push('p');
                out.push(*c);
                out.push(if glued { 'j' } else { 'a' });
                out.push(' ');
            }
            Tok::Literal(literal) => {
                out.push('l');
                out.push_str(literal);
                out.push(' ');
            }
            Tok::Group(delimiter, inner) => {
                let (open, close) = match delimiter {
                    Delimiter::Parenthesis => ('(', ')'),
                    Delimiter::Brace => ('{', '}'),
                    Delimiter::Bracket => ('[', ']'),
                    Delimiter::None => ('\u{2}', '\u{3}'),
                };
                out.push(open);
                serialize(inner, out);
                out.push(close);
                out.push(' ');
            }
        }
    }
}

/// After a `#`, consumes `[doc…]` or `![doc…]` if that is what follows.
fn skip_doc_attribute(iter: &mut std::iter::Peekable<proc_macro2::token_stream::IntoIter>) -> bool {
    let mut lookahead = iter.clone();
    let mut next = lookahead.next();
    if matches!(&next, Some(TokenTree::Punct(p)) if p.as_char() == '!') {
        next = lookahead.next();
    }
    let is_doc = match &next {
        Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Bracket => matches!(
            group.stream().into_iter().next(),
            Some(TokenTree::Ident(ident)) if ident == "doc"
        ),
        _ => false,
    };
    if is_doc {
        *iter = lookahead;
    }
    is_doc
}

/// The canonical text the checksum hashes, one token per line: diff two of them to see why
/// checksums differ.
#[doc(hidden)]
pub fn canonical_text(text: &str) -> Option<String> {
    let tokens: TokenStream = normalize_newlines(text).parse().ok()?;
    let tree = canonical(without_opt_outs(lower(tokens, &[])), None);
    let mut s = String::new();
    serialize(&tree, &mut s);
    Some(s.replace(' ', "\n"))
}

#[cfg(test)]
mod tests {
    use super::checksum_source;

    const BASE: &str = r#"//! Add a flag.
use mongo_migrate::prelude::*;

pub const NAME: &str = "0001_a";
pub const DEPENDENCIES: &[&str] = &[];

/// Sets the flag.
pub async fn upgrade(db: &Database) -> Result<()> {
    db.collection::<Document>("s").update_many(doc! {}, doc! { "$set": { "f": true } }).await?;
    Ok(())
}

pub async fn downgrade(db: &Database) -> Result<()> {
    let _ = db;
    Ok(())
}
"#;

    fn sum(text: &str) -> String {
        checksum_source(text).expect("lexes")
    }

    /// The checksums recorded in databases stay what they were before `ALLOW` and
    /// `IRREVERSIBLE` existed.
    #[test]
    fn a_file_without_opt_outs_keeps_its_checksum() {
        assert_eq!(
            sum(BASE),
            "fd8f49b285ff5ab7d7133243e2880c2902725f932726bd5d4985f863442c70d8"
        );
    }

    /// The framework's crate, spelled as before the rename (`mongo_migrate`), as it is now
    /// (`mongodb_migrate`) or as the app renamed it, is one crate: the checksum recorded with
    /// the old spelling is the one computed with the new.
    #[test]
    fn the_framework_crate_counts_the_same_however_it_is_spelled() {
        let renamed = BASE.replace("use mongo_migrate::", "use mongodb_migrate::");
        assert_ne!(renamed, BASE);
        assert_eq!(sum(&renamed), sum(BASE));
        assert_eq!(
            sum(&renamed),
            "fd8f49b285ff5ab7d7133243e2880c2902725f932726bd5d4985f863442c70d8"
        );
        let inline = |krate: &str| {
            format!(
                "use std::fmt;\nuse mongo_x::y;\nuse {krate}::prelude::*;\n\
                 pub async fn upgrade(db: &{krate}::Database) -> ::{krate}::Result<()> {{\n\
                 {krate}::batch::backfill(db).await?; Ok(()) }}\n"
            )
        };
        // `mongo_x` sorts after `mongo_migrate` and before `mongodb_migrate`: the spelling is
        // made canonical before the `use` items are sorted.
        assert_eq!(
            sum(&inline("mongodb_migrate")),
            sum(&inline("mongo_migrate"))
        );
        let tokens: proc_macro2::TokenStream = inline("fw").parse().expect("lexes");
        assert_eq!(
            super::checksum(&tokens, &["fw"]),
            sum(&inline("mongo_migrate")),
            "the name a Builder is told the runtime is renamed to"
        );
        assert_ne!(super::checksum(&tokens, &[]), sum(&inline("mongo_migrate")));
        // Only the first segment of a path names a crate.
        let module = BASE.replace("use mongo_migrate::", "use crate::mongodb_migrate::");
        assert_ne!(
            sum(&module),
            sum(&module.replace("mongodb_migrate", "mongo_migrate"))
        );
        // A real edit still reads as changed.
        let edited = renamed.replace("\"f\": true", "\"f\": false");
        assert_ne!(edited, renamed);
        assert_ne!(sum(&edited), sum(BASE));
    }

    #[test]
    fn allow_and_irreversible_do_not_count() {
        let allow =
            "pub const ALLOW: &[(&str, &str)] = &[(\"unset_field\", \"the flag is derived\")];\n";
        let irreversible = "pub const IRREVERSIBLE: &str = \"the old values are gone\";\n";
        let marker = "pub const DEPENDENCIES: &[&str] = &[];\n";
        for added in [
            allow.to_owned(),
            irreversible.to_owned(),
            format!("{irreversible}{allow}"),
            // Whatever its shape: a malformed one is reported, and still not code.
            "#[allow(dead_code)]\nconst ALLOW: &[(&str, &str)] = &[];\n".to_owned(),
            "pub(crate) const IRREVERSIBLE: &str = concat!(\"a\", \"b\");\n".to_owned(),
        ] {
            let with = BASE.replace(marker, &format!("{marker}{added}"));
            assert_ne!(with, BASE);
            assert_eq!(sum(BASE), sum(&with), "{added}");
        }
        // At the end of the file, after the functions, too.
        assert_eq!(sum(BASE), sum(&format!("{BASE}{allow}")));
        // Changing a reason changes nothing either.
        let a = BASE.replace(marker, &format!("{marker}{allow}"));
        assert_eq!(
            sum(&a),
            sum(&a.replace("is derived", "is recomputed by 0009"))
        );
    }

    #[test]
    fn constants_of_other_names_or_places_still_count() {
        assert_ne!(
            sum(BASE),
            sum(&format!("{BASE}pub const ALLOWED: &str = \"x\";\n"))
        );
        assert_ne!(
            sum("fn f() {}"),
            sum("fn f() { const ALLOW: &[(&str, &str)] = &[]; }")
        );
        assert_ne!(
            sum("mod m {}"),
            sum("mod m { pub const IRREVERSIBLE: &str = \"x\"; }")
        );
    }

    #[test]
    fn is_hex_sha256() {
        let s = sum(BASE);
        assert_eq!(s.len(), 64);
        assert!(s
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    }

    #[test]
    fn whitespace_does_not_count() {
        let reformatted = BASE
            .replace("    ", "\t\t")
            .replace(" -> ", "->")
            .replace("\n\n", "\n\n\n");
        assert_ne!(reformatted, BASE);
        assert_eq!(sum(BASE), sum(&reformatted));
    }

    #[test]
    fn comments_do_not_count() {
        let commented = BASE.replace(
            "Ok(())\n}\n\npub async fn downgrade",
            "Ok(()) // done\n}\n/* block */\npub async fn downgrade",
        );
        assert_ne!(commented, BASE);
        assert_eq!(sum(BASE), sum(&commented));
    }

    #[test]
    fn doc_text_does_not_count() {
        let redocumented = BASE
            .replace(
                "//! Add a flag.",
                "//! Add the `featured` flag.\n//! Second line.",
            )
            .replace("/// Sets the flag.", "/// Sets it.\n#[doc = \"more\"]");
        assert_eq!(sum(BASE), sum(&redocumented));
        let undocumented = BASE
            .replace("//! Add a flag.\n", "")
            .replace("/// Sets the flag.\n", "");
        assert_eq!(sum(BASE), sum(&undocumented));
    }

    #[test]
    fn crlf_does_not_count() {
        let crlf = BASE.replace('\n', "\r\n");
        assert_eq!(sum(BASE), sum(&crlf));
        let multi_line_literal = "const S: &str = \"a\nb\";";
        assert_eq!(
            sum(multi_line_literal),
            sum(&multi_line_literal.replace('\n', "\r\n"))
        );
    }

    #[test]
    fn a_body_change_counts() {
        assert_ne!(sum(BASE), sum(&BASE.replace("\"f\": true", "\"f\": false")));
        assert_ne!(sum(BASE), sum(&BASE.replace("let _ = db;", "")));
    }

    #[test]
    fn joined_punctuation_counts() {
        assert_ne!(sum("fn f() { a && b; }"), sum("fn f() { a & &b; }"));
        assert_ne!(sum("fn f() { a <<= b; }"), sum("fn f() { a < <= b; }"));
    }

    #[test]
    fn spacing_between_punctuation_that_never_glues_does_not_count() {
        assert_eq!(
            sum("fn f(a: Vec<u8>, b: u8) {}"),
            sum("fn f(a: Vec<u8> , b: u8) {}")
        );
        assert_eq!(sum("fn f() { g(&*x); }"), sum("fn f() { g(& *x); }"));
    }

    #[test]
    fn non_doc_attributes_count() {
        assert_ne!(sum("fn f() {}"), sum("#[inline] fn f() {}"));
        assert_ne!(sum("fn f() {}"), sum("#![allow(dead_code)] fn f() {}"));
    }

    #[test]
    fn trailing_commas_do_not_count_but_a_one_tuple_does() {
        assert_eq!(sum("fn f() { g(a, b,); }"), sum("fn f() { g(a, b); }"));
        assert_eq!(
            sum("const A: [u8; 2] = [1, 2,];"),
            sum("const A: [u8; 2] = [1, 2];")
        );
        assert_eq!(
            sum("fn f() { S { a: 1, }; }"),
            sum("fn f() { S { a: 1 }; }")
        );
        assert_ne!(sum("fn f() { g((a,)); }"), sum("fn f() { g((a)); }"));
        assert_ne!(
            sum("fn f() { let (a,) = t; }"),
            sum("fn f() { let (a) = t; }")
        );
        assert_ne!(sum("fn f() -> (u8,) { x }"), sum("fn f() -> (u8) { x }"));
        assert_eq!(sum("fn f() { g(h(a,)); }"), sum("fn f() { g(h(a)); }"));
        assert_eq!(
            sum("fn f() { g::<u8>(a,); }"),
            sum("fn f() { g::<u8>(a); }")
        );
        assert_ne!(sum("fn f() { g(a, b); }"), sum("fn f() { g(a); }"));
    }

    #[test]
    fn match_arm_blocks_and_their_commas_do_not_count() {
        let bare = "fn f() { match x { A => g(1), B => { h(); } C => k(2), } }";
        let wrapped = "fn f() { match x { A => { g(1) } B => { h(); }, C => { k(2) } } }";
        assert_eq!(sum(bare), sum(wrapped));
        // A different body is still a change.
        assert_ne!(sum(bare), sum(&bare.replace("k(2)", "k(3)")));
        // A block holding statements is not an expression to unwrap.
        assert_ne!(
            sum("fn f() { match x { A => { g(1); } } }"),
            sum("fn f() { match x { A => g(1), } }")
        );
    }

    #[test]
    fn closure_body_blocks_do_not_count() {
        assert_eq!(
            sum("fn f() { g(|u| { u.h() }); }"),
            sum("fn f() { g(|u| u.h()); }")
        );
        assert_eq!(
            sum("fn f() { let c = || { 1 }; }"),
            sum("fn f() { let c = || 1; }")
        );
        assert_ne!(
            sum("fn f() { g(|u| { u.h(); }); }"),
            sum("fn f() { g(|u| u.h()); }")
        );
        // A return type needs the block.
        assert_ne!(
            sum("fn f() { g(|u| -> u8 { u }); }"),
            sum("fn f() { g(|u| -> u8 u); }")
        );
    }

    #[test]
    fn a_semicolon_after_a_final_return_does_not_count() {
        assert_eq!(
            sum("fn f() -> u8 { if a { return 1; } 2 }"),
            sum("fn f() -> u8 { if a { return 1 } 2 }")
        );
        assert_ne!(sum("fn f() { g(); }"), sum("fn f() { g() }"));
    }

    #[test]
    fn use_and_mod_order_does_not_count() {
        let a = "use b::Y;\nuse a::{X, Z};\n#[path = \"c.rs\"]\nmod c;\nmod a;\nfn f() {}";
        let b = "mod a;\n#[path = \"c.rs\"]\nmod c;\nuse a::{Z, X,};\nuse b::{Y};\nfn f() {}";
        assert_eq!(sum(a), sum(b));
        assert_ne!(sum(a), sum(&a.replace("use b::Y;", "use b::W;")));
        // `self` in braces is kept as written.
        assert_ne!(sum("use a::{self};"), sum("use a::self;"));
    }

    /// The real thing: rustfmt's output of an unformatted migration has the same checksum.
    #[test]
    fn rustfmt_output_has_the_same_checksum() {
        use std::io::Write as _;
        use std::process::{Command, Stdio};
        let ugly = r#"//! Unformatted.
use mongo_migrate::prelude::*;
use mongo_migrate::mongodb::IndexModel;
use mongo_migrate::mongodb::options::{IndexOptions};
pub const NAME: &str = "0001_a";
pub const DEPENDENCIES: &[&str] = &[];
async fn find(db: &Database) -> Result<Option<(String, bool)>> {
    let c = db.collection::<Document>("s");
    let mut cursor = match c.list_indexes().await { Ok(cursor) => cursor, Err(e) if e.to_string().contains("ns") => { return Ok(None) } Err(e) => return Err(e).context("listing the indexes of the sections collection"), };
    while let Some(index) = cursor.try_next().await? { if index.keys == doc! { "slug": 1 } { let o = index.options.unwrap_or_default(); return Ok(Some((o.name.unwrap_or_default(), o.unique.unwrap_or(false)))); } }
    Ok(None)
}
pub async fn upgrade(db: &Database) -> Result<()> {
    match find(db).await? { Some(_) => {}, None => eprintln!("warning: {NAME}: no index on slug was found, so one will be created right now"), }
    let index = IndexModel::builder().keys(doc! { "slug": 1 }).options(IndexOptions::builder().name("n".to_owned()).unique(true).build()).build();
    db.collection::<Document>("s").create_index(index).await.context("creating the unique index on slug")?;
    Ok(())
}
pub async fn downgrade(db: &Database) -> Result<()> { let _ = db; Ok(()) }
"#;
        let mut child = Command::new("rustfmt")
            .args(["--edition", "2021", "--emit", "stdout"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("rustfmt (part of the Rust toolchain) runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(ugly.as_bytes())
            .expect("write");
        let out = child.wait_with_output().expect("rustfmt output");
        assert!(out.status.success());
        let formatted = String::from_utf8(out.stdout).expect("utf-8");
        assert_ne!(
            formatted, ugly,
            "rustfmt changed nothing; the test would prove nothing"
        );
        assert_eq!(sum(ugly), sum(&formatted), "rustfmt's output:\n{formatted}");
    }
}
