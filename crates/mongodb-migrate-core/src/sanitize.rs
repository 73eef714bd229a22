//! Printing strings that come from the database without letting them take over the output.
//!
//! Migration names, runner ids and error texts read from the state collection are data that
//! anyone with write access to it chose. Printed as is, an ANSI escape in one can recolour, move
//! the cursor or clear the terminal; a bidi override can make `0002_drop_users` read as another
//! name (the "Trojan Source" trick, CVE-2021-42574); a newline can forge an extra line of output;
//! and a `"` can end a DOT or Mermaid string early and inject statements into a graph.
//!
//! Every function here escapes the same set of characters (see [`for_terminal`]) as visible
//! text, and leaves everything else, including non-ASCII letters such as `é` or `日本`, as is.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` must not reach a terminal or a graph as is.
///
/// C0 controls (with ESC, newline and tab), DEL and C1 controls drive terminals; the bidi
/// embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) and the invisible direction
/// marks (U+061C, U+200E, U+200F) reorder what is shown; the line and paragraph separators
/// (U+2028, U+2029) break a line in editors and some terminals, like a newline.
fn needs_escape(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            | '\u{61c}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
    )
}

/// Appends the visible escape of `c`, written as in Rust source: `\n`, `\t`, `\r`, `\x1b` below
/// U+0080, `\u{202e}` above.
fn push_escape(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        c if u32::from(c) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
}

/// `s` made safe to print on a terminal, on one line.
///
/// Control characters (C0 including ESC, newline and tab; DEL; C1 U+0080–U+009F), bidi
/// overrides and isolates (U+202A–U+202E, U+2066–U+2069), the direction marks U+061C, U+200E,
/// U+200F and the separators U+2028, U+2029 are replaced by visible escapes written as in Rust:
/// `\n`, `\t`, `\r`, `\x1b`, `\u{202e}`. Everything else, including non-ASCII text, is kept.
/// Returns `s` itself, without allocating, when nothing needs escaping, which is the usual case.
///
/// This is for display only: a backslash is kept as is, so the escape `\x1b` and a name that
/// literally contains those four characters print alike.
///
/// # Examples
///
/// ```
/// use mongodb_migrate_core::sanitize::for_terminal;
///
/// assert_eq!(for_terminal("0001_init"), "0001_init");
/// assert_eq!(for_terminal("\x1b[31mEVIL\x1b[0m"), "\\x1b[31mEVIL\\x1b[0m");
/// assert_eq!(for_terminal("a\nb"), "a\\nb");
/// ```
pub fn for_terminal(s: &str) -> Cow<'_, str> {
    let Some(first) = s.find(needs_escape) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + 8);
    out.push_str(&s[..first]);
    for c in s[first..].chars() {
        if needs_escape(c) {
            push_escape(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `s` as a Graphviz DOT double-quoted string, quotes included, usable as a node ID or a label.
///
/// In a DOT quoted string only `\"` is an escape; a layout engine then reads the backslash escapes
/// of labels (`\\`, `\n`, `\N`, `\G`…) in the node name shown by default. So:
///
/// - `"` becomes `\"`;
/// - `\` becomes `\\\\`, shown as `\\`, so that a name can never name a label substitution such
///   as `\N`, and so that distinct names stay distinct node IDs (a literal backslash can't be
///   confused with the start of an escape below);
/// - the characters [`for_terminal`] escapes become its escape with the backslash doubled
///   (`\\x1b`, `\\n`), shown as `\x1b`, `\n`: the node keeps one line, and no control character
///   reaches the file.
///
/// Non-ASCII text is kept (DOT files are UTF-8 by default).
///
/// # Examples
///
/// ```
/// use mongodb_migrate_core::sanitize::dot_id;
///
/// assert_eq!(dot_id("0001_init"), r#""0001_init""#);
/// assert_eq!(dot_id("a\"b"), r#""a\"b""#);
/// assert_eq!(dot_id("a\nb"), r#""a\\nb""#);
/// ```
pub fn dot_id(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\\\\\"),
            c if needs_escape(c) => {
                out.push('\\');
                push_escape(&mut out, c);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `s` as a Mermaid node label, double quotes included: write it inside the shape brackets, as in
/// `format!("{}[{}]", mermaid_id(name), mermaid_label(name))`.
///
/// Inside a quoted Mermaid label, `#…;` is an entity code, so text is escaped with entity codes:
/// `"` becomes `#quot;` and `#` becomes `#35;` (so that a name can't spell an entity itself);
/// `&`, `<` and `>` become `#38;`, `#60;`, `#62;`, because labels are rendered as HTML; and
/// `` ` `` becomes `#96;`, because a label starting with a backquote is read as Markdown. The
/// characters [`for_terminal`] escapes become its visible escapes (`\x1b`, `\n`), so a label
/// stays on one line. Non-ASCII text is kept.
///
/// # Examples
///
/// ```
/// use mongodb_migrate_core::sanitize::mermaid_label;
///
/// assert_eq!(mermaid_label("0001_init"), r#""0001_init""#);
/// assert_eq!(mermaid_label("say \"hi\" #1"), r#""say #quot;hi#quot; #35;1""#);
/// ```
pub fn mermaid_label(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '&' => out.push_str("#38;"),
            '<' => out.push_str("#60;"),
            '>' => out.push_str("#62;"),
            '`' => out.push_str("#96;"),
            c if needs_escape(c) => push_escape(&mut out, c),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A Mermaid node identifier for `s`: `m_` followed by `s` with ASCII letters and digits kept,
/// `_` doubled, and every other character written as `_<hex code point>_`.
///
/// The prefix keeps an ID from being a Mermaid keyword (`end`, `graph`, `style`…) and from
/// starting with `o` or `x`, which Mermaid may read as an edge ending (`A---oB`). The encoding is
/// one-to-one, so distinct names never share a node: after a `_` comes either `_` (a literal
/// underscore) or hex digits ending at the next `_`.
///
/// # Examples
///
/// ```
/// use mongodb_migrate_core::sanitize::mermaid_id;
///
/// assert_eq!(mermaid_id("0001_init"), "m_0001__init");
/// assert_eq!(mermaid_id("a.b"), "m_a_2e_b");
/// assert_eq!(mermaid_id("é"), "m__e9_");
/// ```
pub fn mermaid_id(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push_str("m_");
    for c in s.chars() {
        match c {
            c if c.is_ascii_alphanumeric() => out.push(c),
            '_' => out.push_str("__"),
            c => {
                let _ = write!(out, "_{:x}_", u32::from(c));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANSI: &str = "\x1b[31mEVIL\x1b[0m";

    /// No character that drives a terminal or reorders text survives.
    fn assert_inert(s: &str) {
        assert!(!s.chars().any(needs_escape), "{s:?}");
    }

    #[test]
    fn terminal_keeps_plain_text_borrowed() {
        for s in ["0001_init", "café 日本", "a\\b", ""] {
            assert!(
                matches!(for_terminal(s), Cow::Borrowed(b) if b == s),
                "{s:?}"
            );
        }
    }

    #[test]
    fn terminal_escapes_ansi_and_controls() {
        assert_eq!(for_terminal(ANSI), "\\x1b[31mEVIL\\x1b[0m");
        assert_eq!(for_terminal("a\nb\tc\rd"), "a\\nb\\tc\\rd");
        assert_eq!(for_terminal("\0\u{7}\u{7f}"), "\\x00\\x07\\x7f");
        assert_eq!(for_terminal("x\u{85}y\u{9b}z"), "x\\u{85}y\\u{9b}z");
        for s in [ANSI, "a\nb", "\u{9b}2J", "line\u{2028}sep"] {
            assert_inert(&for_terminal(s));
        }
    }

    #[test]
    fn terminal_escapes_bidi_controls() {
        assert_eq!(
            for_terminal("0002_\u{202e}sresu_pord"),
            "0002_\\u{202e}sresu_pord"
        );
        for c in ('\u{202a}'..='\u{202e}').chain('\u{2066}'..='\u{2069}') {
            let s = format!("a{c}b");
            assert_eq!(for_terminal(&s), format!("a\\u{{{:x}}}b", u32::from(c)));
        }
        assert_inert(&for_terminal("\u{200e}\u{200f}\u{61c}"));
    }

    #[test]
    fn terminal_keeps_unicode_text() {
        assert_eq!(for_terminal("é日本\u{1f600}\nx"), "é日本\u{1f600}\\nx");
    }

    #[test]
    fn dot_quotes_and_escapes() {
        assert_eq!(dot_id("0001_init"), "\"0001_init\"");
        assert_eq!(dot_id("say \"hi\"\nbye"), r#""say \"hi\"\\nbye""#);
        assert_eq!(dot_id(ANSI), r#""\\x1b[31mEVIL\\x1b[0m""#);
        assert_eq!(dot_id(r"a\N"), r#""a\\\\N""#);
        assert_eq!(dot_id("é 日本"), "\"é 日本\"");
        assert_eq!(dot_id("\u{202e}"), r#""\\u{202e}""#);
        assert_inert(&dot_id(ANSI));
    }

    /// A DOT quoted string ends at the first `"` not preceded by an escaping backslash: check that
    /// it is the last character, whatever the input.
    #[test]
    fn dot_string_cannot_be_closed_early() {
        for s in [
            "\"",
            "\\",
            "\\\"",
            "a\\\\\"]; x -> y; \"",
            "\"\n}\ndigraph{",
        ] {
            let out = dot_id(s);
            let inner = &out[1..out.len() - 1];
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                assert_ne!(c, '"', "unescaped quote in {out}");
                if c == '\\' {
                    assert!(chars.next().is_some(), "dangling backslash in {out}");
                }
            }
            assert!(!inner.contains('\n'), "{out}");
        }
    }

    #[test]
    fn dot_ids_stay_distinct() {
        assert_ne!(dot_id("a\x1b"), dot_id("a\\x1b"));
        assert_ne!(dot_id("a\n"), dot_id("a\\n"));
        assert_ne!(dot_id("a\\"), dot_id("a\\\\"));
    }

    #[test]
    fn mermaid_label_escapes() {
        assert_eq!(
            mermaid_label("say \"hi\"\nbye"),
            r#""say #quot;hi#quot;\nbye""#
        );
        assert_eq!(mermaid_label(ANSI), r#""\x1b[31mEVIL\x1b[0m""#);
        assert_eq!(
            mermaid_label("#quot; <b>&`"),
            r##""#35;quot; #60;b#62;#38;#96;""##
        );
        assert_eq!(mermaid_label("é 日本 [x] (y)"), "\"é 日本 [x] (y)\"");
        assert_inert(&mermaid_label(ANSI));
        let out = mermaid_label("\"]; A-->B; B[\"");
        assert_eq!(out.matches('"').count(), 2, "{out}");
    }

    #[test]
    fn mermaid_ids_are_plain_and_distinct() {
        assert_eq!(mermaid_id("0001_init"), "m_0001__init");
        assert_eq!(mermaid_id("end"), "m_end");
        assert_eq!(mermaid_id(""), "m_");
        assert_eq!(mermaid_id("日本"), "m__65e5__672c_");
        for s in [ANSI, "say \"hi\"\n", "a b", "é"] {
            let id = mermaid_id(s);
            assert!(
                id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "{id}"
            );
        }
        let names = ["a_b", "a__b", "a_5f_b", "a.b", "a_2e_b", "a\nb"];
        let ids: std::collections::HashSet<_> = names.iter().map(|n| mermaid_id(n)).collect();
        assert_eq!(ids.len(), names.len(), "{ids:?}");
    }
}
