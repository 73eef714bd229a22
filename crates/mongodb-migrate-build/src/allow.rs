//! The opt-outs of the destructive-operation lint: `ALLOW` and `IRREVERSIBLE`.
//!
//! A finding fails the build unless the migration allows it, by id and with a reason:
//!
//! ```text
//! pub const ALLOW: &[(&str, &str)] = &[("drop_collection", "replaced by stories_v2 in 0012")];
//! ```
//!
//! One entry allows every finding of its kind in the file. An entry that matches nothing is an
//! error, as `#[expect]` is in rustc: a stale allow would silently let a later change through.
//!
//! ```text
//! pub const IRREVERSIBLE: &str = "the old format is gone; restore from the backup";
//! ```
//!
//! declares that `downgrade` cannot restore what `upgrade` changed. The
//! `undeclared_irreversible` finding then does not apply, and `ALLOW` cannot name it: the
//! declaration is what lets the runtime refuse the downgrade.
//!
//! Both are read like `NAME`: literals only, since the build records them in the registry.
//! Neither is part of the checksum, so giving an applied migration a reason does not mark it as
//! changed (see `checksum.rs`).

use std::ops::Range;

use syn::spanned::Spanned as _;
use syn::{Expr, ItemConst, Type};

use crate::diagnostic::{Diagnostic, FileId};
use crate::finding::{Finding, FindingKind};
use crate::plan::AllowedFinding;
use crate::syntax::{not_pub, string_literal};

const ALLOW_FORM: &str =
    "write `pub const ALLOW: &[(&str, &str)] = &[(\"finding_id\", \"why it is safe\")];`";
const IRREVERSIBLE_FORM: &str =
    "write `pub const IRREVERSIBLE: &str = \"why the downgrade cannot restore the data\";`";

/// What the opt-outs leave for the plan.
#[derive(Debug, Default)]
pub(crate) struct Settled {
    /// The `ALLOW` entries that matched, in the order written.
    pub(crate) allowed: Vec<AllowedFinding>,
    /// The reason in `IRREVERSIBLE`.
    pub(crate) irreversible: Option<String>,
}

/// One well-formed `ALLOW` entry.
#[derive(Debug)]
struct Entry {
    kind: FindingKind,
    reason: String,
    /// The id literal, where "matches nothing" points.
    range: Range<usize>,
    /// The first finding it allows.
    first: Option<Range<usize>>,
}

/// Matches `findings` against the file's `ALLOW` and `IRREVERSIBLE`: the findings neither
/// answers, malformed opt-outs and entries that match nothing go to `diagnostics`.
pub(crate) fn settle(
    file: FileId,
    text: &str,
    allow: Option<&ItemConst>,
    irreversible: Option<&ItemConst>,
    findings: Vec<Finding>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Settled {
    let mut entries = allow.map_or_else(Vec::new, |item| read_allow(file, item, diagnostics));
    let reason = irreversible.and_then(|item| read_irreversible(file, item, diagnostics));
    for finding in findings {
        // Declared, even if malformed (reported above): not reported a second time.
        if finding.kind == FindingKind::UndeclaredIrreversible && irreversible.is_some() {
            continue;
        }
        match entries.iter_mut().find(|e| e.kind == finding.kind) {
            Some(entry) => {
                entry.first.get_or_insert(finding.range);
            }
            None => diagnostics.push(finding.into_diagnostic(file, allow.is_some())),
        }
    }
    let mut settled = Settled {
        allowed: Vec::new(),
        irreversible: reason,
    };
    for entry in entries {
        let id = entry.kind.id();
        match entry.first {
            Some(first) => settled.allowed.push(AllowedFinding {
                finding: id.to_owned(),
                reason: entry.reason,
                line: text
                    .get(..first.start)
                    .map_or(1, |before| before.matches('\n').count() + 1),
            }),
            None => diagnostics.push(
                Diagnostic::error(format!("`ALLOW` entry `{id}` matches no finding"))
                    .at(
                        file,
                        entry.range,
                        format!("nothing in `upgrade` or `downgrade` is a `{id}` finding"),
                    )
                    .note("like `#[expect]`, an allow that matches nothing is an error, so that it cannot let a later change through unseen")
                    .help("remove the entry"),
            ),
        }
    }
    settled
}

/// The well-formed entries of `ALLOW`; every malformed one is reported.
fn read_allow(file: FileId, item: &ItemConst, diagnostics: &mut Vec<Diagnostic>) -> Vec<Entry> {
    if let Some(range) = not_pub(item) {
        diagnostics.push(
            Diagnostic::error("`ALLOW` is not `pub`")
                .at(file, range, "not `pub`")
                .help(ALLOW_FORM),
        );
    }
    if !is_allow_type(&item.ty) {
        diagnostics.push(
            Diagnostic::error("`ALLOW` is not a `&[(&str, &str)]`")
                .at(
                    file,
                    item.ty.span().byte_range(),
                    "expected `&[(&str, &str)]`",
                )
                .help(ALLOW_FORM),
        );
    }
    let array = match &*item.expr {
        Expr::Reference(r) if r.mutability.is_none() => match &*r.expr {
            Expr::Array(array) => Some(array),
            _ => None,
        },
        _ => None,
    };
    let Some(array) = array else {
        diagnostics.push(
            Diagnostic::error("`ALLOW` is not a slice of (finding, reason) pairs")
                .at(
                    file,
                    item.expr.span().byte_range(),
                    "expected `&[(\"finding_id\", \"reason\"), …]`",
                )
                .help(ALLOW_FORM),
        );
        return Vec::new();
    };
    let mut entries: Vec<Entry> = Vec::new();
    for element in &array.elems {
        let pair = match element {
            Expr::Tuple(tuple) if tuple.elems.len() == 2 => {
                match (
                    string_literal(&tuple.elems[0]),
                    string_literal(&tuple.elems[1]),
                ) {
                    (Some(id), Some(reason)) => Some((id, reason)),
                    _ => None,
                }
            }
            _ => None,
        };
        let Some((id, reason)) = pair else {
            diagnostics.push(
                Diagnostic::error("an `ALLOW` entry is not a pair of string literals")
                    .at(
                        file,
                        element.span().byte_range(),
                        "expected `(\"finding_id\", \"reason\")`",
                    )
                    .help(ALLOW_FORM),
            );
            continue;
        };
        let range = id.span().byte_range();
        let Some(kind) = known_kind(file, &id.value(), range.clone(), diagnostics) else {
            continue;
        };
        if reason.value().trim().is_empty() {
            diagnostics.push(
                Diagnostic::error(format!("`ALLOW` entry `{kind}` gives no reason"))
                    .at(file, reason.span().byte_range(), "empty reason")
                    .help("say why the operation is safe here, e.g. `(\"drop_collection\", \"replaced by stories_v2 in 0012\")`"),
            );
            continue;
        }
        if let Some(first) = entries.iter().find(|e| e.kind == kind) {
            diagnostics.push(
                Diagnostic::error(format!("`{kind}` is listed twice in `ALLOW`"))
                    .at(file, range, "listed again here")
                    .also(file, first.range.clone(), "first listed here")
                    .help(format!(
                        "remove the repeated entry: one entry allows every `{kind}` finding of the migration"
                    )),
            );
            continue;
        }
        entries.push(Entry {
            kind,
            reason: reason.value(),
            range,
            first: None,
        });
    }
    entries
}

/// The finding `id` names, if `ALLOW` may name it; otherwise reported.
fn known_kind(
    file: FileId,
    id: &str,
    range: Range<usize>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<FindingKind> {
    match FindingKind::from_id(id) {
        Some(kind) if kind.allowable() => Some(kind),
        Some(kind) => {
            diagnostics.push(
                Diagnostic::error(format!("`{kind}` cannot be allowed: a migration that cannot be undone says so with `IRREVERSIBLE`"))
                    .at(file, range, "not allowed through `ALLOW`")
                    .help("remove this entry and add `pub const IRREVERSIBLE: &str = \"why the downgrade cannot restore the data\";`"),
            );
            None
        }
        None => {
            let closest = FindingKind::ALL
                .into_iter()
                .filter(|k| k.allowable())
                .map(|k| (strsim::damerau_levenshtein(id, k.id()), k.id()))
                .min();
            let help = match closest {
                Some((distance, closest)) if distance <= (id.len() / 3).max(3) => {
                    format!("did you mean `{closest}`?")
                }
                _ => {
                    let ids: Vec<&str> = FindingKind::ALL
                        .into_iter()
                        .filter(|k| k.allowable())
                        .map(FindingKind::id)
                        .collect();
                    format!("the findings are: {}", ids.join(", "))
                }
            };
            diagnostics.push(
                Diagnostic::error(format!(
                    "`{id}` is not a finding of the destructive-operation lint"
                ))
                .at(file, range, "unknown finding")
                .help(help),
            );
            None
        }
    }
}

/// The reason in `IRREVERSIBLE`, if it is well-formed; otherwise reported.
fn read_irreversible(
    file: FileId,
    item: &ItemConst,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<String> {
    if let Some(range) = not_pub(item) {
        diagnostics.push(
            Diagnostic::error("`IRREVERSIBLE` is not `pub`")
                .at(file, range, "not `pub`")
                .help(IRREVERSIBLE_FORM),
        );
    }
    if !is_str_ref(&item.ty) {
        diagnostics.push(
            Diagnostic::error("`IRREVERSIBLE` is not a `&str`")
                .at(file, item.ty.span().byte_range(), "expected `&str`")
                .help(IRREVERSIBLE_FORM),
        );
    }
    let Some(literal) = string_literal(&item.expr) else {
        diagnostics.push(
            Diagnostic::error("`IRREVERSIBLE` is not a string literal")
                .at(
                    file,
                    item.expr.span().byte_range(),
                    "expected the reason, as a string literal",
                )
                .note("the build records the reason in the registry, so it must be written out")
                .help(IRREVERSIBLE_FORM),
        );
        return None;
    };
    let reason = literal.value();
    if reason.trim().is_empty() {
        diagnostics.push(
            Diagnostic::error("`IRREVERSIBLE` gives no reason")
                .at(file, literal.span().byte_range(), "empty reason")
                .help("say why the downgrade cannot restore the data, e.g. `\"the old format is gone; restore from the backup\"`"),
        );
        return None;
    }
    Some(reason)
}

/// `&[(&str, &str)]`, lifetimes allowed.
fn is_allow_type(ty: &Type) -> bool {
    let Type::Reference(reference) = ty else {
        return false;
    };
    let Type::Slice(slice) = &*reference.elem else {
        return false;
    };
    matches!(&*slice.elem, Type::Tuple(tuple)
        if tuple.elems.len() == 2 && tuple.elems.iter().all(is_str_ref))
}

/// `&str`, lifetimes allowed.
fn is_str_ref(ty: &Type) -> bool {
    matches!(ty, Type::Reference(r) if r.mutability.is_none()
        && matches!(&*r.elem, Type::Path(p) if p.qself.is_none() && p.path.is_ident("str")))
}

#[cfg(test)]
mod tests {
    use super::{is_allow_type, is_str_ref};

    #[test]
    fn types() {
        let ty = |t: &str| syn::parse_str::<syn::Type>(t).expect("a type");
        assert!(is_allow_type(&ty("&[(&str, &str)]")));
        assert!(is_allow_type(&ty(
            "&'static [(&'static str, &'static str)]"
        )));
        assert!(!is_allow_type(&ty("&[&str]")));
        assert!(!is_allow_type(&ty("&[(&str, &str, &str)]")));
        assert!(is_str_ref(&ty("&'static str")));
        assert!(!is_str_ref(&ty("String")));
        assert!(!is_str_ref(&ty("&mut str")));
    }
}
