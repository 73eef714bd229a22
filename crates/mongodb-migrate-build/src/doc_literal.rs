//! The contents of a `doc! { … }` literal, read from its tokens.
//!
//! syn does not parse macro bodies, and bson's `doc!` is not Rust syntax (`"$set": { … }`), so
//! the lint reads the tokens itself: `key: value` entries separated by commas, where a value is
//! a nested `{ … }` document, a `[ … ]` array, or any other expression (kept as tokens).

use std::ops::Range;

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};

/// A document literal.
#[derive(Debug, Clone, Default)]
pub(crate) struct Doc {
    pub(crate) entries: Vec<Entry>,
}

/// One `key: value` entry.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The key when it is a string literal (`"$set"`); `None` for a computed key (`(name)`).
    pub(crate) key: Option<String>,
    /// Where the key is, to point at it.
    pub(crate) key_range: Range<usize>,
    pub(crate) value: Value,
}

/// A value inside a document literal.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    Doc(Doc),
    Array(Vec<Value>),
    /// Anything else: a literal, a constant, a call. Parse with [`Value::expr`].
    Expr(TokenStream),
}

impl Doc {
    /// Reads the tokens between the braces of `doc! { … }`. Entries that do not have the
    /// `key: value` shape are skipped: rustc reports them, the lint only reads what it can.
    pub(crate) fn parse(tokens: TokenStream) -> Doc {
        let entries = split_commas(tokens)
            .into_iter()
            .filter_map(|entry| {
                let colon = separator(&entry)?;
                let (key, value) = (&entry[..colon], &entry[colon + 1..]);
                let first = key.first()?;
                Some(Entry {
                    key: match key {
                        [TokenTree::Literal(literal)] => string_value(literal),
                        _ => None,
                    },
                    key_range: first.span().byte_range(),
                    value: Value::from_tokens(value),
                })
            })
            .collect();
        Doc { entries }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The first entry's key: a command's name (`run_command(doc! { "drop": "x" })`).
    pub(crate) fn first_key(&self) -> Option<&str> {
        self.entries.first()?.key.as_deref()
    }

    /// The entry with the string key `key`.
    pub(crate) fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key.as_deref() == Some(key))
    }

    /// The value of the entry with the string key `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        self.entry(key).map(|e| &e.value)
    }

    /// The string keys, in order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().filter_map(|e| e.key.as_deref())
    }
}

impl Value {
    fn from_tokens(tokens: &[TokenTree]) -> Value {
        match tokens {
            [TokenTree::Group(group)] if group.delimiter() == Delimiter::Brace => {
                Value::Doc(Doc::parse(group.stream()))
            }
            [TokenTree::Group(group)] if group.delimiter() == Delimiter::Bracket => Value::Array(
                split_commas(group.stream())
                    .iter()
                    .map(|element| Value::from_tokens(element))
                    .collect(),
            ),
            _ => Value::Expr(tokens.iter().cloned().collect()),
        }
    }

    pub(crate) fn as_doc(&self) -> Option<&Doc> {
        match self {
            Value::Doc(doc) => Some(doc),
            _ => None,
        }
    }

    /// The value as a Rust expression, when it is one.
    pub(crate) fn expr(&self) -> Option<syn::Expr> {
        match self {
            Value::Expr(tokens) => syn::parse2(tokens.clone()).ok(),
            _ => None,
        }
    }

    /// The value when it is a string literal.
    pub(crate) fn as_str(&self) -> Option<String> {
        match self {
            Value::Expr(tokens) => {
                let mut iter = tokens.clone().into_iter();
                match (iter.next(), iter.next()) {
                    (Some(TokenTree::Literal(literal)), None) => string_value(&literal),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

/// A string literal's value (`"a\"b"` → `a"b`), or `None` for another literal.
fn string_value(literal: &proc_macro2::Literal) -> Option<String> {
    let text = literal.to_string();
    // Most keys and names are plain `"…"`: no escape or raw string to decode.
    if let Some(plain) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        if !plain.contains(['\\', '"']) {
            return Some(plain.to_owned());
        }
    }
    match syn::Lit::new(literal.clone()) {
        syn::Lit::Str(s) => Some(s.value()),
        _ => None,
    }
}

/// The tokens between top-level commas, empty pieces (a trailing comma) dropped.
fn split_commas(tokens: TokenStream) -> Vec<Vec<TokenTree>> {
    let mut pieces = vec![Vec::new()];
    for token in tokens {
        match &token {
            TokenTree::Punct(p) if p.as_char() == ',' => pieces.push(Vec::new()),
            _ => {
                if let Some(piece) = pieces.last_mut() {
                    piece.push(token);
                }
            }
        }
    }
    pieces.retain(|piece| !piece.is_empty());
    pieces
}

/// The index of the `:` separating key and value: the first `:` that is not half of a `::`.
/// (A `:` directly followed by another punctuation, as in `"n":-1`, is `Joint` too.)
fn separator(entry: &[TokenTree]) -> Option<usize> {
    let is_colon =
        |t: Option<&TokenTree>| matches!(t, Some(TokenTree::Punct(p)) if p.as_char() == ':');
    let mut i = 0;
    while i < entry.len() {
        if let TokenTree::Punct(p) = &entry[i] {
            if p.as_char() == ':' {
                if p.spacing() == Spacing::Joint && is_colon(entry.get(i + 1)) {
                    i += 2;
                    continue;
                }
                return Some(i);
            }
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{Doc, Value};

    fn doc(text: &str) -> Doc {
        Doc::parse(text.parse().expect("tokens"))
    }

    #[test]
    fn reads_keys_nested_documents_and_arrays() {
        let d = doc(r#""$set": { "a.b": 1, "c": x::y() }, "$unset": ["d", "e"], "n":-1,"#);
        assert_eq!(d.keys().collect::<Vec<_>>(), ["$set", "$unset", "n"]);
        assert_eq!(d.first_key(), Some("$set"));
        let set = d.get("$set").and_then(Value::as_doc).expect("a document");
        assert_eq!(set.keys().collect::<Vec<_>>(), ["a.b", "c"]);
        let Some(Value::Array(unset)) = d.get("$unset") else {
            panic!("an array")
        };
        let names: Vec<_> = unset.iter().filter_map(Value::as_str).collect();
        assert_eq!(names, ["d", "e"]);
        assert!(d.get("n").and_then(Value::expr).is_some());
    }

    #[test]
    fn empty_and_computed_keys() {
        assert!(doc("").is_empty());
        let d = doc(r#"(KEY): 1, "s": "text""#);
        assert_eq!(d.entries.len(), 2);
        assert_eq!(d.entries[0].key, None);
        assert_eq!(d.first_key(), None);
        assert_eq!(d.get("s").and_then(Value::as_str).as_deref(), Some("text"));
    }

    #[test]
    fn string_values_are_decoded() {
        let d = doc(r#""a\"b": 1, r"raw": 2, "n": "x\ty", "b": b"bytes""#);
        assert_eq!(d.keys().collect::<Vec<_>>(), ["a\"b", "raw", "n", "b"]);
        assert_eq!(d.get("n").and_then(Value::as_str).as_deref(), Some("x\ty"));
        assert_eq!(d.get("b").and_then(Value::as_str), None);
    }

    #[test]
    fn a_path_in_a_value_is_not_the_separator() {
        let d = doc(r#""$out": common::TARGET"#);
        let value = d.get("$out").and_then(Value::expr).expect("an expression");
        assert!(matches!(value, syn::Expr::Path(_)));
    }
}
