//! The rule family behind the destructive-operation lint: the driver operations a body calls,
//! located, with what their receivers and arguments are.

use std::ops::Range;

use proc_macro2::Ident;
use syn::{Expr, ExprMethodCall};

use super::context::{Context, Scope};
use super::model::{Call, Op};
use super::walk::Rule;

/// The methods [`Operations`] reads closely: the ones the lint judges, and the ones that
/// create what a downgrade may destroy. It also records [`OTHER_WRITES`].
pub(crate) const READ_CLOSELY: [&str; 16] = [
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
];

/// Methods that write, beyond those the lint reads more closely.
pub(crate) const OTHER_WRITES: [&str; 9] = [
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

/// The operations of a walk, in the order they run.
#[derive(Debug, Default)]
pub(crate) struct Operations {
    pub(crate) calls: Vec<Call>,
}

impl Rule for Operations {
    fn watches(&self, method: &Ident) -> bool {
        READ_CLOSELY
            .iter()
            .chain(&OTHER_WRITES)
            .any(|m| method == m)
    }

    fn method_call(&mut self, call: &ExprMethodCall, cx: &Context<'_>, scope: &Scope) {
        if !self.watches(&call.method) {
            return;
        }
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
        self.calls.push(Call {
            function: scope.function.clone(),
            range: call_range(call),
            op,
        });
    }
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
