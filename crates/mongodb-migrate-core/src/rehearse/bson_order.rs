//! The order in which MongoDB sorts BSON values (`sort({_id: 1})` under the simple collation),
//! so that two `_id`-ordered streams can be merged: the comparison walks both at once and must
//! know which side is behind.
//!
//! Values of different types sort by their canonical type (MinKey < null < numbers < strings <
//! objects < arrays < binary < ObjectId < booleans < dates < timestamps < regular expressions <
//! DBPointer < code < code with scope < MaxKey), numbers by value whatever their type, strings
//! by their UTF-8 bytes, documents and arrays element by element (type, field name, value), and
//! binary data by length, subtype, then bytes (MongoDB's `BSONElement::compareElements`).
//! Decimal128 values are compared as the nearest double, which is exact for every `_id` short
//! of 16 significant digits; a stream that is not strictly increasing under this order is
//! detected by the comparison and reported, never merged wrongly.

use std::cmp::Ordering;

use bson::spec::BinarySubtype;
use bson::{RawBsonRef, RawDocument};

/// Compares two BSON values as MongoDB sorts them.
pub(crate) fn compare(a: RawBsonRef<'_>, b: RawBsonRef<'_>) -> Ordering {
    let (ra, rb) = (rank(a), rank(b));
    if ra != rb {
        return ra.cmp(&rb);
    }
    use RawBsonRef as R;
    match (a, b) {
        (R::String(x) | R::Symbol(x), R::String(y) | R::Symbol(y)) => {
            x.as_bytes().cmp(y.as_bytes())
        }
        (R::Document(x), R::Document(y)) => compare_documents(x, y),
        (R::Array(x), R::Array(y)) => compare_arrays(x, y),
        (R::Binary(x), R::Binary(y)) => x
            .bytes
            .len()
            .cmp(&y.bytes.len())
            .then_with(|| subtype(x.subtype).cmp(&subtype(y.subtype)))
            .then_with(|| x.bytes.cmp(y.bytes)),
        (R::ObjectId(x), R::ObjectId(y)) => x.bytes().cmp(&y.bytes()),
        (R::Boolean(x), R::Boolean(y)) => x.cmp(&y),
        (R::DateTime(x), R::DateTime(y)) => x.timestamp_millis().cmp(&y.timestamp_millis()),
        (R::Timestamp(x), R::Timestamp(y)) => (x.time, x.increment).cmp(&(y.time, y.increment)),
        (R::RegularExpression(x), R::RegularExpression(y)) => x
            .pattern
            .as_bytes()
            .cmp(y.pattern.as_bytes())
            .then_with(|| x.options.as_bytes().cmp(y.options.as_bytes())),
        (R::DbPointer(_), R::DbPointer(_)) => a_bytes(a).cmp(&a_bytes(b)),
        (R::JavaScriptCode(x), R::JavaScriptCode(y)) => x.as_bytes().cmp(y.as_bytes()),
        (R::JavaScriptCodeWithScope(x), R::JavaScriptCodeWithScope(y)) => x
            .code
            .as_bytes()
            .cmp(y.code.as_bytes())
            .then_with(|| compare_documents(x.scope, y.scope)),
        _ if ra == NUMBERS => compare_numbers(a, b),
        // MinKey, MaxKey, null and undefined: one value each.
        _ => Ordering::Equal,
    }
}

const NUMBERS: u8 = 10;

/// MongoDB's canonical type order (`canonicalizeBSONType`), shifted to stay unsigned.
fn rank(v: RawBsonRef<'_>) -> u8 {
    use RawBsonRef as R;
    match v {
        R::MinKey => 0,
        R::Undefined => 1,
        R::Null => 5,
        R::Double(_) | R::Int32(_) | R::Int64(_) | R::Decimal128(_) => NUMBERS,
        R::String(_) | R::Symbol(_) => 15,
        R::Document(_) => 20,
        R::Array(_) => 25,
        R::Binary(_) => 30,
        R::ObjectId(_) => 35,
        R::Boolean(_) => 40,
        R::DateTime(_) => 45,
        R::Timestamp(_) => 47,
        R::RegularExpression(_) => 50,
        R::DbPointer(_) => 55,
        R::JavaScriptCode(_) => 60,
        R::JavaScriptCodeWithScope(_) => 65,
        R::MaxKey => 127,
    }
}

fn subtype(s: BinarySubtype) -> u8 {
    u8::from(s)
}

/// A DBPointer's bytes, for an order among them that is at least consistent.
fn a_bytes(v: RawBsonRef<'_>) -> Vec<u8> {
    let mut doc = bson::RawDocumentBuf::new();
    doc.append("v", v.to_raw_bson());
    doc.into_bytes()
}

/// Documents element by element: canonical type, then field name, then value; a prefix sorts
/// first.
pub(crate) fn compare_documents(a: &RawDocument, b: &RawDocument) -> Ordering {
    let mut x = a.iter();
    let mut y = b.iter();
    loop {
        match (x.next(), y.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(Ok((kx, vx))), Some(Ok((ky, vy)))) => {
                let order = rank(vx)
                    .cmp(&rank(vy))
                    .then_with(|| kx.as_bytes().cmp(ky.as_bytes()))
                    .then_with(|| compare(vx, vy));
                if order != Ordering::Equal {
                    return order;
                }
            }
            // Malformed BSON from the server: order it last, consistently.
            (Some(Err(_)), Some(Err(_))) => return Ordering::Equal,
            (Some(Err(_)), Some(Ok(_))) => return Ordering::Greater,
            (Some(Ok(_)), Some(Err(_))) => return Ordering::Less,
        }
    }
}

/// Arrays as MongoDB compares them: as documents keyed `0`, `1`, …, so element by element.
fn compare_arrays(a: &bson::RawArray, b: &bson::RawArray) -> Ordering {
    let mut x = a.into_iter();
    let mut y = b.into_iter();
    loop {
        match (x.next(), y.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(Ok(vx)), Some(Ok(vy))) => {
                let order = rank(vx).cmp(&rank(vy)).then_with(|| compare(vx, vy));
                if order != Ordering::Equal {
                    return order;
                }
            }
            (Some(Err(_)), Some(Err(_))) => return Ordering::Equal,
            (Some(Err(_)), Some(Ok(_))) => return Ordering::Greater,
            (Some(Ok(_)), Some(Err(_))) => return Ordering::Less,
        }
    }
}

/// A number of any BSON numeric type.
#[derive(Clone, Copy)]
enum Number {
    Int(i64),
    Float(f64),
}

fn number(v: RawBsonRef<'_>) -> Number {
    match v {
        RawBsonRef::Int32(i) => Number::Int(i64::from(i)),
        RawBsonRef::Int64(i) => Number::Int(i),
        RawBsonRef::Double(f) => Number::Float(f),
        RawBsonRef::Decimal128(d) => {
            Number::Float(d.to_string().parse::<f64>().unwrap_or(f64::NAN))
        }
        _ => Number::Float(f64::NAN),
    }
}

fn compare_numbers(a: RawBsonRef<'_>, b: RawBsonRef<'_>) -> Ordering {
    match (number(a), number(b)) {
        (Number::Int(x), Number::Int(y)) => x.cmp(&y),
        (Number::Float(x), Number::Float(y)) => compare_floats(x, y),
        (Number::Int(x), Number::Float(y)) => compare_int_float(x, y),
        (Number::Float(x), Number::Int(y)) => compare_int_float(y, x).reverse(),
    }
}

/// NaN sorts before every other number, as in MongoDB.
fn compare_floats(x: f64, y: f64) -> Ordering {
    match (x.is_nan(), y.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
    }
}

/// Exact for every i64 (an i64 beyond 2^53 is not a double).
fn compare_int_float(x: i64, y: f64) -> Ordering {
    if y.is_nan() {
        return Ordering::Greater;
    }
    // 2^63 as a double: every i64 is below it, and at or above -2^63.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if y >= LIMIT {
        return Ordering::Less;
    }
    if y < -LIMIT {
        return Ordering::Greater;
    }
    let whole = y.trunc();
    // `whole` is an integer within i64's range, so the cast is exact.
    match x.cmp(&(whole as i64)) {
        Ordering::Equal => compare_floats(0.0, y - whole),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{doc, oid::ObjectId, Bson, Decimal128, RawDocumentBuf};

    fn ordered(values: Vec<Bson>) {
        let docs: Vec<RawDocumentBuf> = values
            .iter()
            .map(|v| RawDocumentBuf::from_document(&doc! { "v": v.clone() }).expect("raw"))
            .collect();
        for (i, a) in docs.iter().enumerate() {
            for (j, b) in docs.iter().enumerate() {
                let (x, y) = (a.get("v").unwrap().unwrap(), b.get("v").unwrap().unwrap());
                assert_eq!(
                    compare(x, y),
                    i.cmp(&j),
                    "{:?} against {:?}",
                    values[i],
                    values[j]
                );
            }
        }
    }

    /// The order SecantusDB and MongoDB return for `sort({_id: 1})` over these `_id`s.
    #[test]
    fn types_sort_as_the_server_sorts_them() {
        ordered(vec![
            Bson::MinKey,
            Bson::Null,
            Bson::Int32(1),
            Bson::Double(2.5),
            Bson::Decimal128("2.75".parse::<Decimal128>().expect("decimal")),
            Bson::Int64(3),
            Bson::String("B".into()),
            Bson::String("a".into()),
            Bson::Document(doc! { "a": 1 }),
            Bson::Document(doc! { "a": 1, "b": 2 }),
            Bson::Document(doc! { "b": 0 }),
            Bson::Binary(bson::Binary {
                subtype: BinarySubtype::Generic,
                bytes: vec![1],
            }),
            Bson::ObjectId(ObjectId::parse_str("6b1331880bd881fbe709c65e").expect("oid")),
            Bson::Boolean(false),
            Bson::Boolean(true),
            Bson::DateTime(bson::DateTime::from_millis(1_577_836_800_000)),
            Bson::Timestamp(bson::Timestamp {
                time: 1,
                increment: 2,
            }),
            Bson::RegularExpression(bson::Regex {
                pattern: "a".into(),
                options: String::new(),
            }),
            Bson::MaxKey,
        ]);
    }

    #[test]
    fn numbers_compare_by_value_across_types() {
        ordered(vec![
            Bson::Double(f64::NAN),
            Bson::Double(f64::NEG_INFINITY),
            Bson::Int64(i64::MIN),
            Bson::Int32(-1),
            Bson::Double(-0.5),
            Bson::Int32(0),
            Bson::Double(0.5),
            Bson::Int64(9_007_199_254_740_993),
            Bson::Double(9_007_199_254_740_994.0),
            Bson::Int64(i64::MAX),
            Bson::Double(f64::INFINITY),
        ]);
        let one = |v: Bson| RawDocumentBuf::from_document(&doc! { "v": v }).expect("raw");
        let (a, b) = (one(Bson::Int32(2)), one(Bson::Double(2.0)));
        assert_eq!(
            compare(a.get("v").unwrap().unwrap(), b.get("v").unwrap().unwrap()),
            Ordering::Equal
        );
    }

    #[test]
    fn strings_and_binaries_compare_bytes_and_lengths() {
        ordered(vec![
            Bson::String("".into()),
            Bson::String("Z".into()),
            Bson::String("a".into()),
            Bson::String("ab".into()),
            Bson::String("é".into()),
        ]);
        let bin = |subtype, bytes: &[u8]| {
            Bson::Binary(bson::Binary {
                subtype,
                bytes: bytes.to_vec(),
            })
        };
        ordered(vec![
            bin(BinarySubtype::UserDefined(0x80), &[9]),
            bin(BinarySubtype::Generic, &[0, 0]),
            bin(BinarySubtype::Uuid, &[0, 0]),
            bin(BinarySubtype::Uuid, &[0, 1]),
        ]);
    }
}
