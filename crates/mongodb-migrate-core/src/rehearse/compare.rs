//! Compares the scratch database now with a [`Snapshot`] of it, streaming both sides of every
//! collection in `_id` order and merging them: memory holds a document of each side (and, for
//! the upgrade-again check, at most [`PAIRS`] re-created documents a collection), never a
//! collection.
//!
//! Documents are equal when their fields hold equal values of equal BSON types, in any field
//! order (as the round-trip harness compares them): `1` (int32) and `1.0` (double) differ.
//!
//! The upgrade-again check tolerates what a migration's markers declare it generates on every
//! run: documents it created (its marker's `created`) are paired in `_id` order with the first
//! upgrade's rather than matched by `_id`, and in documents carrying its marker, a date, a
//! timestamp or an ObjectId that differs from the first upgrade's (a `created_at: now`) is
//! counted as regenerated. Everything else must be equal.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashSet};

use bson::{Bson, Document, RawBsonRef, RawDocumentBuf};
use futures::TryStreamExt;
use mongodb::Database;

use super::bson_order;
use super::copy::cancelled;
use super::error::RehearsalError;
use super::report::{CheckReport, Difference, DifferenceKind, FieldDifference};
use super::snapshot::{self, Snapshot};
use crate::collection_spec;
use crate::CancelHandle;

/// Differences kept in full per check.
pub(crate) const EXAMPLES: usize = 5;
/// Field differences kept per document.
const FIELDS: usize = 10;
/// Re-created documents compared in detail per collection (beyond, they are paired by count).
pub(crate) const PAIRS: usize = 1000;
/// Characters of a value shown with `show_values`.
const VALUE_CHARS: usize = 120;

/// How a check compares.
#[derive(Debug, Clone)]
pub(crate) struct Options<'a> {
    /// The collections left out (state, lock, marker).
    pub exclude: &'a HashSet<String>,
    /// The upgrade-again tolerance for what this marker field declares; `None` is exact.
    pub marker: Option<String>,
    /// Show values rather than their types.
    pub show_values: bool,
}

/// The scratch database `db` now, against `before`.
pub(crate) async fn against(
    db: &Database,
    before: &Snapshot,
    options: &Options<'_>,
    cancel: &CancelHandle,
) -> Result<CheckReport, RehearsalError> {
    let mut report = CheckReport::default();
    let live: BTreeMap<String, collection_spec::CollectionSpec> = collection_spec::list(db)
        .await
        .map_err(RehearsalError::database(
            "listing the scratch database's collections",
        ))?
        .into_iter()
        .filter(|s| !options.exclude.contains(&s.name))
        .map(|s| (s.name.clone(), s))
        .collect();
    let names: BTreeSet<&String> = before.collections.keys().chain(live.keys()).collect();
    for name in names {
        let shot = before.collections.get(name);
        let now = live.get(name);
        let indexes = match now {
            Some(_) => {
                collection_spec::indexes(db, name)
                    .await
                    .map_err(RehearsalError::database(format!(
                        "listing the indexes of {name}"
                    )))?
            }
            None => BTreeMap::new(),
        };
        let mut merge = Merge::new(name, options, &mut report);
        let mut reader = match shot {
            Some(s) => s.reader(),
            None => Ok(snapshot::SpillReader::empty()),
        }
        .map_err(|source| RehearsalError::Spill {
            dir: snapshot::spill_dir(),
            source,
        })?;
        let after = match now {
            Some(spec) if !spec.is_view() => {
                let order = shot.map_or_else(|| snapshot::Order::first(spec), |s| s.order);
                Some(snapshot::sorted(db, spec, order).await?)
            }
            _ => None,
        };
        let counted = merge.run(&mut reader, after, cancel).await?;
        merge.finish();
        let trivial_now = now.is_none_or(|s| {
            s.kind == "collection" && collection_spec::is_trivial(&s.options, &indexes, counted.1)
        });
        if shot.is_none() && trivial_now {
            continue;
        }
        report.documents_compared += counted.0.max(counted.1);
        let empty = Document::new();
        let (options_before, options_now) = (
            shot.map_or(&empty, |s| &s.spec.options),
            now.map_or(&empty, |s| &s.options),
        );
        if options_before != options_now {
            definition(&mut report, name, None, options_before, options_now);
        }
        let nothing = BTreeMap::new();
        let indexes_before = shot.map_or(&nothing, |s| &s.indexes);
        let index_names: BTreeSet<&String> = indexes_before.keys().chain(indexes.keys()).collect();
        for index in index_names {
            let (x, y) = (indexes_before.get(index), indexes.get(index));
            if x != y {
                definition(
                    &mut report,
                    name,
                    Some(index),
                    x.unwrap_or(&empty),
                    y.unwrap_or(&empty),
                );
            }
        }
    }
    report.equal = report.differences() == 0;
    Ok(report)
}

/// A difference of a collection's options (`index` `None`) or of one of its indexes, shown in
/// full: definitions are not the application's data.
fn definition(
    report: &mut CheckReport,
    collection: &str,
    index: Option<&String>,
    before: &Document,
    after: &Document,
) {
    report.definitions += 1;
    let mut fields = Vec::new();
    let mut regenerated = 0;
    field_differences(
        before,
        after,
        "",
        false,
        true,
        &mut fields,
        &mut regenerated,
    );
    push(
        report,
        Difference {
            collection: collection.to_owned(),
            kind: if index.is_some() {
                DifferenceKind::Index
            } else {
                DifferenceKind::Options
            },
            id: None,
            index: index.cloned(),
            fields,
        },
    );
}

fn push(report: &mut CheckReport, difference: Difference) {
    if report.examples.len() < EXAMPLES {
        report.examples.push(difference);
    }
}

/// The merge of one collection's two sides.
struct Merge<'r, 'o> {
    collection: &'r str,
    options: &'r Options<'o>,
    report: &'r mut CheckReport,
    /// Documents the migration created, seen on one side only: (count, the first [`PAIRS`]).
    created_before: (u64, Vec<Document>),
    created_after: (u64, Vec<Document>),
}

impl<'r, 'o> Merge<'r, 'o> {
    fn new(collection: &'r str, options: &'r Options<'o>, report: &'r mut CheckReport) -> Self {
        Merge {
            collection,
            options,
            report,
            created_before: (0, Vec::new()),
            created_after: (0, Vec::new()),
        }
    }

    /// Walks both sides; returns how many documents each had.
    async fn run(
        &mut self,
        before: &mut snapshot::SpillReader,
        after: Option<mongodb::Cursor<RawDocumentBuf>>,
        cancel: &CancelHandle,
    ) -> Result<(u64, u64), RehearsalError> {
        let spill = |source| RehearsalError::Spill {
            dir: snapshot::spill_dir(),
            source,
        };
        let mut after = after;
        let collection = self.collection;
        let mut b = before.next_document().map_err(spill)?;
        let mut a = next_of(&mut after, collection).await?;
        let (mut nb, mut na) = (0_u64, 0_u64);
        let mut last_b: Option<RawDocumentBuf> = None;
        let mut last_a: Option<RawDocumentBuf> = None;
        loop {
            if (nb + na) % 2000 == 1999 && cancel.is_cancelled() {
                return Err(cancelled(cancel));
            }
            let order = match (&b, &a) {
                (None, None) => break,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(x), Some(y)) => bson_order::compare(id(x), id(y)),
            };
            if order != Ordering::Greater {
                let x = b.take().unwrap_or_default();
                self.check_order(&mut last_b, &x)?;
                nb += 1;
                if order == Ordering::Equal {
                    let y = a.take().unwrap_or_default();
                    self.check_order(&mut last_a, &y)?;
                    na += 1;
                    self.both(&x, &y);
                    a = next_of(&mut after, collection).await?;
                } else {
                    self.removed(&x);
                }
                b = before.next_document().map_err(spill)?;
            } else {
                let y = a.take().unwrap_or_default();
                self.check_order(&mut last_a, &y)?;
                na += 1;
                self.added(&y);
                a = next_of(&mut after, collection).await?;
            }
        }
        Ok((nb, na))
    }

    /// Each side must come strictly increasing by `_id` under this tool's order.
    fn check_order(
        &self,
        last: &mut Option<RawDocumentBuf>,
        next: &RawDocumentBuf,
    ) -> Result<(), RehearsalError> {
        if let Some(previous) = last.as_ref() {
            if bson_order::compare(id(previous), id(next)) != Ordering::Less {
                return Err(RehearsalError::IdOrder {
                    collection: self.collection.to_owned(),
                    previous: show_id(previous),
                    id: show_id(next),
                });
            }
        }
        *last = Some(next.clone());
        Ok(())
    }

    fn both(&mut self, x: &RawDocumentBuf, y: &RawDocumentBuf) {
        if x.as_bytes() == y.as_bytes() {
            return;
        }
        let (Ok(dx), Ok(dy)) = (x.to_document(), y.to_document()) else {
            self.changed(x, Vec::new());
            return;
        };
        if same_document(&dx, &dy) {
            return;
        }
        let tolerant = self.marked(&dx) || self.marked(&dy);
        let mut fields = Vec::new();
        let mut regenerated = 0;
        let differs = field_differences(
            &dx,
            &dy,
            "",
            tolerant,
            self.options.show_values,
            &mut fields,
            &mut regenerated,
        );
        if differs == 0 {
            self.report.regenerated += regenerated;
        } else {
            self.changed(x, fields);
        }
    }

    fn changed(&mut self, x: &RawDocumentBuf, fields: Vec<FieldDifference>) {
        self.report.changed += 1;
        let difference = Difference {
            collection: self.collection.to_owned(),
            kind: DifferenceKind::Changed,
            id: Some(show_id(x)),
            index: None,
            fields,
        };
        push(self.report, difference);
    }

    fn removed(&mut self, x: &RawDocumentBuf) {
        if let Some(d) = self.created(x) {
            self.created_before.0 += 1;
            if self.created_before.1.len() < PAIRS {
                self.created_before.1.push(d);
            }
            return;
        }
        self.one_side(x, DifferenceKind::Removed);
    }

    fn added(&mut self, y: &RawDocumentBuf) {
        if let Some(d) = self.created(y) {
            self.created_after.0 += 1;
            if self.created_after.1.len() < PAIRS {
                self.created_after.1.push(d);
            }
            return;
        }
        self.one_side(y, DifferenceKind::Added);
    }

    fn one_side(&mut self, d: &RawDocumentBuf, kind: DifferenceKind) {
        match kind {
            DifferenceKind::Removed => self.report.removed += 1,
            _ => self.report.added += 1,
        }
        let difference = Difference {
            collection: self.collection.to_owned(),
            kind,
            id: Some(show_id(d)),
            index: None,
            fields: Vec::new(),
        };
        push(self.report, difference);
    }

    /// Pairs the re-created documents: in `_id` order, the first upgrade's with the second's.
    fn finish(&mut self) {
        let before = std::mem::take(&mut self.created_before);
        let after = std::mem::take(&mut self.created_after);
        let pairs = before.0.min(after.0);
        let mut compared = 0_u64;
        for (x, y) in before.1.iter().zip(&after.1) {
            compared += 1;
            let mut fields = Vec::new();
            let mut regenerated = 0;
            let (mut x_body, mut y_body) = (x.clone(), y.clone());
            x_body.remove("_id");
            y_body.remove("_id");
            let differs = field_differences(
                &x_body,
                &y_body,
                "",
                true,
                self.options.show_values,
                &mut fields,
                &mut regenerated,
            );
            if differs == 0 {
                self.report.recreated += 1;
                self.report.regenerated += regenerated;
            } else {
                self.report.changed += 1;
                let id = |d: &Document| d.get("_id").map_or("?".to_owned(), relaxed);
                let difference = Difference {
                    collection: self.collection.to_owned(),
                    kind: DifferenceKind::Changed,
                    id: Some(format!("{} (first upgrade) / {} (again)", id(x), id(y))),
                    index: None,
                    fields,
                };
                push(self.report, difference);
            }
        }
        // Beyond the documents held, the pairs are counted, not compared.
        self.report.recreated += pairs - compared;
        let surplus = |(count, held): (u64, Vec<Document>),
                       kind,
                       report: &mut CheckReport,
                       collection: &str| {
            let extra = count - pairs;
            match kind {
                DifferenceKind::Removed => report.removed += extra,
                _ => report.added += extra,
            }
            for d in held
                .iter()
                .skip(usize::try_from(pairs).unwrap_or(usize::MAX))
            {
                push(
                    report,
                    Difference {
                        collection: collection.to_owned(),
                        kind,
                        id: Some(d.get("_id").map_or("?".to_owned(), relaxed)),
                        index: None,
                        fields: Vec::new(),
                    },
                );
            }
        };
        surplus(
            before,
            DifferenceKind::Removed,
            self.report,
            self.collection,
        );
        surplus(after, DifferenceKind::Added, self.report, self.collection);
    }

    /// Whether the document carries the migration's marker (the upgrade-again check only).
    fn marked(&self, d: &Document) -> bool {
        self.options
            .marker
            .as_ref()
            .is_some_and(|m| d.contains_key(m))
    }

    /// The document, when the migration's marker says the migration created it.
    fn created(&self, raw: &RawDocumentBuf) -> Option<Document> {
        let marker = self.options.marker.as_ref()?;
        let created = raw
            .get_document(marker)
            .ok()
            .is_some_and(|m| m.get("created").ok().flatten().is_some());
        created.then(|| raw.to_document().ok()).flatten()
    }
}

async fn next_of(
    cursor: &mut Option<mongodb::Cursor<RawDocumentBuf>>,
    collection: &str,
) -> Result<Option<RawDocumentBuf>, RehearsalError> {
    match cursor {
        Some(c) => c.try_next().await.map_err(RehearsalError::database(format!(
            "reading {collection} in _id order"
        ))),
        None => Ok(None),
    }
}

fn id(d: &RawDocumentBuf) -> RawBsonRef<'_> {
    d.get("_id").ok().flatten().unwrap_or(RawBsonRef::MinKey)
}

fn show_id(d: &RawDocumentBuf) -> String {
    match d.get("_id").ok().flatten() {
        Some(v) => snapshot::relaxed(v),
        None => "<no _id>".to_owned(),
    }
}

fn relaxed(v: &Bson) -> String {
    v.clone().into_relaxed_extjson().to_string()
}

/// Equal values of equal types, in any field order; a NaN equals a NaN.
fn same(x: &Bson, y: &Bson) -> bool {
    match (x, y) {
        (Bson::Double(a), Bson::Double(b)) => a == b || (a.is_nan() && b.is_nan()),
        (Bson::Document(a), Bson::Document(b)) => same_document(a, b),
        (Bson::Array(a), Bson::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        _ => x == y,
    }
}

fn same_document(a: &Document, b: &Document) -> bool {
    a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| same(v, w)))
}

/// Values a run generates: a new date, timestamp or ObjectId in place of the first run's.
fn is_regenerated(x: &Bson, y: &Bson) -> bool {
    matches!(
        (x, y),
        (Bson::DateTime(_), Bson::DateTime(_))
            | (Bson::Timestamp(_), Bson::Timestamp(_))
            | (Bson::ObjectId(_), Bson::ObjectId(_))
    )
}

/// Appends the differences between `a` and `b` below `prefix` (at most [`FIELDS`] kept) and
/// returns how many there are; with `tolerant`, regenerated values are counted in
/// `regenerated` instead.
fn field_differences(
    a: &Document,
    b: &Document,
    prefix: &str,
    tolerant: bool,
    show_values: bool,
    out: &mut Vec<FieldDifference>,
    regenerated: &mut u64,
) -> u64 {
    let mut keys: Vec<&String> = a.keys().collect();
    keys.extend(b.keys().filter(|k| !a.contains_key(k.as_str())));
    let mut n = 0;
    for key in keys {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        n += value_differences(
            &path,
            a.get(key),
            b.get(key),
            tolerant,
            show_values,
            out,
            regenerated,
        );
    }
    n
}

fn value_differences(
    path: &str,
    x: Option<&Bson>,
    y: Option<&Bson>,
    tolerant: bool,
    show_values: bool,
    out: &mut Vec<FieldDifference>,
    regenerated: &mut u64,
) -> u64 {
    match (x, y) {
        (Some(x), Some(y)) if same(x, y) => 0,
        (Some(Bson::Document(x)), Some(Bson::Document(y))) => {
            field_differences(x, y, path, tolerant, show_values, out, regenerated)
        }
        (Some(Bson::Array(x)), Some(Bson::Array(y))) => (0..x.len().max(y.len()))
            .map(|i| {
                value_differences(
                    &format!("{path}.{i}"),
                    x.get(i),
                    y.get(i),
                    tolerant,
                    show_values,
                    out,
                    regenerated,
                )
            })
            .sum(),
        (Some(x), Some(y)) if tolerant && is_regenerated(x, y) => {
            *regenerated += 1;
            0
        }
        _ => {
            if out.len() < FIELDS {
                out.push(FieldDifference {
                    path: path.to_owned(),
                    before: shown(x, show_values),
                    after: shown(y, show_values),
                });
            }
            1
        }
    }
}

/// A value as a difference shows it: its type, or with `show_values` the value itself
/// (relaxed extended JSON, shortened).
pub(crate) fn shown(v: Option<&Bson>, show_values: bool) -> String {
    let Some(v) = v else {
        return "absent".to_owned();
    };
    if !show_values {
        return type_name(v).to_owned();
    }
    let text = relaxed(v);
    if text.chars().count() > VALUE_CHARS {
        let cut: String = text.chars().take(VALUE_CHARS).collect();
        format!("{cut}…")
    } else {
        text
    }
}

fn type_name(v: &Bson) -> &'static str {
    match v {
        Bson::Double(_) => "double",
        Bson::String(_) => "string",
        Bson::Array(_) => "array",
        Bson::Document(_) => "document",
        Bson::Boolean(_) => "bool",
        Bson::Null => "null",
        Bson::RegularExpression(_) => "regex",
        Bson::JavaScriptCode(_) | Bson::JavaScriptCodeWithScope(_) => "javascript",
        Bson::Int32(_) => "int32",
        Bson::Int64(_) => "int64",
        Bson::Timestamp(_) => "timestamp",
        Bson::Binary(_) => "binary",
        Bson::ObjectId(_) => "objectId",
        Bson::DateTime(_) => "date",
        Bson::Symbol(_) => "symbol",
        Bson::Decimal128(_) => "decimal128",
        Bson::Undefined => "undefined",
        Bson::MaxKey => "maxKey",
        Bson::MinKey => "minKey",
        Bson::DbPointer(_) => "dbPointer",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn diff(
        a: Document,
        b: Document,
        tolerant: bool,
        show: bool,
    ) -> (u64, Vec<FieldDifference>, u64) {
        let mut out = Vec::new();
        let mut regenerated = 0;
        let n = field_differences(&a, &b, "", tolerant, show, &mut out, &mut regenerated);
        (n, out, regenerated)
    }

    #[test]
    fn differences_are_named_by_path_with_types_unless_values_are_shown() {
        let (n, out, _) = diff(
            doc! { "_id": 1, "a": { "city": "Oslo", "zip": 1 }, "tags": ["x", "y"], "gone": true },
            doc! { "_id": 1, "a": { "city": "Bergen", "zip": 1 }, "tags": ["x"], "new": 2_i64 },
            false,
            false,
        );
        assert_eq!(n, 4);
        let paths: Vec<(&str, &str, &str)> = out
            .iter()
            .map(|f| (f.path.as_str(), f.before.as_str(), f.after.as_str()))
            .collect();
        assert_eq!(
            paths,
            [
                ("a.city", "string", "string"),
                ("tags.1", "string", "absent"),
                ("gone", "bool", "absent"),
                ("new", "absent", "int64"),
            ]
        );
        let (_, shown, _) = diff(doc! { "a": "Oslo" }, doc! { "a": "Bergen" }, false, true);
        assert_eq!(
            (shown[0].before.as_str(), shown[0].after.as_str()),
            ("\"Oslo\"", "\"Bergen\"")
        );
    }

    #[test]
    fn field_order_does_not_count_but_types_do() {
        assert_eq!(
            diff(
                doc! { "a": 1, "b": { "x": 1, "y": 2 } },
                doc! { "b": { "y": 2, "x": 1 }, "a": 1 },
                false,
                false
            )
            .0,
            0
        );
        assert_eq!(diff(doc! { "a": 1 }, doc! { "a": 1.0 }, false, false).0, 1);
        assert_eq!(
            diff(doc! { "a": f64::NAN }, doc! { "a": f64::NAN }, false, false).0,
            0
        );
    }

    #[test]
    fn only_the_tolerant_check_forgives_regenerated_values() {
        let (a, b) = (
            doc! { "at": bson::DateTime::from_millis(1), "by": bson::oid::ObjectId::new(), "n": 1 },
            doc! { "at": bson::DateTime::from_millis(2), "by": bson::oid::ObjectId::new(), "n": 1 },
        );
        assert_eq!(diff(a.clone(), b.clone(), false, false).0, 2);
        let (n, _, regenerated) = diff(a, b, true, false);
        assert_eq!((n, regenerated), (0, 2));
        // A date turned into a string is not a regenerated value.
        assert_eq!(
            diff(
                doc! { "at": bson::DateTime::from_millis(1) },
                doc! { "at": "now" },
                true,
                false
            )
            .0,
            1
        );
    }
}
