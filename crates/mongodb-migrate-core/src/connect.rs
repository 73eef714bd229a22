//! Connecting with a bounded wait and messages that never show the password.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mongodb::event::sdam::SdamEvent;
use mongodb::event::EventHandler;
use mongodb::options::ClientOptions;
use mongodb::{Client, Database};

use crate::error::{ConfigError, Error};
use crate::redact::{redact_text, redact_uri};

/// A connected database, and how it was named.
#[derive(Debug, Clone)]
pub struct Connection {
    /// The client.
    pub client: Client,
    /// The database migrations run against.
    pub db: Database,
    /// The URI with its password redacted, for messages.
    pub redacted_uri: String,
    /// The hosts of the URI (`host:port,…`).
    pub hosts: String,
    /// The URI's secrets, to hide from every text shown or stored.
    pub secrets: crate::Secrets,
    /// What the driver's monitor last failed with, for messages about an unreachable server.
    pub health: Health,
    /// The URI's hosts, one a string.
    pub host_list: Vec<String>,
    /// `retryWrites` as the URI sets it (`None`: the driver's default, on).
    pub retry_writes: Option<bool>,
    /// Whether the URI asks for TLS.
    pub tls: bool,
    /// The URI's user as `name@authSource`, if it names one.
    pub user: Option<String>,
}

/// The last failure of the driver's server monitor (a heartbeat), by host.
///
/// When no server can be selected, the driver's error only says that server selection timed
/// out; the monitor's failure says why (a refused connection, a host that does not resolve, a
/// TLS handshake), as a typed error.
#[derive(Debug, Clone, Default)]
pub struct Health(Arc<Mutex<Option<(String, mongodb::error::Error)>>>);

impl Health {
    /// The host and the error of the last failed heartbeat, if any failed since the last one
    /// that succeeded.
    pub fn last_failure(&self) -> Option<(String, mongodb::error::Error)> {
        self.0.lock().ok().and_then(|f| f.clone())
    }

    fn record(&self, event: SdamEvent) {
        let Ok(mut last) = self.0.lock() else { return };
        match event {
            SdamEvent::ServerHeartbeatFailed(e) => {
                *last = Some((e.server_address.to_string(), e.failure));
            }
            SdamEvent::ServerHeartbeatSucceeded(_) => *last = None,
            _ => {}
        }
    }
}

/// Prepares a client for `uri` that waits at most `server_timeout` for a server to answer.
///
/// Nothing is sent yet: the first command of the run connects. A URI with `retryWrites=false`
/// is refused ([`ConfigError::RetryWritesDisabled`]): state writes rely on retryable writes.
///
/// The database is `database` when given, else the one in the URI path; with neither this is
/// [`ConfigError::NoDatabase`]. Every message carries the URI with its password redacted.
///
/// ```no_run
/// # async fn f() -> Result<(), mongodb_migrate_core::Error> {
/// let conn = mongodb_migrate_core::connect(
///     "mongodb://ann:secret@db.example.com/?replicaSet=rs0",
///     Some("field-notes"),
///     std::time::Duration::from_secs(5),
/// )
/// .await?;
/// assert_eq!(conn.db.name(), "field-notes");
/// # Ok(())
/// # }
/// ```
pub async fn connect(
    uri: &str,
    database: Option<&str>,
    server_timeout: Duration,
) -> Result<Connection, Error> {
    connect_with(uri, database, server_timeout, |_| {}).await
}

/// [`connect`], with `configure` adjusting the client's options last (the rehearsal's command
/// monitor).
pub(crate) async fn connect_with(
    uri: &str,
    database: Option<&str>,
    server_timeout: Duration,
    configure: impl FnOnce(&mut ClientOptions),
) -> Result<Connection, Error> {
    let redacted_uri = redact_uri(uri);
    // The driver's error is kept as redacted text, not as a `source`: its message can quote
    // the password, and a source would carry it to every caller that prints the chain.
    let mut options = ClientOptions::parse(uri)
        .await
        .map_err(|e| ConfigError::BadUri {
            uri: redacted_uri.clone(),
            message: redact_text(&e.to_string(), uri),
        })?;
    let hosts = options
        .hosts
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let name = match database.filter(|d| !d.is_empty()) {
        Some(d) => d.to_owned(),
        None => options
            .default_database
            .clone()
            .filter(|d| !d.is_empty())
            .ok_or(ConfigError::NoDatabase)?,
    };
    if options.retry_writes == Some(false) {
        return Err(ConfigError::RetryWritesDisabled.into());
    }
    options.server_selection_timeout = Some(server_timeout);
    options.connect_timeout = Some(server_timeout);
    if options.app_name.is_none() {
        options.app_name = Some("mongodb-migrate".to_owned());
    }
    let health = Health::default();
    let recorder = health.clone();
    options.sdam_event_handler = Some(EventHandler::callback(move |e| recorder.record(e)));
    let host_list: Vec<String> = options.hosts.iter().map(ToString::to_string).collect();
    let retry_writes = options.retry_writes;
    let tls = matches!(options.tls, Some(mongodb::options::Tls::Enabled(_)));
    let user = options.credential.as_ref().and_then(|c| {
        let source = c
            .source
            .clone()
            .or_else(|| options.default_database.clone())
            .unwrap_or_else(|| "admin".to_owned());
        c.username.as_ref().map(|u| format!("{u}@{source}"))
    });
    configure(&mut options);
    let client = Client::with_options(options).map_err(|e| ConfigError::BadUri {
        uri: redacted_uri.clone(),
        message: redact_text(&e.to_string(), uri),
    })?;
    // No `ping` here: the first command of the run (one query for `status`) finds out whether
    // the server answers, and its error is classified by `Error::is_unreachable`.
    let db = client.database(&name);
    Ok(Connection {
        client,
        db,
        redacted_uri,
        hosts,
        secrets: crate::Secrets::from_uri(uri),
        health,
        host_list,
        retry_writes,
        tls,
        user,
    })
}
