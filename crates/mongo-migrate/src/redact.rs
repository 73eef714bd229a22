//! Hides the password of a connection string in everything we print.

/// Returns `uri` with the password of its user-info part replaced by `***`.
///
/// `mongodb://user:secret@host/db` becomes `mongodb://user:***@host/db`; a URI without a
/// password comes back unchanged.
pub fn redact_uri(uri: &str) -> String {
    match password_span(uri) {
        Some((start, end)) => format!("{}***{}", &uri[..start], &uri[end..]),
        None => uri.to_owned(),
    }
}

/// Replaces every occurrence of the URI's password (raw and percent-decoded) in `text` by `***`.
///
/// Driver error messages may quote parts of the connection string; everything printed from a
/// database error goes through this.
pub fn redact_text(text: &str, uri: &str) -> String {
    let Some((start, end)) = password_span(uri) else {
        return text.to_owned();
    };
    let raw = &uri[start..end];
    let mut out = text.replace(uri, &redact_uri(uri));
    if !raw.is_empty() {
        out = out.replace(raw, "***");
        let decoded = percent_decode(raw);
        if !decoded.is_empty() && decoded != raw {
            out = out.replace(&decoded, "***");
        }
    }
    out
}

/// The byte range of the password in `scheme://user:password@hosts…`.
fn password_span(uri: &str) -> Option<(usize, usize)> {
    let scheme_end = uri.find("://")? + 3;
    let rest = &uri[scheme_end..];
    // The user info ends at the last '@' before the path: passwords may not contain a raw '/',
    // but a raw '@' does occur in the wild.
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let at = rest[..authority_end].rfind('@')?;
    let colon = rest[..at].find(':')?;
    Some((scheme_end + colon + 1, scheme_end + at))
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_the_password_only() {
        assert_eq!(
            redact_uri("mongodb://ann:s3cret@db.example:27017/app?tls=true"),
            "mongodb://ann:***@db.example:27017/app?tls=true"
        );
        assert_eq!(redact_uri("mongodb://h:1/db"), "mongodb://h:1/db");
        assert_eq!(redact_uri("mongodb://ann@h:1/db"), "mongodb://ann@h:1/db");
        assert_eq!(
            redact_uri("mongodb+srv://a:p@ss@cluster/db"),
            "mongodb+srv://a:***@cluster/db"
        );
    }

    #[test]
    fn hides_the_password_inside_messages() {
        let uri = "mongodb://ann:p%40ss@h:1/db";
        let text = format!("failed to reach {uri}; auth with p@ss and p%40ss");
        let out = redact_text(&text, uri);
        assert!(!out.contains("p@ss") && !out.contains("p%40ss"), "{out}");
        assert!(out.contains("mongodb://ann:***@h:1/db"), "{out}");
    }
}
