//! Opt-in transactional migrations: the [`Transaction`] a migration receives, the runner that
//! commits or aborts it ([`run`]), and the pre-flight check that the server supports
//! transactions ([`support`]).
//!
//! A migration opts in with `pub const TRANSACTIONAL: bool = true;`. Its functions then take
//! `&mut Transaction` instead of `&Database`, and every operation must pass the session:
//!
//! ```no_run
//! use mongodb_migrate_core::prelude::*;
//!
//! pub const TRANSACTIONAL: bool = true;
//!
//! pub async fn upgrade(tx: &mut Transaction) -> Result<()> {
//!     tx.db
//!         .collection::<Document>("users")
//!         .update_many(doc! {}, doc! { "$set": { "active": true } })
//!         .session(&mut tx.session)
//!         .await?;
//!     Ok(())
//! }
//! ```
//!
//! The generated shim wraps the function in [`run`], so the runner and the round-trip harness
//! call it like any other migration. An operation that does not pass `&mut tx.session` runs
//! *outside* the transaction and is not rolled back.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use mongodb::error::{TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT};
use mongodb::{ClientSession, Database};

use crate::migration::{BoxFuture, MigrationResult};

/// What the runner does inside a transaction just before committing it: check the lease and
/// record the migration's outcome, so that the commit that applies the migration also records
/// it (commit means applied).
pub(crate) type CommitHook =
    Arc<dyn for<'s> Fn(&'s mut ClientSession) -> BoxFuture<'s, MigrationResult<()>> + Send + Sync>;

tokio::task_local! {
    static COMMIT_HOOK: CommitHook;
}

/// Runs `future` (a transactional migration's shim) with `hook` called before each commit.
/// Outside such a scope (the round-trip harness, a test calling the shim) nothing is recorded.
pub(crate) async fn with_commit_hook<F: Future>(hook: CommitHook, future: F) -> F::Output {
    COMMIT_HOOK.scope(hook, future).await
}

/// How many times the whole body runs at most when the server labels an error
/// `TransientTransactionError` (a write conflict, a primary step-down).
pub const MAX_ATTEMPTS: u32 = 5;

/// How many times a commit is sent at most when its outcome is unknown
/// (`UnknownTransactionCommitResult`: the connection dropped, or a write-concern timeout).
pub const MAX_COMMIT_ATTEMPTS: u32 = 5;

/// The database and the session of a transaction in progress, handed to a transactional
/// migration's `upgrade` and `downgrade`.
///
/// The fields are public so that `tx.db` and `&mut tx.session` can be borrowed at once:
/// `tx.db.collection::<Document>("x").insert_one(doc).session(&mut tx.session).await?`.
#[derive(Debug)]
pub struct Transaction {
    /// The database being migrated.
    pub db: Database,
    /// The session the transaction runs in; pass it to every operation with `.session(…)`.
    pub session: ClientSession,
}

/// Runs `body` in a transaction on `db`'s client and commits it; aborts it if `body` fails.
///
/// This is what the generated shim of a transactional migration calls:
/// `::mongodb_migrate_core::transaction::run(db, |tx| Box::pin(m0003_x::upgrade(tx)))`.
///
/// - An error from `body` (or from the commit) carrying the `TransientTransactionError` label
///   aborts the transaction and runs the whole body again, at most [`MAX_ATTEMPTS`] times in all:
///   `body` must therefore do nothing outside the transaction that cannot be repeated.
/// - A commit failing with `UnknownTransactionCommitResult` is sent again, at most
///   [`MAX_COMMIT_ATTEMPTS`] times; committing twice is safe, the server answers the second
///   with the first's outcome.
/// - Any other error aborts the transaction and is returned unchanged, so the runner records it.
///
/// The driver's `StartTransaction::and_run` does the same retries, but lends its callback a
/// bare `&mut ClientSession` and retries for a fixed 120 s; a migration needs the database and
/// the session together, and a bounded number of attempts.
pub fn run<'a, F>(db: &'a Database, body: F) -> BoxFuture<'a, MigrationResult<()>>
where
    F: for<'t> FnMut(&'t mut Transaction) -> BoxFuture<'t, MigrationResult<()>> + Send + 'a,
{
    Box::pin(run_inner(db, body))
}

async fn run_inner<F>(db: &Database, mut body: F) -> MigrationResult<()>
where
    F: for<'t> FnMut(&'t mut Transaction) -> BoxFuture<'t, MigrationResult<()>> + Send,
{
    let session = db.client().start_session().await?;
    let mut tx = Transaction {
        db: db.clone(),
        session,
    };
    let mut attempt = 1;
    'transaction: loop {
        tx.session.start_transaction().await?;
        if let Err(error) = body(&mut tx).await {
            // The driver ignores the server's answer to abortTransaction (the server may have
            // aborted already); its only errors are about a transaction the body itself ended.
            let _ = tx.session.abort_transaction().await;
            if has_label(&error, TRANSIENT_TRANSACTION_ERROR) && attempt < MAX_ATTEMPTS {
                attempt += 1;
                backoff(attempt).await;
                continue 'transaction;
            }
            return Err(error);
        }
        if let Ok(hook) = COMMIT_HOOK.try_with(Arc::clone) {
            if let Err(error) = hook(&mut tx.session).await {
                let _ = tx.session.abort_transaction().await;
                if has_label(&error, TRANSIENT_TRANSACTION_ERROR) && attempt < MAX_ATTEMPTS {
                    attempt += 1;
                    backoff(attempt).await;
                    continue 'transaction;
                }
                return Err(error);
            }
        }
        let mut commit_attempt = 1;
        loop {
            match tx.session.commit_transaction().await {
                Ok(()) => return Ok(()),
                Err(e)
                    if e.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT)
                        && commit_attempt < MAX_COMMIT_ATTEMPTS =>
                {
                    commit_attempt += 1;
                }
                Err(e)
                    if e.contains_label(TRANSIENT_TRANSACTION_ERROR) && attempt < MAX_ATTEMPTS =>
                {
                    attempt += 1;
                    backoff(attempt).await;
                    continue 'transaction;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Whether a driver error anywhere in `error`'s cause chain carries `label`: migrations wrap
/// driver errors with `?` and `.context(…)`.
fn has_label(error: &anyhow::Error, label: &str) -> bool {
    error
        .chain()
        .filter_map(|e| e.downcast_ref::<mongodb::error::Error>())
        .any(|e| e.contains_label(label))
}

/// A short pause before trying again, growing with the attempt, so that a write conflict with
/// a concurrent writer has a chance to clear.
async fn backoff(attempt: u32) {
    tokio::time::sleep(Duration::from_millis(10 << attempt.min(6))).await;
}

/// Whether a server supports transactions, judged from its `hello` reply.
///
/// MongoDB runs transactions on replica set members (whose reply has `setName`) and through
/// mongos (`msg: "isdbgrid"`), and only where sessions exist (`logicalSessionTimeoutMinutes`
/// is present). A standalone server has neither and refuses transaction numbers.
///
/// Returns `Err(reason)` naming what is missing.
pub fn support(hello: &bson::Document) -> Result<(), String> {
    crate::server::ServerInfo::judge(hello, None, None, &[]).transactions()
}

/// Asks the server `hello` and judges it with [`support`].
///
/// `Ok(Err(reason))` is an unsupported server; the outer error is a failed command.
pub(crate) async fn check_server(db: &Database) -> mongodb::error::Result<Result<(), String>> {
    let hello = db
        .client()
        .database("admin")
        .run_command(bson::doc! { "hello": 1 })
        .await?;
    Ok(support(&hello))
}

#[cfg(test)]
mod tests {
    use bson::doc;

    use super::support;

    #[test]
    fn a_replica_set_member_supports_transactions() {
        let hello = doc! { "isWritablePrimary": true, "setName": "rs0", "logicalSessionTimeoutMinutes": 30 };
        assert_eq!(support(&hello), Ok(()));
    }

    #[test]
    fn a_mongos_supports_transactions() {
        let hello = doc! { "isWritablePrimary": true, "msg": "isdbgrid", "logicalSessionTimeoutMinutes": 30 };
        assert_eq!(support(&hello), Ok(()));
    }

    #[test]
    fn a_standalone_does_not() {
        let hello = doc! { "isWritablePrimary": true, "logicalSessionTimeoutMinutes": 30 };
        let reason = support(&hello).unwrap_err();
        assert!(reason.contains("standalone"), "{reason}");
    }

    #[test]
    fn a_replica_set_without_sessions_does_not() {
        for hello in [
            doc! { "setName": "rs0" },
            doc! { "setName": "rs0", "logicalSessionTimeoutMinutes": null },
        ] {
            let reason = support(&hello).unwrap_err();
            assert!(reason.contains("logicalSessionTimeoutMinutes"), "{reason}");
        }
    }

    #[test]
    fn another_msg_is_not_a_mongos() {
        let hello = doc! { "msg": "something", "logicalSessionTimeoutMinutes": 30 };
        assert!(support(&hello).is_err());
    }
}
