//! The rule family behind the registry's `collections`: the collections a migration's bodies
//! name, as far as the syntax shows, for `migrate rehearse` to suggest what to copy.
//!
//! A name counts when it is a string literal or a string constant of the file: the argument of
//! `.collection(…)`, `.collection_with_options(…)` or `.create_collection(…)`; the collection a
//! `run_command` document targets (`{ "update": "stories", … }`); and the collections a
//! pipeline reads or writes (`$lookup`, `$graphLookup`, `$unionWith`, `$out`, `$merge`). What
//! helper modules, other crates (the runtime's `markers::Reference`) or computed names reach is
//! out of sight: the list is what the analyzer could see, never the whole truth. It is not part
//! of the checksum: it is derived from the code, not written in it.

use std::collections::BTreeSet;

use proc_macro2::Ident;
use syn::ExprMethodCall;

use super::context::{Context, Scope};
use super::model::{stages_of, Name};
use super::walk::Rule;
use crate::doc_literal::{Doc, Value};

/// The methods whose arguments name collections.
const NAMING: [&str; 6] = [
    "collection",
    "collection_with_options",
    "create_collection",
    "run_command",
    "run_cursor_command",
    "aggregate",
];

/// Commands whose first key's value is the collection they run on.
const COLLECTION_COMMANDS: [&str; 16] = [
    "find",
    "aggregate",
    "insert",
    "update",
    "delete",
    "findAndModify",
    "count",
    "distinct",
    "create",
    "drop",
    "collMod",
    "createIndexes",
    "dropIndexes",
    "listIndexes",
    "validate",
    "compact",
];

/// The collections a walk's bodies name.
#[derive(Debug, Default)]
pub(crate) struct Collections {
    pub(crate) names: BTreeSet<String>,
}

impl Rule for Collections {
    fn watches(&self, method: &Ident) -> bool {
        NAMING.iter().any(|m| method == m)
    }

    fn method_call(&mut self, call: &ExprMethodCall, cx: &Context<'_>, scope: &Scope) {
        let Some(first) = call.args.first() else {
            return;
        };
        match call.method.to_string().as_str() {
            "collection" | "collection_with_options" | "create_collection" => {
                self.add(cx.name(first, scope));
            }
            "run_command" | "run_cursor_command" => {
                if let Some(command) = cx.doc(first, scope) {
                    self.command(&command, cx);
                }
            }
            "aggregate" => {
                for stage in cx.pipeline(first, scope).unwrap_or_default() {
                    self.stage(&stage, cx);
                }
            }
            _ => {}
        }
    }
}

impl Collections {
    /// Keeps a name the syntax spells out; a constant of another module is not known here.
    fn add(&mut self, name: Option<Name>) {
        if let Some(Name::Literal(name)) = name {
            if !name.is_empty() {
                self.names.insert(name);
            }
        }
    }

    fn command(&mut self, command: &Doc, cx: &Context<'_>) {
        let Some(key) = command.first_key() else {
            return;
        };
        if COLLECTION_COMMANDS.contains(&key) {
            if let Some(target) = command.get(key) {
                self.add(cx.value_name(target));
            }
        }
        if let Some(pipeline) = command.get("pipeline") {
            for stage in stages_of(pipeline) {
                self.stage(&stage, cx);
            }
        }
    }

    /// The collections one aggregation stage names.
    fn stage(&mut self, stage: &Doc, cx: &Context<'_>) {
        for key in ["$lookup", "$graphLookup"] {
            if let Some(from) = stage
                .get(key)
                .and_then(Value::as_doc)
                .and_then(|d| d.get("from"))
            {
                self.add(cx.value_name(from));
            }
        }
        if let Some(union) = stage.get("$unionWith") {
            let target = union.as_doc().and_then(|d| d.get("coll")).unwrap_or(union);
            self.add(cx.value_name(target));
        }
        if let Some(out) = stage.get("$out") {
            let target = out.as_doc().and_then(|d| d.get("coll")).unwrap_or(out);
            self.add(cx.value_name(target));
        }
        if let Some(merge) = stage.get("$merge") {
            let into = merge.as_doc().and_then(|d| d.get("into")).unwrap_or(merge);
            let target = into.as_doc().and_then(|d| d.get("coll")).unwrap_or(into);
            self.add(cx.value_name(target));
        }
    }
}
