//! The checksum of a migration: what it does, not how it is written.
//!
//! It hashes the file's token stream, so whitespace, comments and line endings do not count,
//! and it drops doc attributes (`///`, `//!`, `#[doc…]`), so rewording a description does not
//! count either. A change to the code does.

use std::fmt::Write as _;

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};
use sha2::{Digest, Sha256};

/// Hex SHA-256 of `tokens` without doc attributes, in a serialization of our own.
///
/// The serialization is ours rather than `TokenStream`'s `Display` so that a new
/// proc-macro2 formatting choice can never change checksums recorded in databases.
pub(crate) fn checksum(tokens: &TokenStream) -> String {
    let mut canonical = String::new();
    serialize(tokens.clone(), &mut canonical);
    let digest = Sha256::digest(canonical.as_bytes());
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
/// use mongo_migrate_build::checksum_source;
/// let a = checksum_source("/// Old words.\npub fn f() {}").unwrap();
/// let b = checksum_source("/// New words.\r\npub   fn f ( ) { } // note").unwrap();
/// assert_eq!(a, b);
/// assert_ne!(a, checksum_source("pub fn g() {}").unwrap());
/// ```
pub fn checksum_source(text: &str) -> Option<String> {
    let tokens: TokenStream = normalize_newlines(text).parse().ok()?;
    Some(checksum(&tokens))
}

/// rustc reads `\r\n` as `\n` before lexing; do the same so CRLF never reaches a literal.
pub(crate) fn normalize_newlines(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains("\r\n") {
        std::borrow::Cow::Owned(text.replace("\r\n", "\n"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

fn serialize(tokens: TokenStream, out: &mut String) {
    let mut iter = tokens.into_iter().peekable();
    while let Some(token) = iter.next() {
        if let TokenTree::Punct(punct) = &token {
            if punct.as_char() == '#' && skip_doc_attribute(&mut iter) {
                continue;
            }
        }
        match token {
            TokenTree::Ident(ident) => {
                out.push('i');
                out.push_str(&ident.to_string());
                out.push(' ');
            }
            TokenTree::Punct(punct) => {
                out.push('p');
                out.push(punct.as_char());
                out.push(if punct.spacing() == Spacing::Joint {
                    'j'
                } else {
                    'a'
                });
                out.push(' ');
            }
            TokenTree::Literal(literal) => {
                out.push('l');
                out.push_str(&literal.to_string());
                out.push(' ');
            }
            TokenTree::Group(group) => {
                let (open, close) = match group.delimiter() {
                    Delimiter::Parenthesis => ('(', ')'),
                    Delimiter::Brace => ('{', '}'),
                    Delimiter::Bracket => ('[', ']'),
                    Delimiter::None => ('\u{2}', '\u{3}'),
                };
                out.push(open);
                serialize(group.stream(), out);
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
    }

    #[test]
    fn non_doc_attributes_count() {
        assert_ne!(sum("fn f() {}"), sum("#[inline] fn f() {}"));
        assert_ne!(sum("fn f() {}"), sum("#![allow(dead_code)] fn f() {}"));
    }
}
