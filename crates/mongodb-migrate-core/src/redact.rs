//! Keeps the secrets of a connection string out of everything we print.
//!
//! "The password" is whatever the MongoDB driver will take as the password, so the URI is taken
//! apart by the driver's own rules, mirrored from `ConnectionString::parse` in `mongodb` 3.9
//! (`src/client/options.rs`):
//!
//! 1. the scheme ends at the first `://`;
//! 2. the options start at the first `?` after it, whatever comes before;
//! 3. the user info ends at the **last** `@` before the options (so a raw `@` in the password
//!    is taken as part of it, and then rejected, since it must be percent-encoded);
//! 4. the password starts after the first `:` of the user info;
//! 5. the host list ends at the first `/` after that `@`; the rest is the database;
//! 6. options are split at `&`, then at the first `=`; keys are case-insensitive; values are
//!    percent-decoded; `authMechanismProperties` is then split at `,` and each entry at its
//!    first `:`.
//!
//! A URI the driver accepts (checked with [`ConnectionString::parse`], which is synchronous and
//! does no DNS lookup) is shown with its password and its secret option values masked. A URI it
//! rejects is never echoed: we can't know where the user meant the password to end, so
//! everything from `://` to the last `@` anywhere in it is masked, along with every option value
//! that may be secret and everything that may be a piece of one (see [`redact_uri`]).

use std::borrow::Cow;
use std::fmt;
use std::path::Path;

use mongodb::options::ConnectionString;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::sanitize::for_terminal;

/// What a secret is replaced with.
const MASK: &str = "***";

/// Secrets of fewer characters than this are masked only where they stand alone (see
/// [`Secrets`]).
const MIN_MASKED_ANYWHERE: usize = 4;

/// Options (lower case) whose whole value is a secret. `tlsCertificateKeyFilePassword` needs the
/// driver's `cert-key-password` feature and `proxyPassword` its `socks5-proxy` feature; without
/// them the driver rejects the URI, and their values are masked all the same.
const SECRET_OPTIONS: &[&str] = &["tlscertificatekeyfilepassword", "proxypassword"];

/// The option whose entries' values are masked, keeping their keys.
const AUTH_MECHANISM_PROPERTIES: &str = "authmechanismproperties";

/// `authMechanismProperties` keys whose values name a service rather than prove an identity.
/// They are masked in a shown URI like every other entry, but not hunted down in other text:
/// `SERVICE_NAME:mongodb` would otherwise mask every "mongodb" in every message. Any other key
/// (`AWS_SESSION_TOKEN`, or one we don't know) is treated as a secret.
const PUBLIC_AUTH_PROPERTIES: &[&str] = &[
    "SERVICE_NAME",
    "SERVICE_REALM",
    "SERVICE_HOST",
    "CANONICALIZE_HOST_NAME",
    "ENVIRONMENT",
    "TOKEN_RESOURCE",
];

/// Every option key (lower case) the driver's `parse_option_pair` knows. In a rejected URI, a
/// `&`-separated piece that is not `known=…` may be the rest of a value that contained a raw `&`,
/// so it is masked whole.
const KNOWN_OPTIONS: &[&str] = &[
    "adaptiveretries",
    "appname",
    "authmechanism",
    "authmechanismproperties",
    "authsource",
    "compressors",
    "connecttimeoutms",
    "directconnection",
    "enableoverloadretargeting",
    "heartbeatfrequencyms",
    "journal",
    "loadbalanced",
    "localthresholdms",
    "maxadaptiveretries",
    "maxconnecting",
    "maxidletimems",
    "maxpoolsize",
    "maxstalenessseconds",
    "minpoolsize",
    "proxyhost",
    "proxypassword",
    "proxyport",
    "proxyusername",
    "readconcernlevel",
    "readpreference",
    "readpreferencetags",
    "replicaset",
    "retryreads",
    "retrywrites",
    "servermonitoringmode",
    "serverselectiontimeoutms",
    "sockettimeoutms",
    "srvmaxhosts",
    "srvservicename",
    "ssl",
    "tls",
    "tlsallowinvalidcertificates",
    "tlsallowinvalidhostnames",
    "tlscafile",
    "tlscertificatekeyfile",
    "tlscertificatekeyfilepassword",
    "tlsinsecure",
    "uuidrepresentation",
    "w",
    "waitqueuetimeoutms",
    "wtimeoutms",
    "zlibcompressionlevel",
];

/// Characters a URI component may hold unencoded (RFC 3986 "unreserved"): everything else is
/// percent-encoded. `NON_ALPHANUMERIC`, which the driver uses to write a password back, also
/// encodes `-._~`; both spellings are searched for.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The characters at which the driver splits a URI (or its user info, hosts or options). In a
/// rejected URI, the driver's error may quote any piece of the would-be password between them.
const URI_DELIMITERS: &[char] = &['?', '/', ':', '@', ',', '&', '=', '#', '[', ']'];

/// Returns `uri` with its secrets masked, by the driver's rules (see [`Secrets`](crate::Secrets)).
///
/// For a URI the driver accepts, the password and the values of secret options are replaced by
/// `***`, and everything else is kept:
///
/// - `mongodb://ann:s3cret@db.example:27017/app` → `mongodb://ann:***@db.example:27017/app`;
/// - `authMechanismProperties=AWS_SESSION_TOKEN:tok,SERVICE_NAME:x` →
///   `authMechanismProperties=AWS_SESSION_TOKEN:***,SERVICE_NAME:***`;
/// - `tlsCertificateKeyFilePassword` and `proxyPassword` values → `***`.
///
/// A URI the driver rejects is never echoed as is:
///
/// - everything between `://` and the last `@` (user name included) becomes `***`, since a
///   password with a raw `/`, `?` or `@` makes its end unknowable;
/// - secret option values are masked as above, and a `&`-separated piece that is not a known
///   `option=value` pair becomes `***` (it may be the tail of a value with a raw `&`);
/// - if the masked part contains a `=`, that `@` may have been inside an option value, so the
///   text after it up to the next `&` is masked too;
/// - a host's port that is not a number is masked (with no `@`, `u:pass` reads as a host and
///   a port).
///
/// Any secret that still shows elsewhere in the result, such as a user name equal to the
/// password, is masked as [`Secrets::redact`] would. A URI without secrets comes back unchanged.
///
/// # Examples
///
/// ```
/// use mongodb_migrate_core::redact_uri;
///
/// assert_eq!(
///     redact_uri("mongodb://ann:s3cret@db.example:27017/app?tls=true"),
///     "mongodb://ann:***@db.example:27017/app?tls=true"
/// );
/// // The driver rejects a raw '/' in a password: nothing of the user info is shown.
/// assert_eq!(redact_uri("mongodb://ann:pa/ss@h/app"), "mongodb://***@h/app");
/// ```
pub fn redact_uri(uri: &str) -> String {
    Secrets::from_uri(uri).redact(uri)
}

/// Replaces every occurrence of the URI's secrets in `text` by `***`, and the URI itself by
/// [`redact_uri`]'s form.
///
/// Driver error messages may quote parts of the connection string; everything printed from a
/// database error goes through this. A shorthand for [`Secrets::from_uri`] then
/// [`Secrets::redact`]; build a [`Secrets`] once to redact many texts, or to add secrets of your
/// own.
pub fn redact_text(text: &str, uri: &str) -> String {
    Secrets::from_uri(uri).redact(text)
}

/// Secrets to keep out of printed text: those of connection strings, and any an app adds.
///
/// [`redact`](Secrets::redact) replaces each URI given by its [`redact_uri`] form, then every
/// occurrence of every secret by `***`. A secret is searched for as given, percent-decoded,
/// percent-encoded (both the driver's all-but-alphanumerics form and the RFC 3986 one, with
/// upper- and lower-case hex) and as `{:?}` would write it inside quotes, since error messages
/// quote values all those ways.
///
/// **Short secrets.** A secret (in any of those forms) shorter than 4 characters is masked only
/// where it stands alone: not preceded or followed by a letter, digit or `_`. Masking a
/// one-letter password everywhere would turn every message into asterisks, while the password
/// leaks where it stands alone (`got x`, `ann:x@host`), which is where it is masked. Longer
/// secrets are masked wherever they occur, even inside a word. Empty secrets are ignored.
///
/// All matches are found in the text first and overlapping ones merged, so a secret that
/// contains another, or two secrets that overlap, are masked as one span and no piece of either
/// is left. A secret made only of `*` may still seem to appear in the mask itself.
///
/// `Debug` shows how many URIs and secret forms are held, never the secrets.
///
/// # Examples
///
/// ```
/// use mongodb_migrate_core::Secrets;
///
/// let mut secrets = Secrets::from_uri("mongodb://ann:p%40ss@db.example/app");
/// secrets.add("api-key-123");
/// assert_eq!(
///     secrets.redact("login p@ss failed on mongodb://ann:p%40ss@db.example/app (api-key-123)"),
///     "login *** failed on mongodb://ann:***@db.example/app (***)"
/// );
/// ```
#[derive(Clone, Default)]
pub struct Secrets {
    /// Each URI added, with how it is shown instead.
    uris: Vec<(String, String)>,
    /// Every form of every secret, sorted and without duplicates.
    needles: Vec<String>,
}

impl Secrets {
    /// No secrets: [`redact`](Secrets::redact) returns its text unchanged.
    pub fn new() -> Self {
        Self::default()
    }

    /// The secrets of one connection string (see [`Secrets::add_uri`]).
    pub fn from_uri(uri: &str) -> Self {
        let mut secrets = Self::new();
        secrets.add_uri(uri);
        secrets
    }

    /// Adds the secrets of a connection string: its password, secret option values, and the
    /// whole URI (replaced by its [`redact_uri`] form).
    ///
    /// For a URI the driver rejects, every possible reading of the password is added: from the
    /// first `:` to each `@`, and each piece of it between the characters the driver splits at
    /// (`?`, `/`, `:`, `@`, `,`, `&`, `=`), since its error message may quote such a piece.
    pub fn add_uri(&mut self, uri: &str) -> &mut Self {
        if uri.is_empty() {
            return self;
        }
        let analysis = analyse(uri);
        for secret in &analysis.secrets {
            self.add(secret);
        }
        if analysis.shown != uri && !self.uris.iter().any(|(u, _)| u == uri) {
            self.uris.push((uri.to_owned(), analysis.shown));
        }
        self
    }

    /// Adds a secret value that is not in a URI, such as an API key an app also uses. An empty
    /// value is ignored.
    pub fn add(&mut self, secret: &str) -> &mut Self {
        for form in forms(secret) {
            if let Err(at) = self.needles.binary_search(&form) {
                self.needles.insert(at, form);
            }
        }
        self
    }

    /// Whether there is nothing to redact.
    pub fn is_empty(&self) -> bool {
        self.uris.is_empty() && self.needles.is_empty()
    }

    /// `text` with every URI replaced by its redacted form and every secret by `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut text = Cow::Borrowed(text);
        for (uri, shown) in &self.uris {
            if text.contains(uri.as_str()) {
                text = Cow::Owned(text.replace(uri.as_str(), shown));
            }
        }
        let mut spans = Vec::new();
        for needle in &self.needles {
            find_all(&text, needle, &mut spans);
        }
        if spans.is_empty() {
            return text.into_owned();
        }
        spans.sort_unstable();
        let mut out = String::with_capacity(text.len());
        let mut shown_to = 0;
        let mut iter = spans.into_iter().peekable();
        while let Some((start, mut end)) = iter.next() {
            // Merge overlapping and adjacent matches into one mask.
            while let Some(&(next_start, next_end)) = iter.peek() {
                if next_start > end {
                    break;
                }
                end = end.max(next_end);
                iter.next();
            }
            out.push_str(&text[shown_to..start]);
            out.push_str(MASK);
            shown_to = end;
        }
        out.push_str(&text[shown_to..]);
        out
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Counts only: the point of this type is that its contents are never printed.
        f.debug_struct("Secrets")
            .field("uris", &self.uris.len())
            .field("forms", &self.needles.len())
            .finish()
    }
}

/// The message for a `.env` line that can't be parsed: `path:line:column: cannot parse this line
/// of .env`, with `line` and `column` counted from 1 as editors do.
///
/// The line itself is not quoted: it is most likely `MONGODB_URI=…` with a password. (dotenvy's
/// `Error::LineParse(text, index)` carries the text and a 0-based index; give `index + 1`, and
/// find the line number by other means.) The path is passed through
/// [`for_terminal`](crate::sanitize::for_terminal).
///
/// # Examples
///
/// ```
/// use std::path::Path;
/// use mongodb_migrate_core::dotenv_location_message;
///
/// assert_eq!(
///     dotenv_location_message(Path::new("/app/.env"), 3, 14),
///     "/app/.env:3:14: cannot parse this line of .env"
/// );
/// ```
pub fn dotenv_location_message(path: &Path, line: usize, column: usize) -> String {
    let path = path.display().to_string();
    format!(
        "{}:{line}:{column}: cannot parse this line of .env",
        for_terminal(&path)
    )
}

/// A connection string taken apart: how to show it, and which values are secret.
struct Analysis {
    shown: String,
    secrets: Vec<String>,
}

fn analyse(uri: &str) -> Analysis {
    let accepted = ConnectionString::parse(uri).is_ok();
    let mut analysis = Analysis {
        shown: String::with_capacity(uri.len()),
        secrets: Vec::new(),
    };
    match uri.split_once("://") {
        Some((scheme, after_scheme)) if accepted => {
            analysis.shown.push_str(scheme);
            analysis.shown.push_str("://");
            analysis.accepted(after_scheme);
        }
        _ => analysis.rejected(uri),
    }
    analysis
}

impl Analysis {
    /// The part after `scheme://` of a URI the driver accepted, split exactly as it does.
    fn accepted(&mut self, after_scheme: &str) {
        let (pre_options, options) = split_once_left(after_scheme, '?');
        let (user_info, hosts_and_db) = split_once_right(pre_options, '@');
        if let Some(user_info) = user_info {
            match user_info.split_once(':') {
                Some((user, password)) => {
                    self.shown.push_str(user);
                    self.shown.push(':');
                    self.shown.push_str(MASK);
                    self.secret(password);
                }
                None => self.shown.push_str(user_info),
            }
            self.shown.push('@');
        }
        self.shown.push_str(hosts_and_db);
        if let Some(options) = options {
            self.shown.push('?');
            self.options(options, false);
        }
    }

    /// A URI the driver rejected: mask generously, and collect every reading of the secrets.
    fn rejected(&mut self, uri: &str) {
        let scheme_end = uri.find("://").map_or(0, |i| i + 3);
        self.shown.push_str(&uri[..scheme_end]);
        let after_scheme = &uri[scheme_end..];
        let Some(at) = after_scheme.rfind('@') else {
            self.rejected_hosts_and_options(after_scheme);
            return;
        };
        let user_info = &after_scheme[..at];
        let rest = &after_scheme[at + 1..];
        self.shown.push_str(MASK);
        self.shown.push('@');
        self.password_candidates(user_info);
        if user_info.contains('=') {
            // That '@' may be inside an option value (`…?authMechanismProperties=…:ab@cd&…`):
            // the text up to the next '&' may be the rest of the value.
            let (head, tail) = split_once_left(rest, '&');
            if !head.is_empty() {
                self.shown.push_str(MASK);
                self.fragment(head);
            }
            if let Some(tail) = tail {
                self.shown.push('&');
                self.options(tail, true);
            }
        } else {
            self.rejected_hosts_and_options(rest);
        }
    }

    /// `hosts/db?options` of a rejected URI: hosts are shown unless a port is not a number.
    fn rejected_hosts_and_options(&mut self, rest: &str) {
        let (hosts_and_db, options) = split_once_left(rest, '?');
        let (hosts, db) = split_once_left(hosts_and_db, '/');
        for (i, host) in hosts.split(',').enumerate() {
            if i > 0 {
                self.shown.push(',');
            }
            match host.rsplit_once(':') {
                Some((name, port))
                    if !name.starts_with('[') && !port.chars().all(|c| c.is_ascii_digit()) =>
                {
                    self.shown.push_str(name);
                    self.shown.push(':');
                    self.shown.push_str(MASK);
                    self.fragment(port);
                }
                _ => self.shown.push_str(host),
            }
        }
        if let Some(db) = db {
            self.shown.push('/');
            self.shown.push_str(db);
        }
        if let Some(options) = options {
            self.shown.push('?');
            self.options(options, false);
        }
    }

    /// Everything in a rejected URI's user info that the driver, or the user, may take as the
    /// password.
    fn password_candidates(&mut self, user_info: &str) {
        let Some((_, password)) = user_info.split_once(':') else {
            return;
        };
        for (at, _) in password.match_indices('@') {
            self.secret(&password[..at]);
        }
        self.secret(password);
        self.fragment(password);
    }

    /// Appends `options` (after `?`) with secret values masked, collecting those values.
    ///
    /// `after_secret` says whether the text just before may be an unfinished secret value: then
    /// pieces that are not a known option are pieces of it.
    fn options(&mut self, options: &str, mut after_secret: bool) {
        for (i, pair) in options.split('&').enumerate() {
            if i > 0 {
                self.shown.push('&');
            }
            let known = pair.split_once('=').and_then(|(key, value)| {
                let lower = key.to_lowercase();
                KNOWN_OPTIONS
                    .contains(&lower.as_str())
                    .then_some((key, lower, value))
            });
            let Some((key, lower, value)) = known else {
                // Not an option: a typo, or the tail of a value that held a raw '&'.
                if !pair.is_empty() {
                    self.shown.push_str(MASK);
                    if after_secret {
                        self.fragment(pair);
                    }
                }
                continue;
            };
            self.shown.push_str(key);
            self.shown.push('=');
            if lower == AUTH_MECHANISM_PROPERTIES {
                self.auth_mechanism_properties(value);
                after_secret = true;
            } else if SECRET_OPTIONS.contains(&lower.as_str()) {
                self.shown.push_str(MASK);
                self.secret(value);
                after_secret = true;
            } else {
                self.shown.push_str(value);
                after_secret = false;
            }
        }
    }

    /// Appends an `authMechanismProperties` value with each entry's value masked, collecting
    /// the secret ones. Like the driver, splits the percent-decoded value.
    fn auth_mechanism_properties(&mut self, raw: &str) {
        let decoded = percent_decode_str(raw).decode_utf8_lossy();
        for (i, entry) in decoded.split(',').enumerate() {
            if i > 0 {
                self.shown.push(',');
            }
            match entry.split_once(':') {
                Some((key, value)) => {
                    self.shown.extend(utf8_percent_encode(key, COMPONENT));
                    self.shown.push(':');
                    self.shown.push_str(MASK);
                    if !PUBLIC_AUTH_PROPERTIES.contains(&key) {
                        self.secret(value);
                    }
                }
                // The driver rejects this and quotes it: it may be the tail of a value that held
                // a raw ','.
                None => {
                    self.shown.push_str(MASK);
                    self.secret(entry);
                }
            }
        }
        self.secret(&decoded);
    }

    fn secret(&mut self, value: &str) {
        if !value.is_empty() {
            self.secrets.push(value.to_owned());
        }
    }

    /// A piece of text that may be part of a secret, and the pieces of it the driver may quote
    /// after splitting it (option names in lower case).
    fn fragment(&mut self, text: &str) {
        self.secret(text);
        for piece in text.split(URI_DELIMITERS) {
            self.secret(piece);
            let lower = piece.to_lowercase();
            if lower != piece {
                self.secret(&lower);
            }
        }
    }
}

/// Every spelling of `secret` that text may contain, empty ones left out.
fn forms(secret: &str) -> Vec<String> {
    let mut forms = Vec::new();
    if secret.is_empty() {
        return forms;
    }
    let decoded = percent_decode_str(secret).decode_utf8_lossy();
    for value in [secret, decoded.as_ref()] {
        forms.push(value.to_owned());
        for set in [NON_ALPHANUMERIC, COMPONENT] {
            let encoded = utf8_percent_encode(value, set).to_string();
            forms.push(lower_hex(&encoded));
            forms.push(encoded);
        }
        let debug = format!("{value:?}");
        forms.push(debug[1..debug.len() - 1].to_owned());
    }
    forms.retain(|f| !f.is_empty());
    forms.sort_unstable();
    forms.dedup();
    forms
}

/// `s` with the hex digits of its percent escapes in lower case.
fn lower_hex(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut hex_left = 0;
    for c in s.chars() {
        if hex_left > 0 {
            out.push(c.to_ascii_lowercase());
            hex_left -= 1;
        } else {
            out.push(c);
            if c == '%' {
                hex_left = 2;
            }
        }
    }
    out
}

/// Pushes the byte span of every match of `needle` in `text`; a short needle matches only where
/// it stands alone.
fn find_all(text: &str, needle: &str, spans: &mut Vec<(usize, usize)>) {
    let standalone_only = needle.chars().count() < MIN_MASKED_ANYWHERE;
    let mut from = 0;
    while let Some(found) = text[from..].find(needle) {
        let start = from + found;
        let end = start + needle.len();
        if !standalone_only || stands_alone(text, start, end) {
            spans.push((start, end));
            from = end;
        } else {
            // Try again one character on: a later match may overlap this one.
            from = start + text[start..].chars().next().map_or(1, char::len_utf8);
        }
    }
}

fn stands_alone(text: &str, start: usize, end: usize) -> bool {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    !text[..start].chars().next_back().is_some_and(is_word)
        && !text[end..].chars().next().is_some_and(is_word)
}

/// The driver's `split_once_left`: at the first `delimiter`, or all on the left.
fn split_once_left(s: &str, delimiter: char) -> (&str, Option<&str>) {
    match s.split_once(delimiter) {
        Some((left, right)) => (left, Some(right)),
        None => (s, None),
    }
}

/// The driver's `split_once_right`: at the last `delimiter`, or all on the right.
fn split_once_right(s: &str, delimiter: char) -> (Option<&str>, &str) {
    match s.rsplit_once(delimiter) {
        Some((left, right)) => (Some(left), right),
        None => (None, s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The forms of `secret` that must appear nowhere: as given, decoded and encoded.
    fn leaked_forms(secret: &str) -> Vec<String> {
        let decoded = percent_decode_str(secret).decode_utf8_lossy().into_owned();
        let mut forms = vec![secret.to_owned(), decoded.clone()];
        for set in [NON_ALPHANUMERIC, COMPONENT] {
            forms.push(utf8_percent_encode(&decoded, set).to_string());
        }
        forms
    }

    /// Redacts `uri` and a message quoting it and its secrets every way; checks that no secret
    /// is left and that every `kept` part is.
    #[track_caller]
    fn check(uri: &str, secrets: &[&str], kept: &[&str]) -> String {
        let shown = redact_uri(uri);
        let mut message = format!("cannot use {uri}: bad\n");
        for s in secrets {
            let decoded = percent_decode_str(s).decode_utf8_lossy().into_owned();
            message.push_str(&format!(
                "got {s} / {decoded} / {decoded:?} / [{decoded}]\n"
            ));
        }
        let text = redact_text(&message, uri);
        for s in secrets {
            for form in leaked_forms(s) {
                assert!(!shown.contains(&form), "{form:?} in {shown}");
                assert!(!text.contains(&form), "{form:?} in {text}");
            }
        }
        for k in kept {
            assert!(shown.contains(k), "{k:?} lost from {shown}");
        }
        assert!(text.contains(&shown), "{text}");
        shown
    }

    #[track_caller]
    fn assert_accepted(uri: &str, accepted: bool) {
        assert_eq!(ConnectionString::parse(uri).is_ok(), accepted, "{uri}");
    }

    #[test]
    fn hides_the_password_only() {
        assert_eq!(
            check(
                "mongodb://ann:s3cret@db.example:27017/app?tls=true",
                &["s3cret"],
                &[]
            ),
            "mongodb://ann:***@db.example:27017/app?tls=true"
        );
        assert_eq!(
            redact_uri("mongodb://hunter22:hunter22@h/db"),
            "mongodb://***:***@h/db"
        );
        assert_eq!(redact_uri("mongodb://h:1/db"), "mongodb://h:1/db");
        assert_eq!(redact_uri("mongodb://ann@h:1/db"), "mongodb://ann@h:1/db");
    }

    #[test]
    fn raw_slash_in_password() {
        let uri = "mongodb://u:pa/ss@host/x";
        assert_accepted(uri, false);
        let shown = check(uri, &["pa/ss", "pa", "ss"], &["host/x"]);
        assert_eq!(shown, "mongodb://***@host/x");
    }

    #[test]
    fn raw_question_mark_in_password() {
        // The driver splits the options off at the first '?', then finds no '@': `u:pa` is
        // taken as a host and a port, and its error quotes "pa".
        let uri = "mongodb://u:pa?ss@host/x";
        assert_accepted(uri, false);
        let e = ConnectionString::parse(uri).err().map(|e| e.to_string());
        let e = e.unwrap_or_default();
        let out = redact_text(&e, uri);
        assert!(
            out.contains("u:***") && !out.contains(":pa") && !out.contains(" pa"),
            "{out}"
        );
        assert_eq!(
            check(uri, &["pa?ss", "pa"], &["host/x"]),
            "mongodb://***@host/x"
        );
    }

    #[test]
    fn raw_at_in_password() {
        let uri = "mongodb+srv://a:p@ss@cluster.example/db";
        assert_accepted(uri, false);
        assert_eq!(
            check(uri, &["p@ss"], &["cluster.example/db"]),
            "mongodb+srv://***@cluster.example/db"
        );
    }

    #[test]
    fn raw_colon_in_password() {
        let uri = "mongodb://u:p:ss@h/db";
        assert_accepted(uri, false);
        assert_eq!(check(uri, &["p:ss"], &["h/db"]), "mongodb://***@h/db");
    }

    #[test]
    fn encoded_password() {
        for (uri, password) in [
            ("mongodb://u:pa%2Fss@h/db", "pa%2Fss"),
            ("mongodb://u:p%40ss@h:1/db", "p%40ss"),
            ("mongodb://u:pa%3Fss%3A@h/db", "pa%3Fss%3A"),
            ("mongodb://u:pa%20ss%20word@h/db", "pa%20ss%20word"),
            (
                "mongodb://u:%C3%A9t%C3%A9%E6%97%A5@h/db",
                "%C3%A9t%C3%A9%E6%97%A5",
            ),
        ] {
            assert_accepted(uri, true);
            let shown = check(uri, &[password], &["mongodb://u:***@h"]);
            assert!(shown.ends_with("/db"), "{shown}");
        }
        // The decoded form in lower-case hex, as some tools write it.
        let out = redact_text("pa%2fss", "mongodb://u:pa%2Fss@h/db");
        assert_eq!(out, "***");
    }

    #[test]
    fn dollar_and_unicode_passwords() {
        for (uri, password) in [
            ("mongodb://u:$dollar$@h/db", "$dollar$"),
            ("mongodb://u:pässwörd日本@h/db", "pässwörd日本"),
        ] {
            assert_accepted(uri, true);
            check(uri, &[password], &["mongodb://u:***@h/db"]);
        }
    }

    #[test]
    fn several_hosts() {
        let uri =
            "mongodb://ann:s3cr%2Ft@a.example:27017,b.example:27018,c.example/app?replicaSet=rs0";
        assert_accepted(uri, true);
        assert_eq!(
            check(uri, &["s3cr%2Ft"], &[]),
            "mongodb://ann:***@a.example:27017,b.example:27018,c.example/app?replicaSet=rs0"
        );
    }

    #[test]
    fn srv() {
        let uri = "mongodb+srv://ann:hunter22@cluster0.example.net/app?retryWrites=true&w=majority";
        assert_accepted(uri, true);
        assert_eq!(
            check(uri, &["hunter22"], &[]),
            "mongodb+srv://ann:***@cluster0.example.net/app?retryWrites=true&w=majority"
        );
    }

    #[test]
    fn auth_mechanism_properties() {
        let uri = "mongodb://ann:secretkey@h/db?authMechanismProperties=AWS_SESSION_TOKEN:tok123\
                   &authSource=%24external";
        assert_accepted(uri, true);
        assert_eq!(
            check(uri, &["secretkey", "tok123"], &[]),
            "mongodb://ann:***@h/db?authMechanismProperties=AWS_SESSION_TOKEN:***\
             &authSource=%24external"
        );
        // Accepted only with the driver's `aws-auth` feature: masked either way.
        let uri = "mongodb://AKIAEXAMPLE:secretkey@h/db?authMechanism=MONGODB-AWS\
                   &authMechanismProperties=AWS_SESSION_TOKEN:tok123&authSource=%24external";
        check(
            uri,
            &["secretkey", "tok123"],
            &["authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:***&"],
        );
        // Keys are case-insensitive; every entry's value is masked, encoded separators too.
        let uri = "mongodb://h/db?AUTHMECHANISMPROPERTIES=AWS_SESSION_TOKEN%3Aab%2Bc%2Fd,\
                   SERVICE_NAME:svc";
        let shown = check(uri, &["ab+c/d"], &[]);
        assert_eq!(
            shown,
            "mongodb://h/db?AUTHMECHANISMPROPERTIES=AWS_SESSION_TOKEN:***,SERVICE_NAME:***"
        );
        // A service name is not hunted in other text.
        assert_eq!(redact_text("svc up", uri), "svc up");
    }

    #[test]
    fn tls_key_password_and_proxy_password() {
        // Accepted or not depending on the driver's features: masked either way.
        let uri = "mongodb://h/db?tls=true&tlsCertificateKeyFile=%2Fk.pem\
                   &tlsCertificateKeyFilePassword=pw%26rd";
        let shown = check(
            uri,
            &["pw%26rd"],
            &["tlsCertificateKeyFile=%2Fk.pem", "tls=true"],
        );
        assert!(
            shown.contains("tlsCertificateKeyFilePassword=***"),
            "{shown}"
        );
        let uri = "mongodb://h/db?proxyHost=p&proxyUsername=pu&ProxyPassword=proxypw";
        let shown = check(uri, &["proxypw"], &["proxyHost=p", "proxyUsername=pu"]);
        assert!(shown.contains("ProxyPassword=***"), "{shown}");
    }

    #[test]
    fn rejected_uris_are_masked() {
        // An unknown option: the user info goes, whatever it looks like.
        let uri = "mongodb://ann:s3cret@h/db?bogus=1&appName=me";
        assert_accepted(uri, false);
        assert_eq!(
            check(uri, &["s3cret"], &[]),
            "mongodb://***@h/db?***&appName=me"
        );
        // A raw '&' in a secret value: its tail is not an option.
        let uri = "mongodb://h/db?authMechanismProperties=AWS_SESSION_TOKEN:ab&Xy=z&w=1";
        assert_accepted(uri, false);
        assert_eq!(
            check(uri, &["ab&Xy=z", "xy"], &["w=1"]),
            "mongodb://h/db?authMechanismProperties=AWS_SESSION_TOKEN:***&***&w=1"
        );
        // An '@' inside an option value of a rejected URI.
        let uri = "mongodb://u:p@h/?authMechanismProperties=AWS_SESSION_TOKEN:abc@defg&bogus=1";
        assert_accepted(uri, false);
        assert_eq!(
            check(uri, &["p", "abc@defg", "defg"], &[]),
            "mongodb://***@***&***"
        );
        // No scheme, no '@': nothing looks like a password, but a port that is no number may be.
        assert_eq!(check("u:pa?ss", &["pa"], &[]), "u:***?***");
        assert_eq!(redact_uri("mongodb://u:pa@"), "mongodb://***@");
        assert_eq!(redact_uri(""), "");
    }

    /// Passwords with every character the driver splits at, written raw (which the driver may
    /// reject) and percent-encoded, in a URI with several hosts and options, quoted by a
    /// message together with the driver's own error.
    #[test]
    fn password_corpus() {
        let passwords = [
            "pa/ss",
            "pa?ss",
            "p@ss",
            "p:ss",
            "a&b=c",
            "#frag",
            "[v6]",
            "pa ss",
            "100%",
            "%zz%",
            "$dollar",
            "日本語パス",
            "quo\"te\\",
            "p,w,d",
            "tab\tnew\nline",
            "a@b?c/d:e",
        ];
        for password in passwords {
            let encoded = utf8_percent_encode(password, NON_ALPHANUMERIC).to_string();
            for written in [password, encoded.as_str()] {
                for uri in [
                    format!("mongodb://user:{written}@h1.example,h2.example:27018/app?appName=me"),
                    format!("mongodb+srv://user:{written}@cluster.example/app"),
                    format!("mongodb://user:{written}@h/app?authMechanismProperties=AWS_SESSION_TOKEN:zz9%2B"),
                ] {
                    let error = ConnectionString::parse(&uri).err().map(|e| e.to_string());
                    let text = format!(
                        "{uri}: {}; password {password} / {encoded} / {password:?}",
                        error.unwrap_or_default()
                    );
                    let shown = redact_uri(&uri);
                    let out = redact_text(&text, &uri);
                    for form in [password, encoded.as_str(), "zz9+", "zz9%2B"] {
                        assert!(!shown.contains(form), "{form:?} in {shown}");
                        assert!(!out.contains(form), "{form:?} in {out}");
                    }
                    let debug = format!("{password:?}");
                    assert!(!out.contains(&debug[1..debug.len() - 1]), "{out}");
                    assert!(shown.contains("example") || shown.contains("@h/app"), "{shown}");
                }
            }
        }
    }

    #[test]
    fn message_quoting_the_uri_raw_and_decoded() {
        let uri = "mongodb://migrator:c0rrect%2Fhorse%40battery@db.example:27017/app";
        let text = format!(
            "migration 0003_backfill failed: {uri} refused: authentication failed for \
             migrator with c0rrect/horse@battery (\"c0rrect/horse@battery\")"
        );
        let out = redact_text(&text, uri);
        assert_eq!(
            out,
            "migration 0003_backfill failed: mongodb://migrator:***@db.example:27017/app \
             refused: authentication failed for migrator with *** (\"***\")"
        );
    }

    #[test]
    fn panic_message_with_the_password() {
        let uri = "mongodb://ann:Tr0ub4dor%263@h/db";
        let payload = std::panic::catch_unwind(|| {
            panic!("connecting with password Tr0ub4dor&3 to {uri}");
        })
        .expect_err("it panics");
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        let out = redact_text(&message, uri);
        assert_eq!(
            out,
            "connecting with password *** to mongodb://ann:***@h/db"
        );
    }

    #[test]
    fn short_secrets_are_masked_where_they_stand_alone() {
        let uri = "mongodb://ann:x@h/db";
        let out = redact_text("bad password x for ann:x@h in xylophone; got 'x'", uri);
        assert_eq!(
            out,
            "bad password *** for ann:***@h in xylophone; got '***'"
        );
        // Four characters and more: everywhere.
        let out = redact_text("keyabcdkey", "mongodb://ann:abcd@h/db");
        assert_eq!(out, "key***key");
    }

    #[test]
    fn overlapping_secrets_leave_no_piece() {
        let mut secrets = Secrets::new();
        secrets.add("abcdef").add("defghi").add("");
        assert_eq!(secrets.redact("xxabcdefghixx"), "xx***xx");
        assert_eq!(Secrets::new().redact("abc"), "abc");
        assert!(Secrets::new().is_empty() && !secrets.is_empty());
    }

    #[test]
    fn secrets_added_by_the_app() {
        let mut secrets = Secrets::from_uri("mongodb://ann:s3cret@h/db");
        secrets.add("api key \"42\"");
        let out = secrets.redact(
            "s3cret, api key \"42\", api%20key%20%2242%22, \"api key \\\"42\\\"\" at mongodb://ann:s3cret@h/db",
        );
        assert_eq!(out, "***, ***, ***, \"***\" at mongodb://ann:***@h/db");
    }

    #[test]
    fn secrets_debug_hides_everything() {
        let secrets = Secrets::from_uri(
            "mongodb://ann:s3cret@h/db?authMechanismProperties=AWS_SESSION_TOKEN:tok123",
        );
        let debug = format!("{secrets:?} {secrets:#?}");
        for s in ["s3cret", "tok123", "ann", "mongodb"] {
            assert!(!debug.contains(s), "{debug}");
        }
        fn assert_traits<T: Clone + fmt::Debug + Default + Send + Sync + 'static>() {}
        assert_traits::<Secrets>();
    }

    #[test]
    fn dotenv_message_quotes_no_value() {
        assert_eq!(
            dotenv_location_message(Path::new("/srv/app/.env"), 4, 13),
            "/srv/app/.env:4:13: cannot parse this line of .env"
        );
        assert_eq!(
            dotenv_location_message(Path::new("/tmp/\x1b[2J/.env"), 1, 1),
            "/tmp/\\x1b[2J/.env:1:1: cannot parse this line of .env"
        );
    }
}
