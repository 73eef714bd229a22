//! Connecting with a bounded wait and messages that never show the password.

use std::time::Duration;

use mongodb::bson::doc;
use mongodb::options::ClientOptions;
use mongodb::{Client, Database};

use crate::error::{ConfigError, ConnectionError, Error};
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
}

/// Connects to `uri` and checks that the server answers within `server_timeout`.
///
/// The database is `database` when given, else the one in the URI path; with neither this is
/// [`ConfigError::NoDatabase`]. Every message carries the URI with its password redacted.
pub async fn connect(
    uri: &str,
    database: Option<&str>,
    server_timeout: Duration,
) -> Result<Connection, Error> {
    let redacted_uri = redact_uri(uri);
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
    options.server_selection_timeout = Some(server_timeout);
    options.connect_timeout = Some(server_timeout);
    if options.app_name.is_none() {
        options.app_name = Some("mongo-migrate".to_owned());
    }
    let client = Client::with_options(options).map_err(|e| ConfigError::BadUri {
        uri: redacted_uri.clone(),
        message: redact_text(&e.to_string(), uri),
    })?;
    let db = client.database(&name);
    // Fail now, naming the host, rather than at the first state read with a vaguer message.
    db.run_command(doc! { "ping": 1 })
        .await
        .map_err(|e| -> Error {
            let message = redact_text(&e.to_string(), uri);
            if matches!(*e.kind, mongodb::error::ErrorKind::Authentication { .. }) {
                ConfigError::Authentication {
                    hosts: hosts.clone(),
                    message,
                }
                .into()
            } else {
                ConnectionError {
                    hosts: hosts.clone(),
                    timeout: server_timeout,
                    message,
                }
                .into()
            }
        })?;
    Ok(Connection {
        client,
        db,
        redacted_uri,
        hosts,
    })
}
