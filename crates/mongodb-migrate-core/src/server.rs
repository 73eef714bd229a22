//! What the server is and what it can do for the runner, judged once from its own replies.
//!
//! Every decision that depends on the server reads a [`ServerInfo`]: the write path
//! ([`ServerInfo::write_path`]), how the state is read ([`ServerInfo::union_read`]), whether
//! transactions and retryable writes exist, and which connection options cannot work
//! ([`judge_options`]). `migrate doctor` reports the same judgement, so it cannot disagree with
//! the run it predicts.
//!
//! # What is asked
//! - `hello`: wire version, topology (`setName`, `msg: "isdbgrid"`), sessions
//!   (`logicalSessionTimeoutMinutes`), the server clock (`localTime`), the members.
//! - `listCommands`: whether `bulkWrite` and `commitTransaction` exist. A server that reports
//!   MongoDB 8.0's wire version need not have `bulkWrite` (a compatible service, a server behind
//!   a proxy), so the wire version alone does not decide. A server without `listCommands`
//!   (SecantusDB) is judged by its wire version, as MongoDB's own drivers do.
//! - `buildInfo` (by `doctor` only): the version string, and the markers of FerretDB
//!   (`ferretdb`) and SecantusDB (`secantusVersion`). No decision depends on it.
//!
//! The kind of server (MongoDB, Amazon DocumentDB, Azure Cosmos DB, FerretDB) is told from
//! documented markers: `buildInfo.ferretdb`, `hello.internal.documentdb_versions` (Azure
//! DocumentDB, formerly Cosmos DB for MongoDB vCore), and the documented endpoint names of the
//! managed services. See `docs/compatibility.md` for what each lacks and the sources.

use bson::{doc, Bson, Document};
use mongodb::options::{Acknowledgment, ReadPreference, SelectionCriteria};
use mongodb::Database;
use serde::Serialize;

use crate::store::WritePath;

/// The product behind the connection, as far as its replies (or its documented endpoint
/// names) tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ServerKind {
    /// MongoDB (self-managed or Atlas), or a server that does not say otherwise.
    MongoDb,
    /// SecantusDB (`buildInfo.secantusVersion`), the server the tests run against.
    SecantusDb,
    /// Amazon DocumentDB (endpoints `*.docdb.amazonaws.com`, `*.docdb-elastic.amazonaws.com`).
    AmazonDocumentDb,
    /// Azure Cosmos DB for MongoDB, request-unit offering (endpoints `*.mongo.cosmos.azure.com`).
    AzureCosmosRu,
    /// Azure DocumentDB, formerly Azure Cosmos DB for MongoDB vCore (`hello.internal`, endpoints
    /// `*.mongocluster.cosmos.azure.com`).
    AzureDocumentDb,
    /// FerretDB (`buildInfo.ferretdb`).
    FerretDb,
}

impl ServerKind {
    /// Its name, for people.
    pub fn label(self) -> &'static str {
        match self {
            ServerKind::MongoDb => "MongoDB",
            ServerKind::SecantusDb => "SecantusDB",
            ServerKind::AmazonDocumentDb => "Amazon DocumentDB",
            ServerKind::AzureCosmosRu => "Azure Cosmos DB for MongoDB (RU)",
            ServerKind::AzureDocumentDb => "Azure DocumentDB (Cosmos DB for MongoDB vCore)",
            ServerKind::FerretDb => "FerretDB",
        }
    }
}

/// How the deployment is laid out, from `hello`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Topology {
    /// A single server outside any replica set: no transactions, no retryable writes.
    Standalone,
    /// A replica set member.
    ReplicaSet {
        /// `setName`.
        name: String,
        /// Data-bearing members the member knows (`hosts` and `passives`).
        members: usize,
        /// Whether this member is the writable primary.
        primary: bool,
    },
    /// A `mongos` router (`msg: "isdbgrid"`) of a sharded cluster.
    Sharded,
}

/// Whether a command exists on the server, by `listCommands`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Listed {
    /// `listCommands` lists it.
    Yes,
    /// `listCommands` answered without it.
    No,
    /// `listCommands` is not available: judged otherwise.
    Unknown,
}

/// What the runner knows about the server, judged once from its replies.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerInfo {
    /// The product.
    pub kind: ServerKind,
    /// `buildInfo.version`, when asked.
    pub version: Option<String>,
    /// `hello.maxWireVersion` (25 is MongoDB 8.0).
    pub max_wire_version: Option<i32>,
    /// The topology.
    pub topology: Topology,
    /// Whether the server has sessions (`hello.logicalSessionTimeoutMinutes`).
    pub sessions: bool,
    /// The server's clock (`hello.localTime`): the lease is judged by it.
    pub local_time: Option<bson::DateTime>,
    /// Whether `bulkWrite` exists.
    pub bulk_write: Listed,
    /// Whether `commitTransaction` exists.
    pub commit_transaction: Listed,
    /// How far the server's clock is ahead of this host's (negative: behind), in
    /// milliseconds, judged at the middle of `hello`'s round trip (set by a probe).
    pub clock_offset_ms: Option<i64>,
    /// `hello`'s round trip, in milliseconds (set by a probe).
    pub round_trip_ms: Option<u64>,
}

impl ServerInfo {
    /// Judges `hello`, with `listCommands`' reply (`None` when unavailable), `buildInfo`'s
    /// (`None` when not asked) and the URI's hosts (for the documented endpoint names).
    pub fn judge(
        hello: &Document,
        commands: Option<&Document>,
        build_info: Option<&Document>,
        hosts: &[String],
    ) -> Self {
        let listed = |name: &str| match commands.and_then(|c| c.get_document("commands").ok()) {
            Some(c) if c.contains_key(name) => Listed::Yes,
            Some(_) => Listed::No,
            None => Listed::Unknown,
        };
        ServerInfo {
            kind: kind_of(hello, build_info, hosts),
            version: build_info.and_then(|b| b.get_str("version").ok().map(str::to_owned)),
            max_wire_version: wire_version(hello),
            topology: topology_of(hello),
            sessions: hello
                .get("logicalSessionTimeoutMinutes")
                .is_some_and(|v| !matches!(v, Bson::Null)),
            local_time: hello.get_datetime("localTime").ok().copied(),
            bulk_write: listed("bulkWrite"),
            commit_transaction: listed("commitTransaction"),
            clock_offset_ms: None,
            round_trip_ms: None,
        }
    }

    /// Asks the server `hello` and `listCommands` (what the runner's decisions need), on the
    /// primary. A `listCommands` the server refuses is not an error: see [`Listed::Unknown`].
    pub async fn probe(db: &Database) -> mongodb::error::Result<Self> {
        let (hello, commands, clock) = ask(db, false).await?;
        Ok(Self::judge(&hello, commands.as_ref(), None, &[]).timed(clock))
    }

    fn timed(
        mut self,
        (sent, received, rtt): (
            chrono::DateTime<chrono::Utc>,
            chrono::DateTime<chrono::Utc>,
            u64,
        ),
    ) -> Self {
        self.round_trip_ms = Some(rtt);
        if let Some(server) = self.local_time {
            let middle = sent + (received - sent) / 2;
            self.clock_offset_ms = Some(server.timestamp_millis() - middle.timestamp_millis());
        }
        self
    }

    /// [`probe`](Self::probe) plus `buildInfo`, naming the product as well (`migrate doctor`);
    /// `hosts` are the URI's.
    pub async fn probe_all(db: &Database, hosts: &[String]) -> mongodb::error::Result<Self> {
        let (hello, commands, clock) = ask(db, true).await?;
        let build_info = admin_command(db, doc! { "buildInfo": 1 }).await.ok();
        Ok(Self::judge(&hello, commands.as_ref(), build_info.as_ref(), hosts).timed(clock))
    }

    /// Whether the server has the multi-namespace `bulkWrite` command: MongoDB 8.0's wire
    /// version (25), and, where `listCommands` answers, listed by it.
    pub fn has_bulk_write(&self) -> bool {
        self.max_wire_version.unwrap_or(0) >= 25 && self.bulk_write != Listed::No
    }

    /// How the runner writes the state here (`MONGO_MIGRATE_STATE_WRITES=separate` forces the
    /// fallback).
    pub fn write_path(&self) -> WritePath {
        if WritePath::forced_separate() || !self.has_bulk_write() {
            WritePath::Separate
        } else {
            WritePath::Bulk
        }
    }

    /// Whether the state is read in one aggregation that `$unionWith`s the three collections
    /// (MongoDB 4.4, wire version 9); otherwise it is three queries. A server that reports 4.4
    /// or later and still refuses the stage (Amazon DocumentDB before engine 8.0.3) is found
    /// out at the first read, which then falls back to three queries for the rest of the run.
    pub fn union_read(&self) -> bool {
        self.max_wire_version.unwrap_or(0) >= 9
    }

    /// `Ok` when the server runs multi-document transactions, else why not: a replica set or
    /// a mongos, with sessions, and (where `listCommands` answers) `commitTransaction`.
    pub fn transactions(&self) -> Result<(), String> {
        match self.topology {
            Topology::Standalone => {
                return Err("the server is standalone (its hello reply has no setName and it is not a \
                            mongos); MongoDB runs transactions only on a replica set or a sharded cluster"
                    .to_owned())
            }
            Topology::ReplicaSet { .. } | Topology::Sharded => {}
        }
        if !self.sessions {
            return Err(
                "the server does not support sessions (its hello reply has no \
                        logicalSessionTimeoutMinutes), and transactions run in a session"
                    .to_owned(),
            );
        }
        if self.commit_transaction == Listed::No {
            return Err("the server has no commitTransaction command (listCommands)".to_owned());
        }
        Ok(())
    }

    /// Whether the driver can make writes retryable here: a replica set or a mongos with
    /// sessions (the retryable-writes specification's rule). The URI may still turn them off.
    pub fn retryable_writes(&self) -> bool {
        self.sessions && !matches!(self.topology, Topology::Standalone)
    }

    /// Known gaps of this kind of server that concern the runner, from its vendor's
    /// documentation (see `docs/compatibility.md`): each a sentence for `doctor`.
    pub fn known_gaps(&self) -> Vec<&'static str> {
        match self.kind {
            ServerKind::AmazonDocumentDb => vec![
                "Amazon DocumentDB has retryable writes only from engine 8.0.2, and $unionWith only \
                 from 8.0.3: on earlier engines set retryWrites=false in the URI; the state is then \
                 read in three queries",
            ],
            ServerKind::AzureCosmosRu => vec![
                "Azure Cosmos DB for MongoDB (RU) runs transactions only within one unsharded \
                 collection and has no $unionWith: the state is read in three queries; keep \
                 migrations non-transactional",
            ],
            ServerKind::AzureDocumentDb => vec![
                "Azure DocumentDB answers hello as a mongos (msg: isdbgrid); its documentation lists \
                 what it lacks",
            ],
            ServerKind::FerretDb => vec![
                "FerretDB has no transactions and no bulkWrite: the runner takes the fallback path; \
                 keep migrations non-transactional",
            ],
            ServerKind::MongoDb | ServerKind::SecantusDb => Vec::new(),
        }
    }
}

/// When `hello` was sent and answered (this host's clock), and its round trip.
type Clock = (
    chrono::DateTime<chrono::Utc>,
    chrono::DateTime<chrono::Utc>,
    u64,
);

async fn ask(
    db: &Database,
    timed: bool,
) -> mongodb::error::Result<(Document, Option<Document>, Clock)> {
    if timed {
        // The first command connects; a second hello measures only the round trip.
        admin_command(db, doc! { "hello": 1 }).await?;
    }
    let (sent, started) = (chrono::Utc::now(), std::time::Instant::now());
    let hello = admin_command(db, doc! { "hello": 1 }).await?;
    let rtt = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let clock = (sent, chrono::Utc::now(), rtt);
    // Not every server has listCommands (SecantusDB answers CommandNotFound): judged otherwise.
    let commands = admin_command(db, doc! { "listCommands": 1 }).await.ok();
    Ok((hello, commands, clock))
}

async fn admin_command(db: &Database, command: Document) -> mongodb::error::Result<Document> {
    db.client()
        .database("admin")
        .run_command(command)
        .selection_criteria(SelectionCriteria::ReadPreference(ReadPreference::Primary))
        .await
}

fn wire_version(hello: &Document) -> Option<i32> {
    match hello.get("maxWireVersion") {
        Some(Bson::Int32(v)) => Some(*v),
        Some(Bson::Int64(v)) => i32::try_from(*v).ok(),
        Some(Bson::Double(v)) => Some(*v as i32),
        _ => None,
    }
}

fn topology_of(hello: &Document) -> Topology {
    if hello.get_str("msg") == Ok("isdbgrid") {
        return Topology::Sharded;
    }
    match hello.get_str("setName") {
        Ok(name) => {
            let count = |key: &str| hello.get_array(key).map_or(0, Vec::len);
            let primary = hello
                .get_bool("isWritablePrimary")
                .or_else(|_| hello.get_bool("ismaster"))
                .unwrap_or(false);
            Topology::ReplicaSet {
                name: name.to_owned(),
                members: count("hosts") + count("passives"),
                primary,
            }
        }
        Err(_) => Topology::Standalone,
    }
}

/// The documented endpoint names of the managed services, lowercase.
const ENDPOINTS: [(&str, ServerKind); 6] = [
    (".docdb.amazonaws.com", ServerKind::AmazonDocumentDb),
    (".docdb-elastic.amazonaws.com", ServerKind::AmazonDocumentDb),
    (".docdb.amazonaws.com.cn", ServerKind::AmazonDocumentDb),
    (
        ".mongocluster.cosmos.azure.com",
        ServerKind::AzureDocumentDb,
    ),
    (".mongo.cosmos.azure.com", ServerKind::AzureCosmosRu),
    (".documents.azure.com", ServerKind::AzureCosmosRu),
];

fn kind_of(hello: &Document, build_info: Option<&Document>, hosts: &[String]) -> ServerKind {
    if let Some(b) = build_info {
        if b.contains_key("ferretdb") {
            return ServerKind::FerretDb;
        }
        if b.contains_key("secantusVersion") {
            return ServerKind::SecantusDb;
        }
    }
    let internal = hello.get_document("internal").ok();
    if internal
        .is_some_and(|i| i.contains_key("documentdb_versions") || i.contains_key("cosmos_versions"))
    {
        return ServerKind::AzureDocumentDb;
    }
    let mut names: Vec<String> = hosts.iter().map(|h| h.to_ascii_lowercase()).collect();
    for key in ["me", "primary"] {
        if let Ok(h) = hello.get_str(key) {
            names.push(h.to_ascii_lowercase());
        }
    }
    if let Ok(list) = hello.get_array("hosts") {
        names.extend(
            list.iter()
                .filter_map(Bson::as_str)
                .map(str::to_ascii_lowercase),
        );
    }
    for name in &names {
        let host = name.rsplit_once(':').map_or(name.as_str(), |(h, _)| h);
        if let Some((_, kind)) = ENDPOINTS.iter().find(|(suffix, _)| host.ends_with(suffix)) {
            return *kind;
        }
    }
    ServerKind::MongoDb
}

// ---------------------------------------------------------------------------------------------
// Connection options

/// A connection option that matters to a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OptionFinding {
    /// The option as written in a URI (`w=0`, `readPreference=secondary`).
    pub option: String,
    /// What it does to a run, and what to do.
    pub message: String,
}

/// The client's options judged against the server: `refusals` are options with which no
/// migration can run (`up` and `down` refuse them before the lock is taken, unless `--fake`,
/// exit 2); `notes` are options that only change what migration bodies see (the runner's own
/// commands always go to the primary with majority concerns).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OptionsJudgement {
    /// Options no run can work with.
    pub refusals: Vec<OptionFinding>,
    /// Options worth knowing.
    pub notes: Vec<OptionFinding>,
}

/// Judges the options `db` carries (its client's, from the URI) against `server`.
///
/// - `w=0`: the driver refuses unacknowledged writes inside a session, and it runs every
///   operation in one (implicit sessions), so a migration's first write fails.
/// - `w=N` above the data-bearing members the server knows (`w>1` on a standalone): the server
///   answers every acknowledged write with `UnsatisfiableWriteConcern`. Not judged through a
///   mongos, whose shards are not listed.
/// - a read preference other than primary, a read concern, `w` by tag, a `wtimeout`: notes.
pub fn judge_options(db: &Database, server: &ServerInfo) -> OptionsJudgement {
    let mut j = OptionsJudgement::default();
    let finding = |option: String, message: String| OptionFinding { option, message };
    if let Some(wc) = db.write_concern() {
        match &wc.w {
            Some(Acknowledgment::Nodes(0)) => j.refusals.push(finding(
                "w=0".to_owned(),
                "unacknowledged writes: the driver refuses them inside a session, and every \
                 operation runs in one, so every migration's first write would fail; remove w=0 \
                 (the runner writes its own state with w=majority whatever the URI says)"
                    .to_owned(),
            )),
            Some(Acknowledgment::Nodes(n)) => {
                let members = match &server.topology {
                    Topology::Standalone => Some(1),
                    Topology::ReplicaSet { members, .. } => Some(*members),
                    Topology::Sharded => None,
                };
                if let Some(m) = members.filter(|m| usize::try_from(*n).is_ok_and(|n| n > *m)) {
                    j.refusals.push(finding(
                        format!("w={n}"),
                        format!(
                            "the server knows {m} data-bearing {}: every acknowledged write would \
                             fail with UnsatisfiableWriteConcern; use w=majority or at most w={m}",
                            if m == 1 { "member" } else { "members" }
                        ),
                    ));
                }
            }
            Some(Acknowledgment::Custom(tag)) => j.notes.push(finding(
                format!("w={tag}"),
                "migration bodies' writes wait for this tag set; the runner's state writes use \
                 w=majority"
                    .to_owned(),
            )),
            _ => {}
        }
        if let Some(t) = wc.w_timeout {
            j.notes.push(finding(
                format!("wtimeoutMS={}", t.as_millis()),
                "migration bodies' writes give up waiting for their write concern after this long \
                 (the write itself is not undone)"
                    .to_owned(),
            ));
        }
    }
    if let Some(rc) = db.read_concern() {
        j.notes.push(finding(
            format!("readConcernLevel={}", read_concern_name(&rc.level)),
            "migration bodies read with this read concern; the runner reads its state with \
             majority"
                .to_owned(),
        ));
    }
    if let Some(SelectionCriteria::ReadPreference(rp)) = db.selection_criteria() {
        if !matches!(rp, ReadPreference::Primary) {
            j.notes.push(finding(
                format!("readPreference={}", read_preference_name(rp)),
                "migration bodies' reads may go to a secondary and miss their own recent writes; \
                 the runner reads and writes its state on the primary"
                    .to_owned(),
            ));
        }
    }
    j
}

fn read_concern_name(level: &mongodb::options::ReadConcernLevel) -> &str {
    use mongodb::options::ReadConcernLevel as L;
    match level {
        L::Local => "local",
        L::Majority => "majority",
        L::Linearizable => "linearizable",
        L::Available => "available",
        L::Snapshot => "snapshot",
        L::Custom(c) => c,
        _ => "other",
    }
}

fn read_preference_name(rp: &ReadPreference) -> &'static str {
    match rp {
        ReadPreference::Primary => "primary",
        ReadPreference::PrimaryPreferred { .. } => "primaryPreferred",
        ReadPreference::Secondary { .. } => "secondary",
        ReadPreference::SecondaryPreferred { .. } => "secondaryPreferred",
        ReadPreference::Nearest { .. } => "nearest",
        _ => "non-primary",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commands(names: &[&str]) -> Document {
        let mut c = Document::new();
        for n in names {
            c.insert(*n, doc! { "help": "" });
        }
        doc! { "commands": c, "ok": 1 }
    }

    fn rs_hello(wire: i32) -> Document {
        doc! {
            "isWritablePrimary": true, "setName": "rs0", "hosts": ["a:27017", "b:27017", "c:27017"],
            "maxWireVersion": wire, "logicalSessionTimeoutMinutes": 30,
            "localTime": bson::DateTime::from_millis(1_700_000_000_000),
        }
    }

    #[test]
    fn mongodb_8_takes_bulk_write_when_listed_and_not_otherwise() {
        let listed = ServerInfo::judge(
            &rs_hello(25),
            Some(&commands(&["bulkWrite", "commitTransaction"])),
            None,
            &[],
        );
        assert!(listed.has_bulk_write());
        assert_eq!(listed.kind, ServerKind::MongoDb);
        assert_eq!(listed.transactions(), Ok(()));
        assert!(listed.retryable_writes());
        assert_eq!(
            listed.topology,
            Topology::ReplicaSet {
                name: "rs0".to_owned(),
                members: 3,
                primary: true
            }
        );
        // Reports 8.0 but has no bulkWrite: the wire version alone does not decide.
        let unlisted = ServerInfo::judge(&rs_hello(25), Some(&commands(&["find"])), None, &[]);
        assert!(!unlisted.has_bulk_write());
        // No listCommands: the wire version decides, as drivers do.
        assert!(ServerInfo::judge(&rs_hello(27), None, None, &[]).has_bulk_write());
        // Before 8.0: never, listed or not.
        assert!(
            !ServerInfo::judge(&rs_hello(21), Some(&commands(&["bulkWrite"])), None, &[])
                .has_bulk_write()
        );
    }

    #[test]
    fn the_state_is_read_in_one_aggregation_from_mongodb_4_4() {
        assert!(ServerInfo::judge(&rs_hello(9), None, None, &[]).union_read());
        assert!(!ServerInfo::judge(&rs_hello(8), None, None, &[]).union_read());
    }

    #[test]
    fn a_standalone_has_neither_transactions_nor_retryable_writes() {
        let hello = doc! { "isWritablePrimary": true, "maxWireVersion": 27, "logicalSessionTimeoutMinutes": 30 };
        let s = ServerInfo::judge(&hello, None, None, &[]);
        assert_eq!(s.topology, Topology::Standalone);
        assert!(s.transactions().unwrap_err().contains("standalone"));
        assert!(!s.retryable_writes());
    }

    #[test]
    fn a_mongos_has_transactions_and_retryable_writes() {
        let hello = doc! { "isWritablePrimary": true, "msg": "isdbgrid", "maxWireVersion": 25, "logicalSessionTimeoutMinutes": 30 };
        let s = ServerInfo::judge(&hello, None, None, &[]);
        assert_eq!(s.topology, Topology::Sharded);
        assert_eq!(s.transactions(), Ok(()));
        assert!(s.retryable_writes());
    }

    #[test]
    fn products_are_told_from_their_documented_markers() {
        let ferret = doc! { "version": "7.0.77", "ferretdb": { "version": "v2.1.0" } };
        let hello = doc! { "isWritablePrimary": true, "maxWireVersion": 21, "logicalSessionTimeoutMinutes": 30 };
        let f = ServerInfo::judge(
            &hello,
            Some(&commands(&["find", "listCommands"])),
            Some(&ferret),
            &[],
        );
        assert_eq!(f.kind, ServerKind::FerretDb);
        assert_eq!(f.write_path_ignoring_env(), WritePath::Separate);
        // FerretDB with a replica set name still lacks commitTransaction.
        let mut rs = rs_hello(21);
        rs.insert("hosts", vec!["localhost:27017"]);
        let f = ServerInfo::judge(&rs, Some(&commands(&["find"])), Some(&ferret), &[]);
        assert!(f.transactions().unwrap_err().contains("commitTransaction"));

        let azure = doc! { "isWritablePrimary": true, "msg": "isdbgrid", "maxWireVersion": 21,
        "internal": { "documentdb_versions": ["0.117-0", "0.117.0"], "kind": "" } };
        assert_eq!(
            ServerInfo::judge(&azure, None, None, &[]).kind,
            ServerKind::AzureDocumentDb
        );

        let docdb = doc! { "ismaster": true, "setName": "rs0", "maxWireVersion": 13,
        "hosts": ["sample-cluster.node.us-east-1.docdb.amazonaws.com:27017"] };
        assert_eq!(
            ServerInfo::judge(&docdb, None, None, &[]).kind,
            ServerKind::AmazonDocumentDb
        );
        // Through a tunnel the hello names no endpoint; the URI's hosts may.
        let tunnel = doc! { "ismaster": true, "maxWireVersion": 13 };
        assert_eq!(
            ServerInfo::judge(&tunnel, None, None, &[]).kind,
            ServerKind::MongoDb
        );
        let cosmos = ServerInfo::judge(
            &tunnel,
            None,
            None,
            &["acct.mongo.cosmos.azure.com:10255".to_owned()],
        );
        assert_eq!(cosmos.kind, ServerKind::AzureCosmosRu);
        assert!(!cosmos.known_gaps().is_empty());

        let secantus = doc! { "version": "8.2.11", "secantusVersion": "0.7.0b3" };
        let s = ServerInfo::judge(&rs_hello(27), None, Some(&secantus), &[]);
        assert_eq!(
            (s.kind, s.version.as_deref()),
            (ServerKind::SecantusDb, Some("8.2.11"))
        );
    }

    impl ServerInfo {
        fn write_path_ignoring_env(&self) -> WritePath {
            if self.has_bulk_write() {
                WritePath::Bulk
            } else {
                WritePath::Separate
            }
        }
    }
}
