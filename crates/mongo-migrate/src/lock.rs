//! The lease lock: one document, acquired atomically, renewed by a heartbeat, expiring when its
//! holder dies.
//!
//! Expiry is judged by the **server's** clock: every acquisition and renewal first reads the
//! server time (`hello.localTime`), so runners on hosts with skewed clocks still agree on when a
//! lease ran out. (Only the round-trip time of one `hello` is added to the skew budget.)

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bson::{doc, Bson, Document};
use chrono::{DateTime, Utc};
use mongodb::options::ReturnDocument;
use mongodb::{Collection, Database};
use serde::Serialize;

use crate::error::LockError;

/// The fixed `_id` of the lock document.
pub const LOCK_ID: &str = "migrate";

/// Who runs: the host, the process and a token unique to this runner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Runner {
    /// The host name.
    pub host: String,
    /// The process id.
    pub pid: u32,
    /// A random token identifying this runner (one per [`LeaseLock`]).
    pub token: String,
}

impl Runner {
    /// This process, with a fresh token.
    pub fn current() -> Self {
        Runner {
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            pid: std::process::id(),
            token: bson::oid::ObjectId::new().to_hex(),
        }
    }

    pub(crate) fn to_document(&self) -> Document {
        doc! { "host": &self.host, "pid": i64::from(self.pid), "token": &self.token }
    }

    pub(crate) fn from_document(d: &Document) -> Option<Self> {
        Some(Runner {
            host: d.get_str("host").ok()?.to_owned(),
            pid: match d.get("pid")? {
                Bson::Int32(p) => u32::try_from(*p).ok()?,
                Bson::Int64(p) => u32::try_from(*p).ok()?,
                _ => return None,
            },
            token: d.get_str("token").unwrap_or_default().to_owned(),
        })
    }
}

/// The current holder of the lock, as read from the lock document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockHolder {
    /// The holding runner.
    pub owner: Runner,
    /// When it acquired the lease.
    pub acquired_at: Option<DateTime<Utc>>,
    /// When the lease runs out unless renewed (server time).
    pub expires_at: Option<DateTime<Utc>>,
}

impl fmt::Display for LockHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} pid {}", self.owner.host, self.owner.pid)?;
        if let Some(a) = self.acquired_at {
            write!(f, " since {}", a.format("%Y-%m-%d %H:%M:%S UTC"))?;
        }
        if let Some(e) = self.expires_at {
            write!(f, ", lease until {}", e.format("%Y-%m-%d %H:%M:%S UTC"))?;
        }
        Ok(())
    }
}

impl LockHolder {
    pub(crate) fn from_document(d: &Document) -> Option<Self> {
        Some(LockHolder {
            owner: Runner::from_document(d.get_document("owner").ok()?)?,
            acquired_at: d.get_datetime("acquired_at").ok().map(|t| t.to_chrono()),
            expires_at: d.get_datetime("expires_at").ok().map(|t| t.to_chrono()),
        })
    }
}

/// The outcome of one acquisition attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// We hold the lease now.
    Acquired,
    /// Someone else holds an unexpired lease.
    Held(Option<LockHolder>),
}

/// A lease lock on one document of a lock collection.
#[derive(Debug, Clone)]
pub struct LeaseLock {
    db: Database,
    coll: Collection<Document>,
    me: Runner,
    ttl: Duration,
    /// The server's clock as last read, and when (on our monotonic clock): renewals extend the
    /// lease from it without another round trip. Skew is between hosts' wall clocks; elapsed
    /// time measured here is exact enough for leases of seconds.
    clock: Arc<std::sync::Mutex<Option<(bson::DateTime, Instant)>>>,
}

impl LeaseLock {
    /// A lock in `collection` of `db`, held for leases of `ttl`, owned by a fresh [`Runner`].
    pub fn new(db: &Database, collection: &str, ttl: Duration) -> Self {
        LeaseLock {
            db: db.clone(),
            coll: db.collection(collection),
            me: Runner::current(),
            ttl,
            clock: Arc::default(),
        }
    }

    /// This runner's identity.
    pub fn runner(&self) -> &Runner {
        &self.me
    }

    fn expiry(&self, now: bson::DateTime) -> bson::DateTime {
        let ttl = i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX);
        bson::DateTime::from_millis(now.timestamp_millis().saturating_add(ttl))
    }

    /// The server's clock, from `hello.localTime`; remembered for [`Self::server_now_estimate`].
    async fn server_now(&self) -> Result<bson::DateTime, LockError> {
        let hello = self
            .db
            .run_command(doc! { "hello": 1 })
            .await
            .map_err(|e| LockError::Database(e.to_string()))?;
        let now = hello.get_datetime("localTime").copied().map_err(|_| {
            LockError::Database("the server's hello reply has no localTime".to_owned())
        })?;
        if let Ok(mut clock) = self.clock.lock() {
            // Taken after the reply, so an estimate runs behind the server by at most one round
            // trip: a renewal then sets a lease that short of its TTL, never longer.
            *clock = Some((now, Instant::now()));
        }
        Ok(now)
    }

    /// The server's clock without a round trip, from the last reading plus the time elapsed
    /// since; reads it when there is none yet.
    async fn server_now_estimate(&self) -> Result<bson::DateTime, LockError> {
        let known = self.clock.lock().ok().and_then(|c| *c);
        match known {
            Some((at, since)) => {
                let elapsed = i64::try_from(since.elapsed().as_millis()).unwrap_or(i64::MAX);
                Ok(bson::DateTime::from_millis(
                    at.timestamp_millis().saturating_add(elapsed),
                ))
            }
            None => self.server_now().await,
        }
    }

    /// One atomic attempt: take the lease if the document is absent, expired, or already ours.
    ///
    /// When the document exists and the filter does not match it, the upsert's insert collides
    /// on `_id` (duplicate key 11000): that is "held", also for a concurrent upsert that lost.
    pub async fn try_acquire(&self) -> Result<Attempt, LockError> {
        let now = self.server_now().await?;
        let filter = doc! {
            "_id": LOCK_ID,
            "$or": [
                { "expires_at": { "$lt": now } },
                { "owner.token": &self.me.token },
            ],
        };
        let update = doc! { "$set": {
            "owner": self.me.to_document(),
            "acquired_at": now,
            "renewed_at": now,
            "expires_at": self.expiry(now),
        }};
        let result = self
            .coll
            .find_one_and_update(filter, update)
            .upsert(true)
            .return_document(ReturnDocument::After)
            .await;
        match result {
            Ok(_) => Ok(Attempt::Acquired),
            Err(e) if is_duplicate_key(&e) => Ok(Attempt::Held(self.holder().await?)),
            Err(e) => Err(LockError::Database(e.to_string())),
        }
    }

    /// Acquires the lease, retrying until `timeout` has passed. `on_wait` is called with the
    /// holder when we start waiting and whenever the holder changes.
    pub async fn acquire(
        &self,
        timeout: Duration,
        mut on_wait: impl FnMut(Option<&LockHolder>),
    ) -> Result<(), LockError> {
        let start = Instant::now();
        let mut last_seen: Option<Option<String>> = None;
        loop {
            match self.try_acquire().await? {
                Attempt::Acquired => return Ok(()),
                Attempt::Held(holder) => {
                    let token = holder.as_ref().map(|h| h.owner.token.clone());
                    if last_seen.as_ref() != Some(&token) {
                        on_wait(holder.as_ref());
                        last_seen = Some(token);
                    }
                    let waited = start.elapsed();
                    if waited >= timeout {
                        return Err(LockError::NotAcquired { holder, waited });
                    }
                    let pause = Duration::from_millis(250).min(timeout - waited);
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }

    /// Renews our lease, failing with [`LockError::Lost`] when it is no longer ours.
    ///
    /// Called before every state write: a runner whose lease expired and was taken over must
    /// not write.
    pub async fn ensure_owned(&self) -> Result<(), LockError> {
        let now = self.server_now_estimate().await?;
        let renewed = self
            .coll
            .update_one(
                doc! { "_id": LOCK_ID, "owner.token": &self.me.token },
                doc! { "$set": { "renewed_at": now, "expires_at": self.expiry(now) } },
            )
            .await
            .map_err(|e| LockError::Database(e.to_string()))?;
        if renewed.matched_count == 1 {
            Ok(())
        } else {
            Err(LockError::Lost {
                holder: self.holder().await?,
            })
        }
    }

    /// Releases the lease if it is still ours; returns whether it was.
    pub async fn release(&self) -> Result<bool, LockError> {
        let deleted = self
            .coll
            .delete_one(doc! { "_id": LOCK_ID, "owner.token": &self.me.token })
            .await
            .map_err(|e| LockError::Database(e.to_string()))?;
        Ok(deleted.deleted_count == 1)
    }

    /// The current holder, whether its lease is still valid or not.
    pub async fn holder(&self) -> Result<Option<LockHolder>, LockError> {
        read_holder(&self.coll).await
    }

    /// Starts renewing the lease every third of its TTL until the returned guard is dropped or
    /// [`Heartbeat::stop`]ped. When a renewal finds the lease gone, [`Heartbeat::lost`] turns true.
    pub fn heartbeat(&self) -> Heartbeat {
        let lost = Arc::new(AtomicBool::new(false));
        let lock = self.clone();
        let flag = Arc::clone(&lost);
        let period = (self.ttl / 3).max(Duration::from_millis(50));
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.tick().await;
            loop {
                tick.tick().await;
                match lock.ensure_owned().await {
                    Ok(()) => {}
                    Err(LockError::Lost { .. }) => {
                        flag.store(true, Ordering::SeqCst);
                        return;
                    }
                    // A transient error: the next tick tries again; ensure_owned before each
                    // state write is what keeps a stale runner from writing.
                    Err(_) => {}
                }
            }
        });
        Heartbeat { task, lost }
    }
}

/// Reads the holder of the lock in `coll`.
pub async fn read_holder(coll: &Collection<Document>) -> Result<Option<LockHolder>, LockError> {
    let found = coll
        .find_one(doc! { "_id": LOCK_ID })
        .await
        .map_err(|e| LockError::Database(e.to_string()))?;
    Ok(found.as_ref().and_then(LockHolder::from_document))
}

/// Deletes the lock document whoever holds it, returning the holder it had.
pub async fn force_release(
    db: &Database,
    collection: &str,
) -> Result<Option<LockHolder>, LockError> {
    let coll: Collection<Document> = db.collection(collection);
    let found = coll
        .find_one_and_delete(doc! { "_id": LOCK_ID })
        .await
        .map_err(|e| LockError::Database(e.to_string()))?;
    Ok(found.as_ref().and_then(LockHolder::from_document))
}

/// The running lease renewal; aborted on drop.
#[derive(Debug)]
pub struct Heartbeat {
    task: tokio::task::JoinHandle<()>,
    lost: Arc<AtomicBool>,
}

impl Heartbeat {
    /// Whether a renewal found the lease taken over.
    pub fn lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Stops renewing.
    pub fn stop(self) {
        self.task.abort();
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn is_duplicate_key(e: &mongodb::error::Error) -> bool {
    use mongodb::error::{ErrorKind, WriteFailure};
    match e.kind.as_ref() {
        ErrorKind::Command(c) => c.code == 11000,
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == 11000,
        _ => e.to_string().contains("E11000"),
    }
}
