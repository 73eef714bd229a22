//! One migration as the generated registry describes it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use mongodb::Database;

/// The error a migration's `upgrade` or `downgrade` returns.
///
/// Migrations are user code: any error converts into it with `?`, and `.context(…)` adds the
/// story of what was being done. The runner prints its whole cause chain.
pub type MigrationError = anyhow::Error;

/// The result a migration's `upgrade` or `downgrade` returns.
pub type MigrationResult<T = ()> = std::result::Result<T, MigrationError>;

/// A boxed, sendable future borrowing the database handle.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The signature of a generated shim that calls a migration's `upgrade` or `downgrade`.
pub type MigrationFn = for<'a> fn(&'a Database) -> BoxFuture<'a, MigrationResult<()>>;

/// A migration compiled into the binary.
///
/// Values of this type are written by `mongodb-migrate-build` into the generated registry, in a
/// `static` array already checked and ordered at build time: every dependency exists, the graph
/// has no cycle, there is one head, and the order is topological with ties broken by sequence
/// number. Code should treat the array as the plan and never reorder it.
#[derive(Clone, Copy)]
pub struct Migration {
    /// The migration's name, equal to its file stem (`0001_create_admin_user`).
    pub name: &'static str,
    /// The names of the migrations that must be applied before this one.
    pub dependencies: &'static [&'static str],
    /// The first line of the file's `//!` doc comment, or `""`.
    pub description: &'static str,
    /// Hex SHA-256 of the file's token stream without doc comments: whitespace, comments, doc
    /// text and line endings do not change it.
    pub checksum: &'static str,
    /// Whether the file declares `pub const TRANSACTIONAL: bool = true;`: its shims run it in a
    /// transaction ([`transaction::run`](crate::transaction::run)), and the runner checks the
    /// server supports transactions before running it.
    pub transactional: bool,
    /// The findings of the build's destructive-operation lint that the migration allows, each
    /// with its reason, from `pub const ALLOW: &[(&str, &str)] = &[("drop_collection", "why")];`.
    /// Empty for a migration the lint finds nothing destructive in.
    pub allowed: &'static [Allowed],
    /// `Some(reason)` when the file declares `pub const IRREVERSIBLE: &str = "why";`: its
    /// downgrade cannot restore what its upgrade changed.
    pub irreversible: Option<&'static str>,
    /// The collections its `upgrade` and `downgrade` name, as far as the build's analyzer sees
    /// (string literals and the file's string constants; not what helper modules or the
    /// runtime's markers reach), in name order. `migrate rehearse` shows them as a suggestion
    /// of what to copy. Not part of the checksum: it is derived from the code.
    pub collections: &'static [&'static str],
    /// Applies the migration.
    pub upgrade: MigrationFn,
    /// Reverts the migration.
    pub downgrade: MigrationFn,
}

impl fmt::Debug for Migration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Migration")
            .field("name", &self.name)
            .field("dependencies", &self.dependencies)
            .field("description", &self.description)
            .field("checksum", &self.checksum)
            .field("transactional", &self.transactional)
            .field("allowed", &self.allowed)
            .field("irreversible", &self.irreversible)
            .field("collections", &self.collections)
            .finish_non_exhaustive()
    }
}

impl Migration {
    /// An [`Allowed`] entry. The generated registry builds its entries with this function,
    /// which it reaches through `Migration`, a path it names already.
    pub const fn allowed_finding(
        finding: &'static str,
        reason: &'static str,
        line: u32,
    ) -> Allowed {
        Allowed {
            finding,
            reason,
            line,
        }
    }
}

/// A destructive operation the build's lint found in a migration, which the migration allows
/// with a reason (`pub const ALLOW: &[(&str, &str)] = &[("drop_collection", "why")];`).
///
/// The build fails on every finding a migration does not allow; these are the ones it let
/// through, for `migrate plan` and reviewers to see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowed {
    /// The finding's stable id, as written in `ALLOW` (`drop_collection`, `delete_unfiltered`,
    /// …; the README's checks table lists them).
    pub finding: &'static str,
    /// Why it is safe, as written in `ALLOW`.
    pub reason: &'static str,
    /// The 1-based line of the migration file where the first allowed operation is.
    pub line: u32,
}

/// A migration body's error or panic, as the runner records it.
#[derive(Debug)]
pub(crate) struct Caught {
    /// The cause chain (`{:#}`) or `panicked: <message>`.
    pub message: String,
    /// Whether a driver error in the chain says a transaction commit's outcome is unknown.
    pub commit_unknown: bool,
    /// The document a failed write was about, when the server's error names it.
    pub document: Option<Box<crate::FailingDocument>>,
}

/// Runs a migration's body, turning an error into its cause chain (`{:#}`) and a panic into
/// `panicked: <message>`: the runner records either, and the harness reports either.
pub(crate) async fn run_caught<F>(body: F) -> Result<(), Caught>
where
    F: Future<Output = MigrationResult<()>>,
{
    use futures::FutureExt as _;
    match std::panic::AssertUnwindSafe(body).catch_unwind().await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(Caught {
            message: format!("{e:#}"),
            commit_unknown: e
                .chain()
                .filter_map(|c| c.downcast_ref::<mongodb::error::Error>())
                .any(|c| c.contains_label(mongodb::error::UNKNOWN_TRANSACTION_COMMIT_RESULT)),
            document: crate::failing_document::of_error(&e).map(Box::new),
        }),
        Err(panic) => Err(Caught {
            message: format!("panicked: {}", panic_message(&*panic)),
            commit_unknown: false,
            document: None,
        }),
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "a non-string panic payload".to_owned()
    }
}
