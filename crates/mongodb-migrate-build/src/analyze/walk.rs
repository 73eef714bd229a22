//! The walk of one entry point (`upgrade` or `downgrade`) and of the functions of the file it
//! calls, with `syn::visit`: every node kind is visited by default, and the walk overrides only
//! what it must understand (bindings, calls, macros, uses of the parameter) or skip (types,
//! patterns, attributes and nested items hold no operation).
//!
//! The walk resolves what expressions are (see `context.rs`) and tells a [`Rule`] of every
//! method call, after its receiver and arguments, so in the order the code runs them.

use std::collections::HashSet;

use proc_macro2::{Ident, TokenStream, TokenTree};
use syn::punctuated::Punctuated;
use syn::visit::{self, Visit};
use syn::{Expr, ExprMethodCall, FnArg, ItemFn, Pat};

use super::context::{handle_of_type, is_macro, Context, Scope};
use super::model::Handle;

/// A rule family: told of what the walk meets, it keeps what it needs.
pub(crate) trait Rule {
    /// Whether `method` is a method this rule reads. A macro's body is parsed only when it names
    /// such a method or a function of the file: parsing costs more than the rest of the walk.
    fn watches(&self, method: &Ident) -> bool;

    /// A method call, after its receiver and arguments were walked. `scope` holds the bindings
    /// of the function it is in, so `cx` can resolve its receiver and arguments.
    fn method_call(&mut self, call: &ExprMethodCall, cx: &Context<'_>, scope: &Scope);
}

/// Two rule families walked at once.
impl<A: Rule, B: Rule> Rule for (A, B) {
    fn watches(&self, method: &Ident) -> bool {
        self.0.watches(method) || self.1.watches(method)
    }

    fn method_call(&mut self, call: &ExprMethodCall, cx: &Context<'_>, scope: &Scope) {
        self.0.method_call(call, cx, scope);
        self.1.method_call(call, cx, scope);
    }
}

/// What a walk of one entry point leaves.
#[derive(Debug, Default)]
pub(crate) struct Walked<R> {
    /// The rule, with what it kept.
    pub(crate) rule: R,
    /// Whether the entry point's body uses its parameter, other than in `let _ = db;` (which
    /// only silences the unused-variable lint). Tracked when asked for.
    pub(crate) uses_parameter: bool,
}

/// How deep calls into functions of the file are followed: far enough for any helper chain a
/// migration has, and an end to recursion whose arguments keep changing.
const MAX_CALL_DEPTH: usize = 8;

/// Walks one entry point and the functions of the file it calls.
pub(crate) struct Walker<'c, 'a, R> {
    cx: &'c Context<'a>,
    rule: R,
    /// Each function is walked once per distinct set of arguments: `clear(&drafts)` and
    /// `clear(&stories)` are judged apart.
    walked: HashSet<(&'a Ident, Vec<Handle>)>,
    depth: usize,
    /// The bindings of the function being walked.
    scope: Scope,
    /// The entry point's parameter, when it is a plain name and its uses are tracked.
    parameter: Option<&'a Ident>,
    uses_parameter: bool,
}

impl<'c, 'a, R: Rule> Walker<'c, 'a, R> {
    /// Walks `entry`, whose parameter is `parameter`, telling `rule`; tracks the uses of the
    /// parameter when `track_parameter`.
    pub(crate) fn run(
        cx: &'c Context<'a>,
        entry: &'a ItemFn,
        parameter: &Handle,
        track_parameter: bool,
        rule: R,
    ) -> Walked<R> {
        let mut walker = Walker {
            cx,
            rule,
            walked: HashSet::new(),
            depth: 0,
            scope: Scope::default(),
            parameter: match entry.sig.inputs.first() {
                Some(FnArg::Typed(arg)) if track_parameter => match &*arg.pat {
                    Pat::Ident(pat) => Some(&pat.ident),
                    _ => None,
                },
                _ => None,
            },
            uses_parameter: false,
        };
        walker.walk_fn(entry, std::slice::from_ref(parameter));
        Walked {
            rule: walker.rule,
            uses_parameter: walker.uses_parameter,
        }
    }

    /// Whether `path` is the entry point's parameter, in the entry point's own body (a helper's
    /// parameter of the same name is another variable).
    fn is_parameter(&self, path: &syn::ExprPath) -> bool {
        self.depth == 1
            && path.qself.is_none()
            && self.parameter.is_some_and(|p| path.path.is_ident(p))
    }

    /// Walks `function`. A parameter is what the caller passed when that is known
    /// (`clear(&stories)`), else what its type says.
    fn walk_fn(&mut self, function: &'a ItemFn, arguments: &[Handle]) {
        if self.depth > MAX_CALL_DEPTH
            || !self
                .walked
                .insert((&function.sig.ident, arguments.to_vec()))
        {
            return;
        }
        let mut scope = Scope::new(function.sig.ident.to_string());
        for (i, input) in function.sig.inputs.iter().enumerate() {
            let FnArg::Typed(arg) = input else { continue };
            let Pat::Ident(pat) = &*arg.pat else { continue };
            let handle = match arguments.get(i) {
                Some(handle) if *handle != Handle::Unknown => handle.clone(),
                _ => handle_of_type(&arg.ty),
            };
            scope.bind_parameter(&pat.ident, handle);
        }
        let caller = std::mem::replace(&mut self.scope, scope);
        self.depth += 1;
        self.visit_block(&function.block);
        self.depth -= 1;
        self.scope = caller;
    }

    /// A call of a function of this file (`helper(db)`, `self::helper(db)`) is followed.
    fn follow(&mut self, call: &syn::ExprCall) {
        let Expr::Path(path) = &*call.func else {
            return;
        };
        if path.qself.is_some() {
            return;
        }
        let segments = &path.path.segments;
        let ident = match segments.len() {
            1 => &segments[0].ident,
            2 if segments[0].ident == "self" => &segments[1].ident,
            _ => return,
        };
        let Some(&function) = self.cx.functions.get(ident) else {
            return;
        };
        let arguments: Vec<Handle> = call
            .args
            .iter()
            .map(|arg| self.cx.handle(arg, &self.scope))
            .collect();
        self.walk_fn(function, &arguments);
    }

    fn worth_parsing(&self, tokens: TokenStream) -> bool {
        tokens.into_iter().any(|token| match token {
            TokenTree::Ident(ident) => {
                self.rule.watches(&ident) || self.cx.functions.contains_key(&ident)
            }
            TokenTree::Group(group) => self.worth_parsing(group.stream()),
            _ => false,
        })
    }
}

impl<'ast, R: Rule> Visit<'ast> for Walker<'_, '_, R> {
    fn visit_local(&mut self, local: &'ast syn::Local) {
        // `let _ = db;` silences the unused-variable lint: it is not a use.
        if matches!(local.pat, Pat::Wild(_))
            && local.init.as_ref().is_some_and(|init| {
                init.diverge.is_none()
                    && matches!(&*init.expr, Expr::Path(path) if self.is_parameter(path))
            })
        {
            return;
        }
        if let Some(init) = &local.init {
            self.visit_expr(&init.expr);
            if let Some((_, diverge)) = &init.diverge {
                self.visit_expr(diverge);
            }
        }
        let init = local.init.as_ref().map(|init| &*init.expr);
        self.scope.bind(self.cx, &local.pat, init);
    }

    fn visit_expr_method_call(&mut self, call: &'ast ExprMethodCall) {
        visit::visit_expr_method_call(self, call);
        self.rule.method_call(call, self.cx, &self.scope);
    }

    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        visit::visit_expr_call(self, call);
        self.follow(call);
    }

    fn visit_expr_path(&mut self, path: &'ast syn::ExprPath) {
        if self.is_parameter(path) {
            self.uses_parameter = true;
        }
    }

    /// Macros whose arguments are expressions (`vec![…]`, `eprintln!("…", x)`,
    /// `tokio::try_join!(a, b)`) are walked; `doc!` is data, read where it is used; anything
    /// else (`matches!`) is not expressions and is skipped.
    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        // Any macro may use the parameter (`doc! { "db": db.name() }`, `matches!(db, …)`).
        if self.depth == 1 && !self.uses_parameter {
            if let Some(parameter) = self.parameter {
                self.uses_parameter = mentions(mac.tokens.clone(), parameter);
            }
        }
        if is_macro(mac, "doc") || !self.worth_parsing(mac.tokens.clone()) {
            return;
        }
        if let Ok(args) = mac.parse_body_with(Punctuated::<Expr, syn::Token![,]>::parse_terminated)
        {
            for arg in &args {
                self.visit_expr(arg);
            }
        }
    }

    // Nodes that hold no operation, and whose expressions (an array type's length, a const
    // generic argument, an attribute's value) are not code that runs: skipped.
    fn visit_item(&mut self, _: &'ast syn::Item) {}
    fn visit_type(&mut self, _: &'ast syn::Type) {}
    fn visit_pat(&mut self, _: &'ast Pat) {}
    fn visit_attribute(&mut self, _: &'ast syn::Attribute) {}
    fn visit_path(&mut self, _: &'ast syn::Path) {}
    fn visit_angle_bracketed_generic_arguments(
        &mut self,
        _: &'ast syn::AngleBracketedGenericArguments,
    ) {
    }
}

/// Whether `name` occurs in a macro's `tokens`.
fn mentions(tokens: TokenStream, name: &Ident) -> bool {
    tokens.into_iter().any(|token| match token {
        TokenTree::Ident(ident) => ident == *name,
        TokenTree::Group(group) => mentions(group.stream(), name),
        _ => false,
    })
}
