//! Replication lag, read from the server: how far the slowest healthy secondary is behind
//! the primary.
//!
//! It comes from `replSetGetStatus` (on the `admin` database): the primary's `optimeDate`
//! minus the oldest `optimeDate` among the members in state SECONDARY (2) with `health: 1`.
//! Arbiters, members that are down, recovering or still syncing initially are not counted: a
//! backfill must not wait for a member that cannot catch up anyway. A standalone server
//! answers `NoReplicationEnabled` and has no lag; a single-node replica set has no secondary
//! and no lag either. Reading it needs the `clusterMonitor` role (or `replSetGetStatus`
//! privilege); without it, the throttle says so once and runs without the lag bound.

use std::time::Duration;

use bson::{Bson, Document};

/// The lag in a `replSetGetStatus` reply: `None` when the reply names no primary (an election
/// in progress, say) and so cannot be judged; zero without a healthy secondary.
pub fn from_repl_set_status(reply: &Document) -> Option<Duration> {
    let members = reply.get_array("members").ok()?;
    let optime = |m: &Document| m.get_datetime("optimeDate").ok().copied();
    let members: Vec<&Document> = members.iter().filter_map(Bson::as_document).collect();
    let primary = members
        .iter()
        .find(|m| number(m.get("state")) == Some(1))
        .and_then(|m| optime(m))?;
    let slowest = members
        .iter()
        .filter(|m| number(m.get("state")) == Some(2) && number(m.get("health")) == Some(1))
        .filter_map(|m| optime(m))
        .min();
    Some(match slowest {
        Some(s) => {
            let ms = primary
                .timestamp_millis()
                .saturating_sub(s.timestamp_millis());
            Duration::from_millis(u64::try_from(ms).unwrap_or(0))
        }
        None => Duration::ZERO,
    })
}

fn number(b: Option<&Bson>) -> Option<i64> {
    match b? {
        Bson::Int32(v) => Some(i64::from(*v)),
        Bson::Int64(v) => Some(*v),
        Bson::Double(v) => Some(*v as i64),
        _ => None,
    }
}

/// What the server says about replication, for the throttle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reading {
    /// The lag, or `None` when the reply could not be judged.
    Lag(Option<Duration>),
    /// Not a replica set (standalone, or `mongos` without it): no lag to wait for.
    NoReplication,
    /// Not allowed to read it.
    Unauthorized,
}

/// Asks the server.
pub(crate) async fn read(db: &mongodb::Database) -> mongodb::error::Result<Reading> {
    let admin = db.client().database("admin");
    match admin
        .run_command(bson::doc! { "replSetGetStatus": 1 })
        .await
    {
        Ok(reply) => Ok(Reading::Lag(from_repl_set_status(&reply))),
        Err(e) => match e.kind.as_ref() {
            mongodb::error::ErrorKind::Command(c) if c.code == 76 || c.code == 59 => {
                Ok(Reading::NoReplication)
            }
            mongodb::error::ErrorKind::Command(c) if c.code == 13 => Ok(Reading::Unauthorized),
            _ => Err(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use bson::{doc, DateTime};

    use super::*;

    fn at(ms: i64) -> DateTime {
        DateTime::from_millis(1_780_000_000_000 + ms)
    }

    /// A three-member set as `replSetGetStatus` answers it (fields trimmed to those read, plus
    /// a few others as they come), one secondary 4.5 s behind.
    #[test]
    fn the_slowest_healthy_secondary_sets_the_lag() {
        let reply = doc! {
            "set": "rs0", "date": at(0), "myState": 1, "ok": 1.0,
            "members": [
                { "_id": 0, "name": "a:27017", "health": 1.0, "state": 1, "stateStr": "PRIMARY",
                  "optime": { "ts": 1, "t": 3_i64 }, "optimeDate": at(10_000) },
                { "_id": 1, "name": "b:27017", "health": 1.0, "state": 2, "stateStr": "SECONDARY",
                  "optimeDate": at(9_000) },
                { "_id": 2, "name": "c:27017", "health": 1.0, "state": 2, "stateStr": "SECONDARY",
                  "optimeDate": at(5_500) },
            ],
        };
        assert_eq!(
            from_repl_set_status(&reply),
            Some(Duration::from_millis(4_500))
        );
    }

    #[test]
    fn members_that_are_down_arbiters_or_syncing_do_not_count() {
        let reply = doc! {
            "members": [
                { "state": 1, "health": 1, "optimeDate": at(10_000) },
                { "state": 2, "health": 0, "optimeDate": at(0) },
                { "state": 7, "health": 1, "stateStr": "ARBITER" },
                { "state": 5, "health": 1, "stateStr": "STARTUP2", "optimeDate": at(0) },
                { "state": 2, "health": 1, "optimeDate": at(9_800) },
            ],
        };
        assert_eq!(
            from_repl_set_status(&reply),
            Some(Duration::from_millis(200))
        );
    }

    #[test]
    fn a_single_node_set_has_no_lag_and_no_primary_cannot_be_judged() {
        let single = doc! { "members": [ { "state": 1, "health": 1, "optimeDate": at(1) } ] };
        assert_eq!(from_repl_set_status(&single), Some(Duration::ZERO));
        let election = doc! { "members": [
            { "state": 2, "health": 1, "optimeDate": at(1) },
            { "state": 2, "health": 1, "optimeDate": at(2) },
        ] };
        assert_eq!(from_repl_set_status(&election), None);
        // A secondary ahead of the primary's reading (clocks, timing) is no lag.
        let ahead = doc! { "members": [
            { "state": 1, "health": 1, "optimeDate": at(1) },
            { "state": 2, "health": 1, "optimeDate": at(5) },
        ] };
        assert_eq!(from_repl_set_status(&ahead), Some(Duration::ZERO));
    }
}
