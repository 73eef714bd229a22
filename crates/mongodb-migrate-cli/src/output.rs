//! Where a command's stdout lines go: in a fleet, each database's lines carry its name (a
//! prefix for people; a `database` field is already in every JSON line).

use std::future::Future;

tokio::task_local! {
    static PREFIX: Option<String>;
}

/// Runs `future` (one database of a fleet) with every human line it prints prefixed by
/// `prefix`; JSON documents it prints are compact, one a line.
pub(crate) async fn with_prefix<F: Future>(prefix: Option<String>, future: F) -> F::Output {
    PREFIX.scope(prefix, future).await
}

/// Whether the output belongs to one database of a fleet.
pub(crate) fn in_fleet() -> bool {
    PREFIX.try_with(|_| ()).is_ok()
}

/// `text` with the current prefix on each of its lines.
pub(crate) fn prefixed(text: &str) -> std::borrow::Cow<'_, str> {
    match PREFIX.try_with(Clone::clone).ok().flatten() {
        Some(p) => std::borrow::Cow::Owned(
            text.lines()
                .map(|l| format!("{p}{l}"))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        None => std::borrow::Cow::Borrowed(text),
    }
}
