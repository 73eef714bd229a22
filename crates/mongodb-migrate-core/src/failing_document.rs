//! Which document a failed write was about, when the server's error says so: a document that
//! failed validation (`errInfo.failingDocumentId`, MongoDB 5.0+), or a duplicate key (the index
//! and the key, from the message `… index: NAME dup key: { … }`, since the driver keeps no
//! `keyValue`).

use bson::Bson;
use mongodb::error::{ErrorKind, WriteFailure};
use serde::Serialize;

/// `DocumentValidationFailure`.
const VALIDATION: i32 = 121;
/// `DuplicateKey`.
const DUPLICATE_KEY: i32 = 11000;

/// The document a failed write was about, as the server's error names it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailingDocument {
    /// The server's error code: 121 (validation) or 11000 (duplicate key).
    pub code: i32,
    /// The document's `_id`, in relaxed extended JSON: validation errors carry it; a duplicate
    /// key on the `_id_` index is the `_id` itself.
    pub id: Option<String>,
    /// The unique index a duplicate key collided on.
    pub index: Option<String>,
    /// The duplicate key as the server printed it (`{ slug: "blog" }`): it holds document
    /// values, so front ends show it only when asked to show values.
    pub key: Option<String>,
}

/// The first failing document named by a driver error in `error`'s cause chain.
pub(crate) fn of_error(error: &anyhow::Error) -> Option<FailingDocument> {
    error
        .chain()
        .filter_map(|c| c.downcast_ref::<mongodb::error::Error>())
        .find_map(of_driver_error)
}

fn of_driver_error(e: &mongodb::error::Error) -> Option<FailingDocument> {
    match &*e.kind {
        ErrorKind::Write(WriteFailure::WriteError(w)) => {
            of_write(w.code, &w.message, w.details.as_ref())
        }
        ErrorKind::InsertMany(m) => m
            .write_errors
            .as_deref()
            .unwrap_or_default()
            .iter()
            .find_map(|w| of_write(w.code, &w.message, w.details.as_ref())),
        ErrorKind::BulkWrite(b) => b
            .write_errors
            .values()
            .find_map(|w| of_write(w.code, &w.message, w.details.as_ref())),
        // A unique index built over duplicates fails as a command.
        ErrorKind::Command(c) => of_write(c.code, &c.message, None),
        _ => None,
    }
}

fn of_write(code: i32, message: &str, details: Option<&bson::Document>) -> Option<FailingDocument> {
    match code {
        VALIDATION => {
            let id = details.and_then(|d| d.get("failingDocumentId"))?;
            Some(FailingDocument {
                code,
                id: Some(relaxed(id)),
                index: None,
                key: None,
            })
        }
        DUPLICATE_KEY => {
            let (index, key) = parse_duplicate(message);
            let id = match (&index, &key) {
                (Some(i), Some(k)) if i == "_id_" => k
                    .trim()
                    .strip_prefix('{')
                    .and_then(|k| k.strip_suffix('}'))
                    .and_then(|k| k.trim().strip_prefix("_id:"))
                    .map(|v| v.trim().to_owned()),
                _ => None,
            };
            Some(FailingDocument {
                code,
                id,
                index,
                key,
            })
        }
        _ => None,
    }
}

/// `E11000 duplicate key error collection: db.c index: NAME dup key: { k: 1 }` → (NAME, `{ k: 1 }`).
fn parse_duplicate(message: &str) -> (Option<String>, Option<String>) {
    let index = message.split(" index: ").nth(1).and_then(|rest| {
        rest.split_whitespace()
            .next()
            .map(|name| name.trim_end_matches(',').to_owned())
    });
    let key = message
        .split_once("dup key: ")
        .map(|(_, key)| key.trim().to_owned())
        .filter(|k| k.starts_with('{'));
    (index, key)
}

fn relaxed(value: &Bson) -> String {
    value.clone().into_relaxed_extjson().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duplicate_key_names_its_index_and_key() {
        let (index, key) = parse_duplicate(
            "Plan executor error during update :: caused by :: E11000 duplicate key error \
             collection: app.pages index: slug_1 dup key: { slug: \"a\" }",
        );
        assert_eq!(index.as_deref(), Some("slug_1"));
        assert_eq!(key.as_deref(), Some("{ slug: \"a\" }"));
    }

    #[test]
    fn a_duplicate_id_is_the_document_id() {
        let found = of_write(
            DUPLICATE_KEY,
            "E11000 duplicate key error collection: app.c index: _id_ dup key: { _id: 5 }",
            None,
        )
        .expect("a duplicate key");
        assert_eq!(found.id.as_deref(), Some("5"));
        assert_eq!(found.index.as_deref(), Some("_id_"));
    }

    #[test]
    fn a_validation_failure_carries_the_failing_id() {
        let details = bson::doc! { "failingDocumentId": "s-7", "details": {} };
        let found = of_write(VALIDATION, "Document failed validation", Some(&details))
            .expect("a validation failure");
        assert_eq!(found.id.as_deref(), Some("\"s-7\""));
        assert_eq!(of_write(2, "BadValue", None), None);
    }
}
