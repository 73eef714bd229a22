//! Errors in words: what failed (resolving the host, connecting, the TLS handshake,
//! authenticating, which command on which collection), where, the server's code name and
//! message, and the likely fix, in a line or two. `-v` adds the full cause chain as the driver
//! reports it. The library's typed errors keep their causes; only this module turns them into
//! text for people.

use std::error::Error as StdError;
use std::time::Duration;

use mongodb::error::{Error as DriverError, ErrorKind, WriteFailure};
use mongodb_migrate_core::Health;

/// What the message may say about the connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct View<'a> {
    /// The URI's hosts, once connected.
    pub hosts: Option<&'a str>,
    /// `--server-timeout`.
    pub timeout: Duration,
    /// The driver monitor's last failure.
    pub health: Option<&'a Health>,
    /// The subcommand, for the roles it needs.
    pub command: &'a str,
    /// The database, for the roles it needs.
    pub database: Option<&'a str>,
    /// The URI's user, `name@authSource`.
    pub user: Option<&'a str>,
}

/// The message of `e`: its own text, the driver's error in words, the fix; with `verbose`,
/// then every cause on a line of its own, as reported.
pub(crate) fn message(e: &(dyn StdError + 'static), view: &View<'_>, verbose: bool) -> String {
    let mut text = e.to_string();
    let mut hint = crate::hint::for_error(e);
    let mut source = e.source();
    let mut driver_seen = false;
    let mut chain: Vec<String> = Vec::new();
    while let Some(s) = source {
        if let Some(d) = as_driver(s) {
            if !driver_seen {
                let (words, fix) = words(d, view);
                text = join(&text, &words);
                hint = hint.or(fix.map(|f| format!("\n{f}")));
                driver_seen = true;
            }
            chain.push(format!("{d}"));
        } else if !driver_seen {
            let part = s.to_string();
            if !text.contains(&part) {
                text = join(&text, &part);
            }
        } else {
            chain.push(s.to_string());
        }
        source = s.source();
    }
    text.push_str(&hint.unwrap_or_default());
    if verbose && !chain.is_empty() {
        text.push_str("\ncaused by:");
        for c in chain {
            text.push_str("\n  ");
            text.push_str(&c);
        }
    }
    text
}

fn join(outer: &str, inner: &str) -> String {
    if outer.is_empty() {
        inner.to_owned()
    } else {
        format!("{outer}: {inner}")
    }
}

/// The server's error code and code name under `e`, if the server answered with one.
pub(crate) fn server_code(e: &(dyn StdError + 'static)) -> Option<(i32, String)> {
    let mut source: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(d) = as_driver(s) {
            if let Some(c) = driver_code(d) {
                return Some(c);
            }
        }
        if let Some(m) = s.downcast_ref::<mongodb_migrate_core::Error>() {
            if let Some(d) = m.driver_error() {
                if let Some(c) = server_code(d) {
                    return Some(c);
                }
            }
        }
        source = s.source();
    }
    None
}

fn driver_code(d: &DriverError) -> Option<(i32, String)> {
    match d.kind.as_ref() {
        ErrorKind::Command(c) => Some((c.code, c.code_name.clone())),
        ErrorKind::Write(WriteFailure::WriteError(w)) => {
            Some((w.code, w.code_name.clone().unwrap_or_default()))
        }
        ErrorKind::Write(WriteFailure::WriteConcernError(w)) => Some((w.code, w.code_name.clone())),
        ErrorKind::BulkWrite(b) => b
            .write_errors
            .values()
            .next()
            .map(|w| (w.code, w.code_name.clone().unwrap_or_default()))
            .or_else(|| {
                b.write_concern_errors
                    .first()
                    .map(|w| (w.code, w.code_name.clone()))
            }),
        _ => None,
    }
}

/// MongoDB's `Unauthorized`: the user lacks a privilege.
pub(crate) const UNAUTHORIZED: i32 = 13;

/// The codes that mean "this server is not (or no longer) the writable primary".
const NOT_PRIMARY: [i32; 8] = [10107, 13435, 10058, 11602, 189, 91, 11600, 13436];

/// A driver error in words, and the likely fix.
fn words(d: &DriverError, view: &View<'_>) -> (String, Option<String>) {
    let hosts = view.hosts.unwrap_or("the server");
    match d.kind.as_ref() {
        ErrorKind::ServerSelection { message, .. } => {
            let within = format!(
                "cannot reach the MongoDB server at {hosts} within {}",
                humantime::format_duration(view.timeout)
            );
            match view.health.and_then(Health::last_failure) {
                Some((host, failure)) => {
                    let (what, fix) = words(
                        &failure,
                        &View {
                            hosts: Some(&host),
                            ..*view
                        },
                    );
                    (format!("{within}: {what}"), fix)
                }
                None if message.contains("ReplicaSetNoPrimary") => (
                    format!("{within}: the replica set has no primary"),
                    Some(
                        "Wait for an election to finish, or check the replicaSet name in the URI."
                            .to_owned(),
                    ),
                ),
                None => (
                    format!("{within}: no answer from {hosts}"),
                    Some(timeout_fix(view.timeout)),
                ),
            }
        }
        ErrorKind::DnsResolve { message, .. } => (
            format!("the host name does not resolve: {message}"),
            Some("Check the host name in the URI.".to_owned()),
        ),
        ErrorKind::Io(io) => io_words(io, hosts, view.timeout),
        ErrorKind::Authentication { message, .. } => {
            let cause = d.source().and_then(as_driver).and_then(driver_code_text);
            let who = view.user.map(|u| format!(" as {u}")).unwrap_or_default();
            let what = match cause {
                Some(c) => format!("authentication{who} failed: {c}"),
                None => format!("authentication{who} failed: {message}"),
            };
            (
                what,
                Some("Check the user name, the password and authSource (the database that holds the user) in the URI.".to_owned()),
            )
        }
        ErrorKind::InvalidTlsConfig { message, .. } => (
            format!("the TLS settings are invalid: {message}"),
            Some("Check the tlsCAFile and tlsCertificateKeyFile paths in the URI.".to_owned()),
        ),
        _ => match driver_code(d) {
            Some((code, name)) => {
                let text = driver_code_text(d).unwrap_or_else(|| format!("{name} ({code})"));
                (
                    format!("the server refused it: {text}"),
                    code_fix(code, view),
                )
            }
            None => (d.kind.to_string(), None),
        },
    }
}

/// The driver's error behind `e`, which the driver boxes when it is another error's source.
fn as_driver<'e>(e: &'e (dyn StdError + 'static)) -> Option<&'e DriverError> {
    e.downcast_ref::<DriverError>()
        .or_else(|| e.downcast_ref::<Box<DriverError>>().map(AsRef::as_ref))
}

/// `CodeName (code): message` of a server's answer.
fn driver_code_text(d: &DriverError) -> Option<String> {
    let message = match d.kind.as_ref() {
        ErrorKind::Command(c) => c.message.clone(),
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.message.clone(),
        ErrorKind::Write(WriteFailure::WriteConcernError(w)) => w.message.clone(),
        ErrorKind::BulkWrite(b) => b
            .write_errors
            .values()
            .next()
            .map(|w| w.message.clone())
            .or_else(|| b.write_concern_errors.first().map(|w| w.message.clone()))
            .unwrap_or_default(),
        _ => return None,
    };
    let (code, name) = driver_code(d)?;
    let name = if name.is_empty() {
        "error".to_owned()
    } else {
        name
    };
    Some(format!("{name} ({code}): {message}"))
}

fn code_fix(code: i32, view: &View<'_>) -> Option<String> {
    if code == UNAUTHORIZED && view.user.is_none() {
        return Some(
            "The server requires authentication: put the user and the password in the URI \
             (mongodb://USER:PASSWORD@HOST/DB?authSource=DB)."
                .to_owned(),
        );
    }
    if code == UNAUTHORIZED {
        let need = mongodb_migrate_core::access::need(view.command);
        let db = view.database.unwrap_or("the database");
        return Some(format!(
            "The connected user lacks a privilege `migrate {}` needs: grant it the {} role on {db} \
             (`migrate doctor` lists what each command needs; see docs/permissions.md).",
            need.command, need.role
        ));
    }
    if NOT_PRIMARY.contains(&code) {
        return Some(
            "The server is not the writable primary (an election under way, or a URI with \
             directConnection=true to a secondary): run again once a primary is elected, or \
             name the replica set in the URI."
                .to_owned(),
        );
    }
    match code {
        100 => Some(
            "The write concern cannot be met (w=N above the members): use w=majority.".to_owned(),
        ),
        59 | 115 | 40324 => Some(
            "The server lacks a command or stage the runner uses: `migrate doctor` tells what it \
             supports (see docs/compatibility.md)."
                .to_owned(),
        ),
        _ => None,
    }
}

/// What to try when the server does not answer (the same whether the monitor's hello or the
/// server selection ran out first).
fn timeout_fix(timeout: Duration) -> String {
    format!(
        "Is the server up, and reachable from here (a firewall, a VPN, the port)? --server-timeout \
         (now {}) waits longer.",
        humantime::format_duration(timeout)
    )
}

fn io_words(io: &std::io::Error, host: &str, timeout: Duration) -> (String, Option<String>) {
    use std::io::ErrorKind as K;
    let inner = io
        .get_ref()
        .map(ToString::to_string)
        .unwrap_or_else(|| io.to_string());
    let lower = inner.to_ascii_lowercase();
    if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        return (
            format!("the TLS handshake with {host} failed: {inner}"),
            Some("Give the server's CA with tlsCAFile=PATH in the URI; its certificate must name the host (for an IP address, an IP SAN).".to_owned()),
        );
    }
    if lower.contains("lookup")
        || lower.contains("resolve")
        || lower.contains("name or service not known")
        || lower.contains("nodename")
    {
        let name = host.rsplit_once(':').map_or(host, |(h, _)| h);
        return (
            format!("the host name {name} does not resolve"),
            Some("Check the host name in the URI.".to_owned()),
        );
    }
    match io.kind() {
        K::ConnectionRefused => (
            format!("{host} refused the connection"),
            Some(
                "Nothing listens there: is the server running, and are the host and port right?"
                    .to_owned(),
            ),
        ),
        K::TimedOut => (format!("no answer from {host}"), Some(timeout_fix(timeout))),
        K::ConnectionReset | K::ConnectionAborted | K::UnexpectedEof | K::BrokenPipe => (
            format!("{host} closed the connection ({inner})"),
            Some(
                "Does the server require TLS (tls=true in the URI), or limit connections?"
                    .to_owned(),
            ),
        ),
        _ => (format!("network error with {host}: {inner}"), None),
    }
}
