//! What the destructive-operation lint reports: the kinds of finding, with the stable ids a
//! migration names in `ALLOW`, and one located finding.

use std::fmt;
use std::ops::Range;

use crate::diagnostic::{Diagnostic, FileId};

/// A kind of destructive operation the build reports in a migration's `upgrade` or `downgrade`.
///
/// Each kind has a stable snake_case [`id`](FindingKind::id): a migration allows a finding by
/// naming it in `pub const ALLOW: &[(&str, &str)] = &[("drop_collection", "why")];`, and the
/// generated registry records the ids it allows. Ids are never renamed or reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FindingKind {
    /// `.drop()` on a collection (`db.collection(…)` or a `Collection` binding), or
    /// `run_command(doc! { "drop": … })`.
    DropCollection,
    /// `.drop()` on the database, or `run_command(doc! { "dropDatabase": 1 })`.
    DropDatabase,
    /// `.drop()` on something the lint cannot tell apart: a collection or a database.
    DropCollectionOrDatabase,
    /// `drop_index(…)`, or `run_command(doc! { "dropIndexes": …, "index": "name" })`.
    DropIndex,
    /// `drop_indexes()`, or `run_command(doc! { "dropIndexes": …, "index": "*" })`.
    DropIndexes,
    /// `delete_many` or `delete_one` with an empty filter (`doc! {}`).
    DeleteUnfiltered,
    /// `update_many` with an empty filter and `$unset`.
    UnsetField,
    /// `update_many` with an empty filter and `$rename`.
    RenameField,
    /// `run_command(doc! { "renameCollection": … })`.
    RenameCollection,
    /// An aggregation with an `$out` stage, which replaces its target collection.
    AggregateOut,
    /// `upgrade` writes, but `downgrade` never uses its database parameter. Not allowed through
    /// `ALLOW`: a migration says so with `pub const IRREVERSIBLE: &str = "why";`.
    UndeclaredIrreversible,
}

impl FindingKind {
    /// Every kind, in the order the README documents them.
    pub const ALL: [FindingKind; 11] = [
        FindingKind::DropCollection,
        FindingKind::DropDatabase,
        FindingKind::DropCollectionOrDatabase,
        FindingKind::DropIndex,
        FindingKind::DropIndexes,
        FindingKind::DeleteUnfiltered,
        FindingKind::UnsetField,
        FindingKind::RenameField,
        FindingKind::RenameCollection,
        FindingKind::AggregateOut,
        FindingKind::UndeclaredIrreversible,
    ];

    /// The stable snake_case id, as written in `ALLOW` and recorded in the registry.
    ///
    /// # Examples
    ///
    /// ```
    /// use mongodb_migrate_build::FindingKind;
    /// assert_eq!(FindingKind::DropCollection.id(), "drop_collection");
    /// assert_eq!(FindingKind::from_id("aggregate_out"), Some(FindingKind::AggregateOut));
    /// ```
    pub fn id(self) -> &'static str {
        match self {
            FindingKind::DropCollection => "drop_collection",
            FindingKind::DropDatabase => "drop_database",
            FindingKind::DropCollectionOrDatabase => "drop_collection_or_database",
            FindingKind::DropIndex => "drop_index",
            FindingKind::DropIndexes => "drop_indexes",
            FindingKind::DeleteUnfiltered => "delete_unfiltered",
            FindingKind::UnsetField => "unset_field",
            FindingKind::RenameField => "rename_field",
            FindingKind::RenameCollection => "rename_collection",
            FindingKind::AggregateOut => "aggregate_out",
            FindingKind::UndeclaredIrreversible => "undeclared_irreversible",
        }
    }

    /// The kind whose [`id`](FindingKind::id) is `id`.
    pub fn from_id(id: &str) -> Option<FindingKind> {
        FindingKind::ALL.into_iter().find(|k| k.id() == id)
    }

    /// Whether `ALLOW` may name it. An irreversible migration is declared with `IRREVERSIBLE`
    /// instead, so that the runtime can refuse to run its downgrade.
    pub fn allowable(self) -> bool {
        self != FindingKind::UndeclaredIrreversible
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// One destructive operation found in a migration file, located; turned into a [`Diagnostic`]
/// unless the file allows it.
#[derive(Debug, Clone)]
pub(crate) struct Finding {
    pub(crate) kind: FindingKind,
    /// The call, underlined.
    pub(crate) range: Range<usize>,
    pub(crate) message: String,
    pub(crate) label: String,
    pub(crate) secondary: Vec<(Range<usize>, String)>,
    pub(crate) notes: Vec<String>,
}

impl Finding {
    pub(crate) fn new(
        kind: FindingKind,
        range: Range<usize>,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            range,
            message: message.into(),
            label: label.into(),
            secondary: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub(crate) fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub(crate) fn also(mut self, range: Range<usize>, label: impl Into<String>) -> Self {
        self.secondary.push((range, label.into()));
        self
    }

    /// The diagnostic for a finding the file does not allow. `has_allow` says whether the file
    /// already declares `ALLOW`, so the hint adds an entry rather than a whole constant.
    pub(crate) fn into_diagnostic(self, file: FileId, has_allow: bool) -> Diagnostic {
        let id = self.kind.id();
        let help = if !self.kind.allowable() {
            "undo `upgrade` in `downgrade`, or declare that it cannot be undone: `pub const IRREVERSIBLE: &str = \"why\";`".to_owned()
        } else if has_allow {
            format!("if it is intended, add `(\"{id}\", \"why it is safe\")` to `ALLOW`")
        } else {
            format!(
                "if it is intended, allow it with a reason: `pub const ALLOW: &[(&str, &str)] = &[(\"{id}\", \"why it is safe\")];`"
            )
        };
        let mut diagnostic = Diagnostic::error(self.message).at(file, self.range, self.label);
        for (range, label) in self.secondary {
            diagnostic = diagnostic.also(file, range, label);
        }
        for note in self.notes {
            diagnostic = diagnostic.note(note);
        }
        diagnostic.help(help)
    }
}

#[cfg(test)]
mod tests {
    use super::FindingKind;

    #[test]
    fn ids_are_unique_snake_case_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for kind in FindingKind::ALL {
            let id = kind.id();
            assert!(crate::file_name::is_snake_case(id), "{id}");
            assert!(seen.insert(id), "{id} twice");
            assert_eq!(FindingKind::from_id(id), Some(kind));
        }
        assert_eq!(FindingKind::from_id("drop"), None);
    }

    #[test]
    fn only_the_irreversible_finding_is_not_allowable() {
        let not: Vec<_> = FindingKind::ALL
            .into_iter()
            .filter(|k| !k.allowable())
            .collect();
        assert_eq!(not, [FindingKind::UndeclaredIrreversible]);
    }
}
