//! Shared vocabulary of the runtime: direction, runner identity, lock holder.
//!
//! A leaf module: behaviour modules (store, lease, status, runner, CLI) all import it, and it
//! imports none of them.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Upgrade or downgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Applying (`upgrade`).
    Up,
    /// Reverting (`downgrade`).
    Down,
}

impl Direction {
    /// `"up"` or `"down"`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Up => "upgrade",
            Direction::Down => "downgrade",
        })
    }
}

/// Who runs: the host, the process and a token unique to this runner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Runner {
    /// The host name.
    pub host: String,
    /// The process id.
    pub pid: u32,
    /// A random token identifying this runner (one per run).
    #[serde(default)]
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
