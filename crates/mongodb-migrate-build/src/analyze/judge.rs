//! Which operations are findings, and how each is worded. In `downgrade`, undoing what
//! `upgrade` created is not one.

use std::ops::Range;

use super::context::Context;
use super::created::{out_target, Created};
use super::model::{stages_of, Call, Handle, Name, Op, Role};
use crate::doc_literal::{Doc, Value};
use crate::finding::{Finding, FindingKind};

/// The findings of one operation. In `downgrade`, what `upgrade` created may be destroyed.
pub(crate) fn judge(cx: &Context<'_>, call: &Call, role: Role, created: &Created) -> Vec<Finding> {
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
