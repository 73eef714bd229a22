//! The lease lock: one document, taken atomically, renewed by a heartbeat, expiring when its
//! holder dies, and **fencing** every state write of its holder.
//!
//! # Time
//! Expiry is judged by the **server's** clock: acquisition reads the server time
//! (`hello.localTime`), so runners on hosts with skewed clocks agree on when a lease ran out.
//! Renewals extend from that reading plus the time elapsed since on our monotonic clock.
//!
//! # The local deadline
//! Besides the server's `expires_at`, the holder keeps a **local deadline** on its monotonic
//! clock: the moment the last successful renewal was *sent*, plus the TTL, minus a safety margin
//! of a fifth of the TTL (for clock-rate differences and the write's own flight). Past it, the
//! lease counts as lost even if no renewal failed — which is what a process paused by SIGSTOP,
//! a stalled VM or a long GC pause experiences: it wakes up with no failed renewal, but another
//! runner may already hold the lock. The runner checks the deadline before every poll of a
//! migration's future and before every state write.
//!
//! # Residual window
//! A write that a migration had already handed to the socket when the process was paused still
//! reaches the server after the pause. At most one such write per migration can land after the
//! lease was lost; every later one is stopped by the deadline check.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mongodb::Database;
use tokio::sync::Notify;

use crate::error::LockError;
pub use crate::model::{LockHolder, Runner};
pub use crate::store::LOCK_ID;
use crate::store::{self, Fence, Store, StoreError, WritePath};

/// The shortest lease a runner accepts: below it, renewals (every third of the lease) cannot
/// keep up with ordinary latency, and the lock would be stealable at once.
pub const MIN_LEASE_TTL: Duration = Duration::from_secs(1);

/// The outcome of one acquisition attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// We hold the lease now.
    Acquired,
    /// Someone else holds an unexpired lease.
    Held(Option<LockHolder>),
}

#[derive(Debug, Default)]
struct Shared {
    /// The server's clock as read at acquisition, and when (on our monotonic clock).
    clock: Mutex<Option<(bson::DateTime, Instant)>>,
    /// The local deadline (see the module documentation).
    deadline: Mutex<Option<Instant>>,
    /// Set when a renewal or a fenced write found the lease gone.
    lost: AtomicBool,
    /// Who held the lock when we found it lost.
    taken_by: Mutex<Option<LockHolder>>,
    /// Wakes [`LeaseLock::lost_signal`] waiters.
    notify: Notify,
    /// `maxWireVersion` of the server, from the acquisition's `hello`.
    wire: AtomicI32,
}

/// A lease lock on the lock document beside a state collection.
///
/// [`Migrator`](crate::Migrator) takes it for every run; an app can take it to run other
/// exclusive work under the same lock:
///
/// ```no_run
/// # async fn f(db: mongodb_migrate_core::mongodb::Database) -> Result<(), mongodb_migrate_core::LockError> {
/// use mongodb_migrate_core::lock::{Attempt, LeaseLock};
/// use std::time::Duration;
///
/// let lock = LeaseLock::new(&db, "pymongo_migrate", Duration::from_secs(30));
/// if let Attempt::Acquired = lock.try_acquire().await? {
///     // … exclusive work …
///     lock.release().await?;
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct LeaseLock {
    store: Store,
    me: Runner,
    ttl: Duration,
    shared: Arc<Shared>,
    /// Set by [`for_server`](Self::for_server): the store is already shaped for the server.
    judged: bool,
}

impl LeaseLock {
    /// The lock beside state collection `collection` of `db` (in `<collection>_lock`), held
    /// for leases of `ttl`, owned by a fresh [`Runner`].
    pub fn new(db: &Database, collection: &str, ttl: Duration) -> Self {
        LeaseLock {
            store: Store::new(db, collection),
            me: Runner::current(),
            ttl,
            shared: Arc::default(),
            judged: false,
        }
    }

    /// The same lock, its store shaped for `server` (write path, state reads), as judged once
    /// for the run.
    pub(crate) fn for_server(
        mut self,
        server: &crate::server::ServerInfo,
        reads: &store::Reads,
    ) -> Self {
        self.store = self.store.for_server(server, reads);
        self.judged = true;
        self
    }

    /// This runner's identity.
    pub fn runner(&self) -> &Runner {
        &self.me
    }

    /// The lease length.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The store, writing by the path the server supports (known once the lock was taken).
    pub(crate) fn store(&self) -> Store {
        if self.judged {
            return self.store.clone();
        }
        let wire = self.shared.wire.load(Ordering::SeqCst);
        self.store
            .clone()
            .with_path(WritePath::for_server((wire > 0).then_some(wire)))
    }

    fn margin(&self) -> Duration {
        self.ttl / 5
    }

    fn expiry(&self, now: bson::DateTime) -> bson::DateTime {
        bson::DateTime::from_millis(
            now.timestamp_millis()
                .saturating_add(store::millis(self.ttl)),
        )
    }

    /// The server's clock without a round trip: the acquisition's reading plus the time
    /// elapsed since. Taken after the reply, so it runs behind the server by at most one round
    /// trip: a renewal then sets a lease that much short of its TTL, never longer.
    fn server_now(&self) -> Option<bson::DateTime> {
        let (at, since) = (*self.shared.clock.lock().ok()?)?;
        Some(bson::DateTime::from_millis(
            at.timestamp_millis()
                .saturating_add(store::millis(since.elapsed())),
        ))
    }

    /// Records that a renewal sent at `sent` succeeded: the local deadline moves.
    pub(crate) fn confirm(&self, sent: Instant) {
        if let Ok(mut d) = self.shared.deadline.lock() {
            let next = sent + self.ttl.saturating_sub(self.margin());
            if d.is_none_or(|cur| next > cur) {
                *d = Some(next);
            }
        }
    }

    /// Whether the lease is gone: a renewal or fenced write found it taken, or the local
    /// deadline passed.
    pub fn is_lost(&self) -> bool {
        if self.shared.lost.load(Ordering::SeqCst) {
            return true;
        }
        let deadline = self.shared.deadline.lock().ok().and_then(|d| *d);
        deadline.is_none_or(|d| Instant::now() >= d)
    }

    pub(crate) fn mark_lost(&self, holder: Option<LockHolder>) {
        if let Ok(mut t) = self.shared.taken_by.lock() {
            if t.is_none() {
                *t = holder;
            }
        }
        self.shared.lost.store(true, Ordering::SeqCst);
        self.shared.notify.notify_waiters();
    }

    /// The [`LockError::Lost`] of this lease, naming who holds the lock now (one read).
    pub(crate) async fn lost_error(&self) -> LockError {
        let known = self.shared.taken_by.lock().ok().and_then(|t| t.clone());
        let holder = match known {
            Some(h) => Some(h),
            None => self.holder().await.ok().flatten(),
        };
        let holder = holder.filter(|h| h.owner.token != self.me.token);
        LockError::Lost { holder }
    }

    /// The fence for a state write now, or [`LockError::Lost`] without a round trip when the
    /// lease is already known to be gone.
    pub(crate) fn fence(&self) -> Result<(Fence, Instant), LockError> {
        if self.is_lost() {
            self.shared.lost.store(true, Ordering::SeqCst);
            self.shared.notify.notify_waiters();
            return Err(LockError::Lost { holder: None });
        }
        let now = self.server_now().ok_or(LockError::Lost { holder: None })?;
        Ok((
            Fence {
                token: self.me.token.clone(),
                now,
                expires_at: self.expiry(now),
            },
            Instant::now(),
        ))
    }

    /// Writes `changes` fenced by this lease (see [`Store::commit`]); moves the local deadline
    /// on success, and marks the lease lost when the fence fails.
    pub(crate) async fn commit(&self, changes: &[store::Change]) -> Result<(), crate::Error> {
        self.commit_with(None, changes).await
    }

    /// [`commit`](Self::commit) with a migration's own batch of updates (see
    /// [`Store::commit_with`]).
    pub(crate) async fn commit_with(
        &self,
        app: Option<&store::AppUpdates>,
        changes: &[store::Change],
    ) -> Result<(), crate::Error> {
        let (fence, sent) = match self.fence() {
            Ok(f) => f,
            Err(_) => return Err(self.lost_error().await.into()),
        };
        match self.store().commit_with(&fence, app, changes).await {
            Ok(()) => {
                self.confirm(sent);
                Ok(())
            }
            Err(StoreError::Lost) => {
                self.mark_lost(None);
                Err(self.lost_error().await.into())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// One atomic attempt: take the lease if the document is absent, released, expired, or
    /// already ours.
    pub async fn try_acquire(&self) -> Result<Attempt, LockError> {
        let hello = self.store.hello().await?;
        let now = hello
            .get_datetime("localTime")
            .copied()
            .map_err(|_| LockError::NoServerTime)?;
        let read_at = Instant::now();
        if let Ok(wire) = hello.get_i32("maxWireVersion") {
            self.shared.wire.store(wire, Ordering::SeqCst);
        }
        if self
            .store
            .try_take_lock(&self.me, now, self.expiry(now))
            .await?
        {
            if let Ok(mut clock) = self.shared.clock.lock() {
                *clock = Some((now, read_at));
            }
            self.shared.lost.store(false, Ordering::SeqCst);
            if let Ok(mut t) = self.shared.taken_by.lock() {
                *t = None;
            }
            // The lease runs from the server's reading, which preceded our read_at.
            self.confirm(read_at);
            Ok(Attempt::Acquired)
        } else {
            Ok(Attempt::Held(self.holder().await?))
        }
    }

    /// Acquires the lease, retrying until `timeout` has passed (zero: one attempt). `on_wait`
    /// is called with the holder when we start waiting and whenever the holder changes.
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

    /// Renews our lease now, failing with [`LockError::Lost`] when it is no longer ours (or the
    /// local deadline passed).
    pub async fn ensure_owned(&self) -> Result<(), LockError> {
        let (fence, sent) = match self.fence() {
            Ok(f) => f,
            Err(_) => return Err(self.lost_error().await),
        };
        if self.store.renew(&fence).await? {
            self.confirm(sent);
            Ok(())
        } else {
            self.mark_lost(None);
            Err(self.lost_error().await)
        }
    }

    /// Releases the lease if it is still ours; returns whether it was. The lock document stays,
    /// with no owner.
    pub async fn release(&self) -> Result<bool, LockError> {
        let now = self.server_now().unwrap_or_else(bson::DateTime::now);
        let released = self.store.release_lock(&self.me.token, now).await?;
        // Whatever the answer, this runner no longer holds a lease.
        self.shared.lost.store(true, Ordering::SeqCst);
        Ok(released)
    }

    /// The current holder, whether its lease is still valid or not.
    pub async fn holder(&self) -> Result<Option<LockHolder>, LockError> {
        Ok(self.store.read_lock().await?.and_then(|l| l.holder()))
    }

    /// Resolves when the lease is lost: a renewal found it taken, or the local deadline passed.
    pub(crate) async fn lost_signal(&self) {
        loop {
            let notified = self.shared.notify.notified();
            if self.is_lost() {
                return;
            }
            let deadline = self.shared.deadline.lock().ok().and_then(|d| *d);
            let Some(deadline) = deadline else { return };
            tokio::select! {
                () = notified => {}
                () = tokio::time::sleep_until(deadline.into()) => {}
            }
        }
    }

    /// Starts renewing the lease every third of its TTL until the returned guard is dropped or
    /// [`Heartbeat::stop`]ped. When a renewal finds the lease gone, or the local deadline
    /// passes, the lease is marked lost and [`Heartbeat::lost`] turns true.
    ///
    /// The heartbeat is its own task: on a multi-thread runtime it keeps running while a
    /// migration blocks its own thread. On a `current_thread` runtime it runs only when the
    /// migration yields; a migration that blocks longer than the lease then loses it (safely:
    /// the deadline still stops it).
    pub fn heartbeat(&self) -> Heartbeat {
        let lock = self.clone();
        let period = (self.ttl / 3).max(Duration::from_millis(50));
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Ok((fence, sent)) = lock.fence() else {
                    return;
                };
                match lock.store.renew(&fence).await {
                    Ok(true) => lock.confirm(sent),
                    Ok(false) => {
                        let holder = lock.holder().await.ok().flatten();
                        lock.mark_lost(holder);
                        return;
                    }
                    // A transient error: the next tick tries again, and the local deadline
                    // stops the run if renewals keep failing.
                    Err(_) => {}
                }
            }
        });
        Heartbeat {
            task,
            lock: self.clone(),
        }
    }
}

/// Clears the lock's owner whoever holds it (the document stays), returning the holder it had.
pub async fn force_release(
    db: &Database,
    collection: &str,
) -> Result<Option<LockHolder>, LockError> {
    let store = Store::new(db, collection);
    let now = match store.hello().await?.get_datetime("localTime") {
        Ok(t) => *t,
        Err(_) => bson::DateTime::now(),
    };
    Ok(store.force_release_lock(now).await?)
}

/// The running lease renewal; aborted on drop.
#[derive(Debug)]
pub struct Heartbeat {
    task: tokio::task::JoinHandle<()>,
    lock: LeaseLock,
}

impl Heartbeat {
    /// Whether the lease was found lost (taken over, released by `unlock`, or past its local
    /// deadline).
    pub fn lost(&self) -> bool {
        self.lock.is_lost()
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
