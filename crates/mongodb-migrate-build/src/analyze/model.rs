//! What the lint knows of an expression and of an operation: the shared types of the
//! analyzer's modules.

use std::ops::Range;

use crate::doc_literal::{Doc, Value};

/// Which body a walk started from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Upgrade,
    Downgrade,
}

impl Role {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Role::Upgrade => "upgrade",
            Role::Downgrade => "downgrade",
        }
    }
}

/// How a collection, an index or a field is named in the source.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Name {
    /// A string literal's value, or that of a constant of this file set to a string literal.
    Literal(String),
    /// Any other constant, by its path (`common::STORIES`).
    Constant(String),
}

impl Name {
    /// As a message shows it: the value of a literal, the path of a constant.
    pub(crate) fn shown(&self) -> String {
        let (Name::Literal(text) | Name::Constant(text)) = self;
        format!("`{text}`")
    }
}

/// What an expression is, as far as its syntax shows.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub(crate) enum Handle {
    Database,
    /// The transaction a transactional migration is passed; its `.db` is the database.
    Transaction,
    Collection(Option<Name>),
    #[default]
    Unknown,
}

impl Handle {
    pub(crate) fn collection_name(&self) -> Option<&Name> {
        match self {
            Handle::Collection(name) => name.as_ref(),
            _ => None,
        }
    }

    /// "the collection `stories`", or "a collection".
    pub(crate) fn shown(&self) -> String {
        match self.collection_name() {
            Some(name) => format!("the collection {}", name.shown()),
            None => "a collection".to_owned(),
        }
    }
}

/// A driver operation found in a body.
#[derive(Debug)]
pub(crate) enum Op {
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

impl Op {
    pub(crate) fn writes(&self) -> bool {
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

/// The documents of an array value inside a `doc!` literal: a command's pipeline, its indexes.
pub(crate) fn stages_of(value: &Value) -> Vec<Doc> {
    match value {
        Value::Array(stages) => stages.iter().filter_map(Value::as_doc).cloned().collect(),
        _ => Vec::new(),
    }
}

/// A located operation, and the function it is in.
#[derive(Debug)]
pub(crate) struct Call {
    pub(crate) function: String,
    pub(crate) range: Range<usize>,
    pub(crate) op: Op,
}
