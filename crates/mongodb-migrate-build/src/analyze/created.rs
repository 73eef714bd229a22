//! What `upgrade` creates, by name: what its `downgrade` may destroy unflagged.

use std::collections::HashSet;

use super::context::Context;
use super::model::{stages_of, Call, Handle, Name, Op};
use crate::doc_literal::{Doc, Value};

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

/// What `upgrade` (and the functions it calls) creates, by name: a downgrade may destroy these.
#[derive(Debug, Default)]
pub(crate) struct Created {
    pub(crate) collections: HashSet<Name>,
    /// The targets (`to`) of `renameCollection`, as namespaces (`db.collection`).
    pub(crate) renamed_to: HashSet<Name>,
    pub(crate) indexes: HashSet<Name>,
    /// Fields set, with the collection when it is known.
    fields: Vec<(Option<Name>, String)>,
}

impl Created {
    pub(crate) fn new(cx: &Context<'_>, calls: &[Call]) -> Created {
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

    pub(crate) fn collection(&self, handle: &Handle) -> bool {
        handle
            .collection_name()
            .is_some_and(|name| self.collections.contains(name))
    }

    /// Whether `field` of `collection` is set by the upgrade. When either side's collection is
    /// unknown, the field name alone decides.
    pub(crate) fn field(&self, collection: &Handle, field: &str) -> bool {
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

/// The collections `$out` stages write to.
pub(crate) fn out_targets(cx: &Context<'_>, stages: &[Doc]) -> Vec<Name> {
    stages
        .iter()
        .filter_map(|stage| stage.get("$out"))
        .filter_map(|out| out_target(cx, out))
        .collect()
}

/// `"$out": "name"`, or `"$out": { "db": …, "coll": "name" }`.
pub(crate) fn out_target(cx: &Context<'_>, out: &Value) -> Option<Name> {
    match out {
        Value::Doc(target) => target.get("coll").and_then(|v| cx.value_name(v)),
        other => cx.value_name(other),
    }
}
