//! SIGTERM and SIGINT: the first cancels the run (the runner records the cancellation and
//! releases the lease, then the process exits 143 or 130); a second exits at once.

use crate::exit_code;
use mongodb_migrate_core::CancelHandle;

/// The signal listener; stops listening when dropped.
#[derive(Debug)]
pub(crate) struct Signals(tokio::task::JoinHandle<()>);

impl Drop for Signals {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The exit code for the signal that cancelled `cancel`.
pub(crate) fn exit_code(cancel: &CancelHandle) -> u8 {
    match cancel.reason().as_deref() {
        Some("SIGTERM") => exit_code::TERMINATED,
        _ => exit_code::INTERRUPTED,
    }
}

/// Listens for SIGTERM and SIGINT, cancelling `cancel` on the first.
pub(crate) fn install(cancel: CancelHandle) -> Signals {
    Signals(tokio::spawn(async move {
        let Some(first) = next_signal().await else {
            return;
        };
        cancel.cancel(first);
        if next_signal().await.is_some() {
            eprintln!("error: second signal; exiting at once (the lease expires on its own)");
            std::process::exit(i32::from(exit_code(&cancel)));
        }
    }))
}

#[cfg(unix)]
async fn next_signal() -> Option<&'static str> {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return None;
    };
    tokio::select! {
        _ = term.recv() => Some("SIGTERM"),
        _ = int.recv() => Some("SIGINT"),
    }
}

#[cfg(not(unix))]
async fn next_signal() -> Option<&'static str> {
    tokio::signal::ctrl_c().await.ok().map(|()| "SIGINT")
}
