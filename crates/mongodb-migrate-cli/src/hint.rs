//! What to do next, after a library error: the flags and commands of this command line.
//!
//! The library's messages say what happened; the remedies name `migrate`'s own flags, so they
//! are added here, to the message the user sees.

use mongodb_migrate_core::rehearse::RehearsalError;
use mongodb_migrate_core::{ConfigError, Error, Refusal};

use crate::CliError;

/// What `migrate new` says: scaffolding is a development tool, not part of a deployed binary.
pub(crate) const SCAFFOLDING_MOVED: &str = "`migrate new` is not part of the deployed binary: \
     scaffolding moved to a development tool. Write a migration with `cargo mongodb-migrate new NAME` \
     (or `new --merge`), installed with `cargo install cargo-mongodb-migrate`";

/// The hint to append to `e`'s message, if any.
pub(crate) fn for_error(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let e = match e.downcast_ref::<CliError>() {
        Some(CliError::Migrate(m)) => m.as_ref(),
        Some(CliError::Rehearse(r)) => return rehearsal(r),
        Some(_) => return None,
        None => e.downcast_ref::<Error>()?,
    };
    library(e)
}

/// What to do after a rehearsal stopped before its verdict.
fn rehearsal(e: &RehearsalError) -> Option<String> {
    if e.is_authorization() {
        return Some(
            ". The rehearsal's user needs `read` on the source database, and `readWrite` and \
             `dbAdmin` on the scratch database (name it with --scratch-db: roles are granted on \
             exact names); see docs/rehearse.md#roles"
                .to_owned(),
        );
    }
    let hint = match e {
        RehearsalError::Source(e) | RehearsalError::Scratch(e) => return library(e),
        RehearsalError::ScratchIsSource { .. } | RehearsalError::ScratchNotOurs { .. } => {
            ". Name another scratch database with --scratch-db."
        }
        RehearsalError::ScratchInUse { .. } => {
            ". Let that rehearsal finish, or name another scratch database with --scratch-db."
        }
        _ => return None,
    };
    Some(hint.to_owned())
}

fn library(e: &Error) -> Option<String> {
    let hint = match e {
        Error::Config(ConfigError::NoUri) => ": pass --uri or set MONGO_URI (also read from .env)",
        Error::Config(ConfigError::NoDatabase) => {
            ": pass --database or put it in the URI path (mongodb://host/DATABASE)"
        }
        Error::Refused(r) => return refusal(r),
        _ => return None,
    };
    Some(hint.to_owned())
}

fn refusal(r: &Refusal) -> Option<String> {
    let hint = match r {
        Refusal::FailedRecord { .. } => {
            " The way forward:\n  \
             - fix the migration, rebuild, and run `migrate up --retry` to run it again; or\n  \
             - run `migrate down --retry` to run its downgrade (undoing what it did) and clear the record.\n\
             `migrate status` shows the recorded error."
        }
        Refusal::ChangedDowngrade { .. } => {
            " Restore the code, or pass --allow-changed to run the new downgrade."
        }
        Refusal::Changed { .. } => {
            " Restore its code; or, if the edit is harmless, accept it once with `migrate accept-changes` (or pass --allow-changed for this run)."
        }
        Refusal::Unknown { .. } => " Pass --allow-unknown to go on anyway.",
        Refusal::OutOfOrder { .. } => {
            " Check what happened (state written by another tool or by hand?); pass --allow-out-of-order to apply them anyway."
        }
        Refusal::HasDependents {
            failed_dependent: true,
            ..
        } => {
            "\n(a failed migration counts: its upgrade may have run partly; `migrate down --retry` reverts it first)"
        }
        Refusal::HasDependents { .. } | Refusal::Irreversible { .. } => return None,
    };
    Some(hint.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The message a user sees is the library's plus the hint, word for word as documented.
    #[test]
    fn hints_complete_the_library_messages() {
        let e = Error::from(Refusal::Changed {
            changed: vec!["0002_x".to_owned()],
        });
        let shown = format!("{e}{}", for_error(&e).unwrap_or_default());
        assert_eq!(
            shown,
            "1 migration changed since applied: 0002_x\nAn applied migration is not re-run. Restore its code; or, if the edit is harmless, accept it once with `migrate accept-changes` (or pass --allow-changed for this run)."
        );
        let e = CliError::from(Error::from(ConfigError::NoUri));
        assert_eq!(
            format!("{e}{}", for_error(&e).unwrap_or_default()),
            "no MongoDB URI: pass --uri or set MONGO_URI (also read from .env)"
        );
        let irreversible = Error::from(Refusal::Irreversible {
            name: "x".to_owned(),
            reason: "y".to_owned(),
        });
        assert_eq!(for_error(&irreversible), None);
    }
}
