//! Small readings of syn nodes that the parser, the opt-outs and the analyzer share. A leaf:
//! it imports nothing of this crate.

use std::ops::Range;

use syn::spanned::Spanned as _;
use syn::{Expr, ItemConst, Lit, Visibility};

/// The string literal `expr` is, if it is one.
pub(crate) fn string_literal(expr: &Expr) -> Option<&syn::LitStr> {
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(s),
        Expr::Group(g) => string_literal(&g.expr),
        _ => None,
    }
}

/// The value of the bool literal `expr` is, if it is one.
pub(crate) fn bool_literal(expr: &Expr) -> Option<bool> {
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Bool(b), ..
        }) => Some(b.value),
        Expr::Group(g) => bool_literal(&g.expr),
        _ => None,
    }
}

/// For a constant that is not `pub`: its visibility through its name (`const X`,
/// `pub(crate) const X`), to underline.
pub(crate) fn not_pub(item: &ItemConst) -> Option<Range<usize>> {
    let start = match &item.vis {
        Visibility::Public(_) => return None,
        Visibility::Inherited => item.const_token.span().byte_range().start,
        vis => vis.span().byte_range().start,
    };
    Some(start..item.ident.span().byte_range().end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_visibility() {
        let expr = |t: &str| syn::parse_str::<Expr>(t).expect("an expression");
        assert_eq!(
            string_literal(&expr("\"a\"")).map(syn::LitStr::value),
            Some("a".to_owned())
        );
        assert!(string_literal(&expr("A")).is_none());
        assert_eq!(bool_literal(&expr("true")), Some(true));
        assert_eq!(bool_literal(&expr("!false")), None);
        let item = |t: &str| syn::parse_str::<ItemConst>(t).expect("a constant");
        assert_eq!(not_pub(&item("pub const A: u8 = 1;")), None);
        assert_eq!(not_pub(&item("const A: u8 = 1;")), Some(0..7));
        assert_eq!(not_pub(&item("pub(crate) const A: u8 = 1;")), Some(0..18));
    }
}
