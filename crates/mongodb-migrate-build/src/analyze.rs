//! The destructive-operation lint: what a migration's `upgrade` and `downgrade` do that
//! destroys data, found by walking their bodies with syn.
//!
//! syn has no types, so the lint is name-based. It reads method calls (`.drop()`,
//! `delete_many(…)`, `run_command(…)`, …), what their receivers are built from
//! (`db.collection("x")`, a `Collection` binding, the function's database parameter), and the
//! contents of `doc!` literals. It follows calls from `upgrade` and `downgrade` into functions
//! defined in the same file. Helper modules (`migrations/common/`) and other crates (the
//! runtime's `markers`) are out of its sight: what they do is neither flagged nor counted as a
//! write.
//!
//! Precision matters as much as recall. A downgrade that drops what its own upgrade created is
//! the normal case, so [`Created`] records what `upgrade` creates, by the string literal or
//! constant that names it (a collection: `create_collection`, an insert, an `$out` target; an
//! index: `create_index` of a model whose `.name(…)` is that name; a field: `$set`, `$rename`,
//! …; a `renameCollection` target), and undoing it in `downgrade` (a drop, an unfiltered
//! delete, an `$unset`, a rename back) is not a finding.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use proc_macro2::{Ident, TokenStream, TokenTree};
use syn::punctuated::Punctuated;
use syn::{Expr, ExprMethodCall, FnArg, Item, ItemFn, Pat, Stmt, Type};

use crate::doc_literal::{Doc, Value};
use crate::finding::{Finding, FindingKind};
use crate::parse::string_literal;

/// Finds the destructive operations in a parsed migration file. `transactional` says what the
/// entry points' parameter is (the transaction, whose `.db` is the database, or the database)
/// when its type does not show it.
pub(crate) fn analyze(file: &syn::File, transactional: bool) -> Vec<Finding> {
    let mut cx = Context {
        functions: HashMap::new(),
        constants: HashMap::new(),
    };
    let (mut upgrade, mut downgrade) = (None, None);
    for item in &file.items {
        match item {
            Item::Fn(f) => {
                if f.sig.ident == "upgrade" {
                    upgrade = Some(f);
                } else if f.sig.ident == "downgrade" {
                    downgrade = Some(f);
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
    let entry = if transactional {
        Handle::Transaction
    } else {
        Handle::Database
    };
    let up = upgrade.map_or_else(Walk::default, |f| Walker::run(&cx, f, &entry, false));
    let down = downgrade.map_or_else(Walk::default, |f| Walker::run(&cx, f, &entry, true));
    let (up, down_uses_parameter, down) = (up.calls, down.uses_parameter, down.calls);
    let created = Created::new(&cx, &up);

    let mut findings = Vec::new();
    for call in &up {
        findings.extend(judge(&cx, call, Role::Upgrade, &created));
    }
    // Without `upgrade` (reported as missing), what the downgrade undoes is unknown: judging it
    // would only repeat that problem.
    if upgrade.is_some() {
        for call in &down {
            findings.extend(judge(&cx, call, Role::Downgrade, &created));
        }
    }
    // A function both bodies call is walked twice; its operations are reported once.
    let mut seen = HashSet::new();
    findings.retain(|f: &Finding| seen.insert((f.kind, f.range.start)));
    if let Some(finding) =
        downgrade.and_then(|f| undeclared_irreversible(&up, f, down_uses_parameter))
    {
        findings.push(finding);
    }
    findings
}

/// How many findings a parsed migration file has, before `ALLOW`: the benchmark's measure of
/// the lint alone.
#[doc(hidden)]
pub fn count_findings(file: &syn::File) -> usize {
    analyze(file, false).len()
}

/// Which body a walk started from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Upgrade,
    Downgrade,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Upgrade => "upgrade",
            Role::Downgrade => "downgrade",
        }
    }
}

/// How a collection, an index or a field is named in the source.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Name {
    /// A string literal's value, or that of a constant of this file set to a string literal.
    Literal(String),
    /// Any other constant, by its path (`common::STORIES`).
    Constant(String),
}

impl Name {
    /// As a message shows it: the value of a literal, the path of a constant.
    fn shown(&self) -> String {
        let (Name::Literal(text) | Name::Constant(text)) = self;
        format!("`{text}`")
    }
}

/// What an expression is, as far as its syntax shows.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
enum Handle {
    Database,
    /// The transaction a transactional migration is passed; its `.db` is the database.
    Transaction,
    Collection(Option<Name>),
    #[default]
    Unknown,
}

impl Handle {
    fn collection_name(&self) -> Option<&Name> {
        match self {
            Handle::Collection(name) => name.as_ref(),
            _ => None,
        }
    }

    /// "the collection `stories`", or "a collection".
    fn shown(&self) -> String {
        match self.collection_name() {
            Some(name) => format!("the collection {}", name.shown()),
            None => "a collection".to_owned(),
        }
    }
}

/// A local binding, resolved when it is bound: what it is, the name it holds, the document or
/// pipeline literal it holds.
#[derive(Debug, Clone, Default)]
struct Binding {
    handle: Handle,
    name: Option<Name>,
    doc: Option<Doc>,
    pipeline: Option<Vec<Doc>>,
}

/// The bindings of one function, in the order they are bound.
#[derive(Debug)]
struct Scope {
    function: String,
    bindings: HashMap<Ident, Binding>,
}

/// What the file defines at its top level: the functions a walk may follow, and the string
/// constants names resolve through.
#[derive(Debug)]
struct Context<'a> {
    functions: HashMap<&'a Ident, &'a ItemFn>,
    constants: HashMap<&'a Ident, String>,
}

/// A driver operation found in a body.
#[derive(Debug)]
enum Op {
    Drop(Handle),
    DropIndex {
        collection: Handle,
        index: Option<Name>,
    },
    DropIndexes(Handle),
    Delete {
        collection: Handle,
        many: bool,
        unfiltered: bool,
    },
    Update {
        collection: Handle,
        many: bool,
        unfiltered: bool,
        /// The update document, or the stages of an update pipeline.
        update: Vec<Doc>,
    },
    /// `run_command` with a document literal.
    Command(Doc),
    Aggregate(Vec<Doc>),
    CreateCollection(Option<Name>),
    CreateIndex,
    Insert(Handle),
    /// `.name(…)` on a `…::builder()` chain: an index name when the body creates an index.
    IndexName(Name),
    /// Another call that writes (`replace_one`, `bulk_write`, a command the lint cannot read, …).
    OtherWrite,
}

/// Every method `method_call` reads: the ones it judges, the ones that create what a downgrade
/// may destroy, and [`OTHER_WRITES`].
const WATCHED_METHODS: [&str; 25] = [
    "drop",
    "drop_index",
    "drop_indexes",
    "delete_many",
    "delete_one",
    "update_many",
    "update_one",
    "run_command",
    "run_cursor_command",
    "aggregate",
    "create_collection",
    "create_index",
    "create_indexes",
    "insert_one",
    "insert_many",
    "name",
    "replace_one",
    "find_one_and_update",
    "find_one_and_replace",
    "find_one_and_delete",
    "bulk_write",
    "rename",
    "delete",
    "open_upload_stream",
    "upload_from_futures_0_3_reader",
];

/// Methods that write, beyond those the lint reads more closely.
const OTHER_WRITES: [&str; 9] = [
    "replace_one",
    "find_one_and_update",
    "find_one_and_replace",
    "find_one_and_delete",
    "bulk_write",
    "rename",
    "delete",
    "open_upload_stream",
    "upload_from_futures_0_3_reader",
];

/// Commands that only read, so running them is not a write.
const READ_COMMANDS: [&str; 16] = [
    "ping",
    "hello",
    "isMaster",
    "ismaster",
    "buildInfo",
    "buildinfo",
    "serverStatus",
    "listCollections",
    "listIndexes",
    "listDatabases",
    "dbStats",
    "collStats",
    "count",
    "distinct",
    "find",
    "explain",
];

/// Update operators that create the fields they name.
const FIELD_CREATORS: [&str; 8] = [
    "$set",
    "$setOnInsert",
    "$addFields",
    "$inc",
    "$push",
    "$addToSet",
    "$currentDate",
    "$max",
];

impl Op {
    fn writes(&self) -> bool {
        match self {
            Op::IndexName(_) => false,
            Op::Command(doc) => match doc.first_key() {
                Some("aggregate") => doc
                    .get("pipeline")
                    .is_some_and(|p| stages_of(p).iter().any(writes_out)),
                Some(key) => !READ_COMMANDS.contains(&key),
                None => true,
            },
            Op::Aggregate(stages) => stages.iter().any(writes_out),
            _ => true,
        }
    }
}

fn writes_out(stage: &Doc) -> bool {
    stage.get("$out").is_some() || stage.get("$merge").is_some()
}

fn stages_of(value: &Value) -> Vec<Doc> {
    match value {
        Value::Array(stages) => stages.iter().filter_map(Value::as_doc).cloned().collect(),
        _ => Vec::new(),
    }
}

/// A located operation, and the function it is in.
#[derive(Debug)]
struct Call {
    function: String,
    range: Range<usize>,
    op: Op,
}

/// How deep calls into functions of the file are followed: far enough for any helper chain a
/// migration has, and an end to recursion whose arguments keep changing.
const MAX_CALL_DEPTH: usize = 8;

/// What a walk of one entry point found.
#[derive(Debug, Default)]
struct Walk {
    calls: Vec<Call>,
    /// Whether the entry point's body uses its parameter, other than in `let _ = db;` (which
    /// only silences the unused-variable lint). Tracked for `downgrade` only.
    uses_parameter: bool,
}

/// Walks one entry point and the functions of the file it calls.
struct Walker<'c, 'a> {
    cx: &'c Context<'a>,
    /// Each function is walked once per distinct set of arguments: `clear(&drafts)` and
    /// `clear(&stories)` are judged apart.
    walked: HashSet<(&'a Ident, Vec<Handle>)>,
    depth: usize,
    /// The entry point's parameter, when it is a plain name and its uses are tracked.
    parameter: Option<&'a Ident>,
    walk: Walk,
}

impl<'c, 'a> Walker<'c, 'a> {
    fn run(
        cx: &'c Context<'a>,
        entry: &'a ItemFn,
        parameter: &Handle,
        track_parameter: bool,
    ) -> Walk {
        let mut walker = Walker {
            cx,
            walked: HashSet::new(),
            depth: 0,
            parameter: match entry.sig.inputs.first() {
                Some(FnArg::Typed(arg)) if track_parameter => match &*arg.pat {
                    Pat::Ident(pat) => Some(&pat.ident),
                    _ => None,
                },
                _ => None,
            },
            walk: Walk::default(),
        };
        walker.walk_fn(entry, std::slice::from_ref(parameter));
        walker.walk
    }

    /// Whether `expr` is the entry point's parameter, in the entry point's own body (a helper's
    /// parameter of the same name is another variable).
    fn is_parameter(&self, expr: &Expr) -> bool {
        self.depth == 1
            && matches!(expr, Expr::Path(path)
                if path.qself.is_none() && self.parameter.is_some_and(|p| path.path.is_ident(p)))
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
        let mut scope = Scope {
            function: function.sig.ident.to_string(),
            bindings: HashMap::new(),
        };
        for (i, input) in function.sig.inputs.iter().enumerate() {
            let FnArg::Typed(arg) = input else { continue };
            let Pat::Ident(pat) = &*arg.pat else { continue };
            let handle = match arguments.get(i) {
                Some(handle) if *handle != Handle::Unknown => handle.clone(),
                _ => handle_of_type(&arg.ty),
            };
            scope.bindings.insert(
                pat.ident.clone(),
                Binding {
                    handle,
                    ..Binding::default()
                },
            );
        }
        self.depth += 1;
        self.walk_block(&function.block, &mut scope);
        self.depth -= 1;
    }

    fn walk_block(&mut self, block: &syn::Block, scope: &mut Scope) {
        for stmt in &block.stmts {
            match stmt {
                // `let _ = db;` silences the unused-variable lint: it is not a use.
                Stmt::Local(local)
                    if matches!(local.pat, Pat::Wild(_))
                        && local
                            .init
                            .as_ref()
                            .is_some_and(|i| i.diverge.is_none() && self.is_parameter(&i.expr)) => {
                }
                Stmt::Local(local) => {
                    if let Some(init) = &local.init {
                        self.walk_expr(&init.expr, scope);
                        if let Some((_, diverge)) = &init.diverge {
                            self.walk_expr(diverge, scope);
                        }
                    }
                    self.bind(&local.pat, local.init.as_ref().map(|i| &*i.expr), scope);
                }
                Stmt::Expr(expr, _) => self.walk_expr(expr, scope),
                Stmt::Macro(m) => self.walk_macro(&m.mac, scope),
                Stmt::Item(_) => {}
            }
        }
    }

    fn bind(&self, pat: &Pat, init: Option<&Expr>, scope: &mut Scope) {
        let (pat, ty) = match pat {
            Pat::Type(typed) => (&*typed.pat, Some(&*typed.ty)),
            other => (other, None),
        };
        // Destructuring patterns bind nothing the lint follows.
        let Pat::Ident(ident) = pat else { return };
        let mut binding = match init {
            Some(init) => Binding {
                handle: self.cx.handle(init, scope),
                name: self.cx.name(init, scope),
                doc: self.cx.doc(init, scope),
                pipeline: self.cx.pipeline(init, scope),
            },
            None => Binding::default(),
        };
        if binding.handle == Handle::Unknown {
            if let Some(ty) = ty {
                binding.handle = handle_of_type(ty);
            }
        }
        scope.bindings.insert(ident.ident.clone(), binding);
    }

    fn walk_expr(&mut self, expr: &Expr, scope: &mut Scope) {
        match expr {
            Expr::MethodCall(call) => {
                self.walk_expr(&call.receiver, scope);
                for arg in &call.args {
                    self.walk_expr(arg, scope);
                }
                self.method_call(call, scope);
            }
            Expr::Call(call) => {
                self.walk_expr(&call.func, scope);
                for arg in &call.args {
                    self.walk_expr(arg, scope);
                }
                self.follow(call, scope);
            }
            Expr::Macro(m) => self.walk_macro(&m.mac, scope),
            Expr::Block(e) => self.walk_block(&e.block, scope),
            Expr::Async(e) => self.walk_block(&e.block, scope),
            Expr::Unsafe(e) => self.walk_block(&e.block, scope),
            Expr::Const(e) => self.walk_block(&e.block, scope),
            Expr::TryBlock(e) => self.walk_block(&e.block, scope),
            Expr::Loop(e) => self.walk_block(&e.body, scope),
            Expr::ForLoop(e) => {
                self.walk_expr(&e.expr, scope);
                self.walk_block(&e.body, scope);
            }
            Expr::While(e) => {
                self.walk_expr(&e.cond, scope);
                self.walk_block(&e.body, scope);
            }
            Expr::If(e) => {
                self.walk_expr(&e.cond, scope);
                self.walk_block(&e.then_branch, scope);
                if let Some((_, other)) = &e.else_branch {
                    self.walk_expr(other, scope);
                }
            }
            Expr::Match(e) => {
                self.walk_expr(&e.expr, scope);
                for arm in &e.arms {
                    if let Some((_, guard)) = &arm.guard {
                        self.walk_expr(guard, scope);
                    }
                    self.walk_expr(&arm.body, scope);
                }
            }
            Expr::Closure(e) => self.walk_expr(&e.body, scope),
            Expr::Let(e) => self.walk_expr(&e.expr, scope),
            Expr::Await(e) => self.walk_expr(&e.base, scope),
            Expr::Try(e) => self.walk_expr(&e.expr, scope),
            Expr::Paren(e) => self.walk_expr(&e.expr, scope),
            Expr::Group(e) => self.walk_expr(&e.expr, scope),
            Expr::Reference(e) => self.walk_expr(&e.expr, scope),
            Expr::Unary(e) => self.walk_expr(&e.expr, scope),
            Expr::Cast(e) => self.walk_expr(&e.expr, scope),
            Expr::Field(e) => self.walk_expr(&e.base, scope),
            Expr::Index(e) => {
                self.walk_expr(&e.expr, scope);
                self.walk_expr(&e.index, scope);
            }
            Expr::Assign(e) => {
                self.walk_expr(&e.left, scope);
                self.walk_expr(&e.right, scope);
            }
            Expr::Binary(e) => {
                self.walk_expr(&e.left, scope);
                self.walk_expr(&e.right, scope);
            }
            Expr::Range(e) => {
                for end in [&e.start, &e.end].into_iter().flatten() {
                    self.walk_expr(end, scope);
                }
            }
            Expr::Return(e) => {
                if let Some(e) = &e.expr {
                    self.walk_expr(e, scope);
                }
            }
            Expr::Break(e) => {
                if let Some(e) = &e.expr {
                    self.walk_expr(e, scope);
                }
            }
            Expr::Yield(e) => {
                if let Some(e) = &e.expr {
                    self.walk_expr(e, scope);
                }
            }
            Expr::Array(e) => e.elems.iter().for_each(|x| self.walk_expr(x, scope)),
            Expr::Tuple(e) => e.elems.iter().for_each(|x| self.walk_expr(x, scope)),
            Expr::Struct(e) => {
                for field in &e.fields {
                    self.walk_expr(&field.expr, scope);
                }
                if let Some(rest) = &e.rest {
                    self.walk_expr(rest, scope);
                }
            }
            Expr::Repeat(e) => self.walk_expr(&e.expr, scope),
            Expr::Path(_) if self.is_parameter(expr) => self.walk.uses_parameter = true,
            _ => {}
        }
    }

    /// Macros whose arguments are expressions (`vec![…]`, `eprintln!("…", x)`,
    /// `tokio::try_join!(a, b)`) are walked; `doc!` is data, read where it is used; anything
    /// else (`matches!`) is not expressions and is skipped.
    fn walk_macro(&mut self, mac: &syn::Macro, scope: &mut Scope) {
        // Any macro may use the parameter (`doc! { "db": db.name() }`, `matches!(db, …)`).
        if self.depth == 1 && !self.walk.uses_parameter {
            if let Some(parameter) = self.parameter {
                self.walk.uses_parameter = mentions(mac.tokens.clone(), parameter);
            }
        }
        // Parsing a macro's body costs more than the rest of the walk: only bodies that name a
        // method the lint reads, or a function of the file, can hold an operation.
        if is_macro(mac, "doc") || !self.worth_parsing(mac.tokens.clone()) {
            return;
        }
        if let Ok(args) = mac.parse_body_with(Punctuated::<Expr, syn::Token![,]>::parse_terminated)
        {
            for arg in &args {
                self.walk_expr(arg, scope);
            }
        }
    }

    fn worth_parsing(&self, tokens: TokenStream) -> bool {
        tokens.into_iter().any(|token| match token {
            TokenTree::Ident(ident) => {
                WATCHED_METHODS.iter().any(|m| ident == m) || self.cx.functions.contains_key(&ident)
            }
            TokenTree::Group(group) => self.worth_parsing(group.stream()),
            _ => false,
        })
    }

    /// A call of a function of this file (`helper(db)`, `self::helper(db)`) is followed.
    fn follow(&mut self, call: &syn::ExprCall, scope: &Scope) {
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
            .map(|arg| self.cx.handle(arg, scope))
            .collect();
        self.walk_fn(function, &arguments);
    }

    fn method_call(&mut self, call: &ExprMethodCall, scope: &Scope) {
        if !is_method(call, &WATCHED_METHODS) {
            return;
        }
        let cx = self.cx;
        let method = call.method.to_string();
        let receiver = || cx.handle(&call.receiver, scope);
        let first = call.args.first();
        let unfiltered = || first.is_some_and(|filter| cx.is_empty_doc(filter, scope));
        let op = match method.as_str() {
            // `Drop::drop` cannot be called as a method, so `.drop()` is always the driver's.
            "drop" if call.args.is_empty() => Op::Drop(receiver()),
            "drop_index" => Op::DropIndex {
                collection: receiver(),
                index: first.and_then(|index| cx.name(index, scope)),
            },
            "drop_indexes" => Op::DropIndexes(receiver()),
            "delete_many" | "delete_one" => Op::Delete {
                collection: receiver(),
                many: method == "delete_many",
                unfiltered: unfiltered(),
            },
            "update_many" | "update_one" => Op::Update {
                collection: receiver(),
                many: method == "update_many",
                unfiltered: unfiltered(),
                update: call
                    .args
                    .iter()
                    .nth(1)
                    .and_then(|update| cx.update(update, scope))
                    .unwrap_or_default(),
            },
            "run_command" | "run_cursor_command" => match first.and_then(|c| cx.doc(c, scope)) {
                Some(command) => Op::Command(command),
                None => Op::OtherWrite,
            },
            "aggregate" => Op::Aggregate(
                first
                    .and_then(|pipeline| cx.pipeline(pipeline, scope))
                    .unwrap_or_default(),
            ),
            "create_collection" => Op::CreateCollection(first.and_then(|n| cx.name(n, scope))),
            "create_index" | "create_indexes" => Op::CreateIndex,
            "insert_one" | "insert_many" => Op::Insert(receiver()),
            "name" if call.args.len() == 1 && is_builder_chain(&call.receiver) => {
                match first.and_then(|name| cx.name(name, scope)) {
                    Some(name) => Op::IndexName(name),
                    None => return,
                }
            }
            other if OTHER_WRITES.contains(&other) => Op::OtherWrite,
            _ => return,
        };
        self.walk.calls.push(Call {
            function: scope.function.clone(),
            range: call_range(call),
            op,
        });
    }
}

impl Context<'_> {
    /// What `expr` is: the database, a collection (and its name), or unknown.
    fn handle(&self, expr: &Expr, scope: &Scope) -> Handle {
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
            Expr::Path(path) => path
                .path
                .get_ident()
                .and_then(|ident| scope.bindings.get(ident))
                .map_or(Handle::Unknown, |b| b.handle.clone()),
            _ => Handle::Unknown,
        }
    }

    /// The name `expr` holds: a string literal, a string constant of this file (by value),
    /// another constant (by path), or a binding of one of these.
    fn name(&self, expr: &Expr, scope: &Scope) -> Option<Name> {
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
    fn value_name(&self, value: &Value) -> Option<Name> {
        if let Some(text) = value.as_str() {
            return Some(Name::Literal(text));
        }
        let empty = Scope {
            function: String::new(),
            bindings: HashMap::new(),
        };
        self.name(&value.expr()?, &empty)
    }

    /// The document literal `expr` is: `doc! { … }`, `Document::new()`, or a binding of one.
    fn doc(&self, expr: &Expr, scope: &Scope) -> Option<Doc> {
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
            Expr::Path(path) => path
                .path
                .get_ident()
                .and_then(|ident| scope.bindings.get(ident))
                .and_then(|b| b.doc.clone()),
            _ => None,
        }
    }

    /// Whether `expr` is an empty document (`doc! {}`, `Document::new()`, or a binding of one),
    /// without reading a document that is not.
    fn is_empty_doc(&self, expr: &Expr, scope: &Scope) -> bool {
        match strip(expr) {
            Expr::Macro(m) if is_macro(&m.mac, "doc") => m.mac.tokens.is_empty(),
            Expr::Path(path) => path
                .path
                .get_ident()
                .and_then(|ident| scope.bindings.get(ident))
                .and_then(|b| b.doc.as_ref())
                .is_some_and(Doc::is_empty),
            _ => self.doc(expr, scope).is_some_and(|d| d.is_empty()),
        }
    }

    /// The stages of a pipeline literal: `vec![doc! {…}, …]`, `[doc! {…}]`, or a binding.
    fn pipeline(&self, expr: &Expr, scope: &Scope) -> Option<Vec<Doc>> {
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
            Expr::Path(path) => path
                .path
                .get_ident()
                .and_then(|ident| scope.bindings.get(ident))
                .and_then(|b| b.pipeline.clone()),
            _ => None,
        }
    }

    /// An update: a document, or an update pipeline.
    fn update(&self, expr: &Expr, scope: &Scope) -> Option<Vec<Doc>> {
        match self.doc(expr, scope) {
            Some(doc) => Some(vec![doc]),
            None => self.pipeline(expr, scope),
        }
    }
}

/// What `upgrade` (and the functions it calls) creates, by name: a downgrade may destroy these.
#[derive(Debug, Default)]
struct Created {
    collections: HashSet<Name>,
    /// The targets (`to`) of `renameCollection`, as namespaces (`db.collection`).
    renamed_to: HashSet<Name>,
    indexes: HashSet<Name>,
    /// Fields set, with the collection when it is known.
    fields: Vec<(Option<Name>, String)>,
}

impl Created {
    fn new(cx: &Context<'_>, calls: &[Call]) -> Created {
        let mut created = Created::default();
        let mut index_names = Vec::new();
        let mut creates_index = false;
        for call in calls {
            match &call.op {
                Op::CreateCollection(Some(name)) => {
                    created.collections.insert(name.clone());
                }
                Op::Insert(Handle::Collection(Some(name))) => {
                    created.collections.insert(name.clone());
                }
                Op::Aggregate(stages) => {
                    created.collections.extend(out_targets(cx, stages));
                }
                Op::CreateIndex => creates_index = true,
                Op::IndexName(name) => index_names.push(name.clone()),
                Op::Update {
                    collection, update, ..
                } => {
                    let collection = collection.collection_name();
                    for doc in update {
                        for field in created_fields(doc) {
                            created.fields.push((collection.cloned(), field));
                        }
                    }
                }
                Op::Command(command) => match command.first_key() {
                    Some("create") => {
                        created
                            .collections
                            .extend(command.get("create").and_then(|v| cx.value_name(v)));
                    }
                    Some("createIndexes") => {
                        creates_index = true;
                        let indexes = command.get("indexes").map(stages_of).unwrap_or_default();
                        index_names.extend(
                            indexes
                                .iter()
                                .filter_map(|i| i.get("name"))
                                .filter_map(|v| cx.value_name(v)),
                        );
                    }
                    Some("aggregate") => {
                        let stages = command.get("pipeline").map(stages_of).unwrap_or_default();
                        created.collections.extend(out_targets(cx, &stages));
                    }
                    Some("renameCollection") => {
                        created
                            .renamed_to
                            .extend(command.get("to").and_then(|v| cx.value_name(v)));
                    }
                    _ => {}
                },
                _ => {}
            }
        }
        // `.name(…)` names an index only in a body that creates one.
        if creates_index {
            created.indexes.extend(index_names);
        }
        created
    }

    fn collection(&self, handle: &Handle) -> bool {
        handle
            .collection_name()
            .is_some_and(|name| self.collections.contains(name))
    }

    /// Whether `field` of `collection` is set by the upgrade. When either side's collection is
    /// unknown, the field name alone decides.
    fn field(&self, collection: &Handle, field: &str) -> bool {
        let collection = collection.collection_name();
        self.fields.iter().any(|(c, f)| {
            f == field
                && match (c, collection) {
                    (Some(a), Some(b)) => a == b,
                    _ => true,
                }
        })
    }
}

/// The fields an update document (or pipeline stage) creates.
fn created_fields(update: &Doc) -> Vec<String> {
    let mut fields = Vec::new();
    for entry in &update.entries {
        let (Some(operator), Some(doc)) = (entry.key.as_deref(), entry.value.as_doc()) else {
            continue;
        };
        if FIELD_CREATORS.contains(&operator) {
            fields.extend(doc.keys().map(str::to_owned));
        } else if operator == "$rename" {
            fields.extend(doc.entries.iter().filter_map(|e| e.value.as_str()));
        }
    }
    fields
}

/// The fields an update removes with `$unset` (document or pipeline form).
fn unset_fields(update: &[Doc]) -> Vec<String> {
    let mut fields = Vec::new();
    for doc in update {
        match doc.get("$unset") {
            Some(Value::Doc(unset)) => fields.extend(unset.keys().map(str::to_owned)),
            Some(Value::Array(names)) => fields.extend(names.iter().filter_map(Value::as_str)),
            Some(value) => fields.extend(value.as_str()),
            None => {}
        }
    }
    fields
}

/// The `(from, to)` pairs of an update's `$rename`.
fn renamed_fields(update: &[Doc]) -> Vec<(String, Option<String>)> {
    update
        .iter()
        .filter_map(|doc| doc.get("$rename").and_then(Value::as_doc))
        .flat_map(|rename| {
            rename
                .entries
                .iter()
                .filter_map(|e| Some((e.key.clone()?, e.value.as_str())))
        })
        .collect()
}

/// The collections `$out` stages write to.
fn out_targets(cx: &Context<'_>, stages: &[Doc]) -> Vec<Name> {
    stages
        .iter()
        .filter_map(|stage| stage.get("$out"))
        .filter_map(|out| out_target(cx, out))
        .collect()
}

/// `"$out": "name"`, or `"$out": { "db": …, "coll": "name" }`.
fn out_target(cx: &Context<'_>, out: &Value) -> Option<Name> {
    match out {
        Value::Doc(target) => target.get("coll").and_then(|v| cx.value_name(v)),
        other => cx.value_name(other),
    }
}

/// The findings of one operation. In `downgrade`, what `upgrade` created may be destroyed.
fn judge(cx: &Context<'_>, call: &Call, role: Role, created: &Created) -> Vec<Finding> {
    let who = role.name();
    let downgrade = role == Role::Downgrade;
    let range = call.range.clone();
    let mut findings = Vec::new();
    match &call.op {
        Op::Drop(handle) => match handle {
            Handle::Collection(_) if downgrade && created.collection(handle) => {}
            Handle::Collection(name) => {
                let mut finding = Finding::new(
                    FindingKind::DropCollection,
                    range,
                    format!("`{who}` drops {}", handle.shown()),
                    "drops the collection and every document in it",
                );
                if downgrade {
                    finding = finding.note(downgrade_may(
                        "drop a collection `upgrade` creates (`create_collection`, an insert, `$out`)",
                        name.as_ref().map(|n| format!("creates no collection {}", n.shown())),
                    ));
                }
                findings.push(finding);
            }
            Handle::Database => findings.push(Finding::new(
                FindingKind::DropDatabase,
                range,
                format!("`{who}` drops the database"),
                "drops the database and every collection in it",
            )),
            Handle::Transaction | Handle::Unknown => findings.push(
                Finding::new(
                    FindingKind::DropCollectionOrDatabase,
                    range,
                    format!("`{who}` drops a collection or database"),
                    "drops what it is called on, with all its data",
                )
                .note("the lint is name-based: it recognizes `db.collection(…)`, a `Collection` binding and the function's database parameter, and this is none of them"),
            ),
        },
        Op::DropIndex { collection, index } => {
            if downgrade && index.as_ref().is_some_and(|i| created.indexes.contains(i)) {
                return findings;
            }
            findings.push(drop_index(who, downgrade, range, collection, index.as_ref()));
        }
        Op::DropIndexes(collection) => findings.push(Finding::new(
            FindingKind::DropIndexes,
            range,
            format!("`{who}` drops every index of {}", collection.shown()),
            "drops all indexes but the one on `_id`",
        )),
        Op::Delete {
            collection,
            many,
            unfiltered: true,
        } => {
            if downgrade && created.collection(collection) {
                return findings;
            }
            let (message, label) = if *many {
                (
                    format!("`{who}` deletes every document of {}", collection.shown()),
                    "`delete_many` with an empty filter",
                )
            } else {
                (
                    format!("`{who}` deletes an arbitrary document of {}", collection.shown()),
                    "`delete_one` with an empty filter",
                )
            };
            let mut finding = Finding::new(FindingKind::DeleteUnfiltered, range, message, label);
            if downgrade {
                finding = finding.note(downgrade_may(
                    "empty a collection `upgrade` creates",
                    collection
                        .collection_name()
                        .map(|n| format!("creates no collection {}", n.shown())),
                ));
            }
            findings.push(finding);
        }
        Op::Update {
            collection,
            many: true,
            unfiltered: true,
            update,
        } => {
            let kept = |field: &String| !(downgrade && created.field(collection, field));
            // In a downgrade, only the fields the upgrade did not set are news.
            let unset: Vec<String> = unset_fields(update).into_iter().filter(kept).collect();
            if !unset.is_empty() {
                let fields = fields_shown(&unset);
                let mut finding = Finding::new(
                    FindingKind::UnsetField,
                    range.clone(),
                    format!(
                        "`{who}` removes {fields} from every document of {}",
                        collection.shown()
                    ),
                    "`update_many` with an empty filter and `$unset`",
                );
                if downgrade {
                    finding = finding.note(downgrade_may(
                        "remove fields `upgrade` sets (`$set`, `$setOnInsert`, `$rename`, …) under the same name",
                        Some(format!("sets no {fields}")),
                    ));
                }
                findings.push(finding);
            }
            let renamed = renamed_fields(update);
            if !renamed.is_empty() && renamed.iter().any(|(from, _)| kept(from)) {
                let pairs: Vec<String> = renamed
                    .iter()
                    .map(|(from, to)| match to {
                        Some(to) => format!("`{from}` to `{to}`"),
                        None => format!("`{from}`"),
                    })
                    .collect();
                findings.push(
                    Finding::new(
                        FindingKind::RenameField,
                        range,
                        format!(
                            "`{who}` renames {} in every document of {}",
                            pairs.join(", "),
                            collection.shown()
                        ),
                        "`update_many` with an empty filter and `$rename`",
                    )
                    .note("`$rename` overwrites the target field where a document has one"),
                );
            }
        }
        Op::Command(command) => findings.extend(judge_command(cx, who, downgrade, range, command, created)),
        Op::Aggregate(stages) => findings.extend(aggregate_out(
            cx,
            who,
            range,
            stages,
            "an aggregation with an `$out` stage",
        )),
        _ => {}
    }
    if call.function != who {
        for finding in &mut findings {
            finding
                .notes
                .insert(0, format!("in `{}`, which `{who}` calls", call.function));
        }
    }
    findings
}

fn drop_index(
    who: &str,
    downgrade: bool,
    range: Range<usize>,
    collection: &Handle,
    index: Option<&Name>,
) -> Finding {
    let what = match index {
        Some(index) => format!("the index {}", index.shown()),
        None => "an index".to_owned(),
    };
    let on = match collection.collection_name() {
        Some(name) => format!(" of the collection {}", name.shown()),
        None => String::new(),
    };
    let mut finding = Finding::new(
        FindingKind::DropIndex,
        range,
        format!("`{who}` drops {what}{on}"),
        "drops an index",
    );
    if downgrade {
        finding = finding.note(downgrade_may(
            "drop an index `upgrade` creates: an `IndexModel` whose `.name(…)` is the same literal or constant, passed to `create_index`",
            index.map(|i| format!("creates no index {}", i.shown())),
        ));
    }
    finding
}

/// "`downgrade` may drop … ; `upgrade` creates no …".
fn downgrade_may(what: &str, but: Option<String>) -> String {
    match but {
        Some(but) => format!("`downgrade` may {what}; `upgrade` {but}"),
        None => format!("`downgrade` may {what}"),
    }
}

fn fields_shown(fields: &[String]) -> String {
    let shown: Vec<String> = fields.iter().map(|f| format!("`{f}`")).collect();
    shown.join(", ")
}

/// `run_command` with `drop`, `dropDatabase`, `dropIndexes`, `renameCollection`, or an
/// `aggregate` with `$out`.
fn judge_command(
    cx: &Context<'_>,
    who: &str,
    downgrade: bool,
    range: Range<usize>,
    command: &Doc,
    created: &Created,
) -> Vec<Finding> {
    let named = |key: &str| command.get(key).and_then(|v| cx.value_name(v));
    let finding = match command.first_key() {
        Some("drop") => {
            let collection = Handle::Collection(named("drop"));
            if downgrade && created.collection(&collection) {
                return Vec::new();
            }
            Finding::new(
                FindingKind::DropCollection,
                range,
                format!("`{who}` drops {}", collection.shown()),
                "the `drop` command drops the collection and every document in it",
            )
        }
        Some("dropDatabase") => Finding::new(
            FindingKind::DropDatabase,
            range,
            format!("`{who}` drops the database"),
            "the `dropDatabase` command drops every collection in it",
        ),
        Some("dropIndexes") => {
            let collection = Handle::Collection(named("dropIndexes"));
            let all = match command.get("index") {
                Some(Value::Array(_)) => Some("the `dropIndexes` command with a list of indexes"),
                Some(value) if value.as_str().is_some_and(|v| v == "*") => {
                    Some("the `dropIndexes` command with `\"index\": \"*\"`")
                }
                _ => None,
            };
            if let Some(label) = all {
                Finding::new(
                    FindingKind::DropIndexes,
                    range,
                    format!("`{who}` drops every index of {}", collection.shown()),
                    label,
                )
            } else {
                let index = named("index");
                if downgrade && index.as_ref().is_some_and(|i| created.indexes.contains(i)) {
                    return Vec::new();
                }
                drop_index(who, downgrade, range, &collection, index.as_ref())
            }
        }
        Some("renameCollection") => {
            // Renaming back what the upgrade renamed is the downgrade's job.
            if downgrade
                && named("renameCollection").is_some_and(|from| created.renamed_to.contains(&from))
            {
                return Vec::new();
            }
            let what = match (
                command.get("renameCollection").and_then(Value::as_str),
                command.get("to").and_then(Value::as_str),
            ) {
                (Some(from), Some(to)) => format!("the collection `{from}` to `{to}`"),
                _ => "a collection".to_owned(),
            };
            Finding::new(
                FindingKind::RenameCollection,
                range,
                format!("`{who}` renames {what}"),
                "`renameCollection` through `run_command`",
            )
            .note("the old name stops existing, and with `dropTarget: true` an existing target is dropped first")
        }
        Some("aggregate") => {
            let stages = command.get("pipeline").map(stages_of).unwrap_or_default();
            return aggregate_out(
                cx,
                who,
                range,
                &stages,
                "the `aggregate` command, with an `$out` stage",
            );
        }
        _ => return Vec::new(),
    };
    vec![finding]
}

/// An aggregation with `$out`, which replaces its target collection.
fn aggregate_out(
    cx: &Context<'_>,
    who: &str,
    range: Range<usize>,
    stages: &[Doc],
    label: &str,
) -> Vec<Finding> {
    let Some(out) = stages.iter().find_map(|stage| stage.entry("$out")) else {
        return Vec::new();
    };
    let target = match out_target(cx, &out.value) {
        Some(name) => format!("the collection {}", name.shown()),
        None => "a collection".to_owned(),
    };
    vec![Finding::new(
        FindingKind::AggregateOut,
        range,
        format!("`{who}` replaces {target} with the output of an aggregation"),
        label,
    )
    .also(
        out.key_range.clone(),
        "`$out` replaces its target collection",
    )]
}

/// `upgrade` writes and `downgrade` never uses its parameter: the migration cannot be undone,
/// and does not say so (`IRREVERSIBLE` answers it; see `allow.rs`).
fn undeclared_irreversible(
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

/// Whether `name` occurs in a macro's `tokens`.
fn mentions(tokens: TokenStream, name: &Ident) -> bool {
    tokens.into_iter().any(|token| match token {
        TokenTree::Ident(ident) => ident == *name,
        TokenTree::Group(group) => mentions(group.stream(), name),
        _ => false,
    })
}

/// The call underlined: `drop_index(SLUG_INDEX)`, or only the method's name when the
/// arguments span several lines.
fn call_range(call: &ExprMethodCall) -> Range<usize> {
    let name = call.method.span();
    let parens = call.paren_token.span.join();
    if name.start().line == parens.end().line {
        name.byte_range().start..parens.byte_range().end
    } else {
        name.byte_range()
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

fn handle_of_type(ty: &Type) -> Handle {
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
fn is_method(call: &ExprMethodCall, names: &[&str]) -> bool {
    names.iter().any(|name| call.method == name)
}

fn is_macro(mac: &syn::Macro, name: &str) -> bool {
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

/// Whether a method chain starts at `…::builder()`: `IndexOptions::builder().name(…)`.
fn is_builder_chain(mut expr: &Expr) -> bool {
    loop {
        match expr {
            Expr::MethodCall(call) => expr = &call.receiver,
            Expr::Call(call) => {
                return matches!(&*call.func, Expr::Path(p)
                    if p.path.segments.last().is_some_and(|s| s.ident == "builder"))
            }
            _ => return false,
        }
    }
}

/// `SLUG_INDEX`, `V2`: how a constant is spelled, unlike a local variable.
fn is_constant_case(ident: &str) -> bool {
    ident.chars().any(|c| c.is_ascii_uppercase())
        && ident
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::analyze;
    use crate::finding::FindingKind;

    /// The ids found in a migration with these bodies (and extra items).
    fn found(items: &str) -> Vec<&'static str> {
        let text = format!(
            "use mongodb_migrate::prelude::*;\npub const NAME: &str = \"0001_a\";\npub const DEPENDENCIES: &[&str] = &[];\n{items}\n"
        );
        let file = syn::parse_file(&text).expect("valid Rust");
        analyze(&file, text.contains("TRANSACTIONAL"))
            .into_iter()
            .map(|f| f.kind.id())
            .collect()
    }

    fn bodies(up: &str, down: &str) -> Vec<&'static str> {
        found(&format!(
            "pub async fn upgrade(db: &Database) -> Result<()> {{ {up} Ok(()) }}\npub async fn downgrade(db: &Database) -> Result<()> {{ {down} Ok(()) }}"
        ))
    }

    const NOTHING: &str = "let _ = db;";

    #[test]
    fn every_kind_is_found() {
        let cases = [
            ("db.collection::<Document>(\"s\").drop().await?;", FindingKind::DropCollection),
            ("let s: Collection<Document> = db.collection(\"s\"); s.drop().await?;", FindingKind::DropCollection),
            ("db.drop().await?;", FindingKind::DropDatabase),
            ("client().drop().await?;", FindingKind::DropCollectionOrDatabase),
            ("db.collection::<Document>(\"s\").drop_index(\"i\").await?;", FindingKind::DropIndex),
            ("db.collection::<Document>(\"s\").drop_indexes().await?;", FindingKind::DropIndexes),
            ("db.collection::<Document>(\"s\").delete_many(doc! {}).await?;", FindingKind::DeleteUnfiltered),
            ("db.collection::<Document>(\"s\").delete_one(Document::new()).await?;", FindingKind::DeleteUnfiltered),
            ("db.collection::<Document>(\"s\").update_many(doc! {}, doc! { \"$unset\": { \"f\": \"\" } }).await?;", FindingKind::UnsetField),
            ("db.collection::<Document>(\"s\").update_many(doc! {}, vec![doc! { \"$unset\": \"f\" }]).await?;", FindingKind::UnsetField),
            ("db.collection::<Document>(\"s\").update_many(doc! {}, doc! { \"$rename\": { \"a\": \"b\" } }).await?;", FindingKind::RenameField),
            ("db.run_command(doc! { \"renameCollection\": \"d.a\", \"to\": \"d.b\" }).await?;", FindingKind::RenameCollection),
            ("db.run_command(doc! { \"drop\": \"s\" }).await?;", FindingKind::DropCollection),
            ("db.run_command(doc! { \"dropDatabase\": 1 }).await?;", FindingKind::DropDatabase),
            ("db.run_command(doc! { \"dropIndexes\": \"s\", \"index\": \"i\" }).await?;", FindingKind::DropIndex),
            ("db.run_command(doc! { \"dropIndexes\": \"s\", \"index\": \"*\" }).await?;", FindingKind::DropIndexes),
            ("db.collection::<Document>(\"s\").aggregate(vec![doc! { \"$match\": {} }, doc! { \"$out\": \"t\" }]).await?;", FindingKind::AggregateOut),
            ("let p = [doc! { \"$out\": \"t\" }]; db.collection::<Document>(\"s\").aggregate(p).await?;", FindingKind::AggregateOut),
        ];
        for (body, kind) in cases {
            // The downgrade writes too, so the irreversibility finding stays out of the way.
            assert_eq!(
                bodies(
                    body,
                    "db.collection::<Document>(\"x\").insert_one(doc! {}).await?;"
                ),
                [kind.id()],
                "{body}"
            );
        }
    }

    #[test]
    fn filtered_or_harmless_calls_are_not_findings() {
        for body in [
            "db.collection::<Document>(\"s\").delete_many(doc! { \"tmp\": true }).await?;",
            "let f = doc! { \"x\": 1 }; db.collection::<Document>(\"s\").delete_many(f).await?;",
            "db.collection::<Document>(\"s\").update_many(doc! { \"a\": 1 }, doc! { \"$unset\": { \"f\": \"\" } }).await?;",
            "db.collection::<Document>(\"s\").update_one(doc! {}, doc! { \"$unset\": { \"f\": \"\" } }).await?;",
            "db.collection::<Document>(\"s\").update_many(doc! {}, doc! { \"$set\": { \"f\": 1 } }).await?;",
            "db.collection::<Document>(\"s\").aggregate(vec![doc! { \"$match\": {} }]).await?;",
            // GridFS's `rename` renames a file: not a collection.
            "db.gridfs_bucket(None).rename(id, \"new\").await?;",
            "db.run_command(doc! { \"ping\": 1 }).await?;",
            "drop(x);",
        ] {
            assert_eq!(bodies(body, "db.collection::<Document>(\"x\").insert_one(doc! {}).await?;"), Vec::<&str>::new(), "{body}");
        }
    }

    #[test]
    fn a_downgrade_may_destroy_what_its_upgrade_created() {
        let cases = [
            ("db.create_collection(\"t\").await?;", "db.collection::<Document>(\"t\").drop().await?;"),
            ("db.collection::<Document>(\"t\").insert_one(doc! {}).await?;", "let t = db.collection::<Document>(\"t\"); t.drop().await?;"),
            ("db.create_collection(T).await?;", "db.run_command(doc! { \"drop\": T }).await?;"),
            ("db.collection::<Document>(\"s\").aggregate(vec![doc! { \"$out\": \"t\" }]).await?;", "db.collection::<Document>(\"t\").drop().await?;"),
            ("db.create_collection(\"t\").await?;", "db.collection::<Document>(\"t\").delete_many(doc! {}).await?;"),
            (
                "let i = IndexModel::builder().keys(doc! { \"a\": 1 }).options(IndexOptions::builder().name(IDX.to_owned()).build()).build(); db.collection::<Document>(\"s\").create_index(i).await?;",
                "db.collection::<Document>(\"s\").drop_index(IDX).await?;",
            ),
            (
                "let i = IndexModel::builder().options(IndexOptions::builder().name(\"by_a\".to_string()).build()).build(); db.collection::<Document>(\"s\").create_index(i).await?;",
                "db.run_command(doc! { \"dropIndexes\": \"s\", \"index\": \"by_a\" }).await?;",
            ),
            ("db.collection::<Document>(\"s\").update_many(doc! {}, doc! { \"$set\": { \"f\": 1 } }).await?;", "db.collection::<Document>(\"s\").update_many(doc! {}, doc! { \"$unset\": { \"f\": \"\" } }).await?;"),
            ("db.collection::<Document>(\"s\").update_many(doc! { \"a\": 1 }, doc! { \"$rename\": { \"a\": \"b\" } }).await?;", "db.collection::<Document>(\"s\").update_many(doc! {}, doc! { \"$rename\": { \"b\": \"a\" } }).await?;"),
            ("db.run_command(doc! { \"renameCollection\": \"d.a\", \"to\": \"d.b\" }).await?;", "db.run_command(doc! { \"renameCollection\": \"d.b\", \"to\": \"d.a\" }).await?;"),
        ];
        for (up, down) in cases {
            let items = format!("const T: &str = \"t\";\nconst IDX: &str = \"by_a\";\npub async fn upgrade(db: &Database) -> Result<()> {{ {up} Ok(()) }}\npub async fn downgrade(db: &Database) -> Result<()> {{ {down} Ok(()) }}");
            // `$out` and `renameCollection` are findings in the upgrade; the downgrade's undoing is not.
            let expected: &[&str] = if up.contains("$out") {
                &["aggregate_out"]
            } else if up.contains("renameCollection") {
                &["rename_collection"]
            } else {
                &[]
            };
            assert_eq!(found(&items), expected, "{up}\n{down}");
        }
    }

    #[test]
    fn a_downgrade_may_not_destroy_what_its_upgrade_did_not_create() {
        let cases = [
            // Another collection.
            ("db.create_collection(\"t\").await?;", "db.collection::<Document>(\"u\").drop().await?;", "drop_collection"),
            // An index name without `create_index` is not an index the upgrade created.
            ("let o = IndexOptions::builder().name(\"i\".to_owned()).build();", "db.collection::<Document>(\"s\").drop_index(\"i\").await?;", "drop_index"),
            // A field the upgrade sets on another collection.
            ("db.collection::<Document>(\"s\").update_many(doc! {}, doc! { \"$set\": { \"f\": 1 } }).await?;", "db.collection::<Document>(\"t\").update_many(doc! {}, doc! { \"$unset\": { \"f\": \"\" } }).await?;", "unset_field"),
            // Dropping every index is never undoing one.
            ("db.collection::<Document>(\"s\").create_index(i).await?;", "db.collection::<Document>(\"s\").drop_indexes().await?;", "drop_indexes"),
        ];
        for (up, down, id) in cases {
            assert_eq!(bodies(up, down), [id], "{up}\n{down}");
        }
        // What the upgrade creates, the upgrade itself may not drop unflagged.
        assert_eq!(
            bodies("db.create_collection(\"t\").await?; db.collection::<Document>(\"t\").drop().await?;", "db.collection::<Document>(\"t\").drop().await?;"),
            ["drop_collection"]
        );
    }

    #[test]
    fn calls_into_functions_of_the_file_are_followed() {
        let items = "async fn clear(c: &Collection<Document>) -> Result<()> { c.delete_many(doc! {}).await?; Ok(()) }\n\
                     async fn wipe(db: &Database) -> Result<()> { db.drop().await?; Ok(()) }\n\
                     pub async fn upgrade(db: &Database) -> Result<()> { let s = db.collection::<Document>(\"s\"); clear(&s).await?; self::wipe(db).await }\n\
                     pub async fn downgrade(db: &Database) -> Result<()> { wipe(db).await }";
        // `wipe` is reached from both bodies: one finding.
        assert_eq!(found(items), ["delete_unfiltered", "drop_database"]);
        // The argument's collection is known inside the helper.
        let file = syn::parse_file(&format!("pub const NAME: &str = \"0001_a\";\n{items}"))
            .expect("valid");
        let findings = super::analyze(&file, false);
        assert!(
            findings[0].message.contains("the collection `s`"),
            "{:?}",
            findings[0]
        );
        assert!(
            findings[0]
                .notes
                .iter()
                .any(|n| n == "in `clear`, which `upgrade` calls"),
            "{:?}",
            findings[0]
        );
    }

    #[test]
    fn every_other_write_is_watched() {
        for method in super::OTHER_WRITES {
            assert!(super::WATCHED_METHODS.contains(&method), "{method}");
        }
    }

    #[test]
    fn calls_inside_macros_are_seen() {
        assert_eq!(
            bodies(
                "tokio::try_join!(db.collection::<Document>(\"s\").drop(), other())?;",
                "db.collection::<Document>(\"x\").insert_one(doc! {}).await?;"
            ),
            ["drop_collection"]
        );
        // Through a function of the file named inside a macro, too.
        let items = "async fn wipe(db: &Database) -> Result<()> { db.drop().await?; Ok(()) }\n\
                     pub async fn upgrade(db: &Database) -> Result<()> { tokio::try_join!(wipe(db), other())?; Ok(()) }\n\
                     pub async fn downgrade(db: &Database) -> Result<()> { undo(db).await }";
        assert_eq!(found(items), ["drop_database"]);
    }

    #[test]
    fn recursion_and_unknown_functions_end() {
        let items = "async fn a(db: &Database) { b(db).await }\nasync fn b(db: &Database) { a(db).await; db.collection::<Document>(\"s\").drop().await; }\n\
                     pub async fn upgrade(db: &Database) -> Result<()> { a(db).await; markers::delete_own(db, NAME).await?; Ok(()) }\n\
                     pub async fn downgrade(db: &Database) -> Result<()> { a(db).await; Ok(()) }";
        assert_eq!(found(items), ["drop_collection"]);
    }

    #[test]
    fn transactional_receivers() {
        let items = "pub const TRANSACTIONAL: bool = true;\n\
                     pub async fn upgrade(tx: &mut Transaction) -> Result<()> { tx.db.drop().await?; tx.db.collection::<Document>(\"s\").drop().await?; Ok(()) }\n\
                     pub async fn downgrade(tx: &mut Transaction) -> Result<()> { tx.db.collection::<Document>(\"s\").insert_one(doc! {}).session(&mut tx.session).await?; Ok(()) }";
        assert_eq!(found(items), ["drop_database", "drop_collection"]);
    }

    #[test]
    fn an_upgrade_that_writes_needs_a_downgrade_that_uses_the_database() {
        let write = "db.collection::<Document>(\"s\").update_many(doc! {}, doc! { \"$set\": { \"f\": 1 } }).await?;";
        assert_eq!(bodies(write, NOTHING), ["undeclared_irreversible"]);
        assert_eq!(bodies(write, ""), ["undeclared_irreversible"]);
        assert_eq!(
            bodies(write, "bail!(\"cannot be undone\");"),
            ["undeclared_irreversible"]
        );
        // Any use of the parameter counts, in a macro too.
        assert_eq!(bodies(write, "undo(db).await?;"), Vec::<&str>::new());
        assert_eq!(
            bodies(write, "eprintln!(\"{}\", db.name());"),
            Vec::<&str>::new()
        );
        // An upgrade that does not write (scaffolded and merge migrations) needs nothing.
        assert_eq!(bodies(NOTHING, NOTHING), Vec::<&str>::new());
        assert_eq!(
            bodies("let n = db.list_collection_names().await?;", ""),
            Vec::<&str>::new()
        );
        assert_eq!(
            bodies("db.run_command(doc! { \"ping\": 1 }).await?;", NOTHING),
            Vec::<&str>::new()
        );
        // A write in a helper counts.
        let items = format!("async fn w(db: &Database) -> Result<()> {{ {write} Ok(()) }}\npub async fn upgrade(db: &Database) -> Result<()> {{ w(db).await }}\npub async fn downgrade(_db: &Database) -> Result<()> {{ Ok(()) }}");
        assert_eq!(found(&items), ["undeclared_irreversible"]);
    }

    #[test]
    fn field_notes_0003_drops_only_its_own_index() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../migrations/0003_seed_initial_sections.rs"
        ))
        .expect("Field Notes' 0003");
        let file = syn::parse_file(&text).expect("valid");
        assert!(analyze(&file, false).is_empty());
        // The same downgrade dropping another index is a finding.
        let other = text.replace(".drop_index(SLUG_INDEX)", ".drop_index(\"slug_1\")");
        assert_ne!(other, text);
        let file = syn::parse_file(&other).expect("valid");
        let ids: Vec<_> = analyze(&file, false).iter().map(|f| f.kind.id()).collect();
        assert_eq!(ids, ["drop_index"]);
    }
}
