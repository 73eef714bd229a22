//! Progress reported from inside a running migration, shown by the runner's observer (the
//! `migrate` command draws it on its spinner).
//!
//! The runner scopes each migration's future with its observer (a task-local), so
//! [`report`] needs no handle: a migration, or a helper such as
//! [`batch::for_each_batch`](crate::batch::for_each_batch), just calls it. Outside a run (a
//! test calling `upgrade` directly) it does nothing.

use std::future::Future;
use std::sync::{Arc, Mutex};

use crate::observer::{Event, Observer};

struct Scope {
    migration: &'static str,
    observer: Arc<dyn Observer>,
    notes: Notes,
    changed: Changed,
}

/// Documents a running migration's helpers report changed ([`changed`]), for its tracing span.
pub(crate) type Changed = Arc<std::sync::atomic::AtomicU64>;

/// The notes a running migration left ([`note`]), collected by the runner into its record.
pub(crate) type Notes = Arc<Mutex<Vec<String>>>;

tokio::task_local! {
    static CURRENT: Scope;
}

/// Reports that `done` of `total` units (documents, batches, …) of the running migration are
/// done. Cheap; call it as often as you like (observers throttle what they print).
pub fn report(done: u64, total: Option<u64>) {
    let _ = CURRENT.try_with(|scope| {
        scope.observer.on_event(&Event::Progress {
            name: scope.migration,
            done,
            total,
        });
    });
}

/// Records a note about the running migration: something it did not do, or did differently,
/// that the operator should know (documents it left alone because the application changed
/// them since, a reference it kept). The note is shown in the run's output, and stored in the
/// migration's details record with its outcome. Outside a run it does nothing.
///
/// # Examples
/// ```no_run
/// mongodb_migrate_core::progress::note("1 document in stories changed since it was applied; left as it is");
/// ```
pub fn note(message: impl Into<String>) {
    let message = message.into();
    let _ = CURRENT.try_with(|scope| {
        scope.observer.on_event(&Event::Note {
            name: scope.migration,
            message: &message,
        });
        if let Ok(mut notes) = scope.notes.lock() {
            notes.push(message.clone());
        }
    });
}

/// Counts `n` documents changed by the running migration, as the driver reported them (a
/// helper's `modified_count`, a backfill's updates). The runner records the total on the
/// migration's tracing span (`documents_changed`). Outside a run it does nothing.
pub fn changed(n: u64) {
    let _ = CURRENT.try_with(|scope| {
        scope
            .changed
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed)
    });
}

/// Runs `future` (a migration's body) with `observer` receiving its [`report`]s, `notes`
/// collecting its [`note`]s and `changed` counting its [`changed`] documents.
pub(crate) async fn scope<F: Future>(
    migration: &'static str,
    observer: Arc<dyn Observer>,
    notes: Notes,
    changed: Changed,
    future: F,
) -> F::Output {
    CURRENT
        .scope(
            Scope {
                migration,
                observer,
                notes,
                changed,
            },
            future,
        )
        .await
}
