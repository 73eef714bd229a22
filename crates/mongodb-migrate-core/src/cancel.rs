//! Cancelling a run from outside: the CLI does it on SIGTERM and SIGINT, and an application
//! that handles signals itself does it with a [`CancelHandle`].

use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

/// Cancels a [`Migrator`](crate::Migrator) run. Cheap to clone; every clone cancels the same run.
///
/// A cancelled run stops the running migration at once (its future is dropped at its next
/// await), records it as failed with "cancelled by REASON at … after N s; its effects may be
/// partial", releases the lease, and returns [`Error::Cancelled`](crate::Error::Cancelled).
/// Before the first migration starts, it only releases the lease.
///
/// # Examples
///
/// ```no_run
/// use mongodb_migrate_core::{CancelHandle, Migration, Migrator};
/// # static MIGRATIONS: &[Migration] = &[];
/// # async fn run(db: mongodb_migrate_core::mongodb::Database) {
/// let cancel = CancelHandle::new();
/// let on_shutdown = cancel.clone();
/// tokio::spawn(async move {
///     // The application's own shutdown signal.
///     let _ = tokio::signal::ctrl_c().await;
///     on_shutdown.cancel("application shutdown");
/// });
/// let result = Migrator::new(db, MIGRATIONS).cancel_handle(cancel).up().await;
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct CancelHandle {
    token: CancellationToken,
    reason: Arc<Mutex<Option<String>>>,
}

impl CancelHandle {
    /// A handle that has not been cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels the run, for `reason` (recorded: "cancelled by `reason`"). Only the first
    /// reason counts.
    pub fn cancel(&self, reason: impl Into<String>) {
        if let Ok(mut r) = self.reason.lock() {
            if r.is_none() {
                *r = Some(reason.into());
            }
        }
        self.token.cancel();
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// The reason given to [`cancel`](Self::cancel).
    pub fn reason(&self) -> Option<String> {
        self.reason.lock().ok().and_then(|r| r.clone())
    }

    /// Resolves once cancelled.
    pub async fn cancelled(&self) {
        self.token.cancelled().await;
    }
}
