//! Progress reported from inside a running migration, shown by the runner's observer (the
//! `migrate` command draws it on its spinner).
//!
//! The runner scopes each migration's future with its observer (a task-local), so
//! [`report`] needs no handle: a migration, or a helper such as
//! [`batch::for_each_batch`](crate::batch::for_each_batch), just calls it. Outside a run (a
//! test calling `upgrade` directly) it does nothing.

use std::future::Future;
use std::sync::Arc;

use crate::observer::{Event, Observer};

struct Scope {
    migration: &'static str,
    observer: Arc<dyn Observer>,
}

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

/// Runs `future` (a migration's body) with `observer` receiving its [`report`]s.
pub(crate) async fn scope<F: Future>(
    migration: &'static str,
    observer: Arc<dyn Observer>,
    future: F,
) -> F::Output {
    CURRENT
        .scope(
            Scope {
                migration,
                observer,
            },
            future,
        )
        .await
}
