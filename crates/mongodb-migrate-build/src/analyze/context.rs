//! What the file defines, and what an expression is in a function's bindings: the handle it
//! is, the name it holds, the document or pipeline literal it holds.

use std::collections::HashMap;

use proc_macro2::Ident;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprMethodCall, Item, ItemFn, Pat, Type};

use super::model::{Handle, Name};
use crate::doc_literal::{Doc, Value};
use crate::syntax::string_literal;

/// What the file defines at its top level: the functions a walk may follow, and the string
/// constants names resolve through.
#[derive(Debug)]
pub(crate) struct Context<'a> {
    pub(crate) functions: HashMap<&'a Ident, &'a ItemFn>,
    constants: HashMap<&'a Ident, String>,
    /// The entry points, each the last function of its name.
    pub(crate) upgrade: Option<&'a ItemFn>,
    pub(crate) downgrade: Option<&'a ItemFn>,
}

/// A local binding, resolved when it is bound: what it is, the name it holds, the document or
/// pipeline literal it holds.
#[derive(Debug, Clone, Default)]
pub(crate) struct Binding {
    pub(crate) handle: Handle,
    name: Option<Name>,
    doc: Option<Doc>,
    pipeline: Option<Vec<Doc>>,
}

/// The bindings of one function, in the order they are bound. Blocks do not scope them: a
/// name bound in a block stays known after it, as the lint reads no control flow.
#[derive(Debug, Default)]
pub(crate) struct Scope {
    pub(crate) function: String,
    bindings: HashMap<Ident, Binding>,
}

impl Scope {
    pub(crate) fn new(function: String) -> Self {
        Scope {
            function,
            bindings: HashMap::new(),
        }
    }

    /// Binds a function's parameter to what the caller passed, or to what its type says.
    pub(crate) fn bind_parameter(&mut self, ident: &Ident, handle: Handle) {
        self.bindings.insert(
            ident.clone(),
            Binding {
                handle,
                ..Binding::default()
            },
        );
    }

    /// Binds `let pat = init;` (`let pat: T = init;`), after `init` was walked.
    pub(crate) fn bind(&mut self, cx: &Context<'_>, pat: &Pat, init: Option<&Expr>) {
        let (pat, ty) = match pat {
            Pat::Type(typed) => (&*typed.pat, Some(&*typed.ty)),
            other => (other, None),
        };
        // Destructuring patterns bind nothing the lint follows.
        let Pat::Ident(ident) = pat else { return };
        let mut binding = match init {
            Some(init) => Binding {
                handle: cx.handle(init, self),
                name: cx.name(init, self),
                doc: cx.doc(init, self),
                pipeline: cx.pipeline(init, self),
            },
            None => Binding::default(),
        };
        if binding.handle == Handle::Unknown {
            if let Some(ty) = ty {
                binding.handle = handle_of_type(ty);
            }
        }
        self.bindings.insert(ident.ident.clone(), binding);
    }

    fn get(&self, expr: &syn::ExprPath) -> Option<&Binding> {
        expr.path
            .get_ident()
            .and_then(|ident| self.bindings.get(ident))
    }
}

impl<'a> Context<'a> {
    pub(crate) fn new(file: &'a syn::File) -> Self {
        let mut cx = Context {
            functions: HashMap::new(),
            constants: HashMap::new(),
            upgrade: None,
            downgrade: None,
        };
        for item in &file.items {
            match item {
                Item::Fn(f) => {
                    if f.sig.ident == "upgrade" {
                        cx.upgrade = Some(f);
                    } else if f.sig.ident == "downgrade" {
                        cx.downgrade = Some(f);
                    }
                    cx.functions.insert(&f.sig.ident, f);
                }
                Item::Const(c) => {
                    if let Some(literal) = string_literal(&c.expr) {
                        cx.constants.insert(&c.ident, literal.value());
                    }
                }
                _ => {}
            }
        }
        cx
    }
}

impl Context<'_> {
    /// What `expr` is: the database, a collection (and its name), or unknown.
    pub(crate) fn handle(&self, expr: &Expr, scope: &Scope) -> Handle {
        match strip(expr) {
            Expr::MethodCall(call) => {
                if is_method(call, &["collection", "collection_with_options"]) {
                    Handle::Collection(call.args.first().and_then(|n| self.name(n, scope)))
                } else if is_method(call, &["database", "database_with_options"]) {
                    Handle::Database
                } else if is_method(call, &["clone", "as_ref", "borrow"]) {
                    self.handle(&call.receiver, scope)
                } else {
                    Handle::Unknown
                }
            }
            Expr::Field(field) => match &field.member {
                syn::Member::Named(name)
                    if name == "db" && self.handle(&field.base, scope) == Handle::Transaction =>
                {
                    Handle::Database
                }
                _ => Handle::Unknown,
            },
            Expr::Path(path) => scope
                .get(path)
                .map_or(Handle::Unknown, |b| b.handle.clone()),
            _ => Handle::Unknown,
        }
    }

    /// The name `expr` holds: a string literal, a string constant of this file (by value),
    /// another constant (by path), or a binding of one of these.
    pub(crate) fn name(&self, expr: &Expr, scope: &Scope) -> Option<Name> {
        match strip(expr) {
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Some(Name::Literal(s.value())),
            Expr::MethodCall(call)
                if call.args.is_empty()
                    && is_method(call, &["to_owned", "to_string", "into", "clone", "as_str"]) =>
            {
                self.name(&call.receiver, scope)
            }
            Expr::Call(call) if call.args.len() == 1 && path_ends(&call.func, "String", "from") => {
                self.name(&call.args[0], scope)
            }
            Expr::Path(path) if path.qself.is_none() => {
                if let Some(ident) = path.path.get_ident() {
                    if let Some(binding) = scope.bindings.get(ident) {
                        return binding.name.clone();
                    }
                    if let Some(value) = self.constants.get(ident) {
                        return Some(Name::Literal(value.clone()));
                    }
                }
                let last = path.path.segments.last()?.ident.to_string();
                is_constant_case(&last).then(|| {
                    let segments: Vec<String> = path
                        .path
                        .segments
                        .iter()
                        .map(|s| s.ident.to_string())
                        .collect();
                    Name::Constant(segments.join("::"))
                })
            }
            _ => None,
        }
    }

    /// The name a value inside a `doc!` literal holds.
    pub(crate) fn value_name(&self, value: &Value) -> Option<Name> {
        if let Some(text) = value.as_str() {
            return Some(Name::Literal(text));
        }
        self.name(&value.expr()?, &Scope::default())
    }

    /// The document literal `expr` is: `doc! { … }`, `Document::new()`, or a binding of one.
    pub(crate) fn doc(&self, expr: &Expr, scope: &Scope) -> Option<Doc> {
        match strip(expr) {
            Expr::Macro(m) if is_macro(&m.mac, "doc") => Some(Doc::parse(m.mac.tokens.clone())),
            Expr::Call(call)
                if call.args.is_empty()
                    && (path_ends(&call.func, "Document", "new")
                        || path_ends(&call.func, "Document", "default")) =>
            {
                Some(Doc::default())
            }
            Expr::MethodCall(call) if call.args.is_empty() && call.method == "clone" => {
                self.doc(&call.receiver, scope)
            }
            Expr::Path(path) => scope.get(path).and_then(|b| b.doc.clone()),
            _ => None,
        }
    }

    /// Whether `expr` is an empty document (`doc! {}`, `Document::new()`, or a binding of one),
    /// without reading a document that is not.
    pub(crate) fn is_empty_doc(&self, expr: &Expr, scope: &Scope) -> bool {
        match strip(expr) {
            Expr::Macro(m) if is_macro(&m.mac, "doc") => m.mac.tokens.is_empty(),
            Expr::Path(path) => scope
                .get(path)
                .and_then(|b| b.doc.as_ref())
                .is_some_and(Doc::is_empty),
            _ => self.doc(expr, scope).is_some_and(|d| d.is_empty()),
        }
    }

    /// The stages of a pipeline literal: `vec![doc! {…}, …]`, `[doc! {…}]`, or a binding.
    pub(crate) fn pipeline(&self, expr: &Expr, scope: &Scope) -> Option<Vec<Doc>> {
        match strip(expr) {
            Expr::Macro(m) if is_macro(&m.mac, "vec") => m
                .mac
                .parse_body_with(Punctuated::<Expr, syn::Token![,]>::parse_terminated)
                .ok()
                .map(|stages| stages.iter().filter_map(|s| self.doc(s, scope)).collect()),
            Expr::Array(array) => Some(
                array
                    .elems
                    .iter()
                    .filter_map(|s| self.doc(s, scope))
                    .collect(),
            ),
            Expr::MethodCall(call)
                if call.args.is_empty()
                    && is_method(call, &["to_vec", "to_owned", "into", "clone"]) =>
            {
                self.pipeline(&call.receiver, scope)
            }
            Expr::Path(path) => scope.get(path).and_then(|b| b.pipeline.clone()),
            _ => None,
        }
    }

    /// An update: a document, or an update pipeline.
    pub(crate) fn update(&self, expr: &Expr, scope: &Scope) -> Option<Vec<Doc>> {
        match self.doc(expr, scope) {
            Some(doc) => Some(vec![doc]),
            None => self.pipeline(expr, scope),
        }
    }
}

/// Looks through what does not change what a value is: `&x`, `(x)`, `x.await`, `x?`.
fn strip(expr: &Expr) -> &Expr {
    match expr {
        Expr::Reference(e) => strip(&e.expr),
        Expr::Paren(e) => strip(&e.expr),
        Expr::Group(e) => strip(&e.expr),
        Expr::Await(e) => strip(&e.base),
        Expr::Try(e) => strip(&e.expr),
        other => other,
    }
}

/// What a parameter or a binding of type `ty` is.
pub(crate) fn handle_of_type(ty: &Type) -> Handle {
    match ty {
        Type::Reference(r) => handle_of_type(&r.elem),
        Type::Paren(p) => handle_of_type(&p.elem),
        Type::Group(g) => handle_of_type(&g.elem),
        Type::Path(p) => match p.path.segments.last() {
            Some(last) if last.ident == "Database" => Handle::Database,
            Some(last) if last.ident == "Collection" => Handle::Collection(None),
            Some(last) if last.ident == "Transaction" => Handle::Transaction,
            _ => Handle::Unknown,
        },
        _ => Handle::Unknown,
    }
}

/// Whether the method called is one of `names`, without allocating its name.
pub(crate) fn is_method(call: &ExprMethodCall, names: &[&str]) -> bool {
    names.iter().any(|name| call.method == name)
}

pub(crate) fn is_macro(mac: &syn::Macro, name: &str) -> bool {
    mac.path.segments.last().is_some_and(|s| s.ident == name)
}

/// Whether `expr` is a path ending in `ty::function` (`String::from`, `bson::Document::new`).
fn path_ends(expr: &Expr, ty: &str, function: &str) -> bool {
    let Expr::Path(path) = expr else {
        return false;
    };
    let segments: Vec<&Ident> = path.path.segments.iter().map(|s| &s.ident).collect();
    matches!(segments[..], [.., t, f] if t == ty && f == function)
}

/// `SLUG_INDEX`, `V2`: how a constant is spelled, unlike a local variable.
fn is_constant_case(ident: &str) -> bool {
    ident.chars().any(|c| c.is_ascii_uppercase())
        && ident
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}
