//! A deterministic sample of each collection: the same documents on every run against unchanged
//! data, so two rehearsals of one database can be compared.

use std::fmt;
use std::str::FromStr;

use bson::{RawBsonRef, RawDocumentBuf};
use serde::Serialize;

/// Which documents of each collection a sampled rehearsal copies.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Sample {
    /// The first N documents in `_id` order: the cheapest (the source reads N), but for
    /// time-ordered ids (ObjectIds) the oldest documents, which may not look like today's.
    First(u64),
    /// About this percentage of every collection (0 < p ≤ 100), chosen by a seeded hash of
    /// `_id`: spread over the whole collection, old and new alike. The source reads every
    /// document; the scratch database receives the sample.
    Percent(f64),
}

/// Why a `--sample` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a sample: {reason} (write a number of documents, such as 1000, or a percentage, such as 5%)")]
pub struct BadSample {
    /// The value given.
    pub value: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl FromStr for Sample {
    type Err = BadSample;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason| BadSample {
            value: s.to_owned(),
            reason,
        };
        let t = s.trim();
        if let Some(p) = t.strip_suffix('%') {
            let p: f64 = p
                .trim()
                .parse()
                .map_err(|_| bad("the percentage is not a number"))?;
            if !(p > 0.0 && p <= 100.0) {
                return Err(bad("a percentage must be above 0 and at most 100"));
            }
            return Ok(Sample::Percent(p));
        }
        let n: u64 = t
            .replace('_', "")
            .parse()
            .map_err(|_| bad("not a whole number of documents"))?;
        if n == 0 {
            return Err(bad("a sample of 0 documents copies nothing"));
        }
        Ok(Sample::First(n))
    }
}

impl fmt::Display for Sample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sample::First(n) => write!(f, "the first {n} documents of each collection by _id"),
            Sample::Percent(p) => write!(f, "about {p}% of each collection (a seeded hash of _id)"),
        }
    }
}

/// The seed of the hash: fixed, so a sample is the same on every run and every machine.
const SEED: &[u8] = b"mongodb-migrate/rehearse/sample/v1";

impl Sample {
    /// How many of `count` documents the sample holds, about.
    pub fn of(&self, count: u64) -> u64 {
        match *self {
            Sample::First(n) => n.min(count),
            Sample::Percent(p) => ((count as f64) * p / 100.0).ceil() as u64,
        }
    }

    /// Whether a percentage sample keeps the document with this `_id` (a first-N sample keeps
    /// what its query returns).
    pub(crate) fn keeps(&self, id: Option<RawBsonRef<'_>>) -> bool {
        let Sample::Percent(p) = *self else {
            return true;
        };
        let Some(id) = id else {
            return false;
        };
        // The `_id` as a one-field document: its type and bytes, identical on every platform.
        let mut key = RawDocumentBuf::new();
        key.append("", id.to_raw_bson());
        let hash = fnv1a(SEED.iter().chain(key.as_bytes()));
        (hash % 10_000) < (p * 100.0).round() as u64
    }
}

/// 64-bit FNV-1a: a stable hash, unlike std's, whose algorithm may change between releases.
fn fnv1a<'a>(bytes: impl Iterator<Item = &'a u8>) -> u64 {
    bytes.fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_parse() {
        assert_eq!("1000".parse(), Ok(Sample::First(1000)));
        assert_eq!("10_000".parse(), Ok(Sample::First(10_000)));
        assert_eq!("5%".parse(), Ok(Sample::Percent(5.0)));
        assert_eq!(" 0.5 %".parse(), Ok(Sample::Percent(0.5)));
        for bad in ["0", "0%", "101%", "-3", "lots", "%"] {
            assert!(bad.parse::<Sample>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_percentage_keeps_about_that_share_and_the_same_ids_every_time() {
        let sample = Sample::Percent(10.0);
        let kept: Vec<i64> = (0..20_000_i64)
            .filter(|i| {
                let d = bson::rawdoc! { "_id": *i };
                sample.keeps(d.get("_id").ok().flatten())
            })
            .collect();
        assert!((1_800..2_200).contains(&kept.len()), "{} kept", kept.len());
        let again: Vec<i64> = (0..20_000_i64)
            .filter(|i| sample.keeps(bson::rawdoc! { "_id": *i }.get("_id").ok().flatten()))
            .collect();
        assert_eq!(kept, again);
        assert!(
            Sample::Percent(100.0).keeps(bson::rawdoc! { "_id": "x" }.get("_id").ok().flatten())
        );
        assert_eq!(Sample::First(5).of(3), 3);
        assert_eq!(Sample::Percent(10.0).of(95), 10);
    }
}
