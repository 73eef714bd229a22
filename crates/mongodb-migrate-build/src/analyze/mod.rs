//! The destructive-operation lint: what a migration's `upgrade` and `downgrade` do that
//! destroys data, found by walking their bodies with `syn::visit`.
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
//! the normal case, so `Created` records what `upgrade` creates, by the string literal or
//! constant that names it (a collection: `create_collection`, an insert, an `$out` target; an
//! index: `create_index` of a model whose `.name(…)` is that name; a field: `$set`, `$rename`,
//! …; a `renameCollection` target), and undoing it in `downgrade` (a drop, an unfiltered
//! delete, an `$unset`, a rename back) is not a finding.
//!
//! One concern per file:
//! - `model`: what an expression is (`Handle`, `Name`) and what an operation does (`Op`);
//! - `context`: the file's functions and constants, and what an expression resolves to in a
//!   function's bindings;
//! - `walk`: the traversal of a body and of the file's functions it calls, which tells each
//!   *rule family* ([`walk::Rule`]) of every method call in evaluation order;
//! - `operations`: the rule family that records the driver operations;
//! - `collections`: the rule family that records the collections the bodies name, which the
//!   registry carries for `migrate rehearse` (walked beside `operations`);
//! - `created`, `judge`, `irreversible`: which operations are findings;
//! - `analysis`: the entry point, running the walks and the judgments.
//!
//! A new rule family is one more `walk::Rule` walked beside the others (a pair of rules is a
//! rule), and one more field of `Analysis`, as `collections` is.

mod analysis;
mod collections;
mod context;
mod created;
mod irreversible;
mod judge;
mod model;
mod operations;
#[cfg(test)]
mod tests;
mod walk;

pub(crate) use analysis::analyze;
pub use analysis::count_findings;
