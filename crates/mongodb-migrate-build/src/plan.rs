//! The checked plan: what the registry is generated from.

use std::path::PathBuf;

pub use crate::discover::HelperModule;

/// One migration of a checked [`Plan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedMigration {
    /// The file stem, equal to the file's `NAME` (`0002_add_user_id`).
    pub name: String,
    /// The leading digits of the name (`2`).
    pub sequence: u64,
    /// The names this migration depends on, as written in `DEPENDENCIES`.
    pub dependencies: Vec<String>,
    /// The first line of the file's `//!` doc comment, or `""`.
    pub description: String,
    /// Hex SHA-256 of the token stream without doc comments (see [`crate::checksum_source`]).
    pub checksum: String,
    /// Whether the file declares `pub const TRANSACTIONAL: bool = true;`: its shims run it in a
    /// transaction and its functions take `&mut Transaction`.
    pub transactional: bool,
    /// Whether the file declares `TRANSACTIONAL` at all (even `= false`): the registry then
    /// references the constant, so it counts as used.
    pub declares_transactional: bool,
    /// The findings of the destructive-operation lint the file allows in `ALLOW`, in the order
    /// written.
    pub allowed: Vec<AllowedFinding>,
    /// Whether the file declares `ALLOW` (even `&[]`): the registry then references the
    /// constant, so it counts as used.
    pub declares_allow: bool,
    /// The reason in `pub const IRREVERSIBLE: &str = "…";`: the migration's downgrade cannot
    /// restore what its upgrade changed.
    pub irreversible: Option<String>,
    /// The collections its `upgrade` and `downgrade` name, as far as the destructive-operation
    /// analyzer sees (literal names; not what helpers reach), in name order. Outside the
    /// checksum: it is derived from the code.
    pub collections: Vec<String>,
    /// The file's absolute path.
    pub path: PathBuf,
    /// Whether it is one of the app's archived migrations (see [`Plan::archive`]): compiled in
    /// the archive crate, and listed in the app's registry from that crate's.
    pub archived: bool,
}

/// A finding of the destructive-operation lint that a migration allows, with its reason.
///
/// A migration allows findings by id: `pub const ALLOW: &[(&str, &str)] =
/// &[("drop_collection", "replaced by stories_v2 in 0012")];`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedFinding {
    /// The finding's id (`drop_collection`; see [`FindingKind::id`](crate::FindingKind::id)).
    pub finding: String,
    /// Why it is safe, as written.
    pub reason: String,
    /// The 1-based line of the first operation it allows.
    pub line: usize,
}

/// A checked migration plan: every check passed.
///
/// Migrations are in topological order (dependencies first), ties broken by sequence number;
/// this is exactly the order of the generated `MIGRATIONS` array.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// The migrations, dependencies first.
    pub migrations: Vec<PlannedMigration>,
    /// The helper modules (`migrations/common/mod.rs`), included once by the registry.
    pub helpers: Vec<HelperModule>,
    /// The crate the archived migrations are compiled in, by the name the app's `Cargo.toml`
    /// depends on it (`field_notes_archive`), when the app has an archive. Archived migrations
    /// come first in [`Plan::migrations`].
    pub archive: Option<String>,
    /// Whether [`Plan::helpers`] also serve the migrations of another crate (the app's and its
    /// archive's share them): the registry then does not call a helper only the other crate
    /// uses dead code.
    pub helpers_shared: bool,
}

impl Plan {
    /// The one migration nothing depends on, or `None` for an empty plan.
    pub fn head(&self) -> Option<&PlannedMigration> {
        self.migrations.iter().find(|m| {
            !self
                .migrations
                .iter()
                .any(|other| other.dependencies.contains(&m.name))
        })
    }
}
