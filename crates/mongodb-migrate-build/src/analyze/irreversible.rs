//! The one finding about the pair of bodies rather than an operation: `upgrade` writes and
//! `downgrade` cannot undo it.

use syn::{FnArg, ItemFn, Pat};

use super::model::Call;
use crate::finding::{Finding, FindingKind};

/// `upgrade` writes and `downgrade` never uses its parameter: the migration cannot be undone,
/// and does not say so (`IRREVERSIBLE` answers it; see `allow.rs`).
pub(crate) fn undeclared_irreversible(
    up: &[Call],
    downgrade: &ItemFn,
    uses_parameter: bool,
) -> Option<Finding> {
    let write = up.iter().find(|call| call.op.writes())?;
    // A downgrade of the wrong shape is reported by the function check; not again here.
    if uses_parameter || downgrade.sig.inputs.len() != 1 {
        return None;
    }
    let Some(FnArg::Typed(arg)) = downgrade.sig.inputs.first() else {
        return None;
    };
    let label = match &*arg.pat {
        Pat::Ident(pat) => format!("never uses `{}`", pat.ident),
        Pat::Wild(_) => "ignores its parameter".to_owned(),
        // A pattern the lint does not read: assume it is used.
        _ => return None,
    };
    Some(
        Finding::new(
            FindingKind::UndeclaredIrreversible,
            downgrade.sig.ident.span().byte_range(),
            "`upgrade` writes, but `downgrade` never uses the database: the migration cannot be undone, and does not say so",
            label,
        )
        .also(write.range.clone(), "`upgrade` writes here"),
    )
}
